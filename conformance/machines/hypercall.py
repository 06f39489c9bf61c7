"""Hypercall machine: one host, several clients of any word size, raw ops including malformed ones.

Every return value and every byte of the callers' memory is checked
against the reference model as each call happens (CheckedHost).
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, consumes, initialize, multiple, rule

from .. import strategies as S
from ..backend import BackendFactory
from ..checked import CheckedHost
from ..models import codec
from ..models.abi import CLI_ID_NULL, PAGE_SIZE, Cmd, Subop
from ..models.cabi import WORD_SIZES
from ..models.matrix import Cell
from ..models.versions import VERSIONS
from .base import CellMachine, logged

PAGES_PER_DOMAIN = 4
GUESTS = (1, 2, 3)
RESTORED = (7, 8)
SAVE_BUF = 2 * PAGE_SIZE


def build(cell: Cell, factory: BackendFactory) -> type[CellMachine]:
    v = VERSIONS[cell.host or cell.source or "v1"]
    words = v.oid_words
    cmfns = st.one_of(st.integers(0, PAGES_PER_DOMAIN - 1), st.integers(0, PAGES_PER_DOMAIN - 1),
                      st.sampled_from([PAGES_PER_DOMAIN, 2**32 - 1]))
    doms = st.sampled_from(GUESTS)
    targets = st.sampled_from(GUESTS + RESTORED + (CLI_ID_NULL, 0x10001))

    class HypercallMachine(CellMachine):
        pools = Bundle("pools")
        handles = Bundle("handles")

        @initialize(capacity=st.integers(1, 20), others=st.tuples(*[st.sampled_from(sorted(WORD_SIZES))] * 2))
        def boot(self, capacity: int, others: tuple[int, int]) -> None:
            self.host = CheckedHost(factory, v, capacity, self.log)
            self.hosts.append(self.host)
            self.word = {1: cell.word_size, 2: others[0], 3: others[1], 0: 64}
            self.memory = {d: bytearray(PAGES_PER_DOMAIN * PAGE_SIZE) for d in (0, *GUESTS, *RESTORED)}

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

        @rule(pool=consumes(pools))
        @logged
        def destroy_pool(self, pool: tuple[int, int]) -> None:
            self.call(pool[0], codec.TmemOp(Cmd.DESTROY_POOL, pool[1], codec.Gen((0,) * words)))

        @rule(dom=doms, pool_id=S.BAD_POOL_IDS)
        @logged
        def destroy_bad_pool_id(self, dom: int, pool_id: int) -> None:
            self.call(dom, codec.TmemOp(Cmd.DESTROY_POOL, pool_id, codec.Gen((0,) * words)))

        # ------------------------------------------------------------ pages
        @rule(target=handles, pool=pools, oid=S.oids(words), index=S.INDICES, data=S.PAGES, cmfn=cmfns,
              cmd=st.sampled_from([Cmd.PUT_PAGE, Cmd.PUT_PAGE, Cmd.NEW_PAGE]))
        @logged
        def put(self, pool: tuple[int, int], oid: tuple[int, ...], index: int, data: bytes, cmfn: int,
                cmd: int) -> tuple:
            dom, pid = pool
            if cmfn < PAGES_PER_DOMAIN:
                self.memory[dom][cmfn * PAGE_SIZE:(cmfn + 1) * PAGE_SIZE] = data
            self.call(dom, codec.TmemOp(cmd, pid, codec.Gen(oid, index, 0, 0, 0, cmfn)))
            return (dom, pid, oid, index)

        @rule(handle=handles, cmfn=cmfns, other=st.sampled_from([None, *GUESTS]))
        @logged
        def get(self, handle: tuple, cmfn: int, other: int | None) -> None:
            dom, pid, oid, index = handle
            self.call(other or dom, codec.TmemOp(Cmd.GET_PAGE, pid, codec.Gen(oid, index, 0, 0, 0, cmfn)))

        @rule(pool=pools, oid=S.oids(words), index=S.INDICES, cmfn=cmfns)
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

        # ------------------------------------------------------------ control, auth, privilege
        @rule(subop=st.sampled_from([Subop.FREEZE, Subop.THAW, Subop.DESTROY, Subop.SET_WEIGHT, Subop.SET_CAP,
                                     Subop.SET_COMPRESS, Subop.FLUSH, Subop.QUERY_FREEABLE_MB, Subop.LIST, 9, 31,
                                     99]),
              cli=targets, arg1=st.one_of(st.integers(0, 3), st.just(2**32 - 1)))
        @logged
        def control(self, subop: int, cli: int, arg1: int) -> None:
            self.ctrl(subop, cli, arg1=arg1 if subop != Subop.LIST else 64, buf=PAGE_SIZE)

        @rule(dom=doms, subop=st.sampled_from([Subop.FREEZE, Subop.SAVE_BEGIN, Subop.RESTORE_BEGIN]))
        @logged
        def guest_tries_privileged(self, dom: int, subop: int) -> None:
            self.ctrl(subop, dom, dom=dom)

        @rule(cli=targets, grant=st.booleans(), uuid=S.SHARED_UUIDS, dom=st.sampled_from([0, 1]))
        @logged
        def auth(self, cli: int, grant: bool, uuid: tuple[int, int], dom: int) -> None:
            self.call(dom, codec.TmemOp(Cmd.AUTH, 0, codec.Creat(uuid, int(grant), cli)))

        # ------------------------------------------------------------ save and restore sub-ops
        @rule(cli=targets, live=st.booleans())
        @logged
        def save_begin(self, cli: int, live: bool) -> None:
            self.ctrl(Subop.SAVE_BEGIN, cli, arg1=int(live))

        @rule(cli=targets, pool_id=st.integers(-1, 16),
              subop=st.sampled_from([Subop.SAVE_GET_VERSION, Subop.SAVE_GET_MAXPOOLS, Subop.SAVE_GET_CLIENT_WEIGHT,
                                     Subop.SAVE_GET_CLIENT_CAP, Subop.SAVE_GET_CLIENT_FLAGS,
                                     Subop.SAVE_GET_POOL_FLAGS, Subop.SAVE_GET_POOL_NPAGES,
                                     Subop.SAVE_GET_POOL_UUID]))
        @logged
        def save_query(self, cli: int, pool_id: int, subop: int) -> None:
            self.ctrl(subop, cli, pool_id=pool_id, arg1=16, buf=PAGE_SIZE)

        @rule(pool=pools, short=st.booleans())
        @logged
        def save_next_page(self, pool: tuple[int, int], short: bool) -> None:
            self.ctrl(Subop.SAVE_GET_NEXT_PAGE, pool[0], pool_id=pool[1], arg1=100 if short else SAVE_BUF)

        @rule(cli=targets)
        @logged
        def save_next_inv_and_end(self, cli: int) -> None:
            while self.ctrl(Subop.SAVE_GET_NEXT_INV, cli, arg1=64) > 0:
                pass
            self.ctrl(Subop.SAVE_END, cli)

        @rule(cli=st.sampled_from(RESTORED + (CLI_ID_NULL, 1)))
        @logged
        def restore_begin(self, cli: int) -> None:
            self.ctrl(Subop.RESTORE_BEGIN, cli)

        @rule(target=pools, cli=st.sampled_from(RESTORED + (1,)), slot=st.integers(-1, 16),
              flags=S.any_flags(v), uuid=S.UUIDS)
        @logged
        def restore_new(self, cli: int, slot: int, flags: int, uuid: tuple[int, int]) -> object:
            ret = self.call(0, codec.TmemOp(Cmd.RESTORE_NEW, slot, codec.Creat(uuid, flags, cli)))
            return multiple((cli, ret)) if ret >= 0 else multiple()

        @rule(pool=pools, oid=S.oids(words), index=S.INDICES, data=S.PAGES,
              length=st.sampled_from([PAGE_SIZE, PAGE_SIZE, 100, 0, PAGE_SIZE + 1]), flush=st.booleans())
        @logged
        def restore_page(self, pool: tuple[int, int], oid: tuple[int, ...], index: int, data: bytes,
                         length: int, flush: bool) -> None:
            self.memory[0][PAGE_SIZE:2 * PAGE_SIZE] = data
            subop = Subop.RESTORE_FLUSH_PAGE if flush else Subop.RESTORE_PUT_PAGE
            self.ctrl(subop, pool[0], pool_id=pool[1], arg1=length, arg2=index, oid=oid, buf=PAGE_SIZE)

        # ------------------------------------------------------------ domains
        @rule(dom=st.sampled_from(GUESTS + RESTORED))
        @logged
        def destroy_domain(self, dom: int) -> None:
            self.host.destroy_domain(dom)
            self.step_done()

    HypercallMachine.__name__ = HypercallMachine.__qualname__ = "HypercallMachine"
    return HypercallMachine
