"""The simulator candidate: a pure-Python tmem host for v0 (Xen 4.0) and v1 (Xen 4.1).

It works on raw struct tmem_op bytes as a hypervisor would, with its own
data structures (host.py dispatch, pools.py pools, pageops.py pages,
store.py capacity and eviction, control.py / save.py / restore.py control
sub-ops). From models/ it takes only constants and layouts, never the
reference host's logic.

Where tmem-abi.md section 10 allows several outcomes, `choices` picks
another allowed one than the default (choices.CHOICES lists the names),
so the suite can be shown to pass every legal host, not just this one.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from tmem_conformance.backend import check_capacity, host_version
from tmem_conformance.models.versions import AbiVersion

from .choices import CHOICES, resolve
from .host import SimulatorHost
from .opcodec import OpCodec

WORD_SIZES = (64, 32)


def make(abi_version: int | str, capacity_pages: int, *, choices: Iterable[str] = frozenset()) -> SimulatorHost:
    """A new, empty host of tmem spec `abi_version` (0/1 or "v0"/"v1") holding at most `capacity_pages`.

    `choices`: names from CHOICES, each another outcome section 10 allows; an unknown
    name is a ValueError that lists the known ones.
    """
    resolved = resolve(choices)
    row = host_version(abi_version)
    return SimulatorHost(row.spec, row.reject_flag_bits, _codecs(row), check_capacity(capacity_pages), resolved,
                         row.retired_commands, row.accepts)


@cache
def _codecs(row: AbiVersion) -> dict[int, OpCodec]:
    return {ws: OpCodec(row, ws) for ws in WORD_SIZES}


__all__ = ["CHOICES", "make", "SimulatorHost"]
