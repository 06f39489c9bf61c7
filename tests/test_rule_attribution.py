"""Which rule a refused observation names: the one the observation shows is broken, not a neighbour's.

Each test drives the reference model by hand (as tests/test_section10.py does) to the point where a
faulty host's answer is refused, and checks the rule in the violation. Return values are literals
from tmem-abi.md, never computed by the model.
"""

from __future__ import annotations

import pytest

from tmem_conformance.models import codec
from tmem_conformance.models.abi import Cmd, Subop
from tmem_conformance.models.errors import Violation

from .abi_literals import EEMPTY, EFROZEN, ENOMEM
from .test_model_host import PERSIST, SHARED, Driver, ctrl, gen, new_pool

V1 = 1 << 24
NO_FRAME = 2**32 - 1


def refused(d: Driver, dom: int, op: codec.TmemOp, ret: int) -> str:
    with pytest.raises(Violation) as info:
        d.do(dom, op, ret)
    return info.value.rule


def test_a_put_from_a_frame_that_is_not_there_that_succeeds_names_hc_005() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    assert refused(d, 1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=NO_FRAME), 1) == "TMEM-HC-005"


def test_a_new_put_with_a_wrong_value_names_put_001_and_lack_of_memory_names_put_006() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    assert refused(d, 1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 0) == "TMEM-PUT-001"
    assert refused(d, 1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), ENOMEM) == "TMEM-PUT-006"


def test_a_put_after_save_begin_that_is_stored_names_save_001_until_a_refusal_shows_the_freeze() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    d.do(0, ctrl(Subop.SAVE_BEGIN, 1), 1)
    assert refused(d, 1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1) == "TMEM-SAVE-001"
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), EFROZEN)  # SAVE_BEGIN did freeze it
    assert refused(d, 1, gen(Cmd.PUT_PAGE, 0, d.oid(2), 0), 1) == "TMEM-PUT-003"


def test_a_frozen_flush_that_is_not_refused_names_flush_003_even_after_save_begin() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    d.do(0, ctrl(Subop.SAVE_BEGIN, 1), 1)
    assert refused(d, 1, gen(Cmd.FLUSH_PAGE, 0, d.oid(1), 0), 1) == "TMEM-FLUSH-003"


def test_another_slot_than_the_lowest_free_names_pool_005_for_private_and_shared_pools() -> None:
    d = Driver("v1")
    assert refused(d, 1, new_pool(V1 | PERSIST), 3) == "TMEM-POOL-005"
    assert refused(d, 1, new_pool(V1 | SHARED, (5, 6)), 3) == "TMEM-POOL-005"


def test_restore_new_in_another_slot_names_restore_002() -> None:
    d = Driver("v1")
    d.do(0, ctrl(Subop.RESTORE_BEGIN, 7), 1)
    op = codec.TmemOp(Cmd.RESTORE_NEW, 4, codec.Creat((8, 9), V1 | SHARED | PERSIST, 7))
    assert refused(d, 0, op, 0) == "TMEM-RESTORE-002"


def test_a_page_put_through_another_users_slot_and_never_seen_names_shared_002() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST | SHARED, (3, 4)), 0)
    d.do(2, new_pool(V1 | PERSIST | SHARED, (3, 4)), 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1)
    assert refused(d, 2, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 0) == "TMEM-SHARED-002"


def test_a_destroyed_pools_page_in_the_next_pool_of_its_slot_names_destroy_001() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1), 0)
    d.do(1, new_pool(V1), 1)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1)
    d.do(1, gen(Cmd.DESTROY_POOL, 0, d.oid(0)), 1)
    assert refused(d, 1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 1) == "TMEM-DESTROY-001"  # a hit, not -ENODEV
    d.do(1, new_pool(V1), 0)
    assert refused(d, 1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), 1) == "TMEM-DESTROY-001"
    d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1), EEMPTY)


def test_a_flushed_page_that_a_get_still_finds_names_the_flush() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1)
    d.do(1, gen(Cmd.FLUSH_PAGE, 0, d.oid(1), 0), 1)
    assert refused(d, 1, gen(Cmd.GET_PAGE, 0, d.oid(2), 0, cmfn=1), 0) == "TMEM-FLUSH-001"


def test_a_page_lost_with_its_same_low_word_neighbours_flush_names_flush_002() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    a, b = (5, 0, 0), (5, 1, 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, a, 2), 1)
    d.do(1, gen(Cmd.PUT_PAGE, 0, b, 2), 1)
    d.do(1, gen(Cmd.FLUSH_PAGE, 0, a, 2), 1)
    assert refused(d, 1, gen(Cmd.GET_PAGE, 0, b, 2, cmfn=1), 0) == "TMEM-FLUSH-002"


def _with_page(d: Driver, dom: int, frame: int, fill: int) -> bytes:
    """The caller's memory with page `frame` filled with `fill` (what a get copying that page leaves)."""
    mem = bytearray(d.memory(dom))
    mem[frame * 4096:(frame + 1) * 4096] = bytes([fill]) * 4096
    return bytes(mem)


def test_a_get_showing_the_data_a_dup_put_replaced_names_put_002() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    d.memory(1)[:4096] = b"\x11" * 4096
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1)
    d.memory(1)[:4096] = b"\x22" * 4096
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1)  # the dup put: the page is now 0x22
    d.memory(1)[:4096] = b"\x33" * 4096
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1)  # and now 0x33, two replacements on
    get = gen(Cmd.GET_PAGE, 0, d.oid(1), 0, cmfn=1)
    with pytest.raises(Violation) as info:
        d.do(1, get, 1, _with_page(d, 1, 1, 0x11))
    assert info.value.rule == "TMEM-PUT-002" and "dup put replaced" in str(info.value)
    with pytest.raises(Violation) as info:
        d.do(1, get, 1, _with_page(d, 1, 1, 0x44))  # data nobody put: the get's own rule
    assert info.value.rule == "TMEM-GET-003"


def test_new_page_failing_on_a_frame_it_never_reads_names_put_004() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    assert refused(d, 1, gen(Cmd.NEW_PAGE, 0, d.oid(1), 0, cmfn=NO_FRAME), -14) == "TMEM-PUT-004"
    assert refused(d, 1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0, cmfn=0), -14) == "TMEM-PUT-001"


def test_an_answer_from_a_shared_slot_its_client_destroyed_names_destroy_001() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST | SHARED, (3, 4)), 0)
    d.do(2, new_pool(V1 | PERSIST | SHARED, (3, 4)), 0)
    d.do(1, gen(Cmd.DESTROY_POOL, 0, d.oid(0)), 1)  # dom2 still uses the pool: only dom1's slot goes
    assert refused(d, 1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1) == "TMEM-DESTROY-001"
    assert refused(d, 1, gen(Cmd.PUT_PAGE, 5, d.oid(1), 0), 1) == "TMEM-HC-002"  # a slot never used


def test_a_good_pool_refused_after_a_version_refusal_names_pair_003() -> None:
    d = Driver("v1")
    assert refused(d, 1, new_pool(V1 | PERSIST), -1) == "TMEM-POOL-005"  # no refusal before: the allocator's
    d.do(2, new_pool(PERSIST), -1)  # spec 0 on a v1 host: the gate refuses it
    assert refused(d, 2, new_pool(V1 | PERSIST), -1) == "TMEM-PAIR-003"


def test_a_page_put_through_one_slot_missing_through_the_clients_other_slot_names_shared_002() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST | SHARED, (3, 4)), 0)
    d.do(1, new_pool(V1 | PERSIST | SHARED, (3, 4)), 1)  # the same client joins its own pool again
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1)
    assert refused(d, 1, gen(Cmd.GET_PAGE, 1, d.oid(1), 0, cmfn=1), EEMPTY) == "TMEM-SHARED-002"


def test_empty_for_a_miss_in_a_pool_that_holds_pages_carries_a_probe_telling_loss_from_misreport() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1)
    with pytest.raises(Violation) as info:
        d.do(1, gen(Cmd.GET_PAGE, 0, d.oid(2), 0, cmfn=1), EEMPTY)
    v = info.value
    assert v.rule == "TMEM-EPH-002"  # the pool lost a persistent page, unless the probe shows it is there
    assert v.probe is not None
    op, rules, why = v.probe
    assert isinstance(op, codec.TmemOp) and op.cmd == Cmd.GET_PAGE and op.u.oid == d.oid(1)
    assert rules == {1: "TMEM-GET-002"} and "miss reported as empty" in why


def test_a_read_past_the_page_end_that_copies_names_get_004() -> None:
    d = Driver("v1")
    d.do(1, new_pool(V1 | PERSIST), 0)
    d.do(1, gen(Cmd.PUT_PAGE, 0, d.oid(1), 0), 1)
    read = gen(Cmd.READ, 0, d.oid(1), 0, cmfn=1, toff=1, poff=4, len=4096)
    assert refused_with(d, 1, read, 1, _with_page(d, 1, 1, 0x55)) == "TMEM-GET-004"


def refused_with(d: Driver, dom: int, op: codec.TmemOp, ret: int, after: bytes) -> str:
    with pytest.raises(Violation) as info:
        d.do(dom, op, ret, after)
    return info.value.rule
