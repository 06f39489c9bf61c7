"""The toolstack's tmem save/restore stream, as libxc writes it (tools/libxc/xc_tmem.c).

Pure bytes in, values out: `encode()` writes a `SavedClient`, `decode()`
reads one back and refuses anything truncated or inconsistent, naming the
field and its byte offset. Fields are little-endian (x86 hosts). The
object-id width (one word at v0, three at v1) follows the version word.
Section 9 of tmem-abi.md: pool flags carry the spec version (367f6be33c).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .abi import (
    MAX_POOLS_PER_DOMAIN,
    PAGE_SIZE,
    SAVE_ID_TMEM,
    SAVE_ID_TMEM_EXTRA,
    U32_ALL_ONES,
    U64_ALL_ONES,
    ClientFlag,
    PoolFlag,
    flags_spec,
)
from .errors import StreamError
from .versions import BY_SPEC, AbiVersion

Oid = tuple[int, ...]


@dataclass(frozen=True)
class SavedPage:
    oid: Oid
    index: int
    data: bytes


@dataclass(frozen=True)
class SavedPool:
    pool_id: int
    flags: int
    n_pages: int
    uuid: tuple[int, int]
    pages: tuple[SavedPage, ...] = ()

    @property
    def persistent(self) -> bool:
        return bool(self.flags & PoolFlag.PERSIST)


@dataclass(frozen=True)
class SavedClient:
    version: int
    max_pools: int
    client_flags: int
    weight: int
    cap: int
    pools: tuple[SavedPool, ...] = ()
    #: (pool_id, oid, index) of pages deleted during a live save; None when no extra block.
    invalidated: tuple[tuple[int, Oid, int], ...] | None = None


_KNOWN_POOL_BITS = PoolFlag.PERSIST | PoolFlag.SHARED | (PoolFlag.PAGESIZE_MASK << PoolFlag.PAGESIZE_SHIFT) \
    | (PoolFlag.VERSION_MASK << PoolFlag.VERSION_SHIFT)


def _row(spec: int) -> AbiVersion:
    try:
        return BY_SPEC[spec]
    except KeyError:
        raise StreamError(f"stream version {spec} is not a tmem version this toolstack knows "
                          f"({sorted(BY_SPEC)})") from None


def _u32(v: int) -> bytes:
    return struct.pack("<I", v & U32_ALL_ONES)


def _oid(oid: Oid) -> bytes:
    return b"".join(struct.pack("<Q", w) for w in oid)


def encode_main(saved: SavedClient) -> bytes:
    """Marker -5 and the main block (xc_tmem_save)."""
    words = _row(saved.version).oid_words
    out = [struct.pack("<i", SAVE_ID_TMEM), _u32(saved.version), _u32(saved.max_pools), _u32(U32_ALL_ONES),
           _u32(saved.client_flags), _u32(saved.weight), _u32(saved.cap), _u32(U32_ALL_ONES)]
    for p in saved.pools:
        out += [_u32(p.pool_id), _u32(p.flags), _u32(p.n_pages), struct.pack("<QQ", *p.uuid)]
        for page in p.pages:
            out += [_oid(page.oid), _u32(page.index), page.data]
        if len(p.pages) < p.n_pages:
            out.append(_oid((U64_ALL_ONES,) * words))
    out.append(_u32(U32_ALL_ONES))
    return b"".join(out)


def encode_extra(saved: SavedClient) -> bytes:
    """Marker -6 and the invalidated handles (xc_tmem_save_extra)."""
    out = [struct.pack("<i", SAVE_ID_TMEM_EXTRA)]
    for pool_id, oid, index in saved.invalidated or ():
        out += [_u32(pool_id), _oid(oid), _u32(index)]
    out.append(_u32(U32_ALL_ONES))
    return b"".join(out)


def encode(saved: SavedClient) -> bytes:
    return encode_main(saved) + (encode_extra(saved) if saved.invalidated is not None else b"")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise StreamError(f"stream truncated at byte {self.pos} in {what}: {n} bytes needed, "
                              f"{len(self.data) - self.pos} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u32(self, what: str) -> int:
        return int(struct.unpack("<I", self.take(4, what))[0])

    def i32(self, what: str) -> int:
        return int(struct.unpack("<i", self.take(4, what))[0])

    def oid(self, words: int, what: str) -> Oid:
        return tuple(int(struct.unpack("<Q", self.take(8, what))[0]) for _ in range(words))

    def expect(self, value: int, got: int, what: str, at: int) -> None:
        if got != value:
            raise StreamError(f"corrupt stream: {what} at byte {at} is {got:#x}, expected {value:#x}")


def decode(data: bytes) -> SavedClient:
    """Read a whole stream (main block, then an optional extra block); refuse anything else."""
    r = _Reader(bytes(data))
    row, max_pools, client_flags, weight, cap = _read_client(r)
    version = row.spec
    pools: list[SavedPool] = []
    while True:
        pool = _read_pool(r, row, version, max_pools, pools)
        if pool is None:
            break
        pools.append(pool)
    invalidated = _read_extra(r, row, pools) if r.pos < len(r.data) else None
    if r.pos != len(r.data):
        raise StreamError(f"corrupt stream: {len(r.data) - r.pos} stray bytes after byte {r.pos}")
    return SavedClient(version, max_pools, client_flags, weight, cap, tuple(pools), invalidated)


def _read_client(r: _Reader) -> tuple[AbiVersion, int, int, int, int]:
    """The marker, version, max_pools and the client record: (its version's row, max_pools, flags, weight,
    cap). An unknown version is refused before anything after it is read."""
    r.expect(SAVE_ID_TMEM, r.i32("the tmem marker"), "the tmem marker", 0)
    row = _row(r.u32("the version"))
    at = r.pos
    max_pools = r.u32("max_pools")
    r.expect(MAX_POOLS_PER_DOMAIN, max_pools, "max_pools", at)
    at = r.pos
    r.expect(U32_ALL_ONES, r.u32("the first separator"), "the first separator", at)
    at = r.pos
    client_flags = r.u32("the client flags")
    if client_flags & ~(ClientFlag.COMPRESS | ClientFlag.FROZEN):
        raise StreamError(f"corrupt stream: client flags at byte {at} are {client_flags:#x}; only "
                          f"COMPRESS (1) and FROZEN (2) exist")
    weight, cap = _signed(r.u32("the weight")), _signed(r.u32("the cap"))
    at = r.pos
    r.expect(U32_ALL_ONES, r.u32("the second separator"), "the second separator", at)
    return row, max_pools, client_flags, weight, cap


def _read_pool(r: _Reader, row: AbiVersion, version: int, max_pools: int,
               pools: list[SavedPool]) -> SavedPool | None:
    """One pool record and its pages, or None at the closing separator."""
    at = r.pos
    pool_id = r.u32("a pool id")
    if pool_id == U32_ALL_ONES:
        return None
    if pool_id >= max_pools or any(p.pool_id == pool_id for p in pools):
        raise StreamError(f"corrupt stream: pool id {pool_id} at byte {at} is out of range "
                          f"0-{max_pools - 1} or repeated")
    at = r.pos
    flags = r.u32(f"pool {pool_id}'s flags")
    if flags & ~_KNOWN_POOL_BITS or flags_spec(flags) != version:
        raise StreamError(f"corrupt stream: pool {pool_id}'s flags at byte {at} are {flags:#010x}, "
                          f"not a version-{version} pool's flags")
    n_pages = r.u32(f"pool {pool_id}'s page count")
    uuid = (int(struct.unpack("<Q", r.take(8, "a uuid"))[0]),
            int(struct.unpack("<Q", r.take(8, "a uuid"))[0]))
    if n_pages and not flags & PoolFlag.PERSIST:
        raise StreamError(f"corrupt stream: ephemeral pool {pool_id} claims {n_pages} pages")
    pages: list[SavedPage] = []
    while len(pages) < n_pages:
        oid = r.oid(row.oid_words, f"pool {pool_id}'s page record {len(pages)}")
        if oid == (U64_ALL_ONES,) * row.oid_words:
            break
        index = r.u32(f"pool {pool_id}'s page record {len(pages)}")
        pages.append(SavedPage(oid, index, r.take(PAGE_SIZE, f"pool {pool_id}'s page data")))
    if len({(p.oid, p.index) for p in pages}) != len(pages):
        raise StreamError(f"corrupt stream: pool {pool_id} lists a handle twice")
    return SavedPool(pool_id, flags, n_pages, uuid, tuple(pages))


def _read_extra(r: _Reader, row: AbiVersion, pools: list[SavedPool]) -> tuple[tuple[int, Oid, int], ...]:
    """The extra block (marker -6): the invalidated handles, each in a pool the stream holds."""
    at = r.pos
    r.expect(SAVE_ID_TMEM_EXTRA, r.i32("the extra-block marker"), "the extra-block marker", at)
    inv: list[tuple[int, Oid, int]] = []
    while True:
        at = r.pos
        pool_id = r.u32("an invalidated record")
        if pool_id == U32_ALL_ONES:
            return tuple(inv)
        if not any(p.pool_id == pool_id for p in pools):
            raise StreamError(f"corrupt stream: invalidated record at byte {at} names pool {pool_id}, "
                              f"which the stream does not hold")
        oid = r.oid(row.oid_words, "an invalidated record")
        inv.append((pool_id, oid, r.u32("an invalidated record")))


def _signed(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v
