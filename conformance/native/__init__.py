"""Native backends: any shared library that exports tmem_backend.h's five functions.

This package is the engine's certification interface in C: the header
(tmem_backend.h), the loader that dlopen()s an implementation (loader.c,
compiled by build_loader.py into `_loader`) and its Python side
(library.py: NativeLibrary, NativeHost). ctmem is one implementation
among others.

`load_library(path)` opens a library through the API-mode loader (cffi,
no ABI-mode dlopen) and returns a factory `make(abi_version,
capacity_pages)` like any Python backend's. A missing file, a missing
symbol or another TMEM_BACKEND_ABI_VERSION is a UsageError naming the
culprit and the fix. `header_text()` is the header an implementer
compiles against.
"""

from __future__ import annotations

import os
from importlib import resources

from ..backend import Backend, BackendFactory, host_version
from ..models.errors import UsageError
from ..models.versions import AbiVersion

HEADER = "tmem_backend.h"
LIBRARY_SUFFIXES = (".so", ".dylib")


def looks_like_library(spec: str) -> bool:
    """A backend spec that names a shared library: it ends in .so / .dylib, or is an existing path."""
    if spec.endswith(LIBRARY_SUFFIXES):
        return True
    has_sep = os.sep in spec or (os.altsep is not None and os.altsep in spec)
    return has_sep and os.path.exists(spec)


def header_text() -> str:
    """tmem_backend.h, the certification ABI of a native backend, as shipped with this package."""
    return resources.files(__name__).joinpath(HEADER).read_text(encoding="utf-8")


def load_library(spec: str) -> BackendFactory:
    """A factory make(abi_version, capacity_pages) for the shared library at `spec`."""
    path = os.path.abspath(os.path.expanduser(spec))
    if not os.path.isfile(path):
        raise UsageError(f"native backend {spec!r}: no such file ({path}); build your tmem_backend.h "
                         f"implementation as a shared library (e.g. cc -shared -fPIC -o libhost.so host.c) "
                         f"and pass its path")
    try:
        from .library import NativeLibrary, NativeLoadError
    except ImportError as e:
        raise UsageError(f"native backend {spec!r} needs the compiled loader "
                         f"tmem_conformance.native._loader, which cannot be imported: {e}") from e
    try:
        library = NativeLibrary.open(path)
    except NativeLoadError as e:
        raise UsageError(f"native backend {spec!r}: {_explain(e.reason, e.detail)}") from e

    def make(abi_version: int | str | AbiVersion, capacity_pages: int) -> Backend:
        # A spec number goes to the library as it is: it may know versions this suite does not.
        spec = abi_version if isinstance(abi_version, int) else host_version(abi_version).spec
        return library.create(spec, capacity_pages)

    make.__name__ = f"make[{os.path.basename(path)}]"
    make.__doc__ = f"A tmem host from the native library {path}."
    return make


def _explain(reason: str, detail: str) -> str:
    if "does not export" in reason:
        return (f"{reason}: missing symbol {detail} (print the header with `tmem-conformance header`; "
                f"every function in it must be exported with C linkage)")
    if "another version" in reason:
        return f"{reason}: {detail}; rebuild it against this suite's tmem_backend.h"
    return f"{reason}: {detail}"
