"""The matrix is data: expectations from the documented matrix, and a synthetic v2 adds only rows."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from tmem_conformance import docs
from tmem_conformance.cli import main
from tmem_conformance.models import abi
from tmem_conformance.models.guests import GuestKernel
from tmem_conformance.models.matrix import GUESTS, GuestKind, cells
from tmem_conformance.models.versions import VERSIONS, AbiVersion
from tmem_conformance.report import matrix

from .model_oracle import ModelOracle

DOCUMENTED = {  # DESIGN.md's table, read by hand
    ("v0", "v0"): "native", ("v0", "v1"): "graceful-failure",
    ("v1", "v0"): "graceful-failure", ("v1", "v1"): "native",
    ("v1+shim", "v0"): "via-shim", ("v1+shim", "v1"): "native",
}


def test_pairing_cells_match_the_documented_table() -> None:
    got = {(c.guest, c.host, c.word_size): c.expected for c in cells() if c.kind == "pairing"}
    assert got == {(g, h, ws): e for (g, h), e in DOCUMENTED.items() for ws in (64, 32)}


def test_migration_cells() -> None:
    got = {(c.source, c.destination): c.expected for c in cells() if c.kind == "migration"}
    assert got == {("v0", "v0"): "intact", ("v1", "v1"): "intact", ("v0", "v1"): "refused",
                   ("v1", "v0"): "refused"}


def test_matrix_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc) == 20
    assert {c["kind"] for c in doc} == {"pairing", "migration"}
    shim = next(c for c in doc if c["id"] == "pair:v1+shim:32:v0")
    assert shim == {"id": "pair:v1+shim:32:v0", "kind": "pairing", "guest": "v1+shim", "host": "v0",
                    "negotiated": "v0", "word_size": 32, "expected": "via-shim"}
    assert {c["expected"] for c in doc} == {"native", "via-shim", "graceful-failure", "intact", "refused"}


V2 = AbiVersion(name="v2", spec=2, xen="synthetic", oid_words=3, creat_member="creat", ctrl_oid_field="oid",
                gen_oid_field="oid", reject_flag_bits=VERSIONS["v1"].reject_flag_bits,
                accepts=frozenset({1, 2}))


def test_a_synthetic_v2_adds_rows_and_columns_only() -> None:
    versions = MappingProxyType({**VERSIONS, "v2": V2})
    guests = MappingProxyType({**GUESTS, "v2": GuestKind("v2", ("v2",), "synthetic")})
    by_id = {c.id: c for c in cells(versions, guests)}
    assert len(by_id) == 4 * 2 * 3 + 3 * 3 * 2
    assert by_id["pair:v1:64:v2"].expected == "native"
    assert by_id["pair:v1+shim:32:v2"].expected == "native"
    assert by_id["pair:v0:64:v2"].expected == "graceful-failure"
    assert by_id["pair:v2:64:v1"].expected == "graceful-failure"
    assert by_id["mig:v1:v2:64"].expected == "refused" and by_id["mig:v2:v2:32"].expected == "intact"
    text = matrix.render("markdown", versions, guests)
    assert "| v1 guest, 64-bit | graceful-failure | native | native |" in text


def test_v1_guest_on_a_synthetic_v2_host_negotiates_v1() -> None:
    host = ModelOracle(V2, 16)
    guest = GuestKernel(GUESTS["v1"], 64, 3, host, versions={**VERSIONS, "v2": V2})
    guest.frontswap_init()
    assert guest.negotiated is VERSIONS["v1"] and guest.frontswap_pool == 0
    assert host.model.flag_error(abi.pool_flags(spec=0)) == "TMEM-POOL-001"


def test_conformance_md_is_in_sync() -> None:
    from pathlib import Path
    committed = (Path(__file__).resolve().parent.parent / "CONFORMANCE.md").read_text(encoding="utf-8")
    assert committed == docs.render(), "CONFORMANCE.md is stale: run `tmem-conformance docs -o CONFORMANCE.md`"
