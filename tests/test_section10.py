"""Regression tests for tmem-abi.md section 10: Xen's answers are among the allowed ones, and what a
row still requires is checked.

Each of the eight counterexamples a host written from the Xen sources met is here as a worked
example: the op, Xen's answer (it must be allowed), and the neighbouring fault (it must be refused,
naming its rule). Expected values are literals from tmem-abi.md, never computed by the model.
"""

from __future__ import annotations

import pytest

from tmem_conformance.models.abi import Cmd, Subop
from tmem_conformance.models.errors import Violation

from .abi_literals import EEMPTY, EFAULT, EFROZEN, EINVAL, ENOMEM, ENOSPC, EPERM, PAGE
from .test_model_host import PERSIST, SHARED, Driver, ctrl, gen, new_pool

V1_PRIVATE = 1 << 24
V1_PERSIST = 1 << 24 | PERSIST


def page_at(d: Driver, dom: int, cmfn: int) -> bytes:
    return bytes(d.memory(dom)[cmfn * PAGE:(cmfn + 1) * PAGE])


def after_get(d: Driver, dom: int, cmfn: int, data: bytes) -> bytes:
    mem = bytearray(d.memory(dom))
    mem[cmfn * PAGE:(cmfn + 1) * PAGE] = data
    return bytes(mem)


def test_1_all_zero_write_with_no_cmfn_stores_a_zero_page() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1_PERSIST), 0)
    d.memory(1)[0:PAGE] = b"\x77" * PAGE
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), 1)
    zero_write = gen(Cmd.WRITE, 0, d.oid(1), 0, cmfn=2**32 - 1)  # cmfn names no page
    assert d.allowed(1, zero_write) == {1}
    d.do(1, zero_write, 1)
    with pytest.raises(Violation, match="TMEM-PUT-005"):  # the old data is no longer allowed
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 1, after_get(d, 1, 1, b"\x77" * PAGE))
    d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 1, after_get(d, 1, 1, bytes(PAGE)))


def test_2_a_short_op_may_be_efault_but_a_zero_byte_op_must_be() -> None:
    d = Driver("v1")
    v0_new_pool = (1).to_bytes(4, "little") + bytes(4) + bytes(16) + (0).to_bytes(4, "little") + bytes(4)
    v0_new_pool = v0_new_pool.ljust(40, b"\0")  # a v0 guest's 40-byte op: spec version 0
    outs = d.model.outcomes(1, 64, v0_new_pool, bytes(d.memory(1)))
    assert {o.lo for o in outs.options} == {EPERM, EFAULT}
    d.model.observe(1, 64, v0_new_pool, bytes(d.memory(1)), EFAULT, bytes(d.memory(1)))
    assert {o.lo for o in d.model.outcomes(1, 64, b"", bytes(d.memory(1))).options} == {EFAULT}


def test_3_owner_destroyed_others_may_find_the_shared_pool_empty() -> None:
    d = Driver("v1")
    uuid = (0x51, 0x52)
    d.do(1, new_pool(V1_PRIVATE | SHARED, uuid), 0)
    d.do(2, new_pool(V1_PRIVATE | SHARED, uuid), 0)
    d.do(2, gen(Cmd.PUT_PAGE, 0, d.oid(4), 0, cmfn=0), 1)
    d.model.destroy_domain(1)  # the owner
    assert EEMPTY in d.allowed(2, gen(Cmd.GET_PAGE, 0, d.oid(4), 0, cmfn=1))
    d.do(2, gen(Cmd.GET_PAGE, 0, d.oid(4), 0, cmfn=1), EEMPTY)


def test_3b_a_non_owner_leaving_a_shared_persistent_pool_takes_nothing() -> None:
    d = Driver("v1")
    uuid = (0x61, 0x62)
    d.do(1, new_pool(V1_PERSIST | SHARED, uuid), 0)
    d.do(2, new_pool(V1_PERSIST | SHARED, uuid), 0)
    d.do(2, gen(Cmd.PUT_PAGE, 0, d.oid(4), 0, cmfn=0), 1)  # put by the leaver itself
    d.model.destroy_domain(2)
    assert d.allowed(1, gen(Cmd.GET_PAGE, 0, d.oid(4), 0, cmfn=1)) == {1}
    with pytest.raises(Violation, match="TMEM-SHARED-004"):
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(4), 0, cmfn=1), EEMPTY)


def test_4_next_inv_with_no_client_or_a_small_buffer_may_return_0() -> None:
    d = Driver("v1")
    assert d.allowed(0, ctrl(Subop.SAVE_GET_NEXT_INV, 0xFFFF, arg1=64)) == {0, -1}
    d.do(1, new_pool(V1_PERSIST), 0)
    assert d.allowed(0, ctrl(Subop.SAVE_GET_NEXT_INV, 1, arg1=4)) == {0, ENOMEM}
    d.do(0, ctrl(Subop.SAVE_GET_NEXT_INV, 1, arg1=4), 0)


def test_5_save_begin_without_live_flag_keeps_live_migration() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1_PERSIST), 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), 1)
    d.do(0, ctrl(Subop.SAVE_BEGIN, 1, arg1=1), 1)
    d.do(0, ctrl(Subop.SAVE_BEGIN, 1, arg1=0), 1)
    assert d.allowed(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0)) == {ENOSPC}  # still live-migrating


def test_6_shared_pool_may_follow_its_owners_frozen_state() -> None:
    d = Driver("v1")
    uuid = (0x71, 0x72)
    d.do(1, new_pool(V1_PERSIST | SHARED, uuid), 0)
    d.do(2, new_pool(V1_PERSIST | SHARED, uuid), 0)
    d.do(2, new_pool(V1_PERSIST), 1)
    d.do(0, ctrl(Subop.FREEZE, 1), 0)  # the owner is frozen, the caller is not
    assert d.allowed(2, gen(Cmd.PUT_PAGE, 0, d.oid(3), 0, cmfn=0)) == {1, EFROZEN}
    d.do(2, gen(Cmd.PUT_PAGE, 0, d.oid(3), 0, cmfn=0), EFROZEN)
    assert d.allowed(2, gen(Cmd.PUT_PAGE, 1, d.oid(3), 0, cmfn=0)) == {1}  # its private pool: its own state


def test_7_window_past_the_page_end_may_be_einval() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1_PERSIST), 0)
    past = gen(Cmd.WRITE, 0, d.oid(1), 0, cmfn=0, toff=4000, poff=0, len=200)
    assert d.allowed(1, past) == {1, EINVAL}
    d.do(1, past, EINVAL)
    assert d.allowed(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1)) == {EEMPTY}  # nothing stored
    wraps = gen(Cmd.WRITE, 0, d.oid(1), 0, cmfn=0, toff=2**32 - 8, poff=0, len=16)  # offset+len wraps 32 bits
    assert d.allowed(1, wraps) == {1, EINVAL}
    d.do(1, wraps, 1)  # 4.1: nothing copied, a zero page
    with pytest.raises(Violation, match="TMEM-PUT-005"):
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 1, after_get(d, 1, 1, b"\x01" * PAGE))


@pytest.mark.parametrize("stored", ["whole", "window"])
def test_8_compressing_write_stores_the_whole_page_or_the_window(stored: str) -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1_PERSIST), 0)
    d.do(0, ctrl(Subop.SET_COMPRESS, 1, arg1=1), 0)
    src = bytes(range(256)) * 16
    d.memory(1)[0:PAGE] = src
    d.do(1, gen(Cmd.WRITE, 0, d.oid(1), 0, cmfn=0, toff=100, poff=10, len=50), 1)
    window = bytearray(PAGE)
    window[100:150] = src[10:60]
    shown = src if stored == "whole" else bytes(window)
    d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 1, after_get(d, 1, 1, shown))
    # Once a hit has shown which the host chose, only that page is allowed.
    other = bytes(window) if stored == "whole" else src
    with pytest.raises(Violation, match="TMEM-PUT-005"):
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=2), 1, after_get(d, 1, 2, other))


def test_write_outside_the_window_is_zero_or_the_previous_bytes_never_another_page() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1_PERSIST), 0)
    d.memory(1)[0:PAGE] = b"\xaa" * PAGE
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), 1)
    d.memory(1)[0:PAGE] = b"\xbb" * PAGE
    d.do(1, gen(Cmd.WRITE, 0, d.oid(1), 0, cmfn=0, toff=0, poff=0, len=10), 1)  # a duplicate WRITE
    leak = b"\xbb" * 10 + b"\xcc" * (PAGE - 10)
    with pytest.raises(Violation, match="TMEM-PUT-005"):
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 1, after_get(d, 1, 1, leak))
    for outside in (b"\0", b"\xaa"):
        e = Driver("v1")
        e.do(1, new_pool(V1_PERSIST), 0)
        e.memory(1)[0:PAGE] = b"\xaa" * PAGE
        e.do(1, gen(Cmd.PUT_PAGE, 0, e.oid(1), 0, cmfn=0), 1)
        e.memory(1)[0:PAGE] = b"\xbb" * PAGE
        e.do(1, gen(Cmd.WRITE, 0, e.oid(1), 0, cmfn=0, toff=0, poff=0, len=10), 1)
        e.do(1, gen(Cmd.GET_PAGE, 0, e.oid(1), 0, cmfn=1), 1,
             after_get(e, 1, 1, b"\xbb" * 10 + outside * (PAGE - 10)))


def test_no_ephemeral_page_goes_below_capacity_and_shared_gets_keep_the_page() -> None:
    d = Driver("v1", capacity=8)
    d.do(1, new_pool(V1_PRIVATE | SHARED, (0x81, 0x82)), 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), 1)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(2), 0, cmfn=0), 1)
    d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 1, after_get(d, 1, 1, bytes(PAGE)))
    with pytest.raises(Violation, match="TMEM-EPH-001"):  # a shared get is not exclusive
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 0)
