"""Certification levels (models/history.py): each historical deviation is accepted, and named, only
at a level that tolerates it; at spec the same host fails the rule its fix restored; a conforming
host takes no deviation at any level; and a defect no release had still fails at every level.

Each deviation is driven through CheckedHost (the backend and the model in lock step) on the fault
catalogue's host for it; expected numbers are literals from tmem-abi.md (tests/abi_literals.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tmem_conformance.candidates import simulator
from tmem_conformance.checked import CheckedHost, StepLog
from tmem_conformance.models.codec import Ctrl, TmemOp
from tmem_conformance.models.errors import UsageError, Violation
from tmem_conformance.models.history import DEVIATIONS, RELEASES, level
from tmem_conformance.models.versions import version
from tmem_conformance.selftest import faults
from tmem_conformance.selftest.historical import REPRODUCED_BY, release_host

from .abi_literals import (
    CONTROL,
    DESTROY_POOL,
    EFROZEN,
    PERSIST,
    PUT,
    SAVE_BEGIN,
    SAVE_GET_NEXT_PAGE,
    SAVE_GET_POOL_FLAGS,
    SAVE_GET_POOL_UUID,
    V1_SPEC,
)
from .raw_guest import Guest, Toolstack, pattern

HISTORICAL = level("historical=4.1.0").tolerated
SPEC = frozenset[str]()
SAVE_GET_MAXPOOLS = 12


def _hosts(factory: object, v: str, tolerated: frozenset[str]) -> tuple[CheckedHost, Guest, Toolstack]:
    host = CheckedHost(factory, version(v), 8, StepLog(), tolerated=tolerated)  # type: ignore[arg-type]
    return host, Guest(host, 1, v), Toolstack(host, v, pages=4)


# ---------------------------------------------------------------- the levels

def test_levels_name_the_releases_deviations() -> None:
    assert level(None).tolerated == level("spec").tolerated == frozenset()
    assert HISTORICAL == {"privilege-check", "pool-id-unchecked", "pool-flags-without-version",
                          "uuid-falls-through", "save-skips-first-page"}
    assert set(RELEASES) == {"4.0.0", "4.1.0"}
    assert {d.rule for d in DEVIATIONS.values()} == {"TMEM-HC-004", "TMEM-DESTROY-002", "TMEM-SAVE-004",
                                                      "TMEM-SAVE-006", "TMEM-SAVE-007"}
    assert set(REPRODUCED_BY) == set(DEVIATIONS)  # every deviation has a host that reproduces it


@pytest.mark.parametrize("text,named", [("historical=4.2.1", "'4.2.1'"), ("strict", "'strict'"),
                                        ("historical=", "''")])
def test_an_unknown_level_is_a_usage_error_naming_it(text: str, named: str) -> None:
    with pytest.raises(UsageError, match=named) as e:
        level(text)
    assert "historical=4.1.0" in str(e.value)  # and the choices


# ---------------------------------------------------------------- one deviation at a time

def _privileged_query(guest: Guest) -> int:
    """A guest asks what only the toolstack may: SAVE_GET_MAXPOOLS (16) about itself."""
    return guest.call(TmemOp(CONTROL, 0, Ctrl(SAVE_GET_MAXPOOLS, 1, 0, 0, guest.oid(0), 0)))


def test_privilege_check() -> None:
    host, guest, _ = _hosts(faults.NoPrivilegeCheck, "v1", HISTORICAL)
    assert _privileged_query(guest) == 16  # answered as the toolstack's
    assert host.model.deviations.keys() == {"privilege-check"}
    host, guest, _ = _hosts(faults.NoPrivilegeCheck, "v1", SPEC)
    with pytest.raises(Violation, match="TMEM-HC-004"):
        _privileged_query(guest)


def test_pool_id_unchecked() -> None:
    host, guest, _ = _hosts(faults.DestroyPoolNoRangeCheck, "v0", HISTORICAL)
    assert guest.gen(DESTROY_POOL, 16, 0) == 1
    assert host.model.deviations.keys() == {"pool-id-unchecked"}
    host, guest, _ = _hosts(faults.DestroyPoolNoRangeCheck, "v0", SPEC)
    with pytest.raises(Violation, match="TMEM-DESTROY-002"):
        guest.gen(DESTROY_POOL, 16, 0)


def _pool_with_a_page(guest: Guest, ts: Toolstack) -> None:
    assert guest.new_pool(V1_SPEC | PERSIST) == 0
    guest.fill(0, pattern(1))
    assert guest.gen(PUT, 0, 7, 0, cmfn=0) == 1
    assert ts.ctrl(SAVE_BEGIN, 1) == 1


def test_pool_flags_without_version() -> None:
    host, guest, ts = _hosts(faults.PoolFlagsWithoutVersion, "v1", HISTORICAL)
    _pool_with_a_page(guest, ts)
    assert ts.ctrl(SAVE_GET_POOL_FLAGS, 1, 0) == PERSIST  # 0x01000001 with the version, 4 KiB pages
    assert host.model.deviations.keys() == {"pool-flags-without-version"}
    host, guest, ts = _hosts(faults.PoolFlagsWithoutVersion, "v1", SPEC)
    _pool_with_a_page(guest, ts)
    with pytest.raises(Violation, match="TMEM-SAVE-004"):
        ts.ctrl(SAVE_GET_POOL_FLAGS, 1, 0)


def test_uuid_falls_through_is_told_apart_by_a_later_call() -> None:
    """The uuid query answers as the specification's does; the put after it shows the save ended."""
    host, guest, ts = _hosts(faults.UuidQueryEndsSave, "v1", HISTORICAL)
    _pool_with_a_page(guest, ts)
    assert ts.ctrl(SAVE_GET_POOL_UUID, 1, 0, arg1=16) == 0
    assert host.model.deviations == {} and len(host.model.alternates) == 1  # two readings
    assert guest.gen(PUT, 0, 8, 0, cmfn=0) == 1  # not frozen any more
    assert host.model.deviations.keys() == {"uuid-falls-through"} and host.model.alternates == []
    host, guest, ts = _hosts(faults.UuidQueryEndsSave, "v1", SPEC)
    _pool_with_a_page(guest, ts)
    ts.ctrl(SAVE_GET_POOL_UUID, 1, 0, arg1=16)
    with pytest.raises(Violation, match="TMEM-SAVE-001|TMEM-PUT-003"):
        guest.gen(PUT, 0, 8, 0, cmfn=0)


def test_a_conforming_host_settles_the_readings_on_the_specification() -> None:
    host, guest, ts = _hosts(simulator.make, "v1", HISTORICAL)
    _pool_with_a_page(guest, ts)
    assert ts.ctrl(SAVE_GET_POOL_UUID, 1, 0, arg1=16) == 0
    assert guest.gen(PUT, 0, 8, 0, cmfn=0) == EFROZEN
    assert host.model.deviations == {} and host.model.alternates == []


def test_save_skips_first_page() -> None:
    host, guest, ts = _hosts(faults.SaveSkipsFirstPage, "v1", HISTORICAL)
    _pool_with_a_page(guest, ts)
    assert ts.ctrl(SAVE_GET_NEXT_PAGE, 1, 0, arg1=2 * 4096) == -1  # its only page never reported
    assert host.model.deviations.keys() == {"save-skips-first-page"}
    host, guest, ts = _hosts(faults.SaveSkipsFirstPage, "v1", SPEC)
    _pool_with_a_page(guest, ts)
    with pytest.raises(Violation, match="TMEM-SAVE-007"):
        ts.ctrl(SAVE_GET_NEXT_PAGE, 1, 0, arg1=2 * 4096)


def test_another_defect_still_fails_at_the_historical_level() -> None:
    host, guest, _ = _hosts(release_host("4.1.0", faults.NewPutReturnsZero), "v1", HISTORICAL)
    assert guest.new_pool(V1_SPEC | PERSIST) == 0
    with pytest.raises(Violation, match="TMEM-PUT-001"):
        guest.gen(PUT, 0, 7, 0, cmfn=0)


# ---------------------------------------------------------------- end to end: certify --level

#: Cells that between them show all five of 4.1.0's deviations (a v1 host's data and control planes,
#: and a v1 to v1 migration).
SHOWING_ALL = "pair:v1:64:v1,mig:v1:v1:64"
XEN_4_1_0 = "tmem_conformance.selftest.historical:xen_4_1_0"


def _certify(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    report = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
    run = subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "certify", "--cells", SHOWING_ALL,
                          "--peers", "none", "-n", "0", "--report", str(report), *args],
                         capture_output=True, text=True, timeout=900)
    assert report.exists(), run.stderr
    return run.returncode, json.loads(report.read_text()), run.stdout


def test_a_host_reproducing_4_1_0_certifies_at_its_level_with_exactly_its_deviations(tmp_path: Path) -> None:
    code, doc, out = _certify(tmp_path, "--backend", XEN_4_1_0, "--level", "historical=4.1.0")
    assert code == 0, out
    assert doc["level"] == "historical=4.1.0"
    assert {c["verdict"] for c in doc["cells"]} == {"deviation"}
    named = {d["deviation"] for c in doc["cells"] for d in c["deviations"]}
    assert named == HISTORICAL
    assert {(d["deviation"], d["fix"]) for c in doc["cells"] for d in c["deviations"]} == \
        {(d.id, d.fix) for d in DEVIATIONS.values()}
    assert "4.1.0-compatible, 5 known deviations" in " ".join(out.split())
    # At spec the same host fails, by the rules the fixes restored.
    code, doc, _ = _certify(tmp_path, "--backend", XEN_4_1_0)
    assert code == 1 and {c["verdict"] for c in doc["cells"]} == {"fail"}
    assert {v["rule"] for c in doc["cells"] for v in c["violations"]} <= {d.rule for d in DEVIATIONS.values()}


def test_a_conforming_host_passes_at_the_historical_level(tmp_path: Path) -> None:
    code, doc, _ = _certify(tmp_path, "--backend", "simulator", "--level", "historical=4.1.0")
    assert code == 0 and {c["verdict"] for c in doc["cells"]} == {"pass"}
    assert all(c["deviations"] == [] for c in doc["cells"])


def test_an_unknown_level_is_refused_before_anything_runs(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "certify", "--backend", "simulator",
                          "--level", "historical=3.4.0"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "'3.4.0'" in run.stderr and "historical=4.1.0" in run.stderr
