"""The reference host on worked examples from tmem-abi.md, and properties of its outcome sets.

Expected values here are literals read from tmem-abi.md, never computed
by the model.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tmem_conformance.models import abi, codec
from tmem_conformance.models.abi import Cmd, Subop
from tmem_conformance.models.errors import Violation
from tmem_conformance.models.host import ReferenceHost

from .abi_literals import EEMPTY, EFAULT, EFROZEN, ENODEV, ENOMEM, ENOSPC, EPERM

PERSIST = abi.PoolFlag.PERSIST
SHARED = abi.PoolFlag.SHARED


class Driver:
    """Sends ops to the model as a backend would, with a guest memory of 4 pages."""

    def __init__(self, v: str, capacity: int = 64, ws: int = 64) -> None:
        self.v, self.ws = v, ws
        self.model = ReferenceHost(v, capacity)
        self.mem: dict[int, bytearray] = {}

    def memory(self, dom: int) -> bytearray:
        return self.mem.setdefault(dom, bytearray(4 * 4096))

    def allowed(self, dom: int, op: codec.TmemOp) -> set[int]:
        outs = self.model.outcomes(dom, self.ws, codec.pack(op, self.v, self.ws), bytes(self.memory(dom)))
        assert outs.options, "an allowed-outcome set is never empty"
        return {o.lo for o in outs.options if o.lo == o.hi}

    def do(self, dom: int, op: codec.TmemOp, ret: int, after: bytes | None = None) -> None:
        before = bytes(self.memory(dom))
        after = before if after is None else after
        self.model.observe(dom, self.ws, codec.pack(op, self.v, self.ws), before, ret, after)
        self.memory(dom)[:] = after

    def oid(self, low: int) -> tuple[int, ...]:
        return (low,) + (0,) * (abi_words(self.v) - 1)


def abi_words(v: str) -> int:
    return 1 if v == "v0" else 3


def new_pool(flags: int, uuid: tuple[int, int] = (0, 0)) -> codec.TmemOp:
    return codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(uuid, flags, 0))


def gen(cmd: int, pool: int, oid: tuple[int, ...], index: int = 0, cmfn: int = 0, **kw: int) -> codec.TmemOp:
    return codec.TmemOp(cmd, pool, codec.Gen(oid, index, kw.get("toff", 0), kw.get("poff", 0),
                                             kw.get("len", 0), cmfn))


def ctrl(subop: int, cli: int, pool: int = 0, **kw: int) -> codec.TmemOp:
    return codec.TmemOp(Cmd.CONTROL, pool, codec.Ctrl(subop, cli, kw.get("arg1", 0), kw.get("arg2", 0),
                                                      (), kw.get("buf", 0)))


def test_v0_guest_flags_on_v1_host_give_eperm() -> None:
    d = Driver("v1")
    assert d.allowed(1, new_pool(PERSIST | 0 << 24)) == {EPERM}
    with pytest.raises(Violation, match="TMEM-POOL-001"):
        d.do(1, new_pool(PERSIST), 0)


def test_v1_guest_flags_on_v0_host_give_eperm() -> None:
    assert Driver("v0").allowed(1, new_pool(PERSIST | 1 << 24)) == {EPERM}


@pytest.mark.parametrize("v", ["v0", "v1"])
def test_wrong_page_size_gives_eperm(v: str) -> None:
    spec = 0 if v == "v0" else 1
    assert Driver(v).allowed(1, new_pool(spec << 24 | 1 << 4)) == {EPERM}


def test_reserved_and_precompressed_bits_refused_by_v1_only() -> None:
    assert Driver("v1").allowed(1, new_pool(1 << 24 | 0x100)) == {EPERM}
    assert Driver("v1").allowed(1, new_pool(1 << 24 | 0x4)) == {EPERM}
    assert Driver("v0").allowed(1, new_pool(0x100)) == {0}
    assert Driver("v0").allowed(1, new_pool(0x4)) == {0}


def test_lowest_free_slot_and_sixteen_slots() -> None:
    d = Driver("v1")
    for slot in range(16):
        assert d.allowed(2, new_pool(1 << 24)) == {slot}
        d.do(2, new_pool(1 << 24), slot)
    assert d.allowed(2, new_pool(1 << 24)) == {EPERM}
    d.do(2, gen(Cmd.DESTROY_POOL, 5, d.oid(0)), 1)
    assert d.allowed(2, new_pool(1 << 24)) == {5}


def test_get_on_empty_pool_is_eempty_and_bad_pool_is_enodev() -> None:
    d = Driver("v1")
    d.do(1, new_pool(1 << 24 | PERSIST), 0)
    assert d.allowed(1, gen(Cmd.GET_PAGE, 0, d.oid(1), cmfn=1)) == {EEMPTY}
    assert d.allowed(1, gen(Cmd.GET_PAGE, 1, d.oid(1), cmfn=1)) == {ENODEV}
    assert d.allowed(1, gen(Cmd.GET_PAGE, -1, d.oid(1), cmfn=1)) == {ENODEV}
    assert d.allowed(1, gen(Cmd.DESTROY_POOL, 16, d.oid(1))) == {0}


def test_persistent_put_get_and_a_lost_page_names_its_rule() -> None:
    d = Driver("v0")
    d.do(1, new_pool(PERSIST), 0)
    d.memory(1)[0:4096] = b"\x5a" * 4096
    assert d.allowed(1, gen(Cmd.PUT_PAGE, 0, d.oid(7), 3, cmfn=0)) == {1}
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(7), 3, cmfn=0), 1)
    assert d.allowed(1, gen(Cmd.GET_PAGE, 0, d.oid(7), 3, cmfn=2)) == {1}
    with pytest.raises(Violation, match=r"TMEM-EPH-002.*expected 1 .*observed returned 0"):
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(7), 3, cmfn=2), 0)
    wrong = bytearray(d.memory(1))
    wrong[2 * 4096:3 * 4096] = b"\x5b" * 4096
    with pytest.raises(Violation, match=r"TMEM-GET-003.*byte 8192 \(page 2, offset 0\) is 0x5b, expected 0x5a"):
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(7), 3, cmfn=2), 1, bytes(wrong))


def test_dup_put_that_fails_deletes_the_old_copy() -> None:
    d = Driver("v1", capacity=1)
    d.do(1, new_pool(1 << 24 | PERSIST), 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), 1)
    assert d.allowed(1, gen(Cmd.PUT_PAGE, 0, d.oid(2), 0, cmfn=0)) == {1, ENOMEM} - {1}
    assert d.allowed(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0)) == {1, ENOSPC}
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), ENOSPC)
    assert d.allowed(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1)) == {EEMPTY}


def test_put_with_room_may_not_fail_for_memory() -> None:
    d = Driver("v1", capacity=8)
    d.do(1, new_pool(1 << 24 | PERSIST), 0)
    assert d.allowed(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0)) == {1}
    with pytest.raises(Violation, match="TMEM-PUT-006"):
        d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), ENOMEM)


def test_private_ephemeral_get_is_exclusive_shared_is_not() -> None:
    d = Driver("v1")
    d.do(1, new_pool(1 << 24), 0)
    d.do(1, new_pool(1 << 24 | SHARED, (5, 6)), 1)
    for pool in (0, 1):
        d.do(1, gen(Cmd.PUT_PAGE, pool, d.oid(1), 0, cmfn=0), 1)
        # Far below capacity an ephemeral page is not evicted (section 10): the get must hit.
        assert d.allowed(1, gen(Cmd.GET_PAGE, pool, d.oid(1), 0, cmfn=1)) == {1}
        d.do(1, gen(Cmd.GET_PAGE, pool, d.oid(1), 0, cmfn=1), 1)
    assert d.allowed(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1)) == {EEMPTY}
    assert 1 in d.allowed(1, gen(Cmd.GET_PAGE, 1, d.oid(1), 0, cmfn=1))


def test_ephemeral_page_may_vanish_at_capacity_but_never_change() -> None:
    d = Driver("v1", capacity=2)
    d.do(1, new_pool(1 << 24 | SHARED, (1, 2)), 0)
    d.memory(1)[0:4096] = b"\x11" * 4096
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), 1)
    assert d.allowed(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1)) == {1}
    with pytest.raises(Violation, match="TMEM-EPH-001"):
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(2), 0, cmfn=2), 1)
    # The host now holds its capacity: the next put may evict any ephemeral page to make room.
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(3), 0, cmfn=2), 1)
    assert d.allowed(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1)) == {1, 0}
    bad = bytearray(d.memory(1))
    bad[4096:8192] = b"\x12" * 4096
    with pytest.raises(Violation, match="TMEM-GET-003"):
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 1, bytes(bad))


def test_flush_returns_one_and_frozen_flush_still_flushes() -> None:
    d = Driver("v1")
    d.do(1, new_pool(1 << 24 | PERSIST), 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), 1)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(2), 0, cmfn=0), 1)
    assert d.allowed(1, gen(Cmd.FLUSH_PAGE, 0, d.oid(9), 0)) == {1}
    d.do(0, ctrl(Subop.FREEZE, 1), 0)
    assert d.allowed(1, gen(Cmd.PUT_PAGE, 0, d.oid(3), 0, cmfn=0)) == {EFROZEN}
    assert d.allowed(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0)) == {1}
    d.do(1, gen(Cmd.FLUSH_OBJECT, 0, d.oid(1)), EFROZEN)
    assert d.allowed(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1)) == {0}


def test_privileged_ops_and_short_buffers() -> None:
    d = Driver("v1")
    assert d.allowed(3, ctrl(Subop.FREEZE, 3)) == {EPERM}
    assert d.allowed(3, codec.TmemOp(Cmd.AUTH, 0, codec.Creat((1, 1), 1, 3))) == {EPERM}
    outs = d.model.outcomes(1, 64, b"\x04" * 20, bytes(d.memory(1)))
    assert [o.lo for o in outs.options] == [EFAULT] and outs.rule == "TMEM-HC-001"
    assert d.allowed(0, ctrl(99, 1)) == {-1}


def test_save_iteration_reports_each_page_once() -> None:
    d = Driver("v1")
    d.do(1, new_pool(1 << 24 | PERSIST), 0)
    for i in range(3):
        d.memory(1)[0:4096] = bytes([i]) * 4096
        d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(i), i, cmfn=0), 1)
    d.do(0, ctrl(Subop.SAVE_BEGIN, 1), 1)
    seen = set()
    for _ in range(3):
        op = ctrl(Subop.SAVE_GET_NEXT_PAGE, 1, 0, arg1=8192)
        outs = d.model.outcomes(0, 64, codec.pack(op, "v1", 64), bytes(d.memory(0)))
        assert {o.lo for o in outs.options} == {1}
        first = outs.options[0]
        after = bytearray(d.memory(0))
        for w in first.writes:
            after[w.offset:w.end] = w.data
        seen.add(first.meaning)
        d.do(0, op, 1, bytes(after))
    assert len(seen) == 3
    assert d.allowed(0, ctrl(Subop.SAVE_GET_NEXT_PAGE, 1, 0, arg1=8192)) == {-1}
    assert d.allowed(0, ctrl(Subop.SAVE_GET_NEXT_PAGE, 1, 0, arg1=100)) == {ENOMEM}
    assert d.allowed(0, ctrl(Subop.SAVE_GET_POOL_FLAGS, 1, 0)) == {0x01000001}
    assert d.allowed(0, ctrl(Subop.SAVE_GET_VERSION, 77)) == {1}


OPS = st.sampled_from([Cmd.PUT_PAGE, Cmd.GET_PAGE, Cmd.FLUSH_PAGE, Cmd.FLUSH_OBJECT, Cmd.NEW_POOL,
                       Cmd.DESTROY_POOL, Cmd.READ, Cmd.WRITE, Cmd.NEW_PAGE, Cmd.XCHG])


@given(steps=st.lists(st.tuples(st.integers(1, 2), OPS, st.integers(-1, 3), st.integers(0, 3),
                                st.integers(0, 2), st.integers(0, 4), st.sampled_from([0, 1, 3, 0x01000000])),
                      max_size=40),
       capacity=st.integers(0, 6), pick=st.integers(0, 5), v=st.sampled_from(["v0", "v1"]))
def test_allowed_sets_never_empty_along_any_walk(steps: list[tuple[int, ...]], capacity: int, pick: int,
                                                 v: str) -> None:
    d = Driver(v, capacity)
    for dom, cmd, pool, low, index, cmfn, flags in steps:
        if cmd == Cmd.NEW_POOL:
            op = new_pool(flags | (1 << 24 if v == "v1" else 0))
        else:
            op = gen(cmd, pool, d.oid(low), index, cmfn, len=cmfn * 100, toff=low, poff=index)
        outs = d.model.outcomes(dom, 64, codec.pack(op, v, 64), bytes(d.memory(dom)))
        assert outs.options
        o = outs.options[pick % len(outs.options)]
        after = bytearray(d.memory(dom))
        for w in o.writes:
            after[w.offset:w.end] = w.data
        d.do(dom, op, o.lo if o.lo == o.hi else 0 if o.admits(0) else o.lo, bytes(after))


def test_an_outcome_built_by_ret_is_the_dataclass_built_by_its_init() -> None:
    # Outcome.ret fills the instance's fields at once: every field is there, equal to __init__'s.
    import dataclasses

    from tmem_conformance.models.outcomes import Outcome, Region, Write
    writes, regions = [Write(4096, b"\x01\x02")], [Region(0, 16)]
    fast = Outcome.ret(-3, "TMEM-GET-001", "a miss", writes=writes, regions=regions)
    slow = Outcome(-3, -3, "TMEM-GET-001", "a miss", tuple(writes), tuple(regions))
    assert set(vars(fast)) == {f.name for f in dataclasses.fields(Outcome)}
    assert fast == slow and vars(fast) == vars(slow) and hash(fast) == hash(slow)
    assert fast != Outcome.ret(-2, "TMEM-GET-001", "a miss", writes=writes, regions=regions)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.lo = 0  # type: ignore[misc]
