"""Hosts that reproduce a historical Xen release: the simulator with exactly that release's defects.

`release_host("4.1.0")` is a backend factory whose hosts have every defect section 9 of tmem-abi.md
gives the 4.1.0 host (models/history.py), each the fault catalogue's entry for it. It is the guard
of the certification levels: at `--level historical=4.1.0` it certifies with exactly those
deviations named; at `--level spec` it fails; with one more fault it fails at either level.
As backend specs: `tmem_conformance.selftest.historical:xen_4_1_0` (and `xen_4_0_0`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tmem_conformance.candidates import simulator
from tmem_conformance.models.history import RELEASES, deviations_of

from .faults import (
    Broken,
    DestroyPoolNoRangeCheck,
    NoPrivilegeCheck,
    PoolFlagsWithoutVersion,
    SaveSkipsFirstPage,
    UuidQueryEndsSave,
)

#: Each deviation of models/history.py as the fault that reproduces it.
REPRODUCED_BY: dict[str, type[Broken]] = {
    "privilege-check": NoPrivilegeCheck,
    "pool-id-unchecked": DestroyPoolNoRangeCheck,
    "pool-flags-without-version": PoolFlagsWithoutVersion,
    "uuid-falls-through": UuidQueryEndsSave,
    "save-skips-first-page": SaveSkipsFirstPage,
}


def stacked(faults: Sequence[type[Broken]]) -> Callable[[int, int], Any]:
    """A factory of simulator hosts with every fault of `faults` at once, the first outermost."""
    def make(abi_version: int, capacity_pages: int) -> Any:
        host: Any = simulator.make(abi_version, capacity_pages)
        for fault in reversed(faults):
            layer = fault(abi_version, capacity_pages)
            layer.inner.close()
            layer.inner = host
            host = layer
        return host
    return make


def release_host(release: str, *extra: type[Broken]) -> Callable[[int, int], Any]:
    """Hosts with the defects of `release`, and the faults `extra` too (next to the simulator, whose
    internals some faults read; the release's own faults go through hypercalls only)."""
    if release not in RELEASES:
        raise ValueError(f"unknown release {release!r}: {', '.join(RELEASES)}")
    return stacked([*(REPRODUCED_BY[d.id] for d in deviations_of(release)), *extra])


xen_4_0_0 = release_host("4.0.0")
xen_4_1_0 = release_host("4.1.0")
