"""Hypercall machine: one host, several clients of any word size, raw ops including malformed ones.

Every return value and every byte of the callers' memory is checked
against the reference model as each call happens (CheckedHost).
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, multiple, precondition, rule

from .. import strategies as S
from ..backend import BackendFactory
from ..checked import CheckedHost
from ..models import codec
from ..models.abi import CLI_ID_NULL, PAGE_SIZE, Cmd, Subop, pool_flags
from ..models.cabi import WORD_SIZES
from ..models.matrix import Cell
from ..models.versions import VERSIONS
from .base import CellMachine, logged

PAGES_PER_DOMAIN = 4
GUESTS = (1, 2, 3)
RESTORED = (7, 8)
SAVE_BUF = 2 * PAGE_SIZE
CONTROL_SUBOPS = (Subop.FREEZE, Subop.THAW, Subop.DESTROY, Subop.SET_WEIGHT, Subop.SET_CAP, Subop.SET_COMPRESS,
                  Subop.FLUSH, Subop.QUERY_FREEABLE_MB, Subop.LIST, 9, 31, 99)
SAVE_QUERIES = (Subop.SAVE_GET_VERSION, Subop.SAVE_GET_MAXPOOLS, Subop.SAVE_GET_CLIENT_WEIGHT,
                Subop.SAVE_GET_CLIENT_CAP, Subop.SAVE_GET_CLIENT_FLAGS, Subop.SAVE_GET_POOL_FLAGS,
                Subop.SAVE_GET_POOL_NPAGES, Subop.SAVE_GET_POOL_UUID)


def build(cell: Cell, factory: BackendFactory) -> type[CellMachine]:
    v = VERSIONS[cell.host or cell.source or "v1"]
    words = v.oid_words
    cmfns = st.one_of(st.integers(0, PAGES_PER_DOMAIN - 1), st.integers(0, PAGES_PER_DOMAIN - 1),
                      st.sampled_from([PAGES_PER_DOMAIN, 2**32 - 1]))
    doms = st.sampled_from(GUESTS)
    targets = st.sampled_from(GUESTS + GUESTS + (CLI_ID_NULL,) + RESTORED + (0x10001,))

    class HypercallMachine(CellMachine):
        pools = Bundle("pools")
        handles = Bundle("handles")
        object_ids = Bundle("object_ids")

        @initialize(target=object_ids, low=st.integers(0, 3))
        def oid_family(self, low: int) -> object:
            """Ids that share their low word and differ only above it (one id at v0)."""
            family = {(low,) + (0,) * (words - 1)}
            for i in range(1, words):
                family.add(tuple(1 if j == i else low if j == 0 else 0 for j in range(words)))
            return multiple(*sorted(family))

        @rule(target=object_ids, oid=S.oids(words))
        def new_oid(self, oid: tuple[int, ...]) -> tuple[int, ...]:
            return oid

        @initialize(target=pools, capacity=st.integers(1, 20),
                    others=st.tuples(*[st.sampled_from(sorted(WORD_SIZES))] * 2),
                    shared_uuid=S.SHARED_UUIDS, persist=st.booleans())
        @logged
        def boot(self, capacity: int, others: tuple[int, int], shared_uuid: tuple[int, int],
                 persist: bool) -> object:
            """A host, and each guest with a private persistent, a private ephemeral and a shared pool."""
            self.host = CheckedHost(factory, v, capacity, self.log)
            self.hosts.append(self.host)
            self.word = {1: cell.word_size, 2: others[0], 3: others[1], 0: 64}
            self.memory = {d: bytearray(PAGES_PER_DOMAIN * PAGE_SIZE) for d in (0, *GUESTS, *RESTORED)}
            made = []
            for dom in GUESTS:
                for flags, uuid in ((pool_flags(persist=True, spec=v.spec), (0, 0)),
                                    (pool_flags(spec=v.spec), (0, 0)),
                                    (pool_flags(persist=persist, shared=True, spec=v.spec), shared_uuid)):
                    ret = self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(uuid, flags, 0)))
                    if ret >= 0:
                        made.append((dom, ret))
            return multiple(*made)

        def call(self, dom: int, op: codec.TmemOp) -> int:
            ws = self.word.get(dom, 64)
            ret = self.host.hypercall(dom, ws, codec.pack(op, v, ws), self.memory[dom])
            self.step_done()
            return ret

        def ctrl(self, subop: int, cli: int, pool_id: int = 0, arg1: int = 0, arg2: int = 0,
                 oid: tuple[int, ...] = (), buf: int = 0, dom: int = 0) -> int:
            return self.call(dom, codec.TmemOp(Cmd.CONTROL, pool_id, codec.Ctrl(subop, cli, arg1, arg2, oid, buf)))

        # ------------------------------------------------------------ pools
        @rule(target=pools, dom=doms, flags=S.any_flags(v), uuid=S.UUIDS)
        @logged
        def new_pool(self, dom: int, flags: int, uuid: tuple[int, int]) -> object:
            ret = self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(uuid, flags, 0)))
            return multiple((dom, ret)) if ret >= 0 else multiple()

        @rule(target=pools, dom=doms, persist=st.booleans(), shared=st.booleans(), uuid=S.SHARED_UUIDS)
        @logged
        def new_valid_pool(self, dom: int, persist: bool, shared: bool, uuid: tuple[int, int]) -> object:
            flags = pool_flags(persist=persist, shared=shared, spec=v.spec)
            ret = self.call(dom, codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(uuid, flags, 0)))
            return multiple((dom, ret)) if ret >= 0 else multiple()

        @precondition(lambda self: len(self.bundle("pools")) > 4)
        @rule(pool=consumes(pools))
        @logged
        def destroy_pool(self, pool: tuple[int, int]) -> None:
            self.call(pool[0], codec.TmemOp(Cmd.DESTROY_POOL, pool[1], codec.Gen((0,) * words)))

        # ------------------------------------------------------------ pages
        def _put(self, pool: tuple[int, int], oid: tuple[int, ...], index: int, data: bytes, cmfn: int,
                 cmd: int) -> tuple:
            dom, pid = pool
            if cmfn < PAGES_PER_DOMAIN:
                self.memory[dom][cmfn * PAGE_SIZE:(cmfn + 1) * PAGE_SIZE] = data
            self.call(dom, codec.TmemOp(cmd, pid, codec.Gen(oid, index, 0, 0, 0, cmfn)))
            return (dom, pid, oid, index)

        @rule(target=handles, pool=pools, oid=object_ids, index=S.INDICES, data=S.PAGES, cmfn=cmfns,
              cmd=st.sampled_from([Cmd.PUT_PAGE, Cmd.PUT_PAGE, Cmd.NEW_PAGE]))
        @logged
        def put(self, pool: tuple[int, int], oid: tuple[int, ...], index: int, data: bytes, cmfn: int,
                cmd: int) -> tuple:
            return self._put(pool, oid, index, data, cmfn, cmd)

        @rule(target=handles, handle=handles, data=S.PAGES, cmfn=st.integers(0, PAGES_PER_DOMAIN - 1))
        @logged
        def put_again(self, handle: tuple, data: bytes, cmfn: int) -> tuple:
            """A dup put (or a put after a flush or eviction) to a handle used before."""
            dom, pid, oid, index = handle
            return self._put((dom, pid), oid, index, data, cmfn, Cmd.PUT_PAGE)

        @rule(handle=handles, cmfn=cmfns, other=st.sampled_from([None, *GUESTS]))
        @logged
        def get(self, handle: tuple, cmfn: int, other: int | None) -> None:
            dom, pid, oid, index = handle
            self.call(other or dom, codec.TmemOp(Cmd.GET_PAGE, pid, codec.Gen(oid, index, 0, 0, 0, cmfn)))

        @rule(handle=handles, cmfn=st.integers(0, PAGES_PER_DOMAIN - 1))
        @logged
        def get_again(self, handle: tuple, cmfn: int) -> None:
            dom, pid, oid, index = handle
            self.call(dom, codec.TmemOp(Cmd.GET_PAGE, pid, codec.Gen(oid, index, 0, 0, 0, cmfn)))

        @rule(pool=pools, oid=object_ids, index=S.INDICES, cmfn=cmfns)
        @logged
        def get_anything(self, pool: tuple[int, int], oid: tuple[int, ...], index: int, cmfn: int) -> None:
            self.call(pool[0], codec.TmemOp(Cmd.GET_PAGE, pool[1], codec.Gen(oid, index, 0, 0, 0, cmfn)))

        @rule(handle=handles, window=S.WINDOWS, cmfn=cmfns, data=S.PAGES,
              cmd=st.sampled_from([Cmd.READ, Cmd.WRITE]))
        @logged
        def read_write(self, handle: tuple, window: tuple[int, int, int], cmfn: int, data: bytes,
                       cmd: int) -> None:
            dom, pid, oid, index = handle
            if cmd == Cmd.WRITE and cmfn < PAGES_PER_DOMAIN:
                self.memory[dom][cmfn * PAGE_SIZE:(cmfn + 1) * PAGE_SIZE] = data
            self.call(dom, codec.TmemOp(cmd, pid, codec.Gen(oid, index, *window, cmfn)))

        @rule(handle=handles, whole_object=st.booleans())
        @logged
        def flush(self, handle: tuple, whole_object: bool) -> None:
            dom, pid, oid, index = handle
            cmd = Cmd.FLUSH_OBJECT if whole_object else Cmd.FLUSH_PAGE
            self.call(dom, codec.TmemOp(cmd, pid, codec.Gen(oid, index, 0, 0, 0, 0)))

        @rule(dom=doms, raw=S.malformed_ops(v, cell.word_size, PAGES_PER_DOMAIN))
        @logged
        def raw_op(self, dom: int, raw: bytes) -> None:
            self.host.hypercall(dom, self.word[dom], raw, self.memory[dom])
            self.step_done()

        # ------------------------------------------------------------ audit
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
                            self.call(dom, codec.TmemOp(Cmd.GET_PAGE, slot, codec.Gen(
                                oid, index, 0, 0, 0, PAGES_PER_DOMAIN - 1)))

        @rule()
        @logged
        def audit(self) -> None:
            self.audit_pages()

        def teardown(self) -> None:
            try:
                if getattr(self, "host", None) is not None:
                    logged(type(self).audit_pages)(self)
            finally:
                super().teardown()

        # ------------------------------------------------------------ control plane (domain 0 and intruders)
        @rule(data=st.data())
        @logged
        def control(self, data: st.DataObject) -> None:
            kind = data.draw(st.sampled_from(["freeze", "subop", "bad_destroy", "privileged", "auth",
                                              "destroy_domain"]), label="kind")
            if kind == "freeze":
                self.ctrl(data.draw(st.sampled_from([Subop.FREEZE, Subop.THAW]), label="subop"),
                          data.draw(targets, label="cli_id"))
                return
            if kind == "bad_destroy":
                dom, pool_id = data.draw(doms, label="dom"), data.draw(S.BAD_POOL_IDS, label="pool_id")
                self.call(dom, codec.TmemOp(Cmd.DESTROY_POOL, pool_id, codec.Gen((0,) * words)))
                return
            if kind == "destroy_domain":
                self.host.destroy_domain(data.draw(st.sampled_from(GUESTS + RESTORED), label="dom"))
                self.step_done()
                return
            if kind == "subop":
                subop = data.draw(st.sampled_from(CONTROL_SUBOPS), label="subop")
                cli = data.draw(targets, label="cli_id")
                arg1 = 64 if subop == Subop.LIST else data.draw(st.one_of(st.integers(0, 3), st.just(2**32 - 1)),
                                                                label="arg1")
                self.ctrl(subop, cli, arg1=arg1, buf=PAGE_SIZE)
            elif kind == "privileged":
                dom = data.draw(doms, label="dom")
                self.ctrl(data.draw(st.sampled_from([Subop.FREEZE, Subop.SAVE_BEGIN, Subop.RESTORE_BEGIN]),
                                    label="subop"), dom, dom=dom)
            else:
                dom = data.draw(st.sampled_from([0, 0, 1]), label="dom")
                cli, grant = data.draw(targets, label="cli_id"), data.draw(st.booleans(), label="grant")
                self.call(dom, codec.TmemOp(Cmd.AUTH, 0, codec.Creat(data.draw(S.SHARED_UUIDS, label="uuid"),
                                                                      int(grant), cli)))

        @rule(data=st.data(), pool=pools)
        @logged
        def save(self, data: st.DataObject, pool: tuple[int, int]) -> None:
            kind = data.draw(st.sampled_from(["begin", "query", "next_page", "end"]), label="kind")
            cli = data.draw(st.one_of(st.just(pool[0]), targets), label="cli_id")
            if kind == "begin":
                self.ctrl(Subop.SAVE_BEGIN, cli, arg1=int(data.draw(st.booleans(), label="live")))
            elif kind == "query":
                subop = data.draw(st.sampled_from(SAVE_QUERIES), label="subop")
                pool_id = data.draw(st.one_of(st.just(pool[1]), st.integers(-1, 16)), label="pool_id")
                self.ctrl(subop, cli, pool_id=pool_id, arg1=16, buf=PAGE_SIZE)
            elif kind == "next_page":
                short = data.draw(st.booleans(), label="short buffer")
                self.ctrl(Subop.SAVE_GET_NEXT_PAGE, pool[0], pool_id=pool[1], arg1=100 if short else SAVE_BUF)
            else:
                while self.ctrl(Subop.SAVE_GET_NEXT_INV, cli, arg1=64) > 0:
                    pass
                self.ctrl(Subop.SAVE_END, cli)

        @rule(target=pools, data=st.data())
        @logged
        def restore(self, data: st.DataObject) -> object:
            kind = data.draw(st.sampled_from(["begin", "new", "page"]), label="kind")
            cli = data.draw(st.sampled_from(RESTORED + (1, CLI_ID_NULL)), label="cli_id")
            if kind == "begin":
                self.ctrl(Subop.RESTORE_BEGIN, cli)
            elif kind == "new":
                slot = data.draw(st.integers(-1, 16), label="slot")
                flags, uuid = data.draw(S.any_flags(v), label="flags"), data.draw(S.UUIDS, label="uuid")
                ret = self.call(0, codec.TmemOp(Cmd.RESTORE_NEW, slot, codec.Creat(uuid, flags, cli)))
                return multiple((cli, ret)) if ret >= 0 else multiple()
            else:
                self.memory[0][PAGE_SIZE:2 * PAGE_SIZE] = data.draw(S.PAGES, label="data")
                flush = data.draw(st.booleans(), label="flush")
                self.ctrl(Subop.RESTORE_FLUSH_PAGE if flush else Subop.RESTORE_PUT_PAGE, cli,
                          pool_id=data.draw(st.integers(-1, 3), label="pool_id"),
                          arg1=data.draw(st.sampled_from([PAGE_SIZE, PAGE_SIZE, 100, 0, PAGE_SIZE + 1]), label="len"),
                          arg2=data.draw(S.INDICES, label="index"), oid=data.draw(S.oids(words), label="oid"),
                          buf=PAGE_SIZE)
            return multiple()

    HypercallMachine.__name__ = HypercallMachine.__qualname__ = "HypercallMachine"
    return HypercallMachine
