"""abidiff: the v0 -> v1 diff as tmem-abi.md states it, and rows built to be silent or gated."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tmem_conformance import abidiff
from tmem_conformance.cli import main
from tmem_conformance.models import evolution
from tmem_conformance.models.versions import VERSIONS

V0, V1 = VERSIONS["v0"], VERSIONS["v1"]
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "v2-feature-flags.toml"


def test_v0_v1_every_pairing_is_gated_by_the_new_pool_version_check() -> None:
    doc = abidiff.diff("v0", "v1")
    pairs = {(p["guest"], p["host"], p["word_size"]): p for p in doc["pairings"]}
    assert set(pairs) == {(g, h, ws) for g, h in (("v0", "v1"), ("v1", "v0")) for ws in (64, 32)}
    for p in pairs.values():
        assert p["verdict"] == "gated", p
        assert "NEW_POOL's spec-version check" in p["where"] and "offset 24" in p["where"]
        assert "reads none of its other ops" in p["where"]


def test_v0_v1_fields_as_the_headers_declare_them() -> None:
    # tmem-abi.md section 2: the oid grows from one u64 to three, everything after it in gen moves by 16.
    lay = {f["field"]: f for f in abidiff.diff(0, 1)["layouts"]["64"]["fields"]}
    assert tuple(lay["gen.oid"]["old"]) == (8, 8)
    assert tuple(lay["gen.oid"]["new"]) == (8, 24) and lay["gen.oid"]["old_header"] == "gen.object"
    assert tuple(lay["gen.cmfn"]["old"]) == (32, 8) and tuple(lay["gen.cmfn"]["new"]) == (48, 8)
    assert lay["creat.flags"]["changes"] == ["renamed"]  # new.flags -> creat.flags, same place
    assert "cmd" not in lay and "pool_id" not in lay
    sizes = abidiff.diff("v0", "v1")["layouts"]["32"]["sizeof"]
    assert sizes == {"tmem_op": [36, 52], "tmem_handle": [16, 32]}
    assert abidiff.diff("v0", "v1")["flag_bits"]["newly_refused"] == "0x00ffff04"


def test_a_host_that_accepts_the_old_spec_is_silent_at_the_first_moved_op() -> None:
    lax = replace(V1, name="v1-lax", accepts=frozenset({0, 1}))
    p = evolution.pairing(V0, lax, 64)
    assert p.verdict == "silent"
    assert p.where.startswith("NEW_PAGE on a pool NEW_POOL gave it is read with other offsets for gen.cmfn")


def test_same_layouts_are_neither_gated_nor_silent() -> None:
    twin = replace(V1, name="v1-twin", accepts=frozenset({1, 2}), spec=2)
    assert evolution.pairing(twin, V1, 64).verdict == "gated"  # v1 accepts only spec 1
    assert evolution.pairing(V1, twin, 64).verdict == "same layout"
    assert [p["verdict"] for p in abidiff.diff("v1", "v1")["pairings"]] == ["same layout", "same layout"]


def test_cli_formats_and_a_bad_revision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["abidiff", "v0", "v1", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["row"]["oid_words"] == {"old": 1, "new": 3}
    assert main(["abidiff", "v0", "v1", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "| tmem_op | gen.object -> gen.oid | @8+8 | @8+24 | resized, renamed |" in out
    assert "**gated**" in out
    assert main(["abidiff", "v0", "v7"]) == 2
    assert "unknown tmem ABI version 'v7'" in capsys.readouterr().err


def test_a_revision_file_diffs_as_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["abidiff", "v1", "v2", "--abi-file", str(EXAMPLE), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["commands"] == {"added": [], "removed": ["XCHG (10)"], "retired": ["XCHG (10)"]}
    assert doc["features"]["added"] == [["COMPRESSED_PUT", 0x200], ["DEDUP", 0x100]]
    assert doc["flag_bits"]["no_longer_refused"] == "0x00000300"
    assert doc["layouts"]["64"]["fields"] == [] and doc["layouts"]["32"]["fields"] == []  # v1 layouts kept
    assert {p["verdict"] for p in doc["pairings"]} == {"gated"}
