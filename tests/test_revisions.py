"""Revision files: the worked example loads as a row, and every malformed or number-reusing file is refused."""

from __future__ import annotations

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
