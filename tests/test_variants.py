"""The legal variants (conformance/selftest/variants.py): each simulator choice changes exactly what it says.

Every expected value is a literal read from tmem-abi.md (sections 4, 5, 9 and
10), never computed by the simulator or by models/. Each test runs the same
ops on the default simulator and on the variant, and shows the one outcome
that differs, both of which section 10 allows; the rest stays the same.
Ops are packed with models.codec.pack, as a guest would.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest

from tmem_conformance.candidates import simulator
from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, TmemOp
from tmem_conformance.selftest.variants import ROWS, VARIANTS, XEN_CHOICES

from .raw_guest import PAGE, Guest, Toolstack, pattern

EPERM, EFAULT, ENOMEM, EINVAL, ENOSPC, EFROZEN, EEMPTY = -1, -14, -12, -22, -28, -1000, -1001  # s.1, s.4
ALL = 0xFFFF
PERSIST, SHARED = 0x1, 0x2
V0_SPEC, V1_SPEC = 0x00000000, 0x01000000
CONTROL, NEW_POOL, DESTROY_POOL, PUT, GET, FLUSH_PAGE = 0, 1, 2, 4, 5, 6
READ, WRITE = 8, 9
FREEZE, FLUSH, SET_COMPRESS = 1, 2, 7
SAVE_BEGIN, SAVE_GET_CLIENT_FLAGS, SAVE_GET_NEXT_PAGE, SAVE_GET_NEXT_INV, SAVE_END = 10, 15, 19, 20, 21
RESTORE_PUT_PAGE = 32
OP_SIZE = {("v0", 64): 40, ("v0", 32): 36, ("v1", 64): 56, ("v1", 32): 52}  # sizeof(struct tmem_op)
HANDLE_SIZE = {"v0": 16, "v1": 32}  # pool_id u32, index u32, oid u64 x 1 or 3
SHARED_UUID = (5, 6)
SETUPS = [("v0", 64), ("v0", 32), ("v1", 64), ("v1", 32)]


class World:
    """A host with choices, the toolstack and guests 1, 2, 3."""

    def __init__(self, v: str, ws: int, choices: frozenset[str] = frozenset(), capacity: int = 16) -> None:
        self.host = simulator.make(v, capacity, choices=choices)
        self.ts = Toolstack(self.host, v, ws, pages=3)
        self.a, self.b, self.c = (Guest(self.host, d, v, ws, pages=4) for d in (1, 2, 3))


@pytest.fixture(params=SETUPS, ids=lambda p: f"{p[0]}-{p[1]}")
def setup(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    yield request.param


def both(setup: tuple[str, int], choice: str, capacity: int = 16) -> tuple[World, World]:
    """The default simulator and the one with `choice`, same version and word size."""
    return World(*setup, capacity=capacity), World(*setup, frozenset({choice}), capacity)


# ---------------------------------------------------------------- the choices argument and the catalogue

def test_unknown_choice_is_a_value_error_naming_it_and_the_known_ones() -> None:
    with pytest.raises(ValueError) as info:
        simulator.make("v1", 4, choices=frozenset({"evict-random"}))
    assert "'evict-random'" in str(info.value)
    for known in ("short-op-efault", "window-einval", "evict-mru", "next-inv-zero"):
        assert known in str(info.value)


def test_two_choices_for_one_decision_and_a_bare_string_are_refused() -> None:
    with pytest.raises(ValueError, match="evict-fifo.*evict-mru"):
        simulator.make("v1", 4, choices=frozenset({"evict-mru", "evict-fifo"}))
    with pytest.raises(ValueError, match="string"):
        simulator.make("v1", 4, choices="evict-mru")  # type: ignore[arg-type]


def test_choices_is_keyword_only_and_empty_by_default() -> None:
    simulator.make("v1", 4).close()
    with pytest.raises(TypeError):
        simulator.make("v1", 4, frozenset())  # type: ignore[misc]


def test_catalogue_has_one_variant_per_choice_and_the_xen_combination() -> None:
    single = {n: v for n, v in VARIANTS.items() if n != "xen-choices"}
    assert set(single) == set(simulator.CHOICES)
    for name, variant in single.items():
        assert variant.name == name and variant.choices == frozenset({name})
        assert variant.choice in ROWS, name
        assert variant.doc and "\n" not in variant.doc
    xen = VARIANTS["xen-choices"]
    assert xen.choices == XEN_CHOICES == frozenset(
        {"short-op-efault", "compress-window-fallback", "shared-owner-state", "owner-leave-wipes", "next-inv-zero"})
    assert set(xen.rows) == {"short-op", "write-compress", "shared-state", "shared-leave", "next-inv"}
    # every row but save-begin (one outcome, the default) has a variant
    assert {r for v in VARIANTS.values() for r in v.rows} == set(ROWS) - {"save-begin"}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_factory_survives_pickling_and_makes_a_working_host(name: str) -> None:
    factory = pickle.loads(pickle.dumps(VARIANTS[name].factory()))
    for v in ("v0", "v1"):
        host = factory(v, 4)
        g = Guest(host, 1, v, 64, pages=4)
        assert g.new_own_pool(PERSIST) == 0
        g.fill(1, pattern(9))
        assert g.gen(PUT, 0, 3, cmfn=1) == 1
        assert g.gen(GET, 0, 3, cmfn=2) == 1 and g.page(2) == pattern(9)
        host.close()


# ---------------------------------------------------------------- short-op

def test_short_op_efault(setup: tuple[str, int]) -> None:
    v, ws = setup
    default, chosen = both(setup, "short-op-efault")
    full = codec.pack(TmemOp(NEW_POOL, 0, Creat((0, 0), default.a.spec, 0)), v, ws)
    assert len(full) == OP_SIZE[setup]
    for w in (default, chosen):
        assert w.host.hypercall(1, ws, b"", bytearray(PAGE)) == EFAULT  # a 0-byte op: always
        assert w.host.hypercall(1, ws, full, bytearray(PAGE)) == 0  # the whole struct: decoded
    # cut after creat.arg1 (offset 28, 4 bytes): cmd, pool_id and the whole creat member are there
    short = full[:32]
    assert default.host.hypercall(2, ws, short, bytearray(PAGE)) == 0  # decoded: slot 0 of a new client
    assert chosen.host.hypercall(2, ws, short, bytearray(PAGE)) == EFAULT
    # -EFAULT changes nothing: no client 2 (s.5: -1 with no client), where the default made one
    assert default.ts.ctrl(SAVE_GET_CLIENT_FLAGS, 2) == 0
    assert chosen.ts.ctrl(SAVE_GET_CLIENT_FLAGS, 2) == -1


def test_v0_guest_op_on_v1_host() -> None:
    # s.10 row short-op: a v0 guest's 40-byte op on a v1 host: -EPERM from the version check, or -EFAULT.
    for ws in (64, 32):
        op = codec.pack(TmemOp(NEW_POOL, 0, Creat((0, 0), V0_SPEC, 0)), "v0", ws)
        assert simulator.make("v1", 4).hypercall(1, ws, op, bytearray(PAGE)) == EPERM
        assert simulator.make("v1", 4, choices={"short-op-efault"}).hypercall(1, ws, op, bytearray(PAGE)) == EFAULT


# ---------------------------------------------------------------- window

@pytest.mark.parametrize("toff,poff,length", [(4000, 0, 200), (0, 4095, 2), (0xFFFFFFFF, 0, 2), (8, 8, 0xFFFFFFFC)])
def test_write_window_past_the_page_end(setup: tuple[str, int], toff: int, poff: int, length: int) -> None:
    default, chosen = both(setup, "window-einval")
    for w in (default, chosen):
        assert w.a.new_own_pool(PERSIST) == 0
        w.a.fill(1, pattern(1))
        w.a.fill(2, pattern(2))
        assert w.a.gen(PUT, 0, 1, cmfn=1) == 1
    # a new page: 1 with nothing copied (a zero page), or -EINVAL with nothing stored
    assert default.a.gen(WRITE, 0, 2, cmfn=2, toff=toff, poff=poff, length=length) == 1
    assert default.a.gen(GET, 0, 2, cmfn=3) == 1 and default.a.page(3) == bytes(PAGE)
    assert chosen.a.gen(WRITE, 0, 2, cmfn=2, toff=toff, poff=poff, length=length) == EINVAL
    assert chosen.a.gen(GET, 0, 2, cmfn=3) == 0
    # a duplicate: zero outside the (empty) window, or -EINVAL keeping the old copy
    assert default.a.gen(WRITE, 0, 1, cmfn=2, toff=toff, poff=poff, length=length) == 1
    assert default.a.gen(GET, 0, 1, cmfn=3) == 1 and default.a.page(3) == bytes(PAGE)
    assert chosen.a.gen(WRITE, 0, 1, cmfn=2, toff=toff, poff=poff, length=length) == EINVAL
    assert chosen.a.gen(GET, 0, 1, cmfn=3) == 1 and chosen.a.page(3) == pattern(1)
    # a cmfn not in memory is -EFAULT on both (s.4); the simulator maps the frame before the window check
    for w in (default, chosen):
        assert w.a.gen(WRITE, 0, 3, cmfn=999, toff=toff, poff=poff, length=length) == EFAULT


def test_read_window_past_the_page_end(setup: tuple[str, int]) -> None:
    default, chosen = both(setup, "window-einval")
    for w in (default, chosen):
        assert w.a.new_own_pool(0) == 0  # private ephemeral: a hit is exclusive
        w.a.fill(1, pattern(1))
        w.a.fill(2, pattern(2))
        assert w.a.gen(PUT, 0, 1, cmfn=1) == 1
    assert default.a.gen(READ, 0, 1, cmfn=2, toff=4000, length=200) == 1
    assert default.a.page(2) == pattern(2)  # nothing copied
    assert default.a.gen(GET, 0, 1, cmfn=3) == EEMPTY  # the hit took the page
    assert chosen.a.gen(READ, 0, 1, cmfn=2, toff=4000, length=200) == EINVAL
    assert chosen.a.page(2) == pattern(2)  # nothing copied
    assert chosen.a.gen(GET, 0, 1, cmfn=3) == 1 and chosen.a.page(3) == pattern(1)  # still there
    assert chosen.a.gen(PUT, 0, 1, cmfn=1) == 1  # (the GET took it)
    assert chosen.a.gen(READ, 0, 1, cmfn=999, toff=4000, length=200) == EFAULT  # a hit, cmfn not there
    assert chosen.a.gen(GET, 0, 1, cmfn=3) == 1  # -EFAULT kept the page
    # a window inside the page is the same on both
    for w in (default, chosen):
        assert w.a.gen(PUT, 0, 1, cmfn=1) == 1
        assert w.a.gen(READ, 0, 1, cmfn=2, toff=10, poff=20, length=30) == 1
        assert w.a.page(2) == pattern(2)[:20] + pattern(1)[10:40] + pattern(2)[50:]


# ---------------------------------------------------------------- write-outside-window

def test_duplicate_write_keeps_previous_bytes(setup: tuple[str, int]) -> None:
    default, chosen = both(setup, "write-keeps-previous")
    for w in (default, chosen):
        assert w.a.new_own_pool(PERSIST) == 0
        w.a.fill(1, pattern(1))
        w.a.fill(2, pattern(2))
        assert w.a.gen(PUT, 0, 1, cmfn=1) == 1
        assert w.a.gen(WRITE, 0, 1, cmfn=2, toff=100, poff=0, length=10) == 1  # a duplicate
        assert w.a.gen(WRITE, 0, 2, cmfn=2, toff=100, poff=0, length=10) == 1  # a new page
        assert w.a.gen(GET, 0, 2, cmfn=3) == 1
        assert w.a.page(3) == bytes(100) + pattern(2)[:10] + bytes(PAGE - 110)  # new: zero outside, on both
    assert default.a.gen(GET, 0, 1, cmfn=3) == 1
    assert default.a.page(3) == bytes(100) + pattern(2)[:10] + bytes(PAGE - 110)
    assert chosen.a.gen(GET, 0, 1, cmfn=3) == 1
    assert chosen.a.page(3) == pattern(1)[:100] + pattern(2)[:10] + pattern(1)[110:]
    # a duplicate whose window is past the page end copies nothing: zeros, or the previous bytes
    for w in (default, chosen):
        assert w.a.gen(PUT, 0, 1, cmfn=1) == 1
        assert w.a.gen(WRITE, 0, 1, cmfn=2, toff=4090, length=10) == 1
        assert w.a.gen(GET, 0, 1, cmfn=3) == 1
    assert default.a.page(3) == bytes(PAGE)
    assert chosen.a.page(3) == pattern(1)


# ---------------------------------------------------------------- write-zero (R1)

@pytest.mark.parametrize("choice", ["", "zero-write-as-new-page", "write-keeps-previous"])
def test_zero_write_is_a_zero_page_whatever_cmfn_says(setup: tuple[str, int], choice: str) -> None:
    w = World(*setup, frozenset({choice} - {""}))
    assert w.a.new_own_pool(PERSIST) == 0
    w.a.fill(1, pattern(1))
    assert w.a.gen(WRITE, 0, 1, cmfn=999) == 1  # new: cmfn 999 is not in memory and is never looked up
    assert w.a.gen(GET, 0, 1, cmfn=2) == 1 and w.a.page(2) == bytes(PAGE)
    assert w.a.gen(PUT, 0, 1, cmfn=1) == 1
    assert w.a.gen(WRITE, 0, 1, cmfn=999) == 1  # a duplicate: replaces the old data
    assert w.a.gen(GET, 0, 1, cmfn=2) == 1 and w.a.page(2) == bytes(PAGE)
    assert w.a.gen(WRITE, 0, 2, cmfn=999, length=1) == EFAULT  # len 1 does look cmfn up


def test_restore_put_of_zero_bytes_is_a_zero_page(setup: tuple[str, int]) -> None:
    w = World(*setup)
    assert w.a.new_own_pool(PERSIST) == 0
    oid = w.a.oid(4)
    assert w.ts.ctrl(RESTORE_PUT_PAGE, 1, pool_id=0, arg1=0, arg2=7, oid=oid, buf=1 << 30) == 1  # buf unread
    assert w.a.gen(GET, 0, 4, index=7, cmfn=1) == 1 and w.a.page(1) == bytes(PAGE)
    assert w.ts.ctrl(RESTORE_PUT_PAGE, 1, pool_id=0, arg1=1, arg2=8, oid=oid, buf=1 << 30) == EFAULT


# ---------------------------------------------------------------- write-compress

def test_compressing_client_write(setup: tuple[str, int]) -> None:
    default, chosen = both(setup, "compress-window-fallback")
    for w in (default, chosen):
        assert w.a.new_own_pool(PERSIST) == 0
        assert w.ts.ctrl(SET_COMPRESS, 1, arg1=1) == 0
        w.a.fill(1, pattern(3))
        assert w.a.gen(WRITE, 0, 1, cmfn=1, toff=0, poff=100, length=50) == 1
        assert w.a.gen(GET, 0, 1, cmfn=2) == 1
    assert default.a.page(2) == pattern(3)  # the whole guest page, offsets ignored
    assert chosen.a.page(2) == pattern(3)[100:150] + bytes(PAGE - 50)  # the window, as without compression


# ---------------------------------------------------------------- shared-state

def _shared(w: World, flags: int) -> None:
    assert w.a.new_own_pool(SHARED | flags, SHARED_UUID) == 0  # domain 1 creates it: the owner
    assert w.b.new_own_pool(SHARED | flags, SHARED_UUID) == 0  # domain 2 joins
    assert w.b.new_own_pool(flags) == 1  # and has a private pool too
    for g in (w.a, w.b):
        g.fill(1, pattern(g.domid))


def test_frozen_owner_and_a_shared_pool(setup: tuple[str, int]) -> None:
    default, chosen = both(setup, "shared-owner-state")
    for w in (default, chosen):
        _shared(w, PERSIST)
        assert w.b.gen(PUT, 0, 1, cmfn=1) == 1
        assert w.ts.ctrl(FREEZE, 1) == 0  # the owner is frozen, domain 2 is not
        assert w.b.gen(PUT, 1, 2, cmfn=1) == 1  # a private pool follows its own client
    assert default.b.gen(PUT, 0, 2, cmfn=1) == 1  # the caller's state decides
    assert default.b.gen(FLUSH_PAGE, 0, 1) == 1
    assert chosen.b.gen(PUT, 0, 2, cmfn=1) == EFROZEN  # the owner's state decides
    assert chosen.b.gen(FLUSH_PAGE, 0, 1) == EFROZEN  # the flush is still done
    assert chosen.b.gen(GET, 0, 1, cmfn=2) == EEMPTY


def test_frozen_non_owner_and_a_shared_pool(setup: tuple[str, int]) -> None:
    default, chosen = both(setup, "shared-owner-state")
    for w in (default, chosen):
        _shared(w, PERSIST)
        assert w.ts.ctrl(FREEZE, 2) == 0
        assert w.b.gen(PUT, 1, 2, cmfn=1) == EFROZEN  # private: its own client, on both
    assert default.b.gen(PUT, 0, 2, cmfn=1) == EFROZEN
    assert chosen.b.gen(PUT, 0, 2, cmfn=1) == 1  # the owner is not frozen


def test_live_migrating_owner_and_a_shared_pool(setup: tuple[str, int]) -> None:
    v, _ = setup
    hsize = HANDLE_SIZE[v]
    default, chosen = both(setup, "shared-owner-state")
    for w in (default, chosen):
        _shared(w, PERSIST)
        assert w.a.new_own_pool(0) == 1  # the owner's slot 1: so its shared pool is slot 0
        assert w.b.gen(PUT, 0, 5, index=0, cmfn=1) == 1
        assert w.b.gen(PUT, 0, 5, index=1, cmfn=1) == 1
        assert w.ts.ctrl(SAVE_BEGIN, 1, arg1=1) == 1  # a live save of the owner: frozen, live-migrating
    assert default.b.gen(PUT, 0, 5, index=0, cmfn=1) == 1  # domain 2 is not migrating: dup put replaces
    assert default.b.gen(FLUSH_PAGE, 0, 5, index=1) == 1
    assert default.ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize) == 0  # nothing recorded for the owner
    assert chosen.b.gen(PUT, 0, 5, index=0, cmfn=1) == ENOSPC  # the owner migrates: dup refused, old gone
    assert chosen.b.gen(FLUSH_PAGE, 0, 5, index=1) == EFROZEN
    got = set()
    for _ in range(2):
        assert chosen.ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize) == 1  # recorded on the owner's list
        got.add(chosen.ts.handle())
    assert got == {(0, 0, 5), (0, 1, 5)}
    assert chosen.ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize) == 0


# ---------------------------------------------------------------- shared-leave (R4 and its choices)

def _leave_world(setup: tuple[str, int], choices: frozenset[str], flags: int) -> World:
    """Domain 1 owns a shared pool; domain 2 put object 1 last, the owner object 2."""
    w = World(*setup, choices)
    _shared(w, flags)
    assert w.b.gen(PUT, 0, 1, cmfn=1) == 1
    assert w.a.gen(PUT, 0, 2, cmfn=1) == 1
    return w


@pytest.mark.parametrize("flags", [PERSIST, 0], ids=["persistent", "ephemeral"])
def test_owner_leaves_a_shared_pool(setup: tuple[str, int], flags: int) -> None:
    default = _leave_world(setup, frozenset(), flags)
    chosen = _leave_world(setup, frozenset({"owner-leave-wipes"}), flags)
    for w in (default, chosen):
        assert w.a.call(TmemOp(DESTROY_POOL, 0)) == 1
    assert default.b.gen(GET, 0, 1, cmfn=2) == 1  # domain 2's object stays
    assert default.b.gen(GET, 0, 2, cmfn=2) == 0  # the owner's goes
    assert chosen.b.gen(GET, 0, 1, cmfn=2) == EEMPTY  # every object went
    for w in (default, chosen):
        assert w.b.gen(PUT, 0, 3, cmfn=1) == 1  # domain 2 keeps its slot


@pytest.mark.parametrize("how", ["destroy_pool", "destroy_domain"])
def test_non_owner_leaves_a_persistent_shared_pool(setup: tuple[str, int], how: str) -> None:
    for choices in (frozenset(), frozenset({"owner-leave-wipes"}), frozenset({"nonowner-keeps-ephemeral"})):
        w = _leave_world(setup, choices, PERSIST)
        if how == "destroy_pool":
            assert w.b.call(TmemOp(DESTROY_POOL, 0)) == 1
        else:
            w.host.destroy_domain(2)
        assert w.a.gen(GET, 0, 1, cmfn=2) == 1 and w.a.page(2) == pattern(2)  # persistent objects stay
        assert w.a.gen(GET, 0, 2, cmfn=2) == 1 and w.a.page(2) == pattern(1)


def test_non_owner_leaves_an_ephemeral_shared_pool(setup: tuple[str, int]) -> None:
    default = _leave_world(setup, frozenset(), 0)
    chosen = _leave_world(setup, frozenset({"nonowner-keeps-ephemeral"}), 0)
    for w in (default, chosen):
        assert w.b.call(TmemOp(DESTROY_POOL, 0)) == 1
        assert w.a.gen(GET, 0, 2, cmfn=2) == 1  # the owner's object stays
    assert default.a.gen(GET, 0, 1, cmfn=2) == 0  # the object domain 2 put last went with it
    assert chosen.a.gen(GET, 0, 1, cmfn=2) == 1 and chosen.a.page(2) == pattern(2)  # nothing dropped


def test_ownership_passes_to_the_lowest_remaining_domid(setup: tuple[str, int]) -> None:
    # Seen through shared-owner-state: after the owner leaves, domain 2 (not 3) decides for the pool.
    w = World(*setup, frozenset({"shared-owner-state", "owner-leave-wipes"}))
    assert w.a.new_own_pool(SHARED | PERSIST, SHARED_UUID) == 0
    assert w.c.new_own_pool(SHARED | PERSIST, SHARED_UUID) == 0
    assert w.b.new_own_pool(SHARED | PERSIST, SHARED_UUID) == 0
    w.c.fill(1, pattern(3))
    assert w.ts.ctrl(FREEZE, 2) == 0
    assert w.c.gen(PUT, 0, 1, cmfn=1) == 1  # the owner (1) is not frozen
    assert w.a.call(TmemOp(DESTROY_POOL, 0)) == 1
    assert w.c.gen(GET, 0, 1, cmfn=2) == EEMPTY  # the owner's leave wiped the pool
    assert w.c.gen(PUT, 0, 1, cmfn=1) == EFROZEN  # the new owner, domain 2, is frozen
    w.host.destroy_domain(2)
    assert w.c.gen(PUT, 0, 1, cmfn=1) == 1  # domain 3 is the last user and owner


# ---------------------------------------------------------------- next-inv

def test_next_inv_with_no_client_or_a_short_buffer(setup: tuple[str, int]) -> None:
    v, _ = setup
    hsize = HANDLE_SIZE[v]
    default, chosen = both(setup, "next-inv-zero")
    for w in (default, chosen):
        assert w.a.new_own_pool(PERSIST) == 0
        w.ts.fill(0, pattern(8))
    assert default.ts.ctrl(SAVE_GET_NEXT_INV, 7, arg1=hsize) == -1  # no client 7
    assert chosen.ts.ctrl(SAVE_GET_NEXT_INV, 7, arg1=hsize) == 0
    assert default.ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize - 1) == ENOMEM
    assert chosen.ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize - 1) == 0
    for w in (default, chosen):
        assert w.ts.page(0) == pattern(8)  # nothing written
        assert w.ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize) == 0  # an empty list: 0 on both


# ---------------------------------------------------------------- save-begin (R5) and save-order (R6)

def test_save_begin_without_live_flag_keeps_live_migration(setup: tuple[str, int]) -> None:
    w = World(*setup)
    assert w.a.new_own_pool(PERSIST) == 0
    assert w.a.gen(PUT, 0, 1, index=0, cmfn=1) == 1
    assert w.a.gen(PUT, 0, 1, index=1, cmfn=1) == 1
    assert w.ts.ctrl(SAVE_BEGIN, 1, arg1=1) == 1
    assert w.ts.ctrl(SAVE_BEGIN, 1, arg1=0) == 1
    assert w.a.gen(PUT, 0, 1, index=0, cmfn=1) == ENOSPC  # still live-migrating: a dup put is refused
    assert w.ts.ctrl(SAVE_END, 1) == 0
    assert w.a.gen(PUT, 0, 1, index=1, cmfn=1) == 1  # SAVE_END cleared it (dup puts work while frozen)
    assert w.a.gen(PUT, 0, 1, index=0, cmfn=1) == EFROZEN  # index 0 went; frozen = was_frozen (the 2nd begin)


def _saved(w: World, slot: int) -> list[tuple[int, int]]:
    """(oid, index) of every page one save reports, in order, up to SAVE_GET_NEXT_PAGE's -1."""
    hsize = HANDLE_SIZE[w.ts.v]
    assert w.ts.ctrl(SAVE_BEGIN, 1) == 1
    got = []
    for _ in range(20):
        r = w.ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=slot, arg1=hsize + PAGE, buf=8)
        if r == -1:
            break
        assert r == 1
        pool_id, index, oid = w.ts.handle(8)
        assert pool_id == slot
        got.append((oid, index))
    assert w.ts.ctrl(SAVE_END, 1) == 0
    return got


def test_save_pages_reverse_gives_the_same_pages_in_another_order(setup: tuple[str, int]) -> None:
    default, chosen = both(setup, "save-pages-reverse")
    pages = [(7, 0), (7, 3), (2, 1), (9, 9)]
    for w in (default, chosen):
        assert w.a.new_own_pool(PERSIST) == 0
        for oid, index in pages:
            assert w.a.gen(PUT, 0, oid, index=index, cmfn=1) == 1
    for _ in range(2):  # each save reports every page once, then -1
        first, second = _saved(default, 0), _saved(chosen, 0)
        assert sorted(first) == sorted(second) == sorted(pages)
        assert second == first[::-1] and first != second


# ---------------------------------------------------------------- eviction (R7 and its choices)

def _evicting(setup: tuple[str, int], choice: str) -> World:
    """Capacity 3: a shared ephemeral pool (gets keep the page) holding indexes 0, 1, 2 of object 1."""
    w = World(*setup, frozenset({choice} - {""}), capacity=3)
    assert w.a.new_own_pool(SHARED, SHARED_UUID) == 0
    for index in range(3):
        assert w.a.gen(PUT, 0, 1, index=index, cmfn=1) == 1
    return w


def _present(w: World, indexes: range) -> set[int]:
    return {i for i in indexes if w.a.gen(GET, 0, 1, index=i, cmfn=2) == 1}


@pytest.mark.parametrize("choice,evicted", [("", 2), ("evict-mru", 1), ("evict-fifo", 0)])
def test_eviction_policy_picks_the_victim(setup: tuple[str, int], choice: str, evicted: int) -> None:
    w = _evicting(setup, choice)
    assert _present(w, range(3)) == {0, 1, 2}  # full, but nothing needed room: nothing went
    assert w.a.gen(GET, 0, 1, index=0, cmfn=2) == 1
    assert w.a.gen(GET, 0, 1, index=1, cmfn=2) == 1
    # used last: 2, then 0, then 1 (LRU 2, MRU 1); put first: 0 (FIFO 0)
    assert w.a.gen(PUT, 0, 1, index=3, cmfn=1) == 1  # a new page needs room: one ephemeral page goes
    assert _present(w, range(4)) == {0, 1, 2, 3} - {evicted}


@pytest.mark.parametrize("choice", ["", "evict-mru", "evict-fifo", "flush-evicts-newest"])
def test_nothing_is_evicted_below_capacity(setup: tuple[str, int], choice: str) -> None:
    w = World(*setup, frozenset({choice} - {""}), capacity=4)
    assert w.a.new_own_pool(SHARED, SHARED_UUID) == 0
    assert w.a.new_own_pool(PERSIST) == 1
    for index in range(3):
        assert w.a.gen(PUT, 0, 1, index=index, cmfn=1) == 1
    assert w.a.gen(PUT, 1, 1, index=0, cmfn=1) == 1  # 4 of 4: full
    assert _present(w, range(3)) == {0, 1, 2}
    assert w.a.gen(FLUSH_PAGE, 1, 1, index=0) == 1
    assert w.a.gen(PUT, 1, 1, index=1, cmfn=1) == 1  # room again: no eviction
    assert _present(w, range(3)) == {0, 1, 2}


@pytest.mark.parametrize("choice,flushed", [("", 0), ("flush-evicts-newest", 2)])
def test_control_flush_order(setup: tuple[str, int], choice: str, flushed: int) -> None:
    w = _evicting(setup, choice)
    assert w.ts.ctrl(FLUSH, ALL, arg1=4) == 4  # 4 KB: one page
    assert _present(w, range(3)) == {0, 1, 2} - {flushed}
