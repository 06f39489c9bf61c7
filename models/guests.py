"""Reference guests: a Linux-like tmem front-end (cleancache + frontswap) of a given kind and word size.

Modelled on drivers/xen/tmem.c (tmem-abi.md section 7). The guest learns
the host's version only from NEW_POOL: -EPERM means "not this version";
a shim guest then retries with the next version it speaks, and from then
on packs ops in that version's layout. A guest whose every attempt fails
runs with tmem off: frontswap stores go to its own swap device, cleancache
gets miss, and nothing is lost. The shim never sends an object id that
does not fit the negotiated width (TMEM-PAIR-004): that page stays with
the guest. The guest also remembers what it stored, so the workload can
check that nothing it swapped out is ever lost (TMEM-GUEST-001).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from . import codec
from .abi import PAGE_SIZE, Cmd, Errno, pool_flags
from .errors import ModelError, Violation
from .matrix import GUESTS, GuestKind
from .versions import VERSIONS, AbiVersion

FRONTSWAP_OBJECTS = 16  # each swap type spreads over 16 objects
SCRATCH_PAGES = 2  # page 0 holds data to put, page 1 receives gets


class GuestPort(Protocol):
    """How a guest reaches its host: one hypercall with its own memory."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int: ...


def frontswap_handle(swap_type: int, offset: int, words: int) -> tuple[tuple[int, ...], int]:
    """oid[0] = (type << 4) | (offset & 0xF), other words 0; index = offset >> 4."""
    oid = ((swap_type << 4) | (offset & 0xF),) + (0,) * (words - 1)
    return oid, offset >> 4


@dataclass
class GuestKernel:
    kind: GuestKind
    word_size: int
    domid: int
    port: GuestPort
    versions: dict[str, AbiVersion] = field(default_factory=lambda: dict(VERSIONS))
    memory: bytearray = field(default_factory=lambda: bytearray(SCRATCH_PAGES * PAGE_SIZE))
    negotiated: AbiVersion | None = None
    #: the optional feature bits (of the negotiated revision) its host took
    features: int = 0
    tried: list[tuple[str, int]] = field(default_factory=list)
    frontswap_pool: int | None = None
    fs_pools: dict[str, int | None] = field(default_factory=dict)  # fs name -> pool id or None
    swap_device: dict[tuple[int, int], bytes] = field(default_factory=dict)
    in_tmem: dict[tuple[int, int], bytes] = field(default_factory=dict)
    cleancache: dict[tuple[str, tuple[int, ...], int], bytes] = field(default_factory=dict)
    kept_by_guest: int = 0  # ops the shim did not send because the oid does not fit

    @classmethod
    def of(cls, kind: str, word_size: int, domid: int, port: GuestPort) -> GuestKernel:
        try:
            return cls(GUESTS[kind], word_size, domid, port)
        except KeyError:
            raise ModelError(f"unknown guest kind {kind!r}; known: {', '.join(GUESTS)}") from None

    @property
    def tmem_on(self) -> bool:
        return self.negotiated is not None

    @property
    def oid_words(self) -> int:
        row = self.negotiated or self.versions[self.kind.native]
        return row.oid_words

    # ------------------------------------------------------------------ hypercalls
    def _call(self, row: AbiVersion, op: codec.TmemOp) -> int:
        return self.port.hypercall(self.domid, self.word_size, codec.pack(op, row, self.word_size),
                                   self.memory)

    def _new_pool(self, persist: bool, shared: bool = False, uuid: tuple[int, int] = (0, 0)) -> int | None:
        """Negotiate on the first pool; later pools use the negotiated version (and features) only.

        A revision with optional features asks for all of them first; refused, it asks again without
        them, then falls back to the next version it speaks.
        """
        if self.negotiated:
            candidates = [(self.negotiated, self.features)]
        else:
            candidates = [(row, bits) for row in (self.versions[v] for v in self.kind.speaks)
                          for bits in dict.fromkeys((row.feature_bits, 0))]
        for row, bits in candidates:
            flags = pool_flags(persist=persist, shared=shared, spec=row.spec) | bits
            got = self._call(row, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(uuid, flags, 0)))
            self.tried.append((row.name if not bits else f"{row.name} with features {bits:#x}", got))
            if got >= 0:
                self.negotiated, self.features = row, bits
                return got
            if got != -Errno.EPERM:
                return None
        return None

    def _fits(self, oid: tuple[int, ...]) -> tuple[int, ...] | None:
        """The oid in the negotiated width, or None if it does not fit (never truncated)."""
        words = self.oid_words
        if any(oid[words:]):
            return None
        return tuple(oid[:words]) + (0,) * (words - len(oid[:words]))

    def _gen(self, cmd: int, pool_id: int, oid: tuple[int, ...], index: int, cmfn: int = 0) -> int:
        row = self.negotiated
        assert row is not None
        raw = codec.packed_ops(row, self.word_size).get((cmd, pool_id, oid, index, cmfn),
                               lambda: codec.TmemOp(cmd, pool_id, codec.Gen(oid, index, 0, 0, 0, cmfn)))
        return self.port.hypercall(self.domid, self.word_size, raw, self.memory)

    # ------------------------------------------------------------------ frontswap
    def frontswap_init(self) -> None:
        self.frontswap_pool = self._new_pool(persist=True)

    def swap_out(self, swap_type: int, offset: int, data: bytes) -> bool:
        """Store a page; True if tmem took it, else it went to the swap device."""
        key = (swap_type, offset)
        self.in_tmem.pop(key, None)
        self.swap_device.pop(key, None)
        if self.frontswap_pool is not None:
            oid, index = frontswap_handle(swap_type, offset, self.oid_words)
            self.memory[:PAGE_SIZE] = data
            if self._gen(Cmd.PUT_PAGE, self.frontswap_pool, oid, index, cmfn=0) == 1:
                self.in_tmem[key] = bytes(data)
                return True
        self.swap_device[key] = bytes(data)
        return False

    def swap_in(self, swap_type: int, offset: int) -> bytes | None:
        """Load a page swapped out earlier, from tmem or from the swap device; None if never swapped."""
        key = (swap_type, offset)
        if key in self.in_tmem:
            assert self.frontswap_pool is not None
            oid, index = frontswap_handle(swap_type, offset, self.oid_words)
            got = self._gen(Cmd.GET_PAGE, self.frontswap_pool, oid, index, cmfn=1)
            data = bytes(self.memory[PAGE_SIZE:2 * PAGE_SIZE])
            if got != 1 or data != self.in_tmem[key]:
                raise Violation("TMEM-GUEST-001", f"frontswap load of swap type {swap_type} offset {offset} "
                                f"by a {self.kind.name} {self.word_size}-bit guest",
                                "1 and the page it stored",
                                f"{got}" + (" with other data" if got == 1 else ""))
            return data
        return self.swap_device.get(key)

    def swap_invalidate(self, swap_type: int, offset: int) -> None:
        key = (swap_type, offset)
        self.swap_device.pop(key, None)
        if self.in_tmem.pop(key, None) is not None and self.frontswap_pool is not None:
            oid, index = frontswap_handle(swap_type, offset, self.oid_words)
            self._gen(Cmd.FLUSH_PAGE, self.frontswap_pool, oid, index)

    def swap_invalidate_area(self, swap_type: int) -> None:
        for key in [k for k in (*self.in_tmem, *self.swap_device) if k[0] == swap_type]:
            self.in_tmem.pop(key, None)
            self.swap_device.pop(key, None)
        if self.frontswap_pool is not None:
            for low in range(FRONTSWAP_OBJECTS):
                oid = ((swap_type << 4) | low,) + (0,) * (self.oid_words - 1)
                self._gen(Cmd.FLUSH_OBJECT, self.frontswap_pool, oid, 0)

    # ------------------------------------------------------------------ cleancache
    def cleancache_init_fs(self, fs: str, shared_uuid: tuple[int, int] | None = None) -> None:
        shared = shared_uuid is not None
        self.fs_pools[fs] = self._new_pool(persist=False, shared=shared, uuid=shared_uuid or (0, 0))

    def cleancache_put(self, fs: str, filekey: tuple[int, ...], index: int, data: bytes) -> None:
        pool = self.fs_pools.get(fs)
        self.cleancache[(fs, filekey, index)] = bytes(data)
        oid = self._fits(filekey)
        if pool is None or oid is None or index >= 1 << 32:
            self.kept_by_guest += oid is None and pool is not None
            return
        self.memory[:PAGE_SIZE] = data
        self._gen(Cmd.PUT_PAGE, pool, oid, index, cmfn=0)

    def cleancache_get(self, fs: str, filekey: tuple[int, ...], index: int,
                       allowed: set[bytes] | None = None) -> bytes | None:
        """A hit's data (checked against what this guest, or `allowed` sharers, put), or None on a miss."""
        pool = self.fs_pools.get(fs)
        oid = self._fits(filekey)
        if pool is None or oid is None or index >= 1 << 32:
            return None
        got = self._gen(Cmd.GET_PAGE, pool, oid, index, cmfn=1)
        if got != 1:
            return None
        data = bytes(self.memory[PAGE_SIZE:2 * PAGE_SIZE])
        ok = allowed if allowed is not None else {self.cleancache.get((fs, filekey, index))}
        if data not in ok:
            raise Violation("TMEM-GUEST-002", f"cleancache get of {fs} key {filekey} index {index} by a "
                            f"{self.kind.name} {self.word_size}-bit guest",
                            "a miss, or the data last put", "a hit with other data")
        return data

    def cleancache_invalidate_page(self, fs: str, filekey: tuple[int, ...], index: int) -> None:
        self.cleancache.pop((fs, filekey, index), None)
        pool, oid = self.fs_pools.get(fs), self._fits(filekey)
        if pool is not None and oid is not None and index < 1 << 32:
            self._gen(Cmd.FLUSH_PAGE, pool, oid, index)

    def cleancache_invalidate_inode(self, fs: str, filekey: tuple[int, ...]) -> None:
        for k in [k for k in self.cleancache if k[0] == fs and k[1] == filekey]:
            del self.cleancache[k]
        pool, oid = self.fs_pools.get(fs), self._fits(filekey)
        if pool is not None and oid is not None:
            self._gen(Cmd.FLUSH_OBJECT, pool, oid, 0)

    def cleancache_invalidate_fs(self, fs: str) -> None:
        pool = self.fs_pools.pop(fs, None)
        for k in [k for k in self.cleancache if k[0] == fs]:
            del self.cleancache[k]
        if pool is not None and self.negotiated is not None:
            self._call(self.negotiated, codec.TmemOp(Cmd.DESTROY_POOL, pool, codec.Gen((0,) * self.oid_words)))
