"""Revision files: the worked example loads as a row, and every malformed or number-reusing file is refused;
installed, its cells are certified, reported and rendered through data alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tmem_conformance.models import revisions
from tmem_conformance.models.matrix import cells
from tmem_conformance.models.revisions import RevisionError
from tmem_conformance.models.versions import VERSIONS

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "v2-feature-flags.toml"
XCHG = 10


def _file(tmp_path: Path, body: str, name: str = "rev.toml") -> str:
    path = tmp_path / name
    path.write_text("[revision]\n" + body, encoding="utf-8")
    return str(path)


def test_the_example_is_one_more_row() -> None:
    table = revisions.load([str(EXAMPLE)])
    v2 = table["v2"]
    assert list(table) == ["v0", "v1", "v2"] and dict(VERSIONS) == {k: table[k] for k in ("v0", "v1")}
    assert (v2.spec, v2.oid_words, v2.accepts, v2.creat_member) == (2, 3, frozenset({2}), "creat")
    assert XCHG not in v2.commands and v2.retired_commands == frozenset({XCHG})
    assert dict(v2.features) == {"DEDUP": 0x100, "COMPRESSED_PUT": 0x200}
    # The matrix grows by a row and a column of cells, from the table alone.
    assert len(cells(table)) > len(cells()) and any(c.host == "v2" for c in cells(table))


def test_a_retired_number_may_not_come_back_in_the_same_file(tmp_path: Path) -> None:
    path = _file(tmp_path, 'name = "v2"\nspec = 2\nbased_on = "v1"\nretire_commands = [10]\n'
                           'add_commands = { SWAP = 10 }\n')
    with pytest.raises(RevisionError, match=r"gives SWAP the number 10, which v2 retired: a retired number stays"):
        revisions.load([path])


def test_a_retired_number_may_not_come_back_in_a_later_revision(tmp_path: Path) -> None:
    later = _file(tmp_path, 'name = "v3"\nspec = 3\nbased_on = "v2"\nadd_commands = { SWAP = 10 }\n', "v3.toml")
    with pytest.raises(RevisionError, match=r"v3.toml: add_commands gives SWAP the number 10, which v2 retired"):
        revisions.load([str(EXAMPLE), later])
    fresh = _file(tmp_path, 'name = "v3"\nspec = 3\nbased_on = "v2"\nadd_commands = { SWAP = 11 }\n', "ok.toml")
    v3 = revisions.load([str(EXAMPLE), fresh])["v3"]
    assert 11 in v3.commands and v3.retired_commands == frozenset({XCHG})  # still reserved


@pytest.mark.parametrize(("body", "message"), [
    ('name = "v2"\nspec = 2\nbased_on = "v1"\nwords = 3\n', "unknown key 'words'"),
    ('name = "v2"\nspec = 2\nbased_on = "v9"\n', "based_on = 'v9' names no revision"),
    ('name = "v2"\nbased_on = "v1"\n', "needs 'spec'"),
    ('name = "v1"\nspec = 2\nbased_on = "v1"\n', "has the name or spec of 'v1'"),
    ('name = "v2"\nspec = 1\nbased_on = "v1"\n', "has the name or spec of 'v1'"),
    ('name = "v2"\nspec = "2"\nbased_on = "v1"\n', "spec must be int, not '2'"),
    ('name = "v2"\nspec = 2\nbased_on = "v1"\nretire_subops = [99]\n', r"names 99, which v1 \(based_on\) does not"),
    ('name = "v2"\nspec = 2\nbased_on = "v1"\nadd_commands = { X = 4 }\n', "number 4, which is already in use"),
    ('name = "v2"\nspec = 2\nbased_on = "v1"\nfeatures = { F = 0x1000000 }\n', "one free bit"),
    ('name = "v2"\nspec = 2\nbased_on = "v1"\nfeatures = { F = 0x100 }\n', "among the bits v2 refuses"),
    ('name = "v2"\nspec = 2\nbased_on = "v1"\nfeatures = { F = 0x300 }\n', "one free bit"),
])
def test_a_bad_revision_file_is_refused_by_name(tmp_path: Path, body: str, message: str) -> None:
    path = _file(tmp_path, body)
    with pytest.raises(RevisionError, match=message) as info:
        revisions.load([path])
    assert path in str(info.value)


def test_unreadable_and_non_toml_files(tmp_path: Path) -> None:
    with pytest.raises(RevisionError, match="cannot read the revision file .*nope.toml"):
        revisions.load([str(tmp_path / "nope.toml")])
    bad = tmp_path / "bad.toml"
    bad.write_text("[revision\n", encoding="utf-8")
    with pytest.raises(RevisionError, match="bad.toml: not TOML"):
        revisions.load([str(bad)])
    other = tmp_path / "other.toml"
    other.write_text("[something]\nx = 1\n", encoding="utf-8")
    with pytest.raises(RevisionError, match=r"holds one \[revision\] table, not \['something'\]"):
        revisions.load([str(other)])


# ---------------------------------------------------------------- the revision's cells, certified through data

def test_installed_revisions_add_rows_and_guests_for_a_block_only() -> None:
    from tmem_conformance.models.matrix import GUESTS
    with revisions.installed([str(EXAMPLE)]) as added:
        assert [r.name for r in added] == ["v2"] and "v2" in VERSIONS
        assert GUESTS["v2+shim"].speaks == ("v2", "v1", "v0")
        assert {c.id: c.expected for c in cells() if c.guest == "v2+shim" and c.word_size == 64} == {
            "pair:v2+shim:64:v0": "via-shim", "pair:v2+shim:64:v1": "via-shim", "pair:v2+shim:64:v2": "native"}
    assert "v2" not in VERSIONS and "v2" not in GUESTS and len(cells()) == 20


def test_a_feature_guest_asks_for_its_features_and_retries_without() -> None:
    from tmem_conformance.candidates import simulator
    from tmem_conformance.models.guests import GuestKernel
    with revisions.installed([str(EXAMPLE)]):
        on_v2 = GuestKernel.of("v2+shim", 64, 1, simulator.make(2, 8))
        on_v2.frontswap_init()
        on_v1 = GuestKernel.of("v2+shim", 64, 1, simulator.make(1, 8))
        on_v1.frontswap_init()
    assert on_v2.tried == [("v2 with features 0x300", 0)] and on_v2.features == 0x300
    # A v1 host refuses spec 2 with or without the feature bits; the shim falls back to v1 (EPERM = -1).
    assert on_v1.tried == [("v2 with features 0x300", -1), ("v2", -1), ("v1", 0)] and on_v1.features == 0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tmem_conformance.cli", *args], capture_output=True, text=True,
                          timeout=900)


def test_the_simulator_certifies_against_the_example_revision_through_data(tmp_path: Path) -> None:
    report = tmp_path / "v2.json"
    run = _cli("certify", "--backend", "simulator", "--abi-file", str(EXAMPLE), "--cells",
               "pair:v2+shim:64:*,pair:v1:32:v2,mig:v2:v2:64,mig:v2:v1:32", "-n", "2", "--report", str(report))
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads(report.read_text())
    assert doc["abi_files"] == [str(EXAMPLE.resolve())]
    assert {c["id"]: (c["expected"], c["verdict"]) for c in doc["cells"]} == {
        "pair:v2+shim:64:v0": ("via-shim", "pass"), "pair:v2+shim:64:v1": ("via-shim", "pass"),
        "pair:v2+shim:64:v2": ("native", "pass"), "pair:v1:32:v2": ("graceful-failure", "pass"),
        "mig:v2:v2:64": ("intact", "pass"), "mig:v2:v1:32": ("refused", "pass")}
    # ctmem has no v2: it takes part in no v2 end of a migration; cytmem reads the row as data and does.
    machines = {c["id"]: set(c["machines"]) for c in doc["cells"]}
    assert machines["mig:v2:v2:64"] == {"migration", "migration to cytmem", "migration from cytmem"}
    assert "migration from ctmem" not in machines["mig:v2:v1:32"] and "migration to ctmem" in machines["mig:v2:v1:32"]
    # The report reads back with its revision: the grid has a v2 column.
    rendered = _cli("report", "render", str(report), "--format", "markdown")
    assert rendered.returncode == 0 and "v2 host" in rendered.stdout and "v2+shim guest" in rendered.stdout
    moved = tmp_path / "elsewhere.json"
    moved.write_text(report.read_text().replace(str(EXAMPLE.resolve()), str(tmp_path / "gone.toml")))
    gone = _cli("report", "render", str(moved))
    assert gone.returncode == 2 and "gone.toml" in gone.stderr


def test_a_revision_file_a_command_cannot_read_is_a_usage_error(tmp_path: Path) -> None:
    run = _cli("matrix", "--abi-file", str(tmp_path / "nope.toml"))
    assert run.returncode == 2 and "nope.toml" in run.stderr


def test_a_silent_pairing_is_undetermined_reported_first_and_never_run(tmp_path: Path) -> None:
    """A revision that accepts v0's spec but keeps v1's layout: a v0 guest's ops would be misread with no
    check to refuse them, so no outcome follows from the rows (abidiff: silent)."""
    wide = _file(tmp_path, 'name = "v2"\nspec = 2\nbased_on = "v1"\naccepts = [0, 2]\n')
    with revisions.installed([wide]):
        expected = {c.id: c.expected for c in cells() if c.host == "v2" and c.word_size == 64}
        assert expected == {"pair:v0:64:v2": "undetermined", "pair:v1:64:v2": "graceful-failure",
                            "pair:v1+shim:64:v2": "undetermined", "pair:v2:64:v2": "native"}
        from tmem_conformance.cases import cases_for
        assert [c.id for c in cases_for("pair:v0:64:v2,pair:v2:64:v2/pairing")] == ["pair:v2:64:v2/pairing"]
    report = tmp_path / "wide.json"
    run = _cli("certify", "--backend", "simulator", "--abi-file", wide, "--cells", "pair:v0:64:v2,pair:v2:64:v2",
               "-n", "0", "--peers", "none", "--report", str(report))
    assert run.returncode == 0, run.stdout + run.stderr  # an undetermined cell is no verdict on the backend
    first = " ".join(run.stdout.split()[:12])
    assert first.startswith("pair:v0:64:v2: undetermined, not run"), run.stdout[:300]
    assert "NEW_PAGE" in run.stdout.split("┏")[0]  # the reason, before the run's table
    verdicts = {c["id"]: (c["expected"], c["verdict"]) for c in json.loads(report.read_text())["cells"]}
    assert verdicts == {"pair:v0:64:v2": ("undetermined", "not run"), "pair:v2:64:v2": ("native", "pass")}
