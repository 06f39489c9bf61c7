"""ctmem: the suite's C tmem host for v0 (Xen 4.0) and v1 (Xen 4.1), bound with cffi in API mode.

The C sources (host/) implement tmem_backend.h with their own data
structures: per-pool object hash tables, per-object sorted page arrays, a
page capacity with an LRU of ephemeral pages, 16 slots per client, global
shared pools by uuid, save cursors and invalidated lists. The module is
compiled at install time (setup.py, build_ctmem.py); importing this package
fails with ImportError when it is missing or was built from another
tmem_backend.h, so a run that names ctmem has certainly run it.
"""

from __future__ import annotations

from tmem_conformance.models.versions import AbiVersion, version

from .binding import (
    TMEM_BACKEND_ABI_VERSION,
    NativeBackendError,
    NativeHost,
    NativeLibrary,
    NativeLoadError,
    verify_abi_version,
)

verify_abi_version()

_CTMEM = NativeLibrary.builtin()


class CtmemHost(NativeHost):
    """A ctmem host: hypercall(domid, word_size, op, memory), destroy_domain(domid), close()."""

    __slots__ = ()


def make(abi_version: int | str | AbiVersion, capacity_pages: int) -> CtmemHost:
    """A new, empty ctmem host of tmem spec `abi_version` (0/1 or "v0"/"v1") holding at most `capacity_pages`."""
    host = _CTMEM.create(version(abi_version).spec, capacity_pages, CtmemHost)
    assert isinstance(host, CtmemHost)
    return host


__all__ = ["make", "CtmemHost", "NativeHost", "NativeLibrary", "NativeLoadError", "NativeBackendError",
           "TMEM_BACKEND_ABI_VERSION"]
