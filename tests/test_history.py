"""Certification levels (models/history.py): each historical deviation is accepted, and named, only
at a level that tolerates it; at spec the same host fails the rule its fix restored; a conforming
host takes no deviation at any level; and a defect no release had still fails at every level.

Each deviation is driven through CheckedHost (the backend and the model in lock step) on the fault
catalogue's host for it; expected numbers are literals from tmem-abi.md (tests/abi_literals.py).
"""

from __future__ import annotations

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
