"""The simulator candidate: a pure-Python tmem host for v0 (Xen 4.0) and v1 (Xen 4.1).

It works on raw struct tmem_op bytes as a hypervisor would, with its own
data structures (host.py dispatch, pools.py pools, pageops.py pages,
store.py capacity and eviction, control.py / save.py / restore.py control
sub-ops). From models/ it takes only constants and layouts, never the
reference host's logic.
"""

from __future__ import annotations

from functools import cache

from tmem_conformance.models.versions import AbiVersion, version

from .host import SimulatorHost
from .opcodec import OpCodec

WORD_SIZES = (64, 32)


def make(abi_version: int | str, capacity_pages: int) -> SimulatorHost:
    """A new, empty host of tmem spec `abi_version` (0/1 or "v0"/"v1") holding at most `capacity_pages`."""
    row = version(abi_version)
    if not isinstance(capacity_pages, int) or capacity_pages < 0:
        raise ValueError(f"capacity_pages must be an integer 0 or more, not {capacity_pages!r}")
    return SimulatorHost(row.spec, row.reject_flag_bits, _codecs(row), capacity_pages)


@cache
def _codecs(row: AbiVersion) -> dict[int, OpCodec]:
    return {ws: OpCodec(row, ws) for ws in WORD_SIZES}


__all__ = ["make", "SimulatorHost"]
