"""cytmem: a tmem host for v0 (Xen 4.0) and v1 (Xen 4.1) written in Cython.

The compiled core (`_core`, from _core.pyx and its .pxi files) holds the
whole host: op decoding with typed reads from the op's memoryview at
offsets taken from models.layouts when a host is built, cdef classes for
clients, pools, objects and pages, page data in malloc'd C blocks recycled
through a free list, and memcpy for every page copy. From models/ it takes
only constants and layouts, never the reference host's logic. There is no
pure-Python fallback: without the compiled core this package does not
import (house rule 4).
"""

from __future__ import annotations

from tmem_conformance.backend import check_capacity, host_version

try:
    from . import _core
except ImportError as e:  # pragma: no cover - exercised by a build without the core
    raise ImportError(
        "cytmem's compiled core tmem_conformance.candidates.cytmem._core is not built "
        f"({e}). Build it in place with `python candidates/cytmem/build_cytmem.py` (needs Cython: "
        "pip install 'cython>=3'), or reinstall the package with cytmem in setup.py's ext_modules."
    ) from e

CytmemHost = _core.CytmemHost


def make(abi_version: int | str, capacity_pages: int) -> CytmemHost:
    """A new, empty host of tmem spec `abi_version` (0/1 or "v0"/"v1") holding at most `capacity_pages`."""
    return CytmemHost(host_version(abi_version), check_capacity(capacity_pages, _core.MAX_CAPACITY))


__all__ = ["make", "CytmemHost"]
