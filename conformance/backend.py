"""The backend interface: a backend is a tmem host.

Everything a guest or the toolstack does reaches it as a raw struct
tmem_op in the host's own layout, exactly as a hypercall would. The same
interface exists as this Python protocol, as the C header
`tmem_backend.h` for native libraries (tmem_conformance.native), and in
the built-in candidates.

A hypercall's own errors are its return values. Misuse of the interface
itself is an exception from one family, the same for every backend:

- `BackendClosedError` (a RuntimeError): hypercall() or destroy_domain()
  on a host after its close();
- `WordSizeError` (a ValueError): hypercall() with a guest word size
  other than 64 or 32;
- `CapacityError` (a ValueError): make() with a capacity_pages that is
  not an integer (bools are not) in [0, the backend's limit];
- `UnknownVersionError` (a ValueError): make() with an abi_version the
  backend does not implement.

All are `BackendArgumentError`s but the first, and all `BackendError`s.
`check_capacity` and `host_version` are make()'s two checks, shared.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .models.ctypes_table import WORD_SIZES
from .models.errors import ModelError, TmemConformanceError
from .models.versions import AbiVersion, version


@runtime_checkable
class Backend(Protocol):
    """One tmem host of a fixed ABI version and page capacity."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        """Carry out one tmem hypercall from domain `domid`.

        `word_size` is the caller's (64, or 32 for Xen's compat layout); `op` is the
        struct tmem_op bytes in this host's version layout for that word size;
        `memory` is the calling domain's memory, 4096-byte pages, which the host
        reads and writes in place: a `cmfn` is a page number in it, a control
        buffer handle a byte offset. Returns the hypercall's return value: a
        negative errno (tmem's own EFROZEN = 1000 and EEMPTY = 1001 included) on
        error. Control sub-ops, AUTH and RESTORE_NEW come from domain 0 and name
        their target client.
        """
        ...

    def destroy_domain(self, domid: int) -> None:
        """The domain died: free its client, its pools and their pages."""
        ...

    def close(self) -> None:
        """Release the host; no call follows."""
        ...


class BackendFactory(Protocol):
    """`make(abi_version, capacity_pages)`: a new, empty host.

    `abi_version` is the tmem spec version (0 for v0, 1 for v1); `capacity_pages`
    is how many pages the host can hold at once.
    """

    def __call__(self, abi_version: int, capacity_pages: int) -> Backend: ...


class BackendError(TmemConformanceError):
    """A backend refused a use of the interface (not a hypercall's error: those are return values)."""


class BackendClosedError(BackendError, RuntimeError):
    """hypercall() or destroy_domain() on a host after its close()."""

    def __init__(self, call: str, host: str) -> None:
        self.call, self.host = call, host
        super().__init__(f"{call} on {host} after close()")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (type(self), (self.call, self.host))


class BackendArgumentError(BackendError, ValueError):
    """An argument the interface does not allow; the message names it, its value and what was expected."""


class WordSizeError(BackendArgumentError):
    """hypercall() with a guest word size other than 64 or 32."""

    def __init__(self, word_size: object) -> None:
        self.word_size = word_size
        super().__init__(f"guest word size must be {' or '.join(map(str, WORD_SIZES))}, not {word_size!r}")

    def __reduce__(self) -> tuple[type, tuple[object]]:
        return (type(self), (self.word_size,))


class CapacityError(BackendArgumentError):
    """make() with a capacity_pages that is not an integer in [0, the backend's limit]."""


class UnknownVersionError(BackendArgumentError):
    """make() with an abi_version the backend does not implement."""


def check_capacity(capacity_pages: object, limit: int | None = None) -> int:
    """make()'s capacity_pages: an int, not a bool, in [0, limit] (no upper bound if None); else CapacityError."""
    ok = isinstance(capacity_pages, int) and not isinstance(capacity_pages, bool) and capacity_pages >= 0
    if ok and (limit is None or capacity_pages <= limit):  # type: ignore[operator]
        return capacity_pages  # type: ignore[return-value]
    bound = "0 or more" if limit is None else f"in [0, {limit}]"
    raise CapacityError(f"capacity_pages must be an integer {bound}, not {capacity_pages!r}")


def host_version(abi_version: int | str | AbiVersion) -> AbiVersion:
    """make()'s abi_version (0/1, "v0"/"v1" or a row) as its models.versions row; else UnknownVersionError."""
    try:
        return version(abi_version)
    except ModelError as e:
        raise UnknownVersionError(str(e)) from None
