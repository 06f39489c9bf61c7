"""The one boundary between Python and any implementation of tmem_backend.h.

Every shared library, ctmem's compiled module as much as a third party's,
is opened by path and driven through the loader's table of function
pointers (loader.h, compiled into `_loader`), in cffi API mode. Every C
result is checked here: a library that cannot be opened, lacks a symbol,
or was built for another TMEM_BACKEND_ABI_VERSION raises NativeLoadError
naming it; misuse of a host raises the backend contract's errors
(tmem_conformance.backend). No cdata pointer leaves this module.
"""

from __future__ import annotations

import os

from ..backend import BackendArgumentError, BackendClosedError, UnknownVersionError, WordSizeError, check_capacity
from ..models.errors import TmemConformanceError
from ._loader import ffi, lib

#: The tmem_backend.h revision this Python side speaks (the header's TMEM_BACKEND_ABI_VERSION).
TMEM_BACKEND_ABI_VERSION = 1
_ULONG_MAX = (1 << (8 * ffi.sizeof("unsigned long"))) - 1
_UINT_MAX = (1 << (8 * ffi.sizeof("unsigned int"))) - 1
_ERR_LEN = 512
#: A ctype object, not its name: from_buffer skips parsing the name (about 10 ns of every hypercall).
_BYTES = ffi.typeof("unsigned char[]")
_from_buffer = ffi.from_buffer
try:
    _hypercall = lib.tmem_native_hypercall
except AttributeError as e:  # a module compiled from older declarations than this file's
    raise ImportError(f"tmem_conformance.native._loader is stale ({e}): reinstall the package "
                      f"(pip install -e . in a checkout) to rebuild it") from e


class NativeLoadError(TmemConformanceError):
    """A shared library cannot serve as a tmem backend: `reason` says why, `detail` names the culprit."""

    def __init__(self, path: str, reason: str, detail: str) -> None:
        self.path, self.reason, self.detail = path, reason, detail
        super().__init__(f"{path}: {reason}: {detail}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return (NativeLoadError, (self.path, self.reason, self.detail))


class NativeBackendError(UnknownVersionError):
    """tmem_backend_create() returned NULL: the library does not implement that version, or had no memory.

    The header gives NULL for both; the suite cannot tell them apart.
    """


class NativeLibrary:
    """One implementation of tmem_backend.h, opened with `open`."""

    def __init__(self, handle: object, name: str) -> None:
        self._lib = handle
        self.name = name

    @classmethod
    def open(cls, path: str, name: str | None = None) -> NativeLibrary:
        """dlopen() `path` and resolve the five tmem_backend_* functions; check its ABI version.

        `name` names its hosts in messages (default: the path).
        """
        out = ffi.new("tmem_native_lib **")
        err = ffi.new("char[]", _ERR_LEN)
        status = lib.tmem_native_open(os.fsencode(path), out, err, _ERR_LEN)
        text = ffi.string(err).decode("utf-8", "replace")
        if status == lib.TMEM_NATIVE_CANNOT_LOAD:
            raise NativeLoadError(path, "cannot be loaded as a shared library", text)
        if status == lib.TMEM_NATIVE_MISSING_SYMBOL:
            raise NativeLoadError(path, "does not export a function tmem_backend.h requires", text)
        if status != lib.TMEM_NATIVE_OK or out[0] == ffi.NULL:
            raise NativeLoadError(path, "cannot be loaded", f"loader status {status} (out of memory?)")
        loaded = cls(ffi.gc(out[0], lib.tmem_native_close), name or path)
        found = loaded.abi_version()
        if found != TMEM_BACKEND_ABI_VERSION:
            raise NativeLoadError(path, "was built for another version of tmem_backend.h",
                                  f"its tmem_backend_abi_version() is {found}, this suite speaks "
                                  f"TMEM_BACKEND_ABI_VERSION {TMEM_BACKEND_ABI_VERSION}")
        return loaded

    def abi_version(self) -> int:
        return int(lib.tmem_native_abi_version(self._lib))

    def create(self, abi_version: int, capacity_pages: int, host_class: type[NativeHost] | None = None) -> NativeHost:
        """tmem_backend_create(); CapacityError past unsigned long, NativeBackendError if it returns NULL."""
        check_capacity(capacity_pages, _ULONG_MAX)
        raw = lib.tmem_native_create(self._lib, abi_version, capacity_pages)
        if raw == ffi.NULL:
            raise NativeBackendError(f"{self.name}: tmem_backend_create(abi_version={abi_version}, "
                                     f"capacity_pages={capacity_pages}) returned NULL (unknown tmem "
                                     f"version, or no memory)")
        cls = host_class or NativeHost
        return cls(self, ffi.gc(raw, self._freer()), f"{self.name} (spec {abi_version})")

    def _freer(self):  # type: ignore[no-untyped-def]
        handle = self._lib

        def free(h: object) -> None:
            lib.tmem_native_free(handle, h)
        return free


class NativeHost:
    """One native tmem host behind the Python Backend protocol (README.md).

    Guest memory is pinned, as a guest's pages are in Xen: the host keeps a
    view (a buffer export) of the memory each domain last called with, so a
    domain calling again with the same bytearray skips building one (about a
    third of a hypercall's Python cost). While pinned, that bytearray may be
    written in place but not resized (Python raises BufferError); the pin goes
    when the domain calls with another bytearray, is destroyed, or the host is
    closed, and `unpin(domid)` drops it at once.
    """

    __slots__ = ("_library", "_lib", "_h", "name", "_pinned")

    def __init__(self, library: NativeLibrary, h: object, name: str) -> None:
        self._library = library  # keeps the library loaded while the host lives
        self._lib = library._lib
        self._h: object | None = h
        self.name = name
        #: domid -> (the bytearray, its cdata view): one pin per domain.
        self._pinned: dict[int, tuple[bytearray, object]] = {}

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        """tmem_backend_hypercall(): `memory` is passed in place, the host reads and writes it directly.

        The hot path of every run: no check here that cffi or the C side makes anyway
        (a closed host's NULL handle, bad types); errors are sorted out on the way out.
        """
        try:
            if word_size == 64 or word_size == 32:
                pin = self._pinned.get(domid)
                if pin is None or pin[0] is not memory:
                    pin = self._pinned[domid] = (memory, _from_buffer(_BYTES, memory, True))
                return _hypercall(self._lib, self._h, domid, word_size, op, len(op), pin[1], len(memory))
        except (OverflowError, TypeError, BufferError) as e:
            if type(domid) is int:
                self._pinned.pop(domid, None)
            raise self._bad_argument(domid, op, memory, e) from e
        raise WordSizeError(word_size)

    def _bad_argument(self, domid: object, op: object, memory: object, e: Exception) -> Exception:
        if self._h is None:
            return BackendClosedError("hypercall", self.name)
        if not isinstance(domid, int) or not 0 <= domid <= _UINT_MAX:
            return BackendArgumentError(f"domid must be an integer in [0, {_UINT_MAX}], not {domid!r}")
        if not isinstance(op, (bytes, bytearray)):
            return BackendArgumentError(f"op must be bytes, not {type(op).__name__}")
        if not isinstance(memory, bytearray):
            return BackendArgumentError(f"memory must be a writable bytearray, not {type(memory).__name__}")
        return BackendArgumentError(f"bad hypercall argument: {e}")

    def destroy_domain(self, domid: int) -> None:
        h = self._h
        if h is None:
            raise BackendClosedError("destroy_domain", self.name)
        if not isinstance(domid, int) or not 0 <= domid <= _UINT_MAX:
            raise BackendArgumentError(f"domid must be an integer in [0, {_UINT_MAX}], not {domid!r}")
        lib.tmem_native_destroy_domain(self._lib, h, domid)
        self.unpin(domid)

    def unpin(self, domid: int) -> None:
        """Let go of the memory `domid` last called with (it may be resized again)."""
        self._pinned.pop(domid, None)

    def close(self) -> None:
        """Free the host (tmem_backend_free) and unpin every memory; later calls do nothing."""
        self._pinned.clear()
        h, self._h = self._h, None
        if h is not None:
            ffi.release(h)


def verify_abi_version() -> None:
    """Refuse a loader compiled from another tmem_backend.h than this Python side (cf. cryptography)."""
    header = int(lib.TMEM_BACKEND_ABI_VERSION)
    if header != TMEM_BACKEND_ABI_VERSION:
        raise ImportError(
            f"tmem_conformance.native._loader was built for tmem_backend.h version {header}, but this "
            f"Python package expects version {TMEM_BACKEND_ABI_VERSION}: the compiled module is stale. "
            f"Reinstall the package (pip install --force-reinstall --no-deps tmem-conformance, or "
            f"pip install -e . in a checkout)."
        )


verify_abi_version()
