"""Hypercall machine: one host, several clients of any word size, raw ops including malformed ones.

Every return value and every byte of the callers' memory is checked
against the reference model as each call happens (CheckedHost).
"""

from __future__ import annotations

from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, multiple, precondition, rule

from .. import strategies as S
from ..checked import CheckedHost
from ..models import codec
from ..models.abi import (
    CLI_ID_NULL,
    MAX_GLOBAL_SHARED_POOLS,
    MAX_POOLS_PER_DOMAIN,
    PAGE_SIZE,
    U64_ALL_ONES,
    Cmd,
    PoolFlag,
    Subop,
    pool_flags,
)
from ..models.ctypes_table import WORD_SIZES
from ..models.matrix import Cell
from ..models.versions import VERSIONS, AbiVersion
from ..strategies.machines import GUESTS, NEWCOMERS, PAGES_PER_DOMAIN, RESTORED
from .base import CellMachine, logged

FILL_UUID = 0xF111  # the uuids fill_shared asks for: (FILL_UUID, 0..16)
SAVE_PROBE_INDEX = 7  # the index of the page a client puts right after its SAVE_BEGIN
RECYCLE_INDEX = 9  # the index write_after_flush writes
SAVE_BUF = 2 * PAGE_SIZE
ALL_ONES_UUID = (U64_ALL_ONES, U64_ALL_ONES)
CONTROL_SUBOPS = (Subop.FREEZE, Subop.THAW, Subop.DESTROY, Subop.SET_WEIGHT, Subop.SET_CAP, Subop.SET_COMPRESS,
                  Subop.FLUSH, Subop.QUERY_FREEABLE_MB, Subop.LIST, 9, 31, 99)
SAVE_QUERIES = (Subop.SAVE_GET_VERSION, Subop.SAVE_GET_MAXPOOLS, Subop.SAVE_GET_CLIENT_WEIGHT,
                Subop.SAVE_GET_CLIENT_CAP, Subop.SAVE_GET_CLIENT_FLAGS, Subop.SAVE_GET_POOL_FLAGS,
                Subop.SAVE_GET_POOL_NPAGES, Subop.SAVE_GET_POOL_UUID)
CLIENT_QUERIES = (Subop.SAVE_GET_CLIENT_WEIGHT, Subop.SAVE_GET_CLIENT_CAP, Subop.SAVE_GET_CLIENT_FLAGS)

#: What the raw-hypercall machines' rules hand each other: (dom, slot) pools, (dom, slot, oid, index)
#: handles, and object ids.
pools, handles, object_ids = Bundle("pools"), Bundle("handles"), Bundle("object_ids")


class RawMachine(CellMachine):
    """One host and its guests' pools and pages: what both raw-hypercall machines start from."""

    steps_are_rules = False  # a step is a hypercall (call(), raw_op, destroy_domain count them)
    version: ClassVar[AbiVersion]  # the cell's host's
    words: ClassVar[int]  # the host's object ids' width, in 64-bit words

    @classmethod
    def for_cell(cls, cell: Cell) -> dict[str, Any]:
        version = VERSIONS[cell.host or cell.source or "v1"]
        return {"version": version, "words": version.oid_words}

    @initialize(target=object_ids, low=st.integers(0, 3))
    def oid_family(self, low: int) -> object:
        """Ids that share their low word and differ only above it (one id at v0)."""
        family = {(low,) + (0,) * (self.words - 1)}
        for i in range(1, self.words):
            family.add(tuple(1 if j == i else low if j == 0 else 0 for j in range(self.words)))
        return multiple(*sorted(family))

    @rule(target=object_ids, oid=S.CELL_OIDS)
    def new_oid(self, oid: tuple[int, ...]) -> tuple[int, ...]:
        return oid

    @initialize(target=pools, capacity=st.integers(1, 20),
                others=S.flat(st.tuples(*[st.sampled_from(sorted(WORD_SIZES))] * 2)),
                shared_uuid=S.SHARED_UUIDS, persist=st.booleans())
    @logged
    def boot(self, capacity: int, others: tuple[int, int], shared_uuid: tuple[int, int],
             persist: bool) -> object:
        """A host, and each guest with a private persistent, a private ephemeral and a shared pool."""
        self.host = CheckedHost(self.factory, self.version, capacity, self.log, tolerated=self.tolerated)
        self.hosts.append(self.host)
        self.word = {1: self.cell.word_size, 2: others[0], 3: others[1], 0: 64}
        self.memory = {d: bytearray(PAGES_PER_DOMAIN * PAGE_SIZE) for d in (0, *GUESTS, *NEWCOMERS, *RESTORED)}
        made = []
        for dom in GUESTS:
            for flags, uuid in ((pool_flags(persist=True, spec=self.version.spec), (0, 0)),
                                (pool_flags(spec=self.version.spec), (0, 0)),
                                (pool_flags(persist=persist, shared=True, spec=self.version.spec), shared_uuid)):
                ret = self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(uuid, flags, 0)))
                if ret >= 0:
                    made.append((dom, ret))
        return multiple(*made)

    def call(self, dom: int, op: codec.TmemOp) -> int:
        ws = self.word.get(dom, 64)
        ret = self.host.hypercall(dom, ws, codec.pack(op, self.version, ws), self.memory[dom])
        self.step_done()
        return ret

    def gen(self, dom: int, cmd: int, pool_id: int, oid: tuple[int, ...], index: int, cmfn: int) -> int:
        """A whole-page op (put, get, flush) on one handle; `cmfn` the caller's frame."""
        return self.call(dom, codec.TmemOp(cmd, pool_id, codec.Gen(oid, index, 0, 0, 0, cmfn)))

    def flush_handle(self, handle: tuple, whole_object: bool) -> None:
        """FLUSH_PAGE of the handle, or FLUSH_OBJECT of its object."""
        dom, pid, oid, index = handle
        self.gen(dom, Cmd.FLUSH_OBJECT if whole_object else Cmd.FLUSH_PAGE, pid, oid, index, 0)

    def ctrl(self, subop: int, cli: int, pool_id: int = 0, arg1: int = 0, arg2: int = 0,
             oid: tuple[int, ...] = (), buf: int = 0, dom: int = 0) -> int:
        return self.call(dom, codec.TmemOp(Cmd.CONTROL, pool_id, codec.Ctrl(subop, cli, arg1, arg2, oid, buf)))

    @rule(target=pools, dom=S.DOMS, persist=st.booleans(), shared=st.booleans(), uuid=S.SHARED_UUIDS)
    @logged
    def new_valid_pool(self, dom: int, persist: bool, shared: bool, uuid: tuple[int, int]) -> object:
        flags = pool_flags(persist=persist, shared=shared, spec=self.version.spec)
        ret = self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(uuid, flags, 0)))
        return multiple((dom, ret)) if ret >= 0 else multiple()

    def _put(self, pool: tuple[int, int], oid: tuple[int, ...], index: int, data: bytes, cmfn: int,
             cmd: int) -> tuple:
        dom, pid = pool
        if cmfn < PAGES_PER_DOMAIN:
            self.memory[dom][cmfn * PAGE_SIZE:(cmfn + 1) * PAGE_SIZE] = data
        self.gen(dom, cmd, pid, oid, index, cmfn)
        return (dom, pid, oid, index)

    @rule(target=handles, pool=pools, oid=object_ids, index=S.INDICES, data=S.PAGES, cmfn=S.CMFNS,
          cmd=st.sampled_from([Cmd.PUT_PAGE, Cmd.PUT_PAGE, Cmd.NEW_PAGE]))
    @logged
    def put(self, pool: tuple[int, int], oid: tuple[int, ...], index: int, data: bytes, cmfn: int,
            cmd: int) -> tuple:
        return self._put(pool, oid, index, data, cmfn, cmd)

    @rule(handle=handles, cmfn=S.CMFNS, other=st.sampled_from([None, *GUESTS]))
    @logged
    def get(self, handle: tuple, cmfn: int, other: int | None) -> None:
        dom, pid, oid, index = handle
        self.gen(other or dom, Cmd.GET_PAGE, pid, oid, index, cmfn)

    @rule(target=handles, a=S.DOMS, b=S.DOMS, pick=st.integers(0, 15), oid=object_ids, index=S.INDICES,
          data=S.PAGES)
    @logged
    def share(self, a: int, b: int, pick: int, oid: tuple[int, ...], index: int, data: bytes) -> object:
        """A put through one user's slot of a shared pool, a get through another user's slot of it, and
        one through the first again: a shared pool's get is never exclusive."""
        state = self.host.model.state
        ca, cb = state.clients.get(a), state.clients.get(b)
        pairs = [] if ca is None or cb is None else [
            (sa, sb) for sa, pa in enumerate(ca.slots) if pa is not None and pa.shared
            for sb, pb in enumerate(cb.slots) if pb is pa]
        if not pairs:
            return multiple()
        sa, sb = pairs[pick % len(pairs)]
        handle = self._put((a, sa), oid, index, data, 0, Cmd.PUT_PAGE)
        self.gen(b, Cmd.GET_PAGE, sb, oid, index, 1)
        self.gen(a, Cmd.GET_PAGE, sa, oid, index, 2)
        return multiple(handle, (b, sb, oid, index))

    @rule(handle=handles, whole_object=st.booleans())
    @logged
    def flush(self, handle: tuple, whole_object: bool) -> None:
        self.flush_handle(handle, whole_object)

    def audit_pages(self) -> None:
        """Read back every page the model says must be there, from every client that holds its pool."""
        model = self.host.model.state
        for dom, client in sorted(model.clients.items()):
            if dom not in self.memory:
                continue
            for slot, pool in enumerate(client.slots):
                if pool is None:
                    continue
                for (oid, index), page in sorted(pool.pages.items()):
                    if page.sure:
                        self.gen(dom, Cmd.GET_PAGE, slot, oid, index, PAGES_PER_DOMAIN - 1)

    @rule()
    @logged
    def audit(self) -> None:
        self.audit_pages()

    #: What the end of every example reads back, in order (each a logged step; the first violation stops them).
    END_AUDITS: ClassVar[tuple[str, ...]] = ("audit_pages",)

    def teardown(self) -> None:
        try:
            for name in self.END_AUDITS:
                if getattr(self, "host", None) is None or self.failed:  # keep the first violation
                    break
                logged(getattr(type(self), name))(self)
        finally:
            super().teardown()

class HypercallMachine(RawMachine):
    """The data plane: pools, pages, windows, object ids and malformed ops."""

    @rule(target=pools, dom=S.DOMS, flags=S.CELL_FLAGS, uuid=S.UUIDS)
    @logged
    def new_pool(self, dom: int, flags: int, uuid: tuple[int, int]) -> object:
        ret = self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(uuid, flags, 0)))
        return multiple((dom, ret)) if ret >= 0 else multiple()

    @precondition(lambda self: len(self.bundle("pools")) > 4)
    @rule(pool=consumes(pools))
    @logged
    def destroy_pool(self, pool: tuple[int, int]) -> None:
        self.call(pool[0], codec.TmemOp(Cmd.DESTROY_POOL, pool[1], codec.Gen((0,) * self.words)))

    @rule(target=handles, handle=handles, data=S.PAGES, cmfn=S.FRAMES)
    @logged
    def put_again(self, handle: tuple, data: bytes, cmfn: int) -> tuple:
        """A dup put (or a put after a flush or eviction) to a handle used before."""
        dom, pid, oid, index = handle
        return self._put((dom, pid), oid, index, data, cmfn, Cmd.PUT_PAGE)

    @rule(handle=handles, whole_object=st.booleans())
    @logged
    def flush_then_get(self, handle: tuple, whole_object: bool) -> None:
        """A flush, then a get of the handle it removed: a miss."""
        dom, pid, oid, index = handle
        self.flush_handle(handle, whole_object)
        self.gen(dom, Cmd.GET_PAGE, pid, oid, index, 1)

    @rule(handle=handles, cmfn=S.FRAMES)
    @logged
    def get_again(self, handle: tuple, cmfn: int) -> None:
        dom, pid, oid, index = handle
        self.gen(dom, Cmd.GET_PAGE, pid, oid, index, cmfn)

    @rule(pool=pools, oid=object_ids, index=S.INDICES, cmfn=S.CMFNS)
    @logged
    def get_anything(self, pool: tuple[int, int], oid: tuple[int, ...], index: int, cmfn: int) -> None:
        self.gen(pool[0], Cmd.GET_PAGE, pool[1], oid, index, cmfn)

    @rule(handle=handles, oid=object_ids, window=S.WINDOWS, data=S.PAGES)
    @logged
    def write_after_flush(self, handle: tuple, oid: tuple[int, ...], window: tuple[int, int, int],
                          data: bytes) -> None:
        """Flush a page, WRITE a window to a new handle, read it whole: outside the window it is zero."""
        dom, pid, old_oid, index = handle
        self.gen(dom, Cmd.FLUSH_PAGE, pid, old_oid, index, 0)
        self.memory[dom][:PAGE_SIZE] = data
        self.call(dom, codec.TmemOp(Cmd.WRITE, pid, codec.Gen(oid, RECYCLE_INDEX, *window, 0)))
        self.gen(dom, Cmd.GET_PAGE, pid, oid, RECYCLE_INDEX, 1)

    @rule(handle=handles)
    @logged
    def recreate(self, handle: tuple) -> None:
        """Destroy a handle's pool, make a private pool of its kind, and get the handle from it."""
        dom, pid, oid, index = handle
        client = self.host.model.state.clients.get(dom)
        old = client.pool(pid) if client is not None else None
        if old is None or old.shared:
            return
        self.call(dom, codec.TmemOp(Cmd.DESTROY_POOL, pid, codec.Gen((0,) * self.words)))
        ret = self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(
            (0, 0), pool_flags(persist=old.persistent, spec=self.version.spec), 0)))
        if ret >= 0:
            self.gen(dom, Cmd.GET_PAGE, ret, oid, index, 1)

    @rule(handle=handles, window=S.WINDOWS, cmfn=S.CMFNS, data=S.PAGES,
          cmd=st.sampled_from([Cmd.READ, Cmd.WRITE]))
    @logged
    def read_write(self, handle: tuple, window: tuple[int, int, int], cmfn: int, data: bytes,
                   cmd: int) -> None:
        dom, pid, oid, index = handle
        if cmfn < PAGES_PER_DOMAIN:
            # A WRITE's source; a READ's destination, so that bytes it must not copy show if it does.
            self.memory[dom][cmfn * PAGE_SIZE:(cmfn + 1) * PAGE_SIZE] = data
        self.call(dom, codec.TmemOp(cmd, pid, codec.Gen(oid, index, *window, cmfn)))

    @rule(dom=S.DOMS, raw=S.CELL_RAW_OPS)
    @logged
    def raw_op(self, dom: int, raw: bytes) -> None:
        self.host.hypercall(dom, self.word[dom], raw, self.memory[dom])
        self.step_done()

    @rule(dom=S.DOMS, pool_id=S.BAD_POOL_IDS)
    @logged
    def destroy_bad_pool(self, dom: int, pool_id: int) -> None:
        self.call(dom, codec.TmemOp(Cmd.DESTROY_POOL, pool_id, codec.Gen((0,) * self.words)))

    @rule(dom=S.DOMS, pick=st.integers(0, MAX_POOLS_PER_DOMAIN - 1))
    @logged
    def destroy_free_slot(self, dom: int, pick: int) -> None:
        """DESTROY_POOL of an in-range slot the caller does not use."""
        client = self.host.model.state.clients.get(dom)
        free = [i for i in range(MAX_POOLS_PER_DOMAIN) if client is None or client.slots[i] is None]
        if free:
            self.call(dom, codec.TmemOp(Cmd.DESTROY_POOL, free[pick % len(free)], codec.Gen((0,) * self.words)))

    @rule(target=pools, dom=S.DOMS, persist=st.booleans())
    @logged
    def fill_slots(self, dom: int, persist: bool) -> object:
        """NEW_POOL until the client's 16 slots are used: the 17th must be refused."""
        made = []
        for _ in range(MAX_POOLS_PER_DOMAIN + 1):
            ret = self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(
                (0, 0), pool_flags(persist=persist, spec=self.version.spec), 0)))
            if ret < 0:
                break
            made.append((dom, ret))
        return multiple(*made)

    @rule(dom=S.DOMS, uuid=S.SHARED_UUIDS, flags=S.CELL_BAD_SHARED_FLAGS)
    @logged
    def join_with_bad_flags(self, dom: int, uuid: tuple[int, int], flags: int) -> None:
        """Flags the checks refuse: no new private pool, and no join of a shared one (POOL-007's order)."""
        self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat((0, 0), flags & ~PoolFlag.SHARED, 0)))
        self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(uuid, flags, 0)))

    @rule(a=S.DOMS, b=S.DOMS, persist=st.booleans(), oid=object_ids, index=S.INDICES, data=S.PAGES)
    @logged
    def private_by_uuid(self, a: int, b: int, persist: bool, oid: tuple[int, ...], index: int,
                        data: bytes) -> None:
        """SHARED with the all-ones uuid makes a private pool: b never sees what a put in its own."""
        flags = pool_flags(persist=persist, shared=True, spec=self.version.spec)
        mine = self.call(a, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(ALL_ONES_UUID, flags, 0)))
        theirs = self.call(b, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(ALL_ONES_UUID, flags, 0)))
        if mine >= 0 and theirs >= 0:
            self._put((a, mine), oid, index, data, 0, Cmd.PUT_PAGE)
            self.gen(b, Cmd.GET_PAGE, theirs, oid, index, 1)
        for dom, slot in ((a, mine), (b, theirs)):
            if slot >= 0:
                self.call(dom, codec.TmemOp(Cmd.DESTROY_POOL, slot, codec.Gen((0,) * self.words)))

    @precondition(lambda self: self.words > 1)
    @rule(pool=pools, low=st.integers(0, 3), index=S.INDICES, data=S.PAGES)
    @logged
    def same_low_word(self, pool: tuple[int, int], low: int, index: int, data: bytes) -> None:
        """Two objects that differ only above the low word: flushing one leaves the other's page."""
        model_pool = self.host.model.state.clients.get(pool[0])
        target = model_pool.pool(pool[1]) if model_pool is not None else None
        if target is None or not target.persistent:
            return  # ephemeral pages may go for other reasons: only persistent ones tell
        a, b = (low,) + (0,) * (self.words - 1), (low, 1) + (0,) * (self.words - 2)
        self._put(pool, a, index, data, 0, Cmd.PUT_PAGE)
        self._put(pool, b, index, data[::-1], 1, Cmd.PUT_PAGE)
        self.gen(pool[0], Cmd.FLUSH_OBJECT, pool[1], a, 0, 0)
        self.gen(pool[0], Cmd.GET_PAGE, pool[1], b, index, 2)

class ControlMachine(RawMachine):
    """The control plane: freeze, auth, shared-pool users coming and going, save and restore, domains."""

    def audit_clients(self) -> None:
        """Each client takes a setting (SET_COMPRESS to what it already is: 0, TMEM-CTRL-002) and counts
        the pages of a pool (SAVE_GET_POOL_NPAGES, TMEM-SAVE-005), a destroyed domain's client
        is gone (THAW: -1, TMEM-DESTROY-003), and a FLUSH naming one client is refused (-1,
        TMEM-CTRL-003): asked at the end of every example, so a wrong answer is seen whichever control
        rules the draws reached."""
        model = self.host.model.state
        for dom, client in sorted(model.clients.items()):
            self.ctrl(Subop.SET_COMPRESS, dom, arg1=int(client.compress))
            # A pool the model saw lose no page: a count off there is the count's, not a kept removal's.
            counted = next((slot for slot, pool in enumerate(client.slots) if pool is not None and not pool.gone),
                           None)
            if counted is not None:
                self.ctrl(Subop.SAVE_GET_POOL_NPAGES, dom, pool_id=counted)
        for dom in sorted(model.destroyed - set(model.clients)):
            self.ctrl(Subop.THAW, dom)
        self.ctrl(Subop.FLUSH, min(model.clients, default=GUESTS[0]))

    END_AUDITS = ("audit_clients", "audit_pages")

    @rule(subop=st.sampled_from([Subop.FREEZE, Subop.THAW]), cli=S.TARGETS)
    @logged
    def freeze_thaw(self, subop: int, cli: int) -> None:
        self.ctrl(subop, cli)

    @rule(handle=handles, whole_object=st.booleans())
    @logged
    def frozen_flush(self, handle: tuple, whole_object: bool) -> None:
        """FREEZE the handle's client, put a page (refused: it is frozen), flush the handle (done, yet
        -EFROZEN), THAW, get it (a miss)."""
        dom, pid, oid, index = handle
        self.ctrl(Subop.FREEZE, dom)
        self.gen(dom, Cmd.NEW_PAGE, pid, oid, SAVE_PROBE_INDEX, 0)
        self.flush_handle(handle, whole_object)
        self.ctrl(Subop.THAW, dom)
        self.gen(dom, Cmd.GET_PAGE, pid, oid, index, 1)

    @rule(subop=st.sampled_from(CONTROL_SUBOPS), cli=S.TARGETS,
          arg1=S.flat(st.one_of(st.integers(0, 3), st.just(2**32 - 1))))
    @logged
    def control(self, subop: int, cli: int, arg1: int) -> None:
        self.ctrl(subop, cli, arg1=64 if subop == Subop.LIST else arg1, buf=PAGE_SIZE)

    @rule(dom=S.DOMS, subop=st.sampled_from([Subop.FREEZE, Subop.SAVE_BEGIN, Subop.RESTORE_BEGIN]))
    @logged
    def privileged(self, dom: int, subop: int) -> None:
        """A guest issuing the toolstack's sub-ops on itself."""
        self.ctrl(subop, dom, dom=dom)

    @rule(dom=st.sampled_from(GUESTS + RESTORED), probe=st.sampled_from(CLIENT_QUERIES))
    @logged
    def destroy_domain(self, dom: int, probe: int) -> None:
        """The domain dies; the toolstack then asks after its client."""
        self.host.destroy_domain(dom)
        self.step_done()
        self.ctrl(probe, dom)

    @rule(dom=st.sampled_from(NEWCOMERS), cmd=st.sampled_from([Cmd.GET_PAGE, Cmd.FLUSH_PAGE, Cmd.PUT_PAGE]),
          pool_id=st.integers(0, 2), probe=st.sampled_from(CLIENT_QUERIES))
    @logged
    def newcomer(self, dom: int, cmd: int, pool_id: int, probe: int) -> None:
        """A domain's first call fails (it has no pools), yet gives it a client; the toolstack asks after it."""
        self.call(dom, codec.TmemOp(cmd, pool_id, codec.Gen((0,) * self.words, 0, 0, 0, 0, 0)))
        self.ctrl(probe, dom)

    @rule(dom=st.sampled_from([0, 0, 1]), cli=S.TARGETS, grant=st.booleans(), uuid=S.SHARED_UUIDS)
    @logged
    def auth(self, dom: int, cli: int, grant: bool, uuid: tuple[int, int]) -> None:
        self.call(dom, codec.TmemOp(Cmd.AUTH, 0, codec.Creat(uuid, int(grant), cli)))

    @rule(granted=S.DOMS, asked=S.DOMS, uuid=S.SHARED_UUIDS)
    @logged
    def auth_grant_then_revoke(self, granted: int, asked: int, uuid: tuple[int, int]) -> None:
        """Grant one client a uuid, then revoke it for a client: 1 only if that client held it."""
        self.call(0, codec.TmemOp(Cmd.AUTH, 0, codec.Creat(uuid, 1, granted)))
        self.call(0, codec.TmemOp(Cmd.AUTH, 0, codec.Creat(uuid, 0, asked)))

    @rule(target=pools, persist=st.booleans(), start=st.integers(0, 2))
    @logged
    def fill_shared(self, persist: bool, start: int) -> object:
        """Shared pools of new uuids, from every guest in turn, until 17 have been asked for."""
        made = []
        for i in range(MAX_GLOBAL_SHARED_POOLS + 1):
            dom = GUESTS[(start + i) % len(GUESTS)]
            ret = self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(
                (FILL_UUID, i), pool_flags(persist=persist, shared=True, spec=self.version.spec), 0)))
            if ret >= 0:
                made.append((dom, ret))
        return multiple(*made)

    @rule(pick=st.integers(0, 15), oid=object_ids, index=S.INDICES, data=S.PAGES)
    @logged
    def nonowner_leaves(self, pick: int, oid: tuple[int, ...], index: int, data: bytes) -> None:
        """A shared pool's owner puts a page, another user leaves the pool, the owner gets the page."""
        state = self.host.model.state
        shared = [p for p in state.shared.values() if p.owner in state.clients and len(p.users) > 1]
        if not shared:
            return
        pool = shared[pick % len(shared)]
        owner = pool.owner
        assert owner is not None
        leaver = min(d for d in pool.users if d != owner)
        mine = state.clients[owner].slots.index(pool)
        self._put((owner, mine), oid, index, data, 0, Cmd.PUT_PAGE)
        for slot in sorted(pool.users[leaver]):
            self.call(leaver, codec.TmemOp(Cmd.DESTROY_POOL, slot, codec.Gen((0,) * self.words)))
        self.gen(owner, Cmd.GET_PAGE, mine, oid, index, 1)

    @rule(dom=S.DOMS)
    @logged
    def leave_shared(self, dom: int) -> None:
        """The guest destroys every shared pool it uses; the pools' other users keep their pages."""
        client = self.host.model.state.clients.get(dom)
        for slot in [] if client is None else [i for i, p in enumerate(client.slots) if p and p.shared]:
            self.call(dom, codec.TmemOp(Cmd.DESTROY_POOL, slot, codec.Gen((0,) * self.words)))

    @rule(pool=pools, other=S.OPTIONAL_TARGETS, live=st.booleans(), oid=object_ids)
    @logged
    def save_begin(self, pool: tuple[int, int], other: int | None, live: bool, oid: tuple[int, ...]) -> None:
        """SAVE_BEGIN; then the named client, if it has a pool, puts a new page there (it is frozen)."""
        cli = pool[0] if other is None else other
        self.ctrl(Subop.SAVE_BEGIN, cli, arg1=int(live))
        client = self.host.model.state.clients.get(cli)
        if client is not None and client.used_slots() and cli in self.memory:
            self.gen(cli, Cmd.NEW_PAGE, client.used_slots()[0], oid, SAVE_PROBE_INDEX, 0)

    @rule(pool=pools, subop=st.sampled_from(SAVE_QUERIES))
    @logged
    def save_query(self, pool: tuple[int, int], subop: int) -> None:
        """A save query about a pool of the bundle (its client, its slot)."""
        self.ctrl(subop, pool[0], pool_id=pool[1], arg1=16, buf=PAGE_SIZE)

    @rule(subop=st.sampled_from(SAVE_QUERIES), cli=S.TARGETS, pool_id=st.integers(-1, 16))
    @logged
    def save_query_any(self, subop: int, cli: int, pool_id: int) -> None:
        """A save query about any client and slot, existing or not."""
        self.ctrl(subop, cli, pool_id=pool_id, arg1=16, buf=PAGE_SIZE)

    @rule(pool=pools, short=st.booleans())
    @logged
    def save_next_page(self, pool: tuple[int, int], short: bool) -> None:
        self.ctrl(Subop.SAVE_GET_NEXT_PAGE, pool[0], pool_id=pool[1], arg1=100 if short else SAVE_BUF)

    @rule(pool=pools, other=S.OPTIONAL_TARGETS)
    @logged
    def save_end(self, pool: tuple[int, int], other: int | None) -> None:
        """Drain the invalidated handles, end the save; then the named client, if it has a pool, puts a new
        page there (stored unless it was frozen before SAVE_BEGIN: SAVE_END restores that state)."""
        cli = pool[0] if other is None else other
        for _ in range(64):
            if self.ctrl(Subop.SAVE_GET_NEXT_INV, cli, arg1=64) <= 0:
                break
        self.ctrl(Subop.SAVE_END, cli)
        client = self.host.model.state.clients.get(cli)
        if client is not None and client.used_slots() and cli in self.memory:
            self.gen(cli, Cmd.NEW_PAGE, client.used_slots()[0], (0,) * self.words, SAVE_PROBE_INDEX, 0)

    @rule(cli=st.sampled_from(RESTORED + (1, CLI_ID_NULL)))
    @logged
    def restore_begin(self, cli: int) -> None:
        self.ctrl(Subop.RESTORE_BEGIN, cli)

    @rule(target=pools, cli=st.sampled_from(RESTORED + (1, CLI_ID_NULL)), slot=st.integers(-1, 16),
          flags=S.CELL_FLAGS, uuid=S.UUIDS)
    @logged
    def restore_new(self, cli: int, slot: int, flags: int, uuid: tuple[int, int]) -> object:
        ret = self.call(0, codec.TmemOp(Cmd.RESTORE_NEW, slot, codec.Creat(uuid, flags, cli)))
        return multiple((cli, ret)) if ret >= 0 else multiple()

    @rule(target=pools, cli=st.sampled_from(RESTORED), slot=st.integers(1, MAX_POOLS_PER_DOMAIN - 1),
          persist=st.booleans())
    @logged
    def restore_into_slot(self, cli: int, slot: int, persist: bool) -> object:
        """RESTORE_BEGIN, then RESTORE_NEW into a slot above the lowest free one: the pool is made there."""
        self.ctrl(Subop.RESTORE_BEGIN, cli)
        ret = self.call(0, codec.TmemOp(Cmd.RESTORE_NEW, slot, codec.Creat(
            (0, 0), pool_flags(persist=persist, spec=self.version.spec), cli)))
        return multiple((cli, ret)) if ret >= 0 else multiple()

    @rule(cli=st.sampled_from(RESTORED + (1, CLI_ID_NULL)), data=S.PAGES, flush=st.booleans(),
          pool_id=st.integers(-1, 3), length=st.sampled_from([PAGE_SIZE, PAGE_SIZE, 100, 0, PAGE_SIZE + 1]),
          index=S.INDICES, oid=S.CELL_OIDS)
    @logged
    def restore_page(self, cli: int, data: bytes, flush: bool, pool_id: int, length: int, index: int,
                     oid: tuple[int, ...]) -> None:
        self.memory[0][PAGE_SIZE:2 * PAGE_SIZE] = data
        self.ctrl(Subop.RESTORE_FLUSH_PAGE if flush else Subop.RESTORE_PUT_PAGE, cli, pool_id=pool_id,
                  arg1=length, arg2=index, oid=oid, buf=PAGE_SIZE)

