"""The fault catalogue: faulty tmem hosts the suite must reject, each naming the rule it breaks.

Every entry is the simulator with one realistic fault (a `Broken` subclass),
the matrix cells that expose it, and the one or two rules whose violation
the suite must report first when it rejects it. Several reproduce defects
of the historical hosts that section 9 of tmem-abi.md says were fixed later;
the others are the mistakes a new implementation makes. None of them takes
an outcome section 10 allows (a short op's -EFAULT, -EINVAL for a window past
the page end, 0 from SAVE_GET_NEXT_INV without a client, any eviction order,
the owner's frozen state on a shared pool, the owner taking a shared pool's
objects when it leaves): those are legal variants (variants.py), which the
suite must pass.

A fault is built on the simulator through its hypercall interface where it
can be (rewriting the op, changing the result, issuing extra hypercalls). To
know whether a handle is present, whose a shared pool is, or to do what no
hypercall does (leak a freed frame, keep a destroyed pool's pages, evict a
persistent page) a fault reads or changes the simulator's clients, pools and
page store, through the helpers of `Broken`.

`FAULTS` is the catalogue, by name; `tmem-conformance selftest` and
tests/test_suite_power.py certify every entry on its cells.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from tmem_conformance.candidates import simulator
from tmem_conformance.examples import V2_FEATURE_FLAGS
from tmem_conformance.models import codec
from tmem_conformance.models.abi import (
    CLI_ID_NULL,
    MAX_POOLS_PER_DOMAIN,
    PAGE_SIZE,
    U64_ALL_ONES,
    ClientFlag,
    Cmd,
    Errno,
    PoolFlag,
    Subop,
    flags_spec,
)
from tmem_conformance.models.layouts import layout
from tmem_conformance.models.versions import VERSIONS, version

PUTS = frozenset({Cmd.PUT_PAGE, Cmd.NEW_PAGE, Cmd.WRITE})
GETS = frozenset({Cmd.GET_PAGE, Cmd.READ})
FLUSHES = frozenset({Cmd.FLUSH_PAGE, Cmd.FLUSH_OBJECT})
ALL_ONES_UUID = (U64_ALL_ONES, U64_ALL_ONES)


# ---------------------------------------------------------------------------------------------- the base


class Broken:
    """A simulator host with one fault: `rewrite` may change the op, `result` the return value.

    `Broken(abi_version, capacity_pages)` is a backend factory like `simulator.make`. During a call
    `self.memory` is the caller's memory and `self.word_size` its word size, so the hooks can
    look at the frame or buffer the op names.
    """

    def __init__(self, abi_version: int, capacity_pages: int) -> None:
        self.inner = simulator.make(abi_version, capacity_pages)
        self.v = version(abi_version)
        self.capacity = capacity_pages
        self.state: dict[object, Any] = {}
        self.memory = bytearray()
        self.word_size = 64
        self.scratch = bytearray(2 * PAGE_SIZE)

    # ------------------------------------------------------------------ hooks
    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return ret

    def short_op(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        return self.inner.hypercall(domid, word_size, op, memory)

    # ------------------------------------------------------------------ the backend interface
    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        decoded = self.decode(word_size, op)
        if decoded is None:
            return self.short_op(domid, word_size, op, memory)
        self.memory, self.word_size = memory, word_size
        changed = self.rewrite(domid, decoded)
        raw = codec.pack(changed, self.v, word_size) if changed is not decoded else op
        return self.result(domid, decoded, self.inner.hypercall(domid, word_size, raw, memory), memory)

    def destroy_domain(self, domid: int) -> None:
        self.inner.destroy_domain(domid)

    def close(self) -> None:
        self.inner.close()

    # ------------------------------------------------------------------ helpers: hypercalls
    def decode(self, word_size: int, op: bytes) -> codec.TmemOp | None:
        """The op as the host's layout for `word_size` reads it, or None if it is too short to."""
        lay = layout(self.v, word_size)
        cmd = int.from_bytes(op[:4], "little") if len(op) >= 4 else None
        if cmd is None or len(op) < lay.needed(cmd):
            return None
        return codec.unpack(bytes(op[:lay.size]).ljust(lay.size, b"\0"), self.v, word_size)

    def call(self, domid: int, op: codec.TmemOp, memory: bytearray | None = None) -> int:
        """Another hypercall to the simulator, as `domid` (64-bit layout), on the caller's memory."""
        return self.inner.hypercall(domid, 64, codec.pack(op, self.v, 64),
                                    self.memory if memory is None else memory)

    def ctrl(self, subop: int, cli_id: int, *, pool_id: int = 0, arg1: int = 0, arg2: int = 0,
             buf: int = 0, memory: bytearray | None = None) -> int:
        """A control sub-op from domain 0, on a scratch buffer of the wrapper's own."""
        op = codec.TmemOp(Cmd.CONTROL, pool_id, codec.Ctrl(subop, cli_id & 0xFFFFFFFF, arg1, arg2, (), buf))
        return self.call(0, op, self.scratch if memory is None else memory)

    def frame_ok(self, cmfn: int) -> bool:
        return 0 <= cmfn < len(self.memory) // PAGE_SIZE

    # ------------------------------------------------------------------ helpers: the simulator's state
    def client(self, domid: int) -> Any:
        return self.inner.state.clients.get(domid & CLI_ID_NULL)

    def pool(self, domid: int, pool_id: int) -> Any:
        client = self.client(domid)
        return None if client is None else client.pool(pool_id)

    def lookup(self, domid: int, op: codec.TmemOp) -> Any:
        """The page a gen op names, or None."""
        pool = self.pool(domid, op.pool_id)
        if pool is None or not isinstance(op.u, codec.Gen):
            return None
        return pool.lookup(tuple(op.u.oid), op.u.index)

    def pools(self) -> Iterator[Any]:
        """Every pool of the host, once."""
        seen: set[int] = set()
        for client in list(self.inner.state.clients.values()):
            for pool in client.slots:
                if pool is not None and id(pool) not in seen:
                    seen.add(id(pool))
                    yield pool

    @property
    def store(self) -> Any:
        return self.inner.state.store


def _ctrl(op: codec.TmemOp, *subops: int) -> bool:
    return op.cmd == Cmd.CONTROL and isinstance(op.u, codec.Ctrl) and op.u.subop in subops


def _creat(op: codec.TmemOp, *cmds: int) -> bool:
    return op.cmd in (cmds or (Cmd.NEW_POOL,)) and isinstance(op.u, codec.Creat)


def _cli(op: codec.TmemOp) -> int:
    assert isinstance(op.u, codec.Ctrl)
    return op.u.cli_id & CLI_ID_NULL


def _uuid_at(memory: bytearray, buf: int) -> tuple[int, int]:
    return int.from_bytes(memory[buf:buf + 8], "little"), int.from_bytes(memory[buf + 8:buf + 16], "little")


# ---------------------------------------------------------------------------------------------- dispatch


class ShortOpsPadded(Broken):
    """An op buffer too short for its union member is zero-padded and carried out instead of failing."""

    def short_op(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        return self.inner.hypercall(domid, word_size, bytes(op).ljust(layout(self.v, word_size).size, b"\0"),
                                    memory)


class PoolIdMasked(Broken):
    """Gen commands index the pool table with pool_id & 0xF: pool ids 16 and above, or negative, alias."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if isinstance(op.u, codec.Gen) and op.cmd != Cmd.DESTROY_POOL and not 0 <= op.pool_id < 16:
            return codec.with_fields(op, pool_id=op.pool_id & 0xF)
        return op


class NoOpCommandsSucceed(Broken):
    """XCHG and unknown commands on an existing pool answer 1 (the dispatcher's default is success)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        known = {int(c) for c in Cmd} - {Cmd.XCHG}
        return 1 if op.cmd not in known and ret == 0 else ret


class NoPrivilegeCheck(Broken):
    """The privilege check is compiled out, as at both tags: any domain may issue CONTROL."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        if len(op) >= 4 and int.from_bytes(op[:4], "little") == Cmd.CONTROL and domid != 0:
            return self.inner.hypercall(0, word_size, op, memory)
        return super().hypercall(domid, word_size, op, memory)


class BadCmfnStoresZeroPage(Broken):
    """PUT_PAGE whose cmfn is not in the caller's memory stores a zero page and returns 1 (no -EFAULT)."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if op.cmd == Cmd.PUT_PAGE and isinstance(op.u, codec.Gen) and not self.frame_ok(op.u.cmfn):
            return codec.with_fields(op, cmd=Cmd.NEW_PAGE)
        return op


class PutStealsFrame(Broken):
    """PUT_PAGE moves the guest frame instead of copying it: the caller's page reads back as zeros."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd == Cmd.PUT_PAGE and ret == 1 and isinstance(op.u, codec.Gen):
            start = op.u.cmfn * PAGE_SIZE
            memory[start:start + PAGE_SIZE] = bytes(PAGE_SIZE)
        return ret


class ClientOnlyOnSuccess(Broken):
    """A domain's first call creates its client only if it succeeds: after a failed one, no client."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        known: set[int] = self.state.setdefault("known", set())
        cmd = int.from_bytes(op[:4], "little") if len(op) >= 4 else None
        ret = super().hypercall(domid, word_size, op, memory)
        if cmd in (Cmd.CONTROL, Cmd.AUTH, Cmd.RESTORE_NEW):
            decoded = self.decode(word_size, op)
            if ret == 1 and decoded is not None and _ctrl(decoded, Subop.RESTORE_BEGIN):
                known.add(_cli(decoded))
        elif domid not in known:
            if ret < 0:
                self.inner.destroy_domain(domid)  # the client made for this call is dropped again
            else:
                known.add(domid)
        return ret

    def destroy_domain(self, domid: int) -> None:
        self.state.setdefault("known", set()).discard(domid)
        super().destroy_domain(domid)


# ---------------------------------------------------------------------------------------------- pool creation


class AcceptsAnyVersion(Broken):
    """NEW_POOL never checks the spec-version field: the v0/v1 gate is open."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op):
            assert isinstance(op.u, codec.Creat)
            return codec.with_fields(op, flags=(op.u.flags & ~(0xFF << 24)) | self.v.spec << 24)
        return op


class AcceptsOlderVersions(Broken):
    """NEW_POOL takes any spec version up to its own, as if a newer host served older guests: a v1 host
    hands a v0 guest pools it then reads with the v1 layout."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        c = op.u
        if _creat(op) and isinstance(c, codec.Creat) and flags_spec(c.flags) < self.v.spec:
            return codec.with_fields(op, flags=(c.flags & ~(0xFF << 24)) | self.v.spec << 24)
        return op


class VersionGateInverted(Broken):
    """A v1 host built with the v0 spec constant in tmem.c: it accepts spec-0 pools and refuses its own."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op, Cmd.NEW_POOL, Cmd.RESTORE_NEW):
            assert isinstance(op.u, codec.Creat)
            spec = flags_spec(op.u.flags)
            spec = 1 if spec == 0 else 0xFE if spec == 1 else spec
            return codec.with_fields(op, flags=(op.u.flags & ~(0xFF << 24)) | spec << 24)
        return op


class StickyVersionRefusal(Broken):
    """Once a client's NEW_POOL fails the version gate, every later NEW_POOL of that client fails too."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op) and domid in self.state.setdefault("refused", set()):
            assert isinstance(op.u, codec.Creat)
            return codec.with_fields(op, flags=op.u.flags | 0xFF << 24)
        return op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _creat(op) and ret == -Errno.EPERM:
            assert isinstance(op.u, codec.Creat)
            if flags_spec(op.u.flags) != self.v.spec:
                self.state["refused"].add(domid)
        return ret

    def destroy_domain(self, domid: int) -> None:
        self.state.setdefault("refused", set()).discard(domid)
        super().destroy_domain(domid)


class IgnoresPageSizeField(Broken):
    """NEW_POOL ignores the page-size field (bits 4-7): a pool of 8K or 64K pages is accepted."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op):
            assert isinstance(op.u, codec.Creat)
            return codec.with_fields(op, flags=op.u.flags & ~(PoolFlag.PAGESIZE_MASK << PoolFlag.PAGESIZE_SHIFT))
        return op


class AcceptsPrecompressed(Broken):
    """A v1 host that accepts NEW_POOL with TMEM_POOL_PRECOMPRESSED set, as a v0 host does."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op):
            assert isinstance(op.u, codec.Creat)
            return codec.with_fields(op, flags=op.u.flags & ~(self.v.reject_flag_bits & PoolFlag.PRECOMPRESSED))
        return op


class IgnoresReservedBits(Broken):
    """A v1 host that accepts NEW_POOL with reserved bits (0x00ffff00) set, as a v0 host does."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op):
            assert isinstance(op.u, codec.Creat)
            return codec.with_fields(op, flags=op.u.flags & ~(self.v.reject_flag_bits & PoolFlag.RESERVED_BITS))
        return op


class JoinsBeforeFlagCheck(Broken):
    """NEW_POOL looks the uuid up first: a request naming an existing shared pool joins it, bad flags or not."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op):
            assert isinstance(op.u, codec.Creat)
            c = op.u
            if c.flags & PoolFlag.SHARED and tuple(c.uuid) in self.inner.state.shared:
                return codec.with_fields(op, flags=(c.flags & (PoolFlag.PERSIST | PoolFlag.SHARED))
                                         | self.v.spec << 24)
        return op


class BumpSlotAllocator(Broken):
    """Pool slots come from a bump pointer: a freed slot is not handed out again until slot 15 was."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        decoded = self.decode(word_size, op)
        client = self.client(domid)
        hints: dict[int, int] = self.state.setdefault("next", {})
        if decoded is None or not _creat(decoded) or client is None:
            return super().hypercall(domid, word_size, op, memory)
        hint = hints.get(domid, 0)
        below = [i for i in range(hint) if client.slots[i] is None]
        if not any(client.slots[i] is None for i in range(hint, MAX_POOLS_PER_DOMAIN)):
            below = []  # wrapped: the lowest free slot again
        placeholder = object()
        for i in below:
            client.slots[i] = placeholder
        try:
            ret = super().hypercall(domid, word_size, op, memory)
        finally:
            for i in below:
                if client.slots[i] is placeholder:
                    client.slots[i] = None
        if ret >= 0:
            hints[domid] = ret + 1
        return ret

    def destroy_domain(self, domid: int) -> None:
        self.state.setdefault("next", {}).pop(domid, None)
        super().destroy_domain(domid)


# ---------------------------------------------------------------------------------------------- puts


class NewPutReturnsZero(Broken):
    """A put that stores a new page returns 0, not 1 (the copy helper's result is passed through)."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        self.state["new"] = op.cmd in PUTS and self.pool(domid, op.pool_id) is not None \
            and self.lookup(domid, op) is None
        return op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 0 if self.state.get("new") and ret == 1 else ret


class DupPutKeepsOldData(Broken):
    """A dup PUT_PAGE returns 1 but keeps the old data: the replacement is never copied in."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        decoded = self.decode(word_size, op)
        if decoded is not None and decoded.cmd == Cmd.PUT_PAGE and isinstance(decoded.u, codec.Gen):
            self.memory = memory
            client = self.client(domid)
            if self.lookup(domid, decoded) is not None and self.frame_ok(decoded.u.cmfn) \
                    and not client.live_migrating:
                return 1
        return super().hypercall(domid, word_size, op, memory)


class FreezeIgnored(Broken):
    """FREEZE answers 0 and does nothing: a frozen client can still add pages."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return codec.with_fields(op, subop=Subop.THAW) if _ctrl(op, Subop.FREEZE) else op


class NewPageReadsCmfn(Broken):
    """NEW_PAGE is handled as PUT_PAGE: it stores the guest page at cmfn instead of a zero page."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return codec.with_fields(op, cmd=Cmd.PUT_PAGE) if op.cmd == Cmd.NEW_PAGE else op


class WriteIntoRecycledFrame(Broken):
    """A WRITE stores into a recycled frame without clearing it: the bytes outside its window (all of them
    for a 0/0/0 WRITE) are another, freed page's, of any pool or domain (Xen's tmh_copy_from_client; section
    10), on a new page and on a duplicate alike."""

    def __init__(self, abi_version: int, capacity_pages: int) -> None:
        super().__init__(abi_version, capacity_pages)
        self.freed: list[tuple[tuple[int, tuple[int, ...], int], bytes]] = []  # newest last
        remove, replace = self.store.remove, self.store.replace

        def freeing(pool: Any, oid: Any, index: int, page: Any) -> None:
            if page is not None:
                self.freed = [*self.freed[-3:], ((id(pool), tuple(oid), index), page.data)]

        def removing(pool: Any, oid: Any, index: int) -> Any:
            page = remove(pool, oid, index)
            freeing(pool, oid, index, page)
            return page

        def replacing(pool: Any, oid: Any, index: int, *args: Any) -> Any:
            freeing(pool, oid, index, pool.lookup(oid, index))  # a dup put frees the old frame
            return replace(pool, oid, index, *args)
        self.store.remove, self.store.replace = removing, replacing

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd != Cmd.WRITE or ret != 1 or not isinstance(op.u, codec.Gen):
            return ret
        g, pool = op.u, self.pool(domid, op.pool_id)
        page = self.lookup(domid, op)
        if pool is None or page is None or page.whole:
            return ret  # (a zero window, 0/0/0, leaks the whole frame: it is never cleared)
        here = (id(pool), tuple(g.oid), g.index)
        frame = next((data for key, data in reversed(self.freed) if key != here), None)
        if frame is None:
            return ret
        data = bytearray(frame)
        if g.tmem_offset + g.len <= PAGE_SIZE and g.pfn_offset + g.len <= PAGE_SIZE:
            data[g.tmem_offset:g.tmem_offset + g.len] = page.data[g.tmem_offset:g.tmem_offset + g.len]
        page.data = bytes(data)
        return ret


class SpuriousNoMemory(Broken):
    """Every third put of a new page fails with -ENOMEM although the host has room."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        self.state["new"] = op.cmd == Cmd.PUT_PAGE and self.lookup(domid, op) is None
        return op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if self.state.get("new") and ret == 1:
            n = int(self.state.get("puts", 0)) + 1
            self.state["puts"] = n
            if n % 3 == 0:
                self.call(domid, codec.with_fields(op, cmd=Cmd.FLUSH_PAGE))
                return -Errno.ENOMEM
        return ret


# ---------------------------------------------------------------------------------------------- gets


class EmptyPoolMisses(Broken):
    """A get from an empty pool answers 0 (a miss) instead of -EEMPTY."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 0 if op.cmd in GETS and ret == -Errno.EEMPTY else ret


class MissReportsEmpty(Broken):
    """A get that misses answers -EEMPTY although the pool holds pages (an empty object taken for an
    empty pool)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return -Errno.EEMPTY if op.cmd in GETS and ret == 0 else ret


class GetCopiesHalfPage(Broken):
    """A GET_PAGE hit copies only the first 2048 bytes and zero-fills the rest (a decompression buffer's
    length taken for the page's)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd == Cmd.GET_PAGE and ret == 1 and isinstance(op.u, codec.Gen):
            start = op.u.cmfn * PAGE_SIZE + PAGE_SIZE // 2
            memory[start:start + PAGE_SIZE // 2] = bytes(PAGE_SIZE // 2)
        return ret


class PersistentGetsMiss(Broken):
    """GET_PAGE from a persistent pool answers a miss (0), copying nothing, as if its pages were
    ephemeral: a frontswap guest cannot swap its pages back in."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return codec.with_fields(op, cmd=Cmd.XCHG) if self._persistent_get(domid, op) else op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 0 if self._persistent_get(domid, op) else ret

    def _persistent_get(self, domid: int, op: codec.TmemOp) -> bool:
        pool = self.pool(domid, op.pool_id) if op.cmd == Cmd.GET_PAGE else None
        return pool is not None and pool.persistent


class ReadCopiesWholePage(Broken):
    """A READ hit copies the whole stored page to cmfn, ignoring the window."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return codec.with_fields(op, cmd=Cmd.GET_PAGE) if op.cmd == Cmd.READ else op


class _PoolKind(Broken):
    """Remembers, before each call, whether the op's pool is persistent and whether it is shared."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        pool = self.pool(domid, op.pool_id) if isinstance(op.u, codec.Gen) else None
        self.state["kind"] = None if pool is None else (bool(pool.persistent), bool(pool.shared))
        return op


class PrivateGetNotExclusive(_PoolKind):
    """A hit in a private ephemeral pool leaves the page there: the get is not exclusive."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd == Cmd.GET_PAGE and ret == 1 and self.state["kind"] == (False, False):
            self.call(domid, codec.with_fields(op, cmd=Cmd.PUT_PAGE))  # the page goes straight back
        return ret


class SharedEphemeralGetExclusive(_PoolKind):
    """A hit in a SHARED ephemeral pool deletes the page, as an exclusive get would; it must stay."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd in GETS and ret == 1 and self.state["kind"] == (False, True):
            self.call(domid, codec.with_fields(op, cmd=Cmd.FLUSH_PAGE))
        return ret


class PersistentGetExclusive(_PoolKind):
    """A hit in a persistent pool deletes the page, as a private ephemeral pool's exclusive get does."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd in GETS and ret == 1 and self.state["kind"] is not None and self.state["kind"][0]:
            self.call(domid, codec.with_fields(op, cmd=Cmd.FLUSH_PAGE))
        return ret


# ---------------------------------------------------------------------------------------------- ephemeral pages


class EphemeralPutsStoreNothing(_PoolKind):
    """A put to an ephemeral pool returns 1 but stores nothing (the page is dropped at once)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd in PUTS and ret == 1 and self.state["kind"] is not None and not self.state["kind"][0]:
            self.call(domid, codec.with_fields(op, cmd=Cmd.FLUSH_PAGE))
        return ret


class EphemeralPurgeEveryNthCall(Broken):
    """Every 6th hypercall drops every ephemeral page of the host, however far below capacity it is."""

    N = 6

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        ret = super().hypercall(domid, word_size, op, memory)
        self.state["calls"] = n = self.state.get("calls", 0) + 1
        if n % self.N == 0:
            self.ctrl(Subop.FLUSH, CLI_ID_NULL, arg1=0xFFFFFFFF)
        return ret


class PersistentPagesEvicted(Broken):
    """A host full of pages makes room by evicting a persistent page too, instead of refusing the put."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd not in PUTS or ret != -Errno.ENOMEM:
            return ret
        for pool in self.pools():
            if pool.persistent and pool.npages:
                oid, index = pool.keys()[0]
                self.store.remove(pool, oid, index)
                return self.call(domid, op)
        return ret


# ---------------------------------------------------------------------------------------------- flushes


class FlushPageForgets(Broken):
    """FLUSH_PAGE answers as if it flushed (1, or -EFROZEN for a frozen client) but leaves the page in place."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return codec.with_fields(op, cmd=Cmd.XCHG) if op.cmd == Cmd.FLUSH_PAGE else op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd == Cmd.FLUSH_PAGE and ret == 0:
            client = self.client(domid)
            return -Errno.EFROZEN if client is not None and client.frozen else 1
        return ret


class FrozenFlushReturnsOne(Broken):
    """A frozen client's flush is done but answers 1 instead of -EFROZEN."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 1 if op.cmd in FLUSHES and ret == -Errno.EFROZEN else ret


# ---------------------------------------------------------------------------------------------- destruction


class DestroyPoolNoOp(Broken):
    """DESTROY_POOL of a used slot answers 1 but frees nothing: the slot and its pages stay in use."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        self.state["noop"] = op.cmd == Cmd.DESTROY_POOL and self.pool(domid, op.pool_id) is not None
        return codec.with_fields(op, cmd=Cmd.XCHG) if self.state["noop"] else op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 1 if self.state.get("noop") else ret


class DestroyedPoolReused(Broken):
    """DESTROY_POOL of a private ephemeral pool frees the slot but caches the pool with its pages: the next
    private ephemeral pool the client makes in that slot is the old one, old pages and all."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        decoded = self.decode(word_size, op)
        stale: dict[tuple[int, int], Any] = self.state.setdefault("stale", {})
        if decoded is None or not (decoded.cmd == Cmd.DESTROY_POOL or _creat(decoded)):
            return super().hypercall(domid, word_size, op, memory)
        client, slot = self.client(domid), decoded.pool_id
        if decoded.cmd == Cmd.DESTROY_POOL:
            pool = self.pool(domid, slot)
            if pool is None or pool.shared or pool.persistent:
                return super().hypercall(domid, word_size, op, memory)
            client.slots[slot] = None  # the slot is freed; the pool and its pages are kept for reuse
            pool.users.pop(domid, None)
            stale[(domid, slot)] = pool
            return 1
        ret = super().hypercall(domid, word_size, op, memory)
        fresh = self.pool(domid, ret) if ret >= 0 else None
        old = stale.pop((domid, ret), None)
        if fresh is not None and old is not None and not (fresh.shared or fresh.persistent):
            client.slots[ret] = old
            old.users.setdefault(domid, set()).add(ret)
        return ret

    def destroy_domain(self, domid: int) -> None:
        stale: dict[tuple[int, int], Any] = self.state.setdefault("stale", {})
        for key in [k for k in stale if k[0] == domid]:
            self.store.remove_pool(stale.pop(key))
        super().destroy_domain(domid)

    def close(self) -> None:
        for pool in self.state.pop("stale", {}).values():
            self.store.remove_pool(pool)
        super().close()


class DestroyFreeSlotReturnsOne(Broken):
    """DESTROY_POOL of a free slot answers 1 (success) instead of 0."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 1 if op.cmd == Cmd.DESTROY_POOL and ret == 0 and 0 <= op.pool_id < 16 else ret


class DestroyPoolNoRangeCheck(Broken):
    """DESTROY_POOL with an out-of-range pool id reports success (XSA-15's missing check)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 1 if op.cmd == Cmd.DESTROY_POOL and not 0 <= op.pool_id < 16 else ret


class DomainDestroyIgnored(Broken):
    """Destroying a domain leaves its tmem client, pools and pages in place."""

    def destroy_domain(self, domid: int) -> None:
        return None


class DomainDestroyKeepsClient(Broken):
    """Destroying a domain frees its pools but keeps its client (frozen state, weight, cap live on)."""

    def destroy_domain(self, domid: int) -> None:
        if self.client(domid) is None:
            return
        for slot in range(MAX_POOLS_PER_DOMAIN):
            self.call(domid, codec.TmemOp(Cmd.DESTROY_POOL, slot, codec.Gen()), bytearray(PAGE_SIZE))


class RestoreAbortKeepsClient(Broken):
    """A client RESTORE_BEGIN made waits on a list of restores in progress until its domain's first hypercall;
    destroying the domain before that (a refused stream's restore) misses it and leaves the client."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        pending: set[int] = self.state.setdefault("pending", set())
        if domid != 0:
            pending.discard(domid)
        decoded = self.decode(word_size, op)
        ret = super().hypercall(domid, word_size, op, memory)
        if decoded is not None and _ctrl(decoded, Subop.RESTORE_BEGIN) and ret == 1:
            pending.add(_cli(decoded))
        return ret

    def destroy_domain(self, domid: int) -> None:
        if domid not in self.state.get("pending", ()):
            super().destroy_domain(domid)


# ---------------------------------------------------------------------------------------------- shared pools


class SharedPoolsNotShared(Broken):
    """NEW_POOL ignores SHARED: every client gets a private pool, so sharers never see each other's pages."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op):
            assert isinstance(op.u, codec.Creat)
            return codec.with_fields(op, flags=op.u.flags & ~PoolFlag.SHARED)
        return op


class AllOnesUuidShared(Broken):
    """NEW_POOL with SHARED and the all-ones uuid makes (or joins) a global shared pool of that uuid, where it
    must make a private pool: every client asking so sees the others' pages."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        c = op.u
        if _creat(op) and isinstance(c, codec.Creat) and c.flags & PoolFlag.SHARED \
                and tuple(c.uuid) == ALL_ONES_UUID:
            return codec.with_fields(op, uuid=(U64_ALL_ONES - 1, U64_ALL_ONES))
        return op


class SharedJoinKeyedByPersist(Broken):
    """Shared pools are looked up by (uuid, persist): a joiner asking the other persist flag gets a new pool."""

    KEY = 0x5045525349535400  # "PERSIST"

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op, Cmd.NEW_POOL, Cmd.RESTORE_NEW):
            assert isinstance(op.u, codec.Creat)
            c = op.u
            if c.flags & PoolFlag.SHARED and c.flags & PoolFlag.PERSIST and tuple(c.uuid) != ALL_ONES_UUID:
                return codec.with_fields(op, uuid=(c.uuid[0] ^ self.KEY, c.uuid[1] ^ self.KEY))
        return op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_GET_POOL_UUID) and ret == 0:
            assert isinstance(op.u, codec.Ctrl)
            pool = self.pool(op.u.cli_id, op.pool_id)
            if pool is not None and pool.shared and pool.persistent:
                lo, hi = _uuid_at(memory, op.u.buf)
                memory[op.u.buf:op.u.buf + 16] = (lo ^ self.KEY).to_bytes(8, "little") + \
                    (hi ^ self.KEY).to_bytes(8, "little")
        return ret


class NonOwnerLeaveTakesObjects(Broken):
    """A non-owner leaving a shared pool others still use takes every object with it, persistent ones and
    those only others put included, as if it owned the pool (Xen's pool_destroy_objs, every put attributed
    to whoever leaves)."""

    def _doomed(self, domid: int, slots: list[int]) -> list[Any]:
        client = self.client(domid)
        out: list[Any] = []
        for slot in slots if client is not None else []:
            pool = client.pool(slot)
            if pool is None or not pool.shared or any(p is pool for p in out):
                continue
            owner = getattr(pool, "owner", next(iter(pool.users), None))
            leaves = set(pool.users.get(domid, ())) <= set(slots)
            if leaves and owner != domid and any(d != domid for d in pool.users):
                out.append(pool)
        return out

    def _take(self, doomed: list[Any]) -> None:
        for pool in doomed:
            for oid in list(pool.objects):
                self.store.remove_object(pool, oid)

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        decoded = self.decode(word_size, op)
        if decoded is None or decoded.cmd != Cmd.DESTROY_POOL or not 0 <= decoded.pool_id < MAX_POOLS_PER_DOMAIN:
            return super().hypercall(domid, word_size, op, memory)
        doomed = self._doomed(domid, [decoded.pool_id])
        ret = super().hypercall(domid, word_size, op, memory)
        self._take(doomed)
        return ret

    def destroy_domain(self, domid: int) -> None:
        doomed = self._doomed(domid, list(range(MAX_POOLS_PER_DOMAIN)))
        super().destroy_domain(domid)
        self._take(doomed)


class AuthGrantsNothing(Broken):
    """AUTH is a stub: every grant, revoke or switch answers 1 and nothing is recorded."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        # A no-op the privilege check still sees: the stub sits behind it.
        return codec.TmemOp(Cmd.XCHG, -1, codec.Gen()) if _creat(op, Cmd.AUTH) and domid == 0 else op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 1 if _creat(op, Cmd.AUTH) and domid == 0 else ret


class AuthGrantsEveryClient(Broken):
    """AUTH grant goes to every client's table: the named client is never looked up, nor checked to exist."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        decoded = self.decode(word_size, op)
        if decoded is None or not _creat(decoded, Cmd.AUTH) or domid != 0:
            return super().hypercall(domid, word_size, op, memory)
        assert isinstance(decoded.u, codec.Creat)
        if not decoded.u.flags or decoded.u.arg1 & CLI_ID_NULL == CLI_ID_NULL:
            return super().hypercall(domid, word_size, op, memory)
        ret = 1
        for cli in sorted(self.inner.state.clients):
            got = self.call(0, codec.with_fields(decoded, arg1=cli), self.scratch)
            ret = got if got < 0 else ret
        return ret


# ---------------------------------------------------------------------------------------------- control


class _ClientsSeen(Broken):
    """Remembers the domids that made a call or were restored, and those destroyed."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        seen = self.state.setdefault("seen", set())
        seen.add(domid)
        decoded = self.decode(word_size, op)
        if decoded is not None and _ctrl(decoded, Subop.RESTORE_BEGIN):
            seen.add(_cli(decoded))
        return super().hypercall(domid, word_size, op, memory)

    def destroy_domain(self, domid: int) -> None:
        self.state.setdefault("destroyed", set()).add(domid)
        super().destroy_domain(domid)

    #: True: the fault answers 0 for a destroyed domain's client; False: for a client that never existed
    of_destroyed: ClassVar[bool] = False

    def answers_zero(self, cli: int) -> bool:
        destroyed = cli in self.state.get("destroyed", ())
        return destroyed if self.of_destroyed else not destroyed and cli not in self.state.get("seen", ())

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if domid == 0 and _ctrl(op, Subop.THAW, Subop.FREEZE, Subop.DESTROY) and ret == -1 \
                and self.answers_zero(_cli(op)):
            return 0
        return ret


class UnknownClientControlSucceeds(_ClientsSeen):
    """THAW, FREEZE and DESTROY of a client that never existed answer 0 instead of -1."""


class DestroyedClientControlSucceeds(_ClientsSeen):
    """THAW, FREEZE and DESTROY of a destroyed domain's client answer 0 instead of -1 (it is still there)."""

    of_destroyed = True


class SetOpsReturnOne(Broken):
    """SET_WEIGHT, SET_CAP and SET_COMPRESS answer 1 on success (as the page ops do) instead of 0."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 1 if _ctrl(op, Subop.SET_WEIGHT, Subop.SET_CAP, Subop.SET_COMPRESS) and ret == 0 else ret


class CapZeroMeansUnlimited(Broken):
    """SET_CAP with arg1 = 0 stores -1 (no cap), so a cap of 0 reads back as -2, and a restore that
    re-applies a saved cap of 0 leaves the client uncapped."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SET_CAP) and ret == 0:
            assert isinstance(op.u, codec.Ctrl)
            if op.u.arg1 == 0:
                self.ctrl(Subop.SET_CAP, op.u.cli_id, arg1=0xFFFFFFFF)
        return ret


class FlushOfOneClientSucceeds(Broken):
    """The toolstack's FLUSH naming one client answers 0 (nothing flushed) instead of -1."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 0 if _ctrl(op, Subop.FLUSH) and _cli(op) != CLI_ID_NULL and ret == -1 else ret


class UnassignedSubopSucceeds(Broken):
    """An unassigned control sub-op (9, 22-29, 31, ...) answers 0 instead of -1."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd == Cmd.CONTROL and isinstance(op.u, codec.Ctrl) and op.u.subop not in {int(s) for s in Subop}:
            return 0 if ret == -1 else ret
        return ret


# ---------------------------------------------------------------------------------------------- save


class SaveBeginDoesNotFreeze(Broken):
    """SAVE_BEGIN answers 1 and records was_frozen but leaves the client thawed: it can still add pages."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_BEGIN) and ret == 1:
            flags = self.ctrl(Subop.SAVE_GET_CLIENT_FLAGS, _cli(op))
            if flags >= 0 and not flags & ClientFlag.FROZEN:
                self.ctrl(Subop.THAW, _cli(op))
        return ret


class SaveVersionFromHeader(Broken):
    """SAVE_GET_VERSION answers the public header's TMEM_SPEC_VERSION (1), not the host's, on a v0 host."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return VERSIONS["v1"].spec if _ctrl(op, Subop.SAVE_GET_VERSION) else ret


class ProbeCreatesClient(Broken):
    """SAVE_GET_VERSION creates the client it names if there is none: a refused restore leaves an empty client
    behind on the destination."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_GET_VERSION) and _cli(op) != CLI_ID_NULL and self.client(_cli(op)) is None:
            self.call(_cli(op), codec.TmemOp(Cmd.DESTROY_POOL, -1, codec.Gen()), bytearray(PAGE_SIZE))
        return ret


class SaveVersionNeedsClient(Broken):
    """SAVE_GET_VERSION reads the version from the named client: a domain without one gets 0."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_GET_VERSION) and self.client(_cli(op)) is None:
            return 0
        return ret


class ClientFlagsCurrentFrozen(Broken):
    """SAVE_GET_CLIENT_FLAGS reports the current frozen state (frozen by SAVE_BEGIN), not was_frozen."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_GET_CLIENT_FLAGS) and ret >= 0:
            client = self.client(_cli(op))
            return (ret & ~ClientFlag.FROZEN) | (ClientFlag.FROZEN if client.frozen else 0)
        return ret


class PoolFlagsWithoutVersion(Broken):
    """SAVE_GET_POOL_FLAGS omits the spec-version bits (fixed by 367f6be33c): restore fails on v1."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return ret & ~(0xFF << 24) if _ctrl(op, Subop.SAVE_GET_POOL_FLAGS) and ret >= 0 else ret


class NpagesOffByOne(Broken):
    """SAVE_GET_POOL_NPAGES answers one more than the pool's page count."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return ret + 1 if _ctrl(op, Subop.SAVE_GET_POOL_NPAGES) and ret >= 0 else ret


class UuidQueryEndsSave(Broken):
    """SAVE_GET_POOL_UUID falls through into SAVE_END (fixed by 9a2982ce85)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_GET_POOL_UUID) and ret == 0:
            self.ctrl(Subop.SAVE_END, _cli(op), memory=bytearray(2 * PAGE_SIZE))
        return ret


class PoolUuidReturnsOne(Broken):
    """SAVE_GET_POOL_UUID writes the uuid but answers 1 (as the page ops do) instead of 0."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 1 if _ctrl(op, Subop.SAVE_GET_POOL_UUID) and ret == 0 else ret


class SaveSkipsFirstPage(Broken):
    """SAVE_GET_NEXT_PAGE never reports a pool's first page (the iterator bug at both tags)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_GET_NEXT_PAGE) and ret == 1:
            key = ("started", op.pool_id)
            if key not in self.state:
                self.state[key] = True
                return self.inner.hypercall(domid, 64, codec.pack(op, self.v, 64), memory)
        if _ctrl(op, Subop.SAVE_BEGIN) or (_ctrl(op, Subop.SAVE_GET_NEXT_PAGE) and ret < 0):
            self.state.clear()
        return ret


class NextPageIgnoresBufferLength(Broken):
    """SAVE_GET_NEXT_PAGE never checks arg1: a buffer shorter than handle + page is written past its end."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return codec.with_fields(op, arg1=0xFFFFFFFF) if _ctrl(op, Subop.SAVE_GET_NEXT_PAGE) else op


class NextPageHandleFieldsSwapped(Broken):
    """SAVE_GET_NEXT_PAGE fills struct tmem_handle with index and pool_id swapped: each saved page carries
    the wrong pool and index."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_GET_NEXT_PAGE) and ret == 1:
            assert isinstance(op.u, codec.Ctrl)
            b = op.u.buf
            memory[b:b + 8] = bytes(memory[b + 4:b + 8]) + bytes(memory[b:b + 4])
        return ret


class SaveHandleV0Layout(Broken):
    """A v1 host built with the v0 struct tmem_handle: save records are 16-byte handles (one-word oid)."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _ctrl(op, Subop.SAVE_GET_NEXT_PAGE, Subop.SAVE_GET_NEXT_INV):
            assert isinstance(op.u, codec.Ctrl)
            b = op.u.buf
            self.state["before"] = bytes(self.memory[b:b + PAGE_SIZE + 64])
        return op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if ret != 1 or not _ctrl(op, Subop.SAVE_GET_NEXT_PAGE, Subop.SAVE_GET_NEXT_INV):
            return ret
        assert isinstance(op.u, codec.Ctrl)
        b, size = op.u.buf, layout(self.v, 64).handle.size
        h = codec.unpack_handle(bytes(memory[b:b + size]), self.v)
        old = codec.pack_handle(codec.TmemHandle(h.pool_id, h.index, (h.oid[0],)), VERSIONS["v0"])
        tail = PAGE_SIZE if _ctrl(op, Subop.SAVE_GET_NEXT_PAGE) else 0
        body = bytes(memory[b + size:b + size + tail])
        memory[b:b + size + tail] = self.state["before"][:size + tail]
        memory[b:b + len(old) + tail] = old + body
        return ret


class NextInvEndIsMinusOne(Broken):
    """SAVE_GET_NEXT_INV answers -1 (not 0) at the end of the invalidated list, as NEXT_PAGE does."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return -1 if _ctrl(op, Subop.SAVE_GET_NEXT_INV) and ret == 0 else ret


class SaveMovesPages(Broken):
    """SAVE_GET_NEXT_PAGE of a save that is not live moves the page into the stream instead of copying
    it (the guest is paused, so the host saves itself the copy): the source loses it."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        client = self.client(_cli(op)) if _ctrl(op, Subop.SAVE_GET_NEXT_PAGE) else None
        if client is not None and not client.live_migrating and ret > 0:
            assert isinstance(op.u, codec.Ctrl)
            size = layout(self.v, self.word_size).handle.size
            h = codec.unpack_handle(memory[op.u.buf:op.u.buf + size], self.v, self.word_size)
            self.call(_cli(op), codec.TmemOp(Cmd.FLUSH_PAGE, h.pool_id, codec.Gen(tuple(h.oid), h.index)))
        return ret


class SaveEndDoesNotThaw(Broken):
    """SAVE_END ends live migration but leaves the client frozen (frozen is not reset to was_frozen)."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _ctrl(op, Subop.SAVE_END):
            client = self.client(_cli(op))
            self.state["frozen"] = client is not None and client.frozen
        return op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_END) and ret == 0 and self.state.get("frozen"):
            self.ctrl(Subop.FREEZE, _cli(op))
        return ret


# ---------------------------------------------------------------------------------------------- restore


class RestoreBeginOverExisting(Broken):
    """RESTORE_BEGIN of a client that already exists answers 1 (and restores into it) instead of -1."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if domid == 0 and _ctrl(op, Subop.RESTORE_BEGIN) and ret == -1 and _cli(op) != CLI_ID_NULL:
            return 1
        return ret


class RestoreNewIgnoresSlot(Broken):
    """RESTORE_NEW ignores pool_id and creates the pool in the client's lowest free slot."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _creat(op, Cmd.RESTORE_NEW):
            assert isinstance(op.u, codec.Creat)
            cli = op.u.arg1 & CLI_ID_NULL
            free = next((s for s in range(MAX_POOLS_PER_DOMAIN)
                         if self.ctrl(Subop.SAVE_GET_POOL_FLAGS, cli, pool_id=s) == -1), None)
            if free is not None:
                return codec.with_fields(op, pool_id=free)
        return op


class RestoreOpsNoPoolEnodev(Broken):
    """RESTORE_PUT_PAGE and RESTORE_FLUSH_PAGE on a missing pool answer -ENODEV (the guest path's check),
    not -1."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.RESTORE_PUT_PAGE, Subop.RESTORE_FLUSH_PAGE) and ret == -1:
            return -Errno.ENODEV
        return ret


class RestorePutIndexFromArg1(Broken):
    """RESTORE_PUT_PAGE takes the page index from arg1 (the length) instead of arg2."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if _ctrl(op, Subop.RESTORE_PUT_PAGE):
            assert isinstance(op.u, codec.Ctrl)
            return codec.with_fields(op, arg2=op.u.arg1)
        return op


# ---------------------------------------------------------------------------------------------- layouts, oids


class OidLow32Bits(Broken):
    """Keys objects by the low 32 bits of the first object-id word: 64-bit ids that differ above alias."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if isinstance(op.u, codec.Gen) and op.u.oid:
            return codec.with_fields(op, oid=(op.u.oid[0] & 0xFFFFFFFF,) + tuple(op.u.oid[1:]))
        return op


class SlotsNeverRunOut(Broken):
    """A client whose 16 slots are in use gets slot 15 again from NEW_POOL instead of -EPERM."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        client = self.client(domid)
        if op.cmd == Cmd.NEW_POOL and ret == -1 and client is not None and all(client.slots):
            return 15
        return ret


class SharedPoolsUnbounded(Broken):
    """A 17th shared pool is reported created (slot 0 again) instead of -EPERM."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _creat(op, Cmd.NEW_POOL) and ret == -1 and len(self.inner.state.shared) >= 16:
            return 0
        return ret


class TruncatesOids(Broken):
    """Keys objects by the low word of the object id only: wide ids alias."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if isinstance(op.u, codec.Gen) and len(op.u.oid) > 1:
            return codec.with_fields(op, oid=(op.u.oid[0],) + (0,) * (len(op.u.oid) - 1))
        return op


class CompatDecodesV0Layout(Broken):
    """A v1 host that kept 4.0's compat translation: 32-bit guests' ops are read with the v0 layout."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        if word_size != 32:
            return super().hypercall(domid, word_size, op, memory)
        old = VERSIONS["v0"]
        lay = layout(old, 32)
        cmd = int.from_bytes(op[:4], "little") if len(op) >= 4 else None
        if cmd is None or len(op) < lay.needed(cmd):
            return self.inner.hypercall(domid, 32, b"", memory)
        read = codec.unpack(bytes(op[:lay.size]).ljust(lay.size, b"\0"), old, 32)
        if isinstance(read.u, (codec.Gen, codec.Ctrl)):
            read = codec.with_fields(read, oid=tuple(read.u.oid) + (0,) * (self.v.oid_words - len(read.u.oid)))
        return self.inner.hypercall(domid, 64, codec.pack(read, self.v, 64), memory)


class RetiredNumberReused(Broken):
    """A revision gives a number its row retired a new meaning: the retired XCHG (10) is taken as a put."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if op.cmd in self.v.retired_commands and isinstance(op.u, codec.Gen):
            return codec.with_fields(op, cmd=Cmd.PUT_PAGE)
        return op


# ---------------------------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Fault:
    """One faulty host: the cells that expose it and the one or two rules it must be rejected with."""

    name: str                     # kebab-case
    backend: type[Broken]         # Broken(abi_version, capacity_pages) wraps the simulator
    cells: str                    # comma-separated cell ids (fnmatch patterns) that expose it
    expect_rules: frozenset[str]  # the one or two rules the first violation must name
    area: str
    doc: str                      # one line: the fault, and the Xen commit/section if historical
    #: shipped revision files (tmem_conformance.examples) its cells need (--abi-file)
    abi_files: tuple[str, ...] = ()


def _fault(name: str, backend: type[Broken], cells: str, rules: tuple[str, ...], area: str,
           history: str = "") -> Fault:
    doc = " ".join((backend.__doc__ or name).split())
    return Fault(name, backend, cells, frozenset(rules), area, f"{doc} ({history})" if history else doc)


# The cells the entries name. The hypercall machine of a pairing cell probes its host directly, so
# "pair:v0:64:v1" (a v0 guest on a v1 host) exercises a v1 host as "pair:v1:64:v1" does, with another
# guest for the pairing machine.
V0 = "pair:v0:64:v0"
V0_32 = "pair:v0:32:v0"
V1 = "pair:v1:64:v1"
V1_32 = "pair:v1:32:v1"
V1_HOST = "pair:v0:64:v1"
V1_HOST_32 = "pair:v0:32:v1"
MIG_V0 = "mig:v0:v0:64"
MIG_V0_TO_V1 = "mig:v0:v1:64"
MIG_V1_TO_V0 = "mig:v1:v0:64"

_FAULTS = (
    # --- dispatch and bad input
    _fault("short-ops-padded", ShortOpsPadded, V1_32, ("TMEM-HC-001",), "errors on bad input"),
    _fault("pool-id-masked", PoolIdMasked, V1, ("TMEM-HC-002",), "errors on bad input", "XSA-15's class"),
    _fault("no-op-commands-succeed", NoOpCommandsSucceed, V0, ("TMEM-HC-003",), "dispatch"),
    _fault("no-privilege-check", NoPrivilegeCheck, V1, ("TMEM-HC-004",), "errors on bad input", "both tags; section 9"),
    _fault("bad-cmfn-stores-zero-page", BadCmfnStoresZeroPage, V1, ("TMEM-HC-005",), "errors on bad input"),
    _fault("put-steals-frame", PutStealsFrame, V0, ("TMEM-HC-006",), "dispatch"),
    _fault("client-only-on-success", ClientOnlyOnSuccess, V1_32, ("TMEM-HC-007",), "dispatch"),
    # --- pool creation and the version gate
    _fault("accepts-any-version", AcceptsAnyVersion, "pair:v0:64:v1,pair:v1+shim:64:v0",
           ("TMEM-POOL-001", "TMEM-PAIR-002"), "version negotiation"),
    _fault("accepts-older-versions", AcceptsOlderVersions, "pair:v0:64:v1/pairing,pair:v0:32:v1/pairing",
           ("TMEM-PAIR-002",), "version negotiation"),
    _fault("version-gate-inverted", VersionGateInverted, V1 + "/pairing", ("TMEM-PAIR-001", "TMEM-POOL-005"),
           "version negotiation"),
    _fault("sticky-version-refusal", StickyVersionRefusal, V1_HOST,
           ("TMEM-PAIR-003", "TMEM-POOL-005"), "version negotiation"),
    _fault("ignores-page-size-field", IgnoresPageSizeField, V0, ("TMEM-POOL-002",), "version negotiation"),
    _fault("accepts-precompressed", AcceptsPrecompressed, V1, ("TMEM-POOL-003",), "version negotiation"),
    _fault("ignores-reserved-bits", IgnoresReservedBits, V1, ("TMEM-POOL-004",), "version negotiation"),
    _fault("joins-before-flag-check", JoinsBeforeFlagCheck, V1, ("TMEM-POOL-007",), "version negotiation"),
    _fault("bump-slot-allocator", BumpSlotAllocator, V1, ("TMEM-POOL-005",), "pool creation"),
    # --- puts
    _fault("new-put-returns-0", NewPutReturnsZero, V1, ("TMEM-PUT-001",), "puts"),
    _fault("dup-put-keeps-old-data", DupPutKeepsOldData, V0, ("TMEM-PUT-002", "TMEM-GET-003"), "puts"),
    _fault("freeze-ignored", FreezeIgnored, V0, ("TMEM-PUT-003", "TMEM-CTRL-001"), "control"),
    _fault("new-page-reads-cmfn", NewPageReadsCmfn, V1, ("TMEM-PUT-004",), "puts"),
    _fault("write-into-recycled-frame", WriteIntoRecycledFrame, V0,
           ("TMEM-PUT-005",), "puts", "tmh_copy_from_client at 4.0 and 4.1; section 10"),
    _fault("spurious-no-memory", SpuriousNoMemory, V0_32, ("TMEM-PUT-006",), "capacity"),
    # --- gets
    _fault("empty-pool-misses", EmptyPoolMisses, V1_32, ("TMEM-GET-001",), "gets"),
    _fault("miss-reports-empty", MissReportsEmpty, V1, ("TMEM-GET-002",), "gets"),
    _fault("get-copies-half-page", GetCopiesHalfPage, V1, ("TMEM-GET-003",), "gets"),
    _fault("read-copies-whole-page", ReadCopiesWholePage, V1_HOST, ("TMEM-GET-004", "TMEM-HC-006"), "gets"),
    _fault("private-get-not-exclusive", PrivateGetNotExclusive, V0,
           ("TMEM-GET-005",), "ephemeral/persistent semantics"),
    _fault("shared-ephemeral-get-exclusive", SharedEphemeralGetExclusive, V0,
           ("TMEM-GET-005", "TMEM-EPH-001"), "ephemeral/persistent semantics"),
    _fault("persistent-get-exclusive", PersistentGetExclusive, V1_HOST_32,
           ("TMEM-GET-005", "TMEM-EPH-002"), "ephemeral/persistent semantics"),
    # --- ephemeral and persistent pages
    # Seen first through another user's slot of a shared ephemeral pool (share's first get), the lost page
    # is named by the sharing rule; share must get through the other slot first, or a get that wrongly
    # removes a shared page would hide behind the putter's own hit.
    _fault("ephemeral-puts-store-nothing", EphemeralPutsStoreNothing, V0,
           ("TMEM-EPH-001", "TMEM-SHARED-002"), "ephemeral/persistent semantics"),
    _fault("ephemeral-purge-every-6th-call", EphemeralPurgeEveryNthCall, V1_HOST_32,
           ("TMEM-EPH-001",), "ephemeral/persistent semantics"),
    _fault("persistent-pages-evicted", PersistentPagesEvicted, V0 + "/pairing", ("TMEM-PUT-006", "TMEM-GUEST-001"),
           "capacity"),
    _fault("persistent-gets-miss", PersistentGetsMiss, V0 + "/pairing", ("TMEM-GUEST-001",),
           "ephemeral/persistent semantics"),
    # --- flushes
    _fault("flush-page-forgets", FlushPageForgets, V0, ("TMEM-FLUSH-001",), "flush semantics"),
    _fault("frozen-flush-returns-1", FrozenFlushReturnsOne, V0, ("TMEM-FLUSH-003",), "flush semantics"),
    # --- destruction
    _fault("destroy-pool-no-op", DestroyPoolNoOp, V1_HOST, ("TMEM-DESTROY-001", "TMEM-POOL-005"), "pool destruction"),
    _fault("destroyed-pool-reused", DestroyedPoolReused, V0 + "/pairing",
           ("TMEM-DESTROY-001", "TMEM-GUEST-002"), "pool destruction"),
    _fault("destroy-free-slot-returns-1", DestroyFreeSlotReturnsOne, V1_HOST,
           ("TMEM-DESTROY-001",), "pool destruction"),
    _fault("destroy-pool-no-range-check", DestroyPoolNoRangeCheck, V0,
           ("TMEM-DESTROY-002",), "errors on bad input", "XSA-15, CVE-2012-6035/6036"),
    _fault("domain-destroy-ignored", DomainDestroyIgnored, V1_HOST, ("TMEM-DESTROY-003",), "pool destruction"),
    _fault("domain-destroy-keeps-client", DomainDestroyKeepsClient, V1_HOST_32,
           ("TMEM-DESTROY-003", "TMEM-STREAM-003"), "pool destruction"),
    _fault("restore-abort-keeps-client", RestoreAbortKeepsClient, "mig:v1:v1:64/migration",
           ("TMEM-STREAM-003", "TMEM-DESTROY-003"), "save/restore stream"),
    # --- shared pools and authorisation
    _fault("shared-pools-not-shared", SharedPoolsNotShared, V0, ("TMEM-SHARED-001", "TMEM-SHARED-002"), "shared pools"),
    _fault("all-ones-uuid-shared", AllOnesUuidShared, V1_32, ("TMEM-SHARED-001",), "shared pools"),
    _fault("shared-join-keyed-by-persist", SharedJoinKeyedByPersist, V0, ("TMEM-SHARED-002", "TMEM-SHARED-004"),
           "shared pools"),
    _fault("nonowner-leave-takes-objects", NonOwnerLeaveTakesObjects, V1,
           ("TMEM-SHARED-004",), "shared pools", "pool_destroy_objs at both tags; section 10"),
    _fault("auth-grants-nothing", AuthGrantsNothing, V0, ("TMEM-SHARED-005",), "shared pools"),
    _fault("auth-grants-every-client", AuthGrantsEveryClient, V1_HOST, ("TMEM-SHARED-005",), "shared pools"),
    # --- control
    _fault("unknown-client-control-succeeds", UnknownClientControlSucceeds, V0, ("TMEM-CTRL-001",), "control"),
    _fault("destroyed-client-control-succeeds", DestroyedClientControlSucceeds, V0,
           ("TMEM-DESTROY-003", "TMEM-CTRL-001"), "control"),
    _fault("set-ops-return-1", SetOpsReturnOne, V0, ("TMEM-CTRL-002",), "control"),
    _fault("cap-zero-means-unlimited", CapZeroMeansUnlimited, MIG_V0, ("TMEM-STREAM-004", "TMEM-SAVE-003"), "control"),
    _fault("flush-of-one-client-succeeds", FlushOfOneClientSucceeds, V0, ("TMEM-CTRL-003",), "control"),
    _fault("unassigned-subop-succeeds", UnassignedSubopSucceeds, V0, ("TMEM-CTRL-004",), "control"),
    # --- save
    _fault("save-begin-does-not-freeze", SaveBeginDoesNotFreeze, V1_HOST_32,
           ("TMEM-SAVE-001", "TMEM-PUT-003"), "save/restore stream"),
    _fault("save-version-from-header", SaveVersionFromHeader, V0,
           ("TMEM-SAVE-002", "TMEM-STREAM-002"), "save/restore stream"),
    _fault("save-version-needs-client", SaveVersionNeedsClient, MIG_V0_TO_V1,
           ("TMEM-SAVE-002", "TMEM-STREAM-002"), "save/restore stream"),
    _fault("probe-creates-client", ProbeCreatesClient, MIG_V0_TO_V1,
           ("TMEM-MIG-002", "TMEM-HC-007"), "save/restore stream"),
    _fault("client-flags-current-frozen", ClientFlagsCurrentFrozen, MIG_V0, ("TMEM-SAVE-003",), "save/restore stream"),
    _fault("pool-flags-without-version", PoolFlagsWithoutVersion, "pair:v0:64:v1,mig:v1:v1:64",
           ("TMEM-SAVE-004", "TMEM-MIG-001"), "save/restore stream", "fixed by 367f6be33c"),
    _fault("npages-off-by-one", NpagesOffByOne, V1_HOST, ("TMEM-SAVE-005",), "save/restore stream"),
    _fault("uuid-query-ends-save", UuidQueryEndsSave, MIG_V0,
           ("TMEM-SAVE-006", "TMEM-PUT-003"), "save/restore stream", "fixed by 9a2982ce85"),
    _fault("pool-uuid-returns-1", PoolUuidReturnsOne, MIG_V0, ("TMEM-SAVE-006",), "save/restore stream"),
    _fault("save-skips-first-page", SaveSkipsFirstPage, MIG_V0,
           ("TMEM-SAVE-007", "TMEM-MIG-001"), "save/restore stream", "the iterator at both tags; section 9"),
    _fault("next-page-ignores-buffer-length", NextPageIgnoresBufferLength, V0,
           ("TMEM-SAVE-007",), "save/restore stream"),
    _fault("next-page-handle-fields-swapped", NextPageHandleFieldsSwapped, MIG_V0,
           ("TMEM-STREAM-001", "TMEM-SAVE-007"), "save/restore stream"),
    _fault("save-handle-v0-layout", SaveHandleV0Layout, MIG_V1_TO_V0, ("TMEM-LAYOUT-001", "TMEM-SAVE-007"), "layouts"),
    _fault("next-inv-end-is-minus-1", NextInvEndIsMinusOne, V1, ("TMEM-SAVE-008",), "save/restore stream"),
    _fault("save-moves-pages", SaveMovesPages, "mig:v0:v1:64/migration,mig:v1:v0:64/migration",
           ("TMEM-MIG-003",), "save/restore stream"),
    _fault("save-end-does-not-thaw", SaveEndDoesNotThaw, V0 + "/control",
           ("TMEM-SAVE-009", "TMEM-MIG-003"), "save/restore stream"),
    # --- restore
    _fault("restore-begin-over-existing", RestoreBeginOverExisting, V1_HOST, ("TMEM-RESTORE-001",), "restore"),
    _fault("restore-new-ignores-slot", RestoreNewIgnoresSlot, V0, ("TMEM-RESTORE-002",), "restore"),
    _fault("restore-ops-no-pool-enodev", RestoreOpsNoPoolEnodev, V0, ("TMEM-RESTORE-003",), "restore"),
    _fault("restore-put-index-from-arg1", RestorePutIndexFromArg1, MIG_V0,
           ("TMEM-RESTORE-003", "TMEM-MIG-001"), "restore"),
    # --- object ids and layouts
    _fault("oid-low-32-bits", OidLow32Bits, "pair:v1+shim:64:v0/pairing", ("TMEM-PAIR-004",), "object ids"),
    _fault("slots-never-run-out", SlotsNeverRunOut, V1, ("TMEM-POOL-006",), "errors on bad input"),
    _fault("shared-pools-unbounded", SharedPoolsUnbounded, V1, ("TMEM-SHARED-003",), "shared pools"),
    _fault("truncates-oids", TruncatesOids, V1_HOST, ("TMEM-GET-002", "TMEM-FLUSH-002"), "object ids"),
    _fault("compat-decodes-v0-layout", CompatDecodesV0Layout, V1_32, ("TMEM-LAYOUT-001",), "layouts"),
    # --- ABI evolution: on the example revision's cells
    replace(_fault("retired-number-reused", RetiredNumberReused, "pair:v2:64:v2/hypercall", ("TMEM-ABI-001",),
                   "ABI evolution"), abi_files=(V2_FEATURE_FLAGS,)),
)

FAULTS: dict[str, Fault] = {f.name: f for f in _FAULTS}

__all__ = ["Broken", "Fault", "FAULTS"] + sorted(
    {f.backend.__name__ for f in _FAULTS})
