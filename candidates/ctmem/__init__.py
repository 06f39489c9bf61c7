"""ctmem: the suite's C tmem host for v0 (Xen 4.0) and v1 (Xen 4.1), an implementation of tmem_backend.h.

The C sources (host/) implement the engine's header (tmem_conformance.native)
with their own data structures: per-pool object hash tables, per-object
sorted page arrays, a page capacity with an LRU of ephemeral pages, 16
slots per client, global shared pools by uuid, save cursors and
invalidated lists. They are compiled at install time (setup.py,
build_ctmem.py) into the shared object `_ctmem`, which make() opens through
the engine's loader like any third-party library. Importing this package
fails with ImportError when that module is missing or was built from
another tmem_backend.h, so a run that names ctmem has certainly run it.
"""

from __future__ import annotations

from tmem_conformance.backend import host_version
from tmem_conformance.models.versions import AbiVersion
from tmem_conformance.native.library import NativeHost, NativeLibrary, NativeLoadError

from . import _ctmem

try:
    _CTMEM = NativeLibrary.open(_ctmem.__file__, "ctmem")
except NativeLoadError as e:
    raise ImportError(f"ctmem's compiled module cannot serve as a tmem backend ({e}): reinstall the package "
                      f"(pip install -e . in a checkout) to rebuild it") from e

#: Built with TMEM_CTMEM_SANITIZE=1 (AddressSanitizer, UBSan): load it with their runtimes preloaded.
SANITIZED = bool(_ctmem.lib.TMEM_CTMEM_SANITIZED)


class CtmemHost(NativeHost):
    """A ctmem host: hypercall(domid, word_size, op, memory), destroy_domain(domid), close()."""

    __slots__ = ()


def make(abi_version: int | str | AbiVersion, capacity_pages: int) -> CtmemHost:
    """A new, empty ctmem host of tmem spec `abi_version` (0/1 or "v0"/"v1") holding at most `capacity_pages`."""
    host = _CTMEM.create(host_version(abi_version).spec, capacity_pages, CtmemHost)
    assert isinstance(host, CtmemHost)
    return host


__all__ = ["make", "CtmemHost", "SANITIZED"]
