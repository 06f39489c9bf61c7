"""The backend interface: a backend is a tmem host.

Everything a guest or the toolstack does reaches it as a raw struct
tmem_op in the host's own layout, exactly as a hypercall would. The same
interface exists as this Python protocol, as the C header
`tmem_backend.h` for native libraries, and in the built-in candidates.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


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
