"""Deliberately broken backends: the simulator with one realistic fault each.

Each entry names the cells that expose it and the rules the suite may
name when it rejects it. The suite's power is that every one is caught.
Several reproduce defects of the historical hosts that section 9 of
tmem-abi.md says were fixed later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tmem_conformance.candidates import simulator
from tmem_conformance.models import codec
from tmem_conformance.models.abi import Cmd, Errno, Subop
from tmem_conformance.models.layouts import layout
from tmem_conformance.models.versions import version

Hook = Callable[["Broken", int, int, codec.TmemOp, bytearray], "int | None"]


class Broken:
    """Wraps a simulator host; `before` may rewrite the op, `after` may change the result."""

    def __init__(self, abi_version: int, capacity_pages: int) -> None:
        self.inner = simulator.make(abi_version, capacity_pages)
        self.v = version(abi_version)
        self.state: dict[object, object] = {}

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return ret

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        lay = layout(self.v, word_size)
        cmd = int.from_bytes(op[:4], "little") if len(op) >= 4 else None
        if cmd is None or len(op) < lay.needed(cmd):
            return self.short_op(domid, word_size, op, memory)
        decoded = codec.unpack(bytes(op[:lay.size]).ljust(lay.size, b"\0"), self.v, word_size)
        changed = self.rewrite(domid, decoded)
        raw = codec.pack(changed, self.v, word_size) if changed is not decoded else op
        return self.result(domid, decoded, self.inner.hypercall(domid, word_size, raw, memory), memory)

    def short_op(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        return self.inner.hypercall(domid, word_size, op, memory)

    def destroy_domain(self, domid: int) -> None:
        self.inner.destroy_domain(domid)

    def close(self) -> None:
        self.inner.close()


def _ctrl(op: codec.TmemOp, subop: int) -> bool:
    return op.cmd == Cmd.CONTROL and isinstance(op.u, codec.Ctrl) and op.u.subop == subop


class AcceptsAnyVersion(Broken):
    """NEW_POOL never checks the spec-version field: the v0/v1 gate is open."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if op.cmd == Cmd.NEW_POOL and isinstance(op.u, codec.Creat):
            return codec.with_fields(op, flags=(op.u.flags & ~(0xFF << 24)) | self.v.spec << 24)
        return op


class IgnoresReservedBits(Broken):
    """A v1 host that accepts NEW_POOL with reserved or precompressed bits set, like a v0 host."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if op.cmd == Cmd.NEW_POOL and isinstance(op.u, codec.Creat):
            return codec.with_fields(op, flags=op.u.flags & ~self.v.reject_flag_bits)
        return op


class TruncatesOids(Broken):
    """Keys objects by the low word of the object id only: wide ids alias."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if isinstance(op.u, codec.Gen) and len(op.u.oid) > 1:
            return codec.with_fields(op, oid=(op.u.oid[0],) + (0,) * (len(op.u.oid) - 1))
        return op


class FlushPageForgets(Broken):
    """FLUSH_PAGE answers 1 but leaves the page in place."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return codec.with_fields(op, cmd=Cmd.XCHG) if op.cmd == Cmd.FLUSH_PAGE else op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 1 if op.cmd == Cmd.FLUSH_PAGE and ret == 0 else ret


class SharedGetsAreExclusive(Broken):
    """Treats every ephemeral get as exclusive, shared pools and persistent pools included."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd == Cmd.GET_PAGE and ret == 1:
            self.inner.hypercall(domid, 64, codec.pack(codec.with_fields(op, cmd=Cmd.FLUSH_PAGE), self.v, 64),
                                 memory)
        return ret


class SharedPoolsNotShared(Broken):
    """NEW_POOL ignores SHARED: every client gets a private pool, so sharers never see each other's pages."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        if op.cmd == Cmd.NEW_POOL and isinstance(op.u, codec.Creat):
            return codec.with_fields(op, flags=op.u.flags & ~0x2)
        return op


class EmptyPoolMisses(Broken):
    """A get from an empty pool answers 0 (a miss) instead of -EEMPTY."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 0 if ret == -Errno.EEMPTY else ret


class FreezeIgnored(Broken):
    """FREEZE answers 0 and does nothing: a frozen client can still add pages."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return codec.with_fields(op, subop=Subop.THAW) if _ctrl(op, Subop.FREEZE) else op


class NoPrivilegeCheck(Broken):
    """The privilege check is compiled out, as at both tags: any domain may issue CONTROL."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        if len(op) >= 4 and int.from_bytes(op[:4], "little") == Cmd.CONTROL and domid != 0:
            return self.inner.hypercall(0, word_size, op, memory)
        return super().hypercall(domid, word_size, op, memory)


class DestroyPoolNoRangeCheck(Broken):
    """DESTROY_POOL with an out-of-range pool id reports success (XSA-15's missing check)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return 1 if op.cmd == Cmd.DESTROY_POOL and not 0 <= op.pool_id < 16 else ret


class PoolFlagsWithoutVersion(Broken):
    """SAVE_GET_POOL_FLAGS omits the spec-version bits (fixed by 367f6be33c): restore fails on v1."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        return ret & ~(0xFF << 24) if _ctrl(op, Subop.SAVE_GET_POOL_FLAGS) and ret >= 0 else ret


class UuidQueryEndsSave(Broken):
    """SAVE_GET_POOL_UUID falls through into SAVE_END (fixed by 9a2982ce85)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_GET_POOL_UUID) and ret == 0:
            assert isinstance(op.u, codec.Ctrl)
            end = codec.TmemOp(Cmd.CONTROL, 0, codec.Ctrl(Subop.SAVE_END, op.u.cli_id))
            self.inner.hypercall(0, 64, codec.pack(end, self.v, 64), bytearray(8192))
        return ret


class SaveSkipsFirstPage(Broken):
    """SAVE_GET_NEXT_PAGE never reports a pool's first page (the iterator bug at both tags)."""

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if _ctrl(op, Subop.SAVE_GET_NEXT_PAGE) and ret == 1:
            key = ("started", op.pool_id)
            if key not in self.state:
                self.state[key] = True
                raw = codec.pack(op, self.v, 64)
                return self.inner.hypercall(domid, 64, raw, memory)
        if _ctrl(op, Subop.SAVE_BEGIN) or (_ctrl(op, Subop.SAVE_GET_NEXT_PAGE) and ret < 0):
            self.state.clear()
        return ret


class ShortOpsPadded(Broken):
    """A short op buffer is zero-padded and carried out instead of failing with -EFAULT."""

    def short_op(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        return self.inner.hypercall(domid, word_size, bytes(op).ljust(layout(self.v, word_size).size, b"\0"),
                                    memory)


class SpuriousNoMemory(Broken):
    """Every third new put fails with -ENOMEM although the host has room."""

    def rewrite(self, domid: int, op: codec.TmemOp) -> codec.TmemOp:
        return op

    def result(self, domid: int, op: codec.TmemOp, ret: int, memory: bytearray) -> int:
        if op.cmd == Cmd.PUT_PAGE and ret == 1:
            n = int(self.state.get("puts", 0)) + 1  # type: ignore[call-overload]
            self.state["puts"] = n
            if n % 3 == 0:
                self.inner.hypercall(domid, 64, codec.pack(codec.with_fields(op, cmd=Cmd.FLUSH_PAGE), self.v,
                                                           64), memory)
                return -Errno.ENOMEM
        return ret


@dataclass(frozen=True)
class Fault:
    backend: type[Broken]
    cells: str
    rules: frozenset[str]
    area: str


CATALOGUE: dict[str, Fault] = {
    "accepts-any-version": Fault(AcceptsAnyVersion, "pair:v0:64:v1,pair:v1+shim:64:v0",
                                 frozenset({"TMEM-POOL-001", "TMEM-PAIR-002", "TMEM-PAIR-003"}),
                                 "version negotiation"),
    "ignores-reserved-bits": Fault(IgnoresReservedBits, "pair:v1:64:v1",
                                   frozenset({"TMEM-POOL-003", "TMEM-POOL-004"}), "version negotiation"),
    "truncates-oids": Fault(TruncatesOids, "pair:v1:64:v1",
                            frozenset({"TMEM-GET-003", "TMEM-GET-002", "TMEM-EPH-002", "TMEM-GET-001",
                                       "TMEM-PUT-001", "TMEM-PUT-002", "TMEM-PUT-006", "TMEM-GUEST-002",
                                       "TMEM-GUEST-001"}), "object ids"),
    "flush-page-forgets": Fault(FlushPageForgets, "pair:v1:64:v1",
                                frozenset({"TMEM-GET-002", "TMEM-GET-001", "TMEM-SAVE-005", "TMEM-FLUSH-003",
                                           "TMEM-PUT-001",
                                           "TMEM-PUT-006"}), "flush semantics"),
    "shared-gets-exclusive": Fault(SharedGetsAreExclusive, "pair:v0:64:v0",
                                   frozenset({"TMEM-EPH-002", "TMEM-GUEST-001", "TMEM-SAVE-005"}),
                                   "ephemeral/persistent semantics"),
    "shared-pools-not-shared": Fault(SharedPoolsNotShared, "pair:v1:64:v1",
                                     frozenset({"TMEM-SAVE-004", "TMEM-EPH-002", "TMEM-SHARED-002"}),
                                     "shared pools"),
    "empty-pool-misses": Fault(EmptyPoolMisses, "pair:v1:32:v1", frozenset({"TMEM-GET-001"}), "errors"),
    "freeze-ignored": Fault(FreezeIgnored, "pair:v0:64:v0", frozenset({"TMEM-PUT-003"}), "control"),
    "no-privilege-check": Fault(NoPrivilegeCheck, "pair:v1:64:v1", frozenset({"TMEM-HC-004"}),
                                "errors on bad input"),
    "destroy-pool-no-range-check": Fault(DestroyPoolNoRangeCheck, "pair:v0:64:v0",
                                         frozenset({"TMEM-DESTROY-002"}), "errors on bad input"),
    "pool-flags-without-version": Fault(PoolFlagsWithoutVersion, "mig:v1:v1:64,pair:v1:64:v1",
                                        frozenset({"TMEM-SAVE-004", "TMEM-MIG-001"}), "save/restore stream"),
    "uuid-query-ends-save": Fault(UuidQueryEndsSave, "mig:v0:v0:64",
                                  frozenset({"TMEM-SAVE-006", "TMEM-PUT-003", "TMEM-SAVE-007", "TMEM-PUT-002",
                                             "TMEM-FLUSH-003"}), "save/restore stream"),
    "save-skips-first-page": Fault(SaveSkipsFirstPage, "mig:v1:v1:32",
                                   frozenset({"TMEM-SAVE-007", "TMEM-MIG-001"}), "save/restore stream"),
    "short-ops-padded": Fault(ShortOpsPadded, "pair:v1:32:v1", frozenset({"TMEM-HC-001"}), "errors on bad input"),
    "spurious-no-memory": Fault(SpuriousNoMemory, "pair:v1+shim:64:v0",
                                frozenset({"TMEM-PUT-006", "TMEM-EPH-002", "TMEM-PUT-002"}),
                                "capacity"),
}
