"""Every candidate on the same worked examples (house rule 3: one set of tests, parametrized).

Every expected value is a literal read from tmem-abi.md, models/rules.py
or the specification decisions in CONFORMANCE.md, never computed by a
candidate. Ops are built with models.codec.pack, as a guest would. The
module-level `make` is each candidate's factory in turn, loaded through
the registry (a missing candidate fails, never skips); `ctmem-standalone`
is ctmem's C sources built a second time as a third party would.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest

from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, Gen, TmemOp

from .abi_literals import (
    ALL,
    AUTH,
    DESTROY_POOL,
    EEMPTY,
    EFAULT,
    EFROZEN,
    EINVAL,
    ENODEV,
    ENOMEM,
    ENOSPC,
    EPERM,
    FLUSH,
    FLUSH_OBJECT,
    FLUSH_PAGE,
    FREEZE,
    GET,
    NEW_PAGE,
    NEW_POOL,
    PERSIST,
    PUT,
    READ,
    RESTORE_BEGIN,
    RESTORE_FLUSH_PAGE,
    RESTORE_NEW,
    RESTORE_PUT_PAGE,
    SAVE_BEGIN,
    SAVE_END,
    SAVE_GET_CLIENT_FLAGS,
    SAVE_GET_NEXT_INV,
    SAVE_GET_NEXT_PAGE,
    SAVE_GET_POOL_FLAGS,
    SAVE_GET_POOL_NPAGES,
    SAVE_GET_POOL_UUID,
    SAVE_GET_VERSION,
    SAVE_GET_WEIGHT,
    SET_COMPRESS,
    SET_WEIGHT,
    SHARED,
    THAW,
    V0_SPEC,
    V1_SPEC,
    WRITE,
    XCHG,
)
from .candidates import candidate, make  # noqa: F401 - the parametrizing fixture and its factory
from .raw_guest import PAGE, Guest, Toolstack, pattern

# command numbers (tmem.h)
# control sub-ops (tmem.h)


VERSIONS = [("v0", 1, V0_SPEC), ("v1", 3, V1_SPEC)]
HANDLE_SIZE = {"v0": 16, "v1": 32}  # pool_id u32, index u32, oid u64 x 1 or 3


@pytest.fixture(params=[(v, ws) for v, _, _ in VERSIONS for ws in (64, 32)], ids=lambda p: f"{p[0]}-{p[1]}")
def setup(request: pytest.FixtureRequest) -> Iterator[tuple[Guest, Toolstack]]:
    v, ws = request.param
    host = make(v, 16)
    yield Guest(host, 1, v, ws), Toolstack(host, v, ws)
    host.close()


# ---------------------------------------------------------------- pool creation and versions

@pytest.mark.parametrize("key,v", [(0, "v0"), ("v0", "v0"), (1, "v1"), ("v1", "v1")])
def test_make_accepts_spec_number_and_name(key: int | str, v: str) -> None:
    # Either spelling makes a host of that version: it accepts its own spec and refuses the other.
    own, other = (V0_SPEC, V1_SPEC) if v == "v0" else (V1_SPEC, V0_SPEC)
    g = Guest(make(key, 1), 1, v)
    assert g.new_pool(own) == 0
    assert g.new_pool(other) == EPERM


@pytest.mark.parametrize("host_v,guest_spec", [("v1", V0_SPEC), ("v0", V1_SPEC)])
def test_other_spec_version_is_refused(host_v: str, guest_spec: int) -> None:
    # tmem-abi.md s.3 check 1 / s.7: a host accepts only its own version (TMEM-POOL-001).
    g = Guest(make(host_v, 8), 1, host_v)
    assert g.new_pool(guest_spec) == EPERM
    assert g.new_pool(guest_spec | PERSIST) == EPERM


def test_v0_guest_buffer_reaches_v1_version_check() -> None:
    # tmem-abi.md s.7: the new/creat member has the same layout, so a v0 guest's (shorter) op
    # reaches the v1 host's version check and gets -EPERM (TMEM-HC-001, TMEM-PAIR-002).
    host = make("v1", 8)
    op = codec.pack(TmemOp(NEW_POOL, 0, Creat((0, 0), V0_SPEC, 0)), "v0", 64)
    assert host.hypercall(1, 64, op, bytearray(PAGE)) == EPERM


@pytest.mark.parametrize("bits", [0x00000100, 0x00800000, 0x00010000])
def test_reserved_bits_refused_on_v1_ignored_on_v0(bits: int) -> None:
    # tmem-abi.md s.3 check 4 (TMEM-POOL-004).
    assert Guest(make("v1", 8), 1, "v1").new_pool(V1_SPEC | bits) == EPERM
    assert Guest(make("v0", 8), 1, "v0").new_pool(V0_SPEC | bits) == 0


def test_precompressed_refused_on_v1_ignored_on_v0() -> None:
    # tmem-abi.md s.3 check 3 (TMEM-POOL-003).
    assert Guest(make("v1", 8), 1, "v1").new_pool(V1_SPEC | 0x4) == EPERM
    assert Guest(make("v0", 8), 1, "v0").new_pool(V0_SPEC | 0x4) == 0


def test_page_size_field_must_be_zero(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.new_pool(g.spec | 1 << 4) == EPERM  # TMEM-POOL-002


def test_lowest_free_slot_and_sixteen_slots(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    for slot in range(16):
        assert g.new_pool(g.spec | PERSIST) == slot  # TMEM-POOL-005
    assert g.new_pool(g.spec) == EPERM  # TMEM-POOL-006
    assert g.call(TmemOp(DESTROY_POOL, 5)) == 1
    assert g.new_pool(g.spec) == 5


# ---------------------------------------------------------------- dispatch

def test_short_op_buffer_is_efault() -> None:
    host = make("v1", 8)
    assert host.hypercall(1, 64, b"\x04\x00\x00\x00\x00\x00", bytearray(PAGE)) == EFAULT  # TMEM-HC-001
    assert host.hypercall(1, 64, b"", bytearray(PAGE)) == EFAULT


def test_bad_pool_id_is_enodev(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.gen(GET, 0, 1) == ENODEV  # no pool yet (TMEM-HC-002)
    assert g.new_pool(g.spec | PERSIST) == 0
    for bad in (1, 16, -1, -(1 << 31)):
        assert g.gen(PUT, bad, 1) == ENODEV
        assert g.gen(XCHG, bad, 1) == ENODEV
    assert g.gen(XCHG, 0, 1) == 0  # TMEM-HC-003
    assert g.gen(77, 0, 1) == 0


def test_destroy_pool(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    assert g.call(TmemOp(DESTROY_POOL, -1)) == 0  # TMEM-DESTROY-002
    assert g.call(TmemOp(DESTROY_POOL, 16)) == 0
    assert g.call(TmemOp(DESTROY_POOL, 3)) == 0  # free slot
    assert g.gen(PUT, 0, 1, cmfn=1) == 1
    assert g.call(TmemOp(DESTROY_POOL, 0)) == 1  # TMEM-DESTROY-001
    assert g.call(TmemOp(DESTROY_POOL, 0)) == 0
    assert g.gen(GET, 0, 1, cmfn=2) == ENODEV


def test_privileged_ops_from_a_guest_are_eperm(setup: tuple[Guest, Toolstack]) -> None:
    g, ts = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    as_guest = Toolstack(g.host, g.v, g.ws)
    as_guest.domid = 1
    assert as_guest.ctrl(FREEZE, 1) == EPERM  # TMEM-HC-004
    assert g.call(TmemOp(AUTH, 0, Creat((1, 2), 1, ALL))) == EPERM
    assert g.call(TmemOp(RESTORE_NEW, 1, Creat((0, 0), g.spec, 1))) == EPERM
    g.fill(1, pattern(1))
    assert g.gen(PUT, 0, 1, cmfn=1) == 1  # not frozen: nothing changed
    assert g.new_pool(g.spec) == 1  # slot 1 still free: RESTORE_NEW did nothing
    assert ts.ctrl(FREEZE, 1) == 0


def test_control_does_not_create_a_client_for_dom0() -> None:
    ts = Toolstack(make("v1", 8), "v1")
    assert ts.ctrl(SAVE_GET_VERSION, 0) == 1
    assert ts.ctrl(FREEZE, 0) == -1  # dom0 has no client yet
    assert ts.new_pool(V1_SPEC) == 0  # now it has one
    assert ts.ctrl(FREEZE, 0) == 0


# ---------------------------------------------------------------- puts and gets

def test_put_get_round_trip(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    assert g.gen(GET, 0, 1, cmfn=2) == EEMPTY  # TMEM-GET-001
    g.fill(1, pattern(7))
    assert g.gen(PUT, 0, 1, index=9, cmfn=1) == 1  # TMEM-PUT-001
    assert g.gen(GET, 0, 1, index=8, cmfn=2) == 0  # miss (TMEM-GET-002)
    assert g.page(2) == bytes(PAGE)
    assert g.gen(GET, 0, 1, index=9, cmfn=2) == 1  # TMEM-GET-003
    assert g.page(2) == pattern(7)
    assert g.gen(GET, 0, 1, index=9, cmfn=3) == 1  # persistent: kept (TMEM-GET-005)
    assert g.page(3) == pattern(7)


def test_v1_object_ids_differ_in_upper_words() -> None:
    g = Guest(make("v1", 8), 1, "v1")
    assert g.new_pool(V1_SPEC | PERSIST) == 0
    g.fill(1, pattern(1))
    assert g.call(TmemOp(PUT, 0, Gen((5, 0, 1), 0, 0, 0, 0, 1))) == 1
    assert g.call(TmemOp(GET, 0, Gen((5, 0, 0), 0, 0, 0, 0, 2))) == 0
    assert g.call(TmemOp(FLUSH_OBJECT, 0, Gen((5, 0, 0), 0, 0, 0, 0, 0))) == 1
    assert g.call(TmemOp(GET, 0, Gen((5, 0, 1), 0, 0, 0, 0, 2))) == 1  # TMEM-FLUSH-002


def test_new_page_is_zero_and_ignores_cmfn(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    g.fill(2, pattern(3))
    assert g.gen(NEW_PAGE, 0, 1, cmfn=10**6) == 1  # TMEM-PUT-004
    assert g.gen(GET, 0, 1, cmfn=2) == 1
    assert g.page(2) == bytes(PAGE)


def test_bad_cmfn(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    assert g.gen(PUT, 0, 1, cmfn=8) == EFAULT  # memory has 8 pages (TMEM-HC-005)
    assert g.gen(NEW_PAGE, 0, 2) == 1
    assert g.gen(GET, 0, 1, cmfn=8) == 0  # miss: nothing copied, no fault
    assert g.gen(GET, 0, 2, cmfn=8) == EFAULT  # hit: fault, page kept
    assert g.gen(GET, 0, 2, cmfn=0) == 1


def test_exclusive_get_from_private_ephemeral_pool(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.new_pool(g.spec) == 0
    g.fill(1, pattern(2))
    assert g.gen(PUT, 0, 1, index=0, cmfn=1) == 1
    assert g.gen(PUT, 0, 1, index=1, cmfn=1) == 1
    assert g.gen(GET, 0, 1, index=0, cmfn=2) == 1  # TMEM-GET-005
    assert g.page(2) == pattern(2)
    assert g.gen(GET, 0, 1, index=0, cmfn=3) == 0  # removed by the get
    assert g.gen(GET, 0, 1, index=1, cmfn=3) == 1
    assert g.gen(GET, 0, 1, index=1, cmfn=3) == EEMPTY  # the pool holds no pages now


def test_shared_ephemeral_get_keeps_the_page() -> None:
    host = make("v1", 8)
    a, b = Guest(host, 1, "v1"), Guest(host, 2, "v1")
    uuid = (0x1234, 0x5678)
    assert a.new_pool(V1_SPEC | SHARED, uuid) == 0
    assert b.new_pool(V1_SPEC | PERSIST | SHARED, uuid) == 0  # joins: ephemeral wins (TMEM-SHARED-002)
    a.fill(1, pattern(4))
    assert a.gen(PUT, 0, 1, cmfn=1) == 1
    assert b.gen(GET, 0, 1, cmfn=2) == 1
    assert b.gen(GET, 0, 1, cmfn=3) == 1
    assert b.page(3) == pattern(4)


def test_dup_put_replaces(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    g.fill(1, pattern(1))
    g.fill(2, pattern(2))
    assert g.gen(PUT, 0, 1, cmfn=1) == 1
    assert g.gen(PUT, 0, 1, cmfn=2) == 1  # TMEM-PUT-002
    assert g.gen(GET, 0, 1, cmfn=3) == 1
    assert g.page(3) == pattern(2)


def test_write_and_read_windows(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    g.fill(1, pattern(9))
    # WRITE guest[100:150] to stored[10:60] (TMEM-PUT-005)
    assert g.gen(WRITE, 0, 1, cmfn=1, toff=10, poff=100, length=50) == 1
    g.fill(2, b"\xee" * PAGE)
    # READ stored[10:60] to guest[200:250] (TMEM-GET-004)
    assert g.gen(READ, 0, 1, cmfn=2, toff=10, poff=200, length=50) == 1
    assert g.page(2)[200:250] == pattern(9)[100:150]
    assert g.page(2)[:200] == b"\xee" * 200 and g.page(2)[250:] == b"\xee" * (PAGE - 250)
    # windows past the page end copy nothing and still return 1
    assert g.gen(READ, 0, 1, cmfn=2, toff=4090, poff=0, length=10) == 1
    assert g.gen(READ, 0, 1, cmfn=2, toff=0, poff=4095, length=2) == 1
    assert g.gen(READ, 0, 1, cmfn=2, toff=0, poff=0, length=0) == 1
    assert g.page(2)[:200] == b"\xee" * 200
    assert g.gen(WRITE, 0, 2, cmfn=1, toff=4000, poff=0, length=97) == 1
    # all three zero: a zero page
    assert g.gen(WRITE, 0, 3, cmfn=1) == 1
    assert g.gen(GET, 0, 3, cmfn=2) == 1
    assert g.page(2) == bytes(PAGE)


def test_compressed_write_stores_whole_page() -> None:
    host = make("v1", 8)
    g, ts = Guest(host, 1, "v1"), Toolstack(host, "v1")
    assert g.new_pool(V1_SPEC | PERSIST) == 0
    assert ts.ctrl(SET_COMPRESS, 1, arg1=1) == 0
    g.fill(1, pattern(5))
    assert g.gen(WRITE, 0, 1, cmfn=1, toff=10, poff=20, length=5) == 1  # whole page, offsets ignored
    assert g.gen(READ, 0, 1, cmfn=2, toff=0, poff=0, length=1) == 1  # stored compressed: copied whole
    assert g.page(2) == pattern(5)
    assert ts.ctrl(SAVE_GET_CLIENT_FLAGS, 1) == 1  # COMPRESS


# ---------------------------------------------------------------- freeze and flush

def test_frozen_client(setup: tuple[Guest, Toolstack]) -> None:
    g, ts = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    g.fill(1, pattern(1))
    g.fill(2, pattern(2))
    assert g.gen(PUT, 0, 1, index=0, cmfn=1) == 1
    assert g.gen(PUT, 0, 1, index=1, cmfn=1) == 1
    assert ts.ctrl(FREEZE, 1) == 0
    assert g.gen(PUT, 0, 1, index=2, cmfn=1) == EFROZEN  # TMEM-PUT-003
    assert g.gen(PUT, 0, 1, index=0, cmfn=2) == 1  # dup put still replaces
    assert g.gen(GET, 0, 1, index=0, cmfn=3) == 1
    assert g.page(3) == pattern(2)
    assert g.gen(FLUSH_PAGE, 0, 1, index=1) == EFROZEN  # TMEM-FLUSH-003: done anyway
    assert g.gen(GET, 0, 1, index=1, cmfn=3) == 0
    assert ts.ctrl(THAW, ALL) == 0
    assert g.gen(PUT, 0, 1, index=2, cmfn=1) == 1


def test_flush_returns_one_found_or_not(setup: tuple[Guest, Toolstack]) -> None:
    g, _ = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    assert g.gen(FLUSH_PAGE, 0, 1) == 1  # TMEM-FLUSH-001
    assert g.gen(FLUSH_OBJECT, 0, 1) == 1  # TMEM-FLUSH-002
    assert g.gen(PUT, 0, 1, index=0, cmfn=1) == 1
    assert g.gen(PUT, 0, 1, index=1, cmfn=1) == 1
    assert g.gen(PUT, 0, 2, index=0, cmfn=1) == 1
    assert g.gen(FLUSH_PAGE, 0, 1, index=0) == 1
    assert g.gen(GET, 0, 1, index=0, cmfn=2) == 0
    assert g.gen(FLUSH_OBJECT, 0, 1) == 1
    assert g.gen(GET, 0, 1, index=1, cmfn=2) == 0
    assert g.gen(GET, 0, 2, index=0, cmfn=2) == 1


# ---------------------------------------------------------------- capacity

def test_full_host_refuses_a_new_persistent_page() -> None:
    g = Guest(make("v1", 2), 1, "v1")
    assert g.new_pool(V1_SPEC | PERSIST) == 0
    assert g.gen(PUT, 0, 1, index=0, cmfn=1) == 1
    assert g.gen(PUT, 0, 1, index=1, cmfn=1) == 1
    assert g.gen(PUT, 0, 1, index=2, cmfn=1) == ENOMEM  # TMEM-PUT-006
    assert g.gen(GET, 0, 1, index=0, cmfn=2) == 1  # persistent pages stay (TMEM-EPH-002)
    assert g.gen(GET, 0, 1, index=1, cmfn=2) == 1


def test_full_host_evicts_ephemeral_for_a_persistent_page() -> None:
    g = Guest(make("v0", 2), 1, "v0")
    assert g.new_pool(V0_SPEC) == 0
    assert g.new_pool(V0_SPEC | PERSIST) == 1
    assert g.gen(PUT, 0, 1, index=0, cmfn=1) == 1
    assert g.gen(PUT, 0, 1, index=1, cmfn=1) == 1
    assert g.gen(PUT, 1, 1, index=0, cmfn=1) == 1  # the host was full of ephemeral pages
    assert g.gen(PUT, 1, 1, index=1, cmfn=1) == 1
    assert g.gen(PUT, 1, 1, index=2, cmfn=1) == ENOMEM
    assert g.gen(GET, 0, 1, index=0, cmfn=2) == EEMPTY  # both ephemeral pages evicted


def test_zero_capacity() -> None:
    g = Guest(make("v1", 0), 1, "v1")
    assert g.new_pool(V1_SPEC | PERSIST) == 0
    assert g.gen(PUT, 0, 1, cmfn=1) == ENOMEM


# ---------------------------------------------------------------- save

def _handle(data: bytes, words: int) -> tuple[int, int, tuple[int, ...]]:
    pool_id, index = struct.unpack_from("<II", data)
    return pool_id, index, struct.unpack_from(f"<{words}Q", data, 8)


def test_save_iteration_reports_each_page_once(setup: tuple[Guest, Toolstack]) -> None:
    g, ts = setup
    hsize = HANDLE_SIZE[g.v]
    assert g.new_pool(g.spec) == 0
    assert g.new_pool(g.spec | PERSIST) == 1
    pages = {(1, 0): 10, (1, 5): 11, (2, 0): 12}
    for (low, index), seed in pages.items():
        g.fill(1, pattern(seed))
        assert g.gen(PUT, 1, low, index=index, cmfn=1) == 1
    assert ts.ctrl(SAVE_BEGIN, 1) == 1  # TMEM-SAVE-001
    assert ts.ctrl(SAVE_GET_POOL_FLAGS, 1, pool_id=1) == (g.spec | PERSIST)  # TMEM-SAVE-004
    assert ts.ctrl(SAVE_GET_POOL_FLAGS, 1, pool_id=0) == g.spec
    assert ts.ctrl(SAVE_GET_POOL_FLAGS, 1, pool_id=2) == -1
    assert ts.ctrl(SAVE_GET_POOL_NPAGES, 1, pool_id=1) == 3
    assert ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=0, arg1=PAGE + hsize) == -1  # ephemeral
    assert ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=1, arg1=PAGE + hsize - 1) == ENOMEM
    assert ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=1, arg1=PAGE + hsize, buf=3 * PAGE) == EFAULT
    seen = {}
    for _ in range(3):
        assert ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=1, arg1=PAGE + hsize, buf=8) == 1  # TMEM-SAVE-007
        pool_id, index, oid = _handle(ts.memory[8:8 + hsize], g.words)
        assert pool_id == 1 and oid[1:] == (0,) * (g.words - 1)
        assert (oid[0], index) not in seen
        seen[(oid[0], index)] = bytes(ts.memory[8 + hsize:8 + hsize + PAGE])
    assert seen == {k: pattern(s) for k, s in pages.items()}
    assert ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=1, arg1=PAGE + hsize, buf=8) == -1
    assert g.gen(PUT, 1, 9, cmfn=1) == EFROZEN  # SAVE_BEGIN froze the client
    assert ts.ctrl(SAVE_END, 1) == 0  # TMEM-SAVE-009
    assert g.gen(PUT, 1, 9, cmfn=1) == 1


def test_save_queries(setup: tuple[Guest, Toolstack]) -> None:
    g, ts = setup
    spec = g.spec >> 24
    assert ts.ctrl(SAVE_GET_VERSION, 77) == spec  # TMEM-SAVE-002: any client id
    assert ts.ctrl(12, ALL) == 16
    assert ts.ctrl(SAVE_BEGIN, 1) == 0  # no client
    assert ts.ctrl(SAVE_GET_WEIGHT, 1) == -1
    assert ts.ctrl(SAVE_END, 1) == -1
    assert g.gen(FLUSH_PAGE, 0, 1) == ENODEV  # creates the client
    assert ts.ctrl(SAVE_BEGIN, 1) == 0  # no pools
    assert ts.ctrl(SAVE_GET_WEIGHT, 1) == 0
    assert ts.ctrl(SET_WEIGHT, 1, arg1=0xFFFFFFFF) == 0
    assert ts.ctrl(SAVE_GET_WEIGHT, 1) == -2  # TMEM-SAVE-003
    assert ts.ctrl(SET_WEIGHT, 1, arg1=7) == 0
    assert ts.ctrl(SAVE_GET_WEIGHT, 1) == 7
    assert ts.ctrl(SET_WEIGHT, 2, arg1=7) == -1
    assert ts.ctrl(9, 1) == -1  # unassigned sub-op (TMEM-CTRL-004)
    assert ts.ctrl(FLUSH, 1) == -1  # TMEM-CTRL-003
    assert ts.ctrl(FLUSH, ALL, arg1=100) >= 0


def test_pool_uuid_changes_nothing_else(setup: tuple[Guest, Toolstack]) -> None:
    g, ts = setup
    assert g.new_pool(g.spec | PERSIST | SHARED, (0x1122334455667788, 0x99AABBCCDDEEFF00)) == 0
    assert ts.ctrl(SAVE_BEGIN, 1, arg1=1) == 1
    assert ts.ctrl(SAVE_GET_POOL_UUID, 1, pool_id=0, buf=100) == 0  # TMEM-SAVE-006
    assert struct.unpack_from("<QQ", ts.memory, 100) == (0x1122334455667788, 0x99AABBCCDDEEFF00)
    assert ts.ctrl(SAVE_GET_POOL_UUID, 1, pool_id=0, buf=4 * PAGE - 15) == EFAULT
    assert ts.ctrl(SAVE_GET_POOL_UUID, 1, pool_id=1, buf=100) == -1
    assert g.gen(PUT, 0, 1, cmfn=1) == EFROZEN  # still frozen: no fall-through into SAVE_END


def test_live_migration_invalidated_list(setup: tuple[Guest, Toolstack]) -> None:
    g, ts = setup
    hsize = HANDLE_SIZE[g.v]
    assert g.new_pool(g.spec | PERSIST) == 0
    for index in range(3):
        assert g.gen(PUT, 0, 4, index=index, cmfn=1) == 1
    assert ts.ctrl(SAVE_BEGIN, 1, arg1=1) == 1
    assert ts.ctrl(SAVE_GET_CLIENT_FLAGS, 1) == 0  # was not frozen
    assert g.gen(FLUSH_PAGE, 0, 4, index=0) == EFROZEN
    assert g.gen(PUT, 0, 4, index=1, cmfn=1) == ENOSPC  # dup put while live-migrating (TMEM-PUT-002)
    assert g.gen(GET, 0, 4, index=1, cmfn=2) == 0  # the old copy is gone
    assert ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize - 1, buf=0) == ENOMEM
    got = set()
    for _ in range(2):
        assert ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize, buf=0) == 1  # TMEM-SAVE-008
        pool_id, index, oid = _handle(ts.memory[:hsize], g.words)
        assert pool_id == 0 and oid == (4,) + (0,) * (g.words - 1)
        got.add(index)
    assert got == {0, 1}
    assert ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize, buf=0) == 0
    assert ts.ctrl(SAVE_END, 1) == 0
    assert g.gen(PUT, 0, 4, index=2, cmfn=1) == 1  # thawed, no longer migrating: dup put works


def test_was_frozen_survives_save() -> None:
    host = make("v1", 8)
    g, ts = Guest(host, 1, "v1"), Toolstack(host, "v1")
    assert g.new_pool(V1_SPEC | PERSIST) == 0
    assert ts.ctrl(FREEZE, 1) == 0
    assert ts.ctrl(SAVE_BEGIN, 1) == 1
    assert ts.ctrl(SAVE_GET_CLIENT_FLAGS, 1) == 2  # FROZEN
    assert ts.ctrl(SAVE_END, 1) == 0
    assert g.gen(PUT, 0, 1, cmfn=1) == EFROZEN


# ---------------------------------------------------------------- restore and auth

def test_restore(setup: tuple[Guest, Toolstack]) -> None:
    g, ts = setup
    g.domid = 5
    ts.memory[PAGE:2 * PAGE] = pattern(6)
    assert ts.call(TmemOp(RESTORE_NEW, 3, Creat((0, 0), g.spec | PERSIST, 5))) == EPERM  # no client yet
    assert ts.ctrl(RESTORE_BEGIN, 5) == 1  # TMEM-RESTORE-001
    assert ts.ctrl(RESTORE_BEGIN, 5) == -1
    assert ts.call(TmemOp(RESTORE_NEW, 16, Creat((0, 0), g.spec | PERSIST, 5))) == EPERM
    other_spec = V1_SPEC if g.spec == V0_SPEC else V0_SPEC
    assert ts.call(TmemOp(RESTORE_NEW, 3, Creat((0, 0), other_spec | PERSIST, 5))) == EPERM
    assert ts.call(TmemOp(RESTORE_NEW, 3, Creat((0, 0), g.spec | PERSIST, 5))) == 3  # TMEM-RESTORE-002
    assert ts.call(TmemOp(RESTORE_NEW, 3, Creat((0, 0), g.spec | PERSIST, 5))) == EPERM  # taken
    oid = g.oid(8)
    assert ts.ctrl(RESTORE_PUT_PAGE, 5, pool_id=3, arg1=PAGE, arg2=2, oid=oid, buf=PAGE) == 1
    assert ts.ctrl(RESTORE_PUT_PAGE, 5, pool_id=4, arg1=PAGE, arg2=2, oid=oid, buf=PAGE) == -1
    assert ts.ctrl(RESTORE_PUT_PAGE, 5, pool_id=3, arg1=PAGE, arg2=3, oid=oid, buf=3 * PAGE + 1) == EFAULT
    assert g.gen(GET, 3, 8, index=2, cmfn=1) == 1
    assert g.page(1) == pattern(6)
    assert g.gen(GET, 3, 8, index=3, cmfn=1) == 0
    assert ts.ctrl(RESTORE_FLUSH_PAGE, 5, pool_id=3, arg2=2, oid=oid) == 1  # TMEM-RESTORE-003
    assert g.gen(GET, 3, 8, index=2, cmfn=1) == EEMPTY


def test_auth(setup: tuple[Guest, Toolstack]) -> None:
    g, ts = setup
    assert ts.call(TmemOp(AUTH, 0, Creat((1, 2), 1, ALL))) == 1  # TMEM-SHARED-005
    assert ts.call(TmemOp(AUTH, 0, Creat((1, 2), 1, 1))) == EINVAL
    assert g.new_pool(g.spec) == 0
    assert ts.call(TmemOp(AUTH, 0, Creat((1, 2), 0, 1))) == 0  # nothing to revoke
    assert ts.call(TmemOp(AUTH, 0, Creat((1, 2), 1, 1))) == 1
    assert ts.call(TmemOp(AUTH, 0, Creat((1, 2), 1, 1))) == 1
    for n in range(15):
        assert ts.call(TmemOp(AUTH, 0, Creat((9, n), 1, 1))) == 1
    assert ts.call(TmemOp(AUTH, 0, Creat((9, 99), 1, 1))) == ENOMEM
    assert ts.call(TmemOp(AUTH, 0, Creat((1, 2), 0, 1))) == 1


# ---------------------------------------------------------------- shared pools and destruction

def test_shared_pool_lives_on_for_other_users() -> None:
    host = make("v1", 8)
    a, b = Guest(host, 1, "v1"), Guest(host, 2, "v1")
    uuid = (7, 7)
    assert a.new_pool(V1_SPEC | PERSIST | SHARED, uuid) == 0
    assert b.new_pool(V1_SPEC) == 0
    assert b.new_pool(V1_SPEC | SHARED, uuid) == 1  # joins: persist wins
    b.fill(1, pattern(1))
    assert b.gen(PUT, 1, 2, cmfn=1) == 1
    assert a.call(TmemOp(DESTROY_POOL, 0)) == 1
    assert b.gen(GET, 1, 2, cmfn=2) == 1  # TMEM-SHARED-004
    assert b.gen(GET, 1, 2, cmfn=2) == 1  # persistent
    assert b.page(2) == pattern(1)


def test_seventeenth_shared_pool_is_refused() -> None:
    host = make("v0", 8)
    g1, g2 = Guest(host, 1, "v0"), Guest(host, 2, "v0")
    for n in range(16):
        assert (g1 if n < 8 else g2).new_pool(V0_SPEC | SHARED, (n, 1)) == n % 8
    assert g2.new_pool(V0_SPEC | SHARED, (99, 1)) == EPERM  # TMEM-SHARED-003
    assert g2.new_pool(V0_SPEC | SHARED, (3, 1)) == 8  # joining still works
    all_ones = (1 << 64) - 1
    assert g2.new_pool(V0_SPEC | SHARED, (all_ones, all_ones)) == 9  # private (TMEM-SHARED-001)


def test_destroy_domain_starts_a_new_client(setup: tuple[Guest, Toolstack]) -> None:
    g, ts = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    assert g.gen(PUT, 0, 1, cmfn=1) == 1
    assert ts.ctrl(FREEZE, 1) == 0
    g.host.destroy_domain(1)  # TMEM-DESTROY-003
    assert ts.ctrl(THAW, 1) == -1
    assert g.gen(GET, 0, 1, cmfn=2) == ENODEV
    assert g.new_pool(g.spec | PERSIST) == 0
    assert g.gen(GET, 0, 1, cmfn=2) == EEMPTY
    assert g.gen(PUT, 0, 1, cmfn=1) == 1  # the new client is not frozen


# ---------------------------------------------------------------- the allowed choices (tmem-abi.md s.10)

BAD_CMFN = 10**6  # names no page of a guest's 8 (fits a 32-bit cmfn too)


def test_all_zero_write_stores_a_zero_page_without_looking_at_cmfn(setup: tuple[Guest, Toolstack]) -> None:
    # s.10: WRITE with tmem_offset, pfn_offset and len all 0 is a zero page, whatever cmfn says (cmfn is
    # not looked up); on a duplicate this replaces the old data. s.4: its result is the put's result.
    g, ts = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    g.fill(2, pattern(3))
    assert g.gen(WRITE, 0, 1, index=0, cmfn=BAD_CMFN) == 1  # a new page
    assert g.gen(GET, 0, 1, index=0, cmfn=2) == 1
    assert g.page(2) == bytes(PAGE)
    g.fill(1, pattern(4))
    assert g.gen(PUT, 0, 1, index=1, cmfn=1) == 1
    assert g.gen(WRITE, 0, 1, index=1, cmfn=BAD_CMFN) == 1  # a duplicate: the old data is replaced
    g.fill(2, pattern(3))
    assert g.gen(GET, 0, 1, index=1, cmfn=2) == 1
    assert g.page(2) == bytes(PAGE)
    assert ts.ctrl(FREEZE, 1) == 0
    assert g.gen(WRITE, 0, 1, index=2, cmfn=BAD_CMFN) == EFROZEN  # a new page while frozen (s.4)
    assert g.gen(GET, 0, 1, index=2, cmfn=2) == 0  # nothing stored
    assert g.gen(WRITE, 0, 1, index=0, cmfn=BAD_CMFN) == 1  # dup puts still replace while frozen


def test_all_zero_write_with_a_bad_cmfn_gets_the_puts_errors() -> None:
    # s.4: a new page on a host full of pages it must keep: -ENOMEM; a dup put while live-migrating:
    # -ENOSPC, and the old copy is gone. cmfn (bad here) is never looked up (s.10), so no -EFAULT.
    for v, _, spec in VERSIONS:
        host = make(v, 1)
        g, ts = Guest(host, 1, v), Toolstack(host, v)
        assert g.new_pool(spec | PERSIST) == 0
        assert g.gen(PUT, 0, 1, index=0, cmfn=1) == 1
        assert g.gen(WRITE, 0, 1, index=1, cmfn=BAD_CMFN) == ENOMEM
        assert ts.ctrl(SAVE_BEGIN, 1, arg1=1) == 1
        assert g.gen(WRITE, 0, 1, index=0, cmfn=BAD_CMFN) == ENOSPC
        assert g.gen(GET, 0, 1, index=0, cmfn=2) == EEMPTY  # the old copy was deleted: no pages left
        host.close()


def test_restore_put_of_zero_bytes_does_not_read_buf(setup: tuple[Guest, Toolstack]) -> None:
    # RESTORE_PUT_PAGE is a WRITE of arg1 bytes from buf at offsets 0 (s.5): arg1 = 0 is the all-zero
    # WRITE of s.10, a zero page whatever buf says.
    g, ts = setup
    g.domid = 5
    assert ts.ctrl(RESTORE_BEGIN, 5) == 1
    assert ts.call(TmemOp(RESTORE_NEW, 0, Creat((0, 0), g.spec | PERSIST, 5))) == 0
    oid = g.oid(8)
    assert ts.ctrl(RESTORE_PUT_PAGE, 5, pool_id=0, arg1=0, arg2=1, oid=oid, buf=BAD_CMFN * PAGE) == 1
    g.fill(1, pattern(2))
    assert g.gen(GET, 0, 8, index=1, cmfn=1) == 1
    assert g.page(1) == bytes(PAGE)


def test_write_of_a_new_page_zeroes_what_is_outside_the_window(setup: tuple[Guest, Toolstack]) -> None:
    # s.10: a WRITE that creates a page stores zero outside the window, never bytes of another page,
    # pool or domain, even where the host reuses the memory of freed pages.
    g, _ = setup
    other = Guest(g.host, 2, g.v, g.ws)
    assert other.new_pool(other.spec | PERSIST) == 0
    other.fill(1, b"\xa5" * PAGE)
    for index in range(12):
        assert other.gen(PUT, 0, 3, index=index, cmfn=1) == 1
    assert other.gen(FLUSH_OBJECT, 0, 3) == 1  # twelve pages freed
    assert g.new_pool(g.spec | PERSIST) == 0
    g.fill(1, b"\x5a" * PAGE)
    assert g.gen(PUT, 0, 9, cmfn=1) == 1
    assert g.gen(FLUSH_PAGE, 0, 9) == 1  # and one of the caller's own
    g.fill(1, pattern(6))
    for index in range(12):
        assert g.gen(WRITE, 0, 1, index=index, cmfn=1, toff=100, poff=7, length=10) == 1
    for index in range(12):
        g.fill(2, b"\xee" * PAGE)
        assert g.gen(GET, 0, 1, index=index, cmfn=2) == 1
        assert g.page(2) == bytes(100) + pattern(6)[7:17] + bytes(PAGE - 110)


def test_duplicate_write_never_shows_another_pages_bytes(setup: tuple[Guest, Toolstack]) -> None:
    # s.10: a duplicate WRITE stores the window; outside it the bytes are zero, or the page's own
    # previous bytes, never those of another page.
    g, _ = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    g.fill(1, pattern(1))
    g.fill(3, b"\xc3" * PAGE)
    assert g.gen(PUT, 0, 1, index=0, cmfn=1) == 1
    assert g.gen(PUT, 0, 2, index=0, cmfn=3) == 1
    assert g.gen(FLUSH_PAGE, 0, 2, index=0) == 1
    g.fill(2, b"\x11" * PAGE)
    assert g.gen(WRITE, 0, 1, index=0, cmfn=2, toff=2000, poff=0, length=96) == 1
    g.fill(4, b"\xee" * PAGE)
    assert g.gen(GET, 0, 1, index=0, cmfn=4) == 1
    got = g.page(4)
    assert got[2000:2096] == b"\x11" * 96
    outside = got[:2000] + got[2096:]
    assert outside in (bytes(PAGE - 96), pattern(1)[:2000] + pattern(1)[2096:])


@pytest.mark.parametrize("toff,poff,length", [
    (4000, 0, 97),                      # tmem_offset + len = 4097
    (0, 4095, 2),                       # pfn_offset + len = 4097
    (0xFFFFFFFF, 0, 2),                 # tmem_offset + len wraps 32 bits to 1
    (0, 0xFFFFF000, 0x1000),            # pfn_offset + len wraps 32 bits to 0
    (1, 1, 0xFFFFFFFF),                 # both wrap
], ids=["tmem-end", "pfn-end", "tmem-wrap", "pfn-wrap", "len-wrap"])
def test_write_window_past_the_page_end_stores_a_zero_page(setup: tuple[Guest, Toolstack], toff: int, poff: int,
                                                           length: int) -> None:
    # s.4 / s.10: a window that passes the page end (offset + len computed without wrapping) copies
    # nothing and returns 1 (4.0, 4.1); the new page holds none of the guest's bytes.
    g, _ = setup
    assert g.new_pool(g.spec | PERSIST) == 0
    g.fill(7, pattern(8))  # the last page of the guest's memory
    assert g.gen(WRITE, 0, 1, cmfn=7, toff=toff, poff=poff, length=length) == 1
    g.fill(2, b"\xee" * PAGE)
    assert g.gen(GET, 0, 1, cmfn=2) == 1
    assert g.page(2) == bytes(PAGE)
    # READ with the same window copies nothing and returns 1 (s.4, TMEM-GET-004)
    g.fill(1, pattern(9))
    assert g.gen(PUT, 0, 2, cmfn=1) == 1
    assert g.gen(READ, 0, 2, cmfn=7, toff=toff, poff=poff, length=length) == 1
    assert g.page(7) == pattern(8)
    assert len(g.memory) == 8 * PAGE  # nothing written past the guest's memory


def test_a_non_owner_leaving_a_persistent_shared_pool_takes_nothing(setup: tuple[Guest, Toolstack]) -> None:
    # s.10: when a client that does not own a shared pool leaves it (DESTROY_POOL or domain
    # destruction) while others use it, persistent objects stay, those it put last included.
    g, ts = setup
    owner, b, c = g, Guest(g.host, 2, g.v, g.ws), Guest(g.host, 3, g.v, g.ws)
    uuid = (0xABC, 0xDEF)
    assert owner.new_pool(owner.spec | PERSIST | SHARED, uuid) == 0  # created by domain 1: its owner
    owner.fill(1, pattern(1))
    assert owner.gen(PUT, 0, 1, cmfn=1) == 1
    owner.fill(1, pattern(2))
    assert owner.gen(PUT, 0, 2, cmfn=1) == 1
    assert b.new_pool(b.spec) == 0
    assert b.new_pool(b.spec | PERSIST | SHARED, uuid) == 1  # joins
    b.fill(1, pattern(3))
    assert b.gen(PUT, 1, 2, cmfn=1) == 1  # a dup put: b put object 2 last
    b.fill(1, pattern(4))
    assert b.gen(PUT, 1, 3, cmfn=1) == 1  # a new object of b's
    assert b.call(TmemOp(DESTROY_POOL, 1)) == 1
    for low, seed in ((1, 1), (2, 3), (3, 4)):
        owner.fill(2, b"\xee" * PAGE)
        assert owner.gen(GET, 0, low, cmfn=2) == 1
        assert owner.page(2) == pattern(seed)
    assert ts.ctrl(SAVE_GET_POOL_NPAGES, 1, pool_id=0) == 3
    assert c.new_pool(c.spec | PERSIST | SHARED, uuid) == 0  # joins
    c.fill(1, pattern(5))
    assert c.gen(PUT, 0, 1, cmfn=1) == 1  # c put object 1 last
    assert c.gen(PUT, 0, 4, cmfn=1) == 1
    g.host.destroy_domain(3)
    for low, seed in ((1, 5), (2, 3), (3, 4), (4, 5)):
        owner.fill(2, b"\xee" * PAGE)
        assert owner.gen(GET, 0, low, cmfn=2) == 1
        assert owner.page(2) == pattern(seed)
    assert ts.ctrl(SAVE_GET_POOL_NPAGES, 1, pool_id=0) == 4


def test_the_owner_leaving_a_shared_pool_passes_it_on(setup: tuple[Guest, Toolstack]) -> None:
    # s.10: when the owner leaves a shared pool others still use, any object may go, but the others
    # keep their slots and ownership passes on: here to domain 2, the only user left, so domain 3
    # joining later is not the owner and its leaving takes no persistent object.
    g, ts = setup
    owner, b, c = g, Guest(g.host, 2, g.v, g.ws), Guest(g.host, 3, g.v, g.ws)
    uuid = (0x51, 0x52)
    assert owner.new_pool(owner.spec | PERSIST | SHARED, uuid) == 0
    assert b.new_pool(b.spec | PERSIST | SHARED, uuid) == 0  # joins
    b.fill(1, pattern(5))
    assert b.gen(PUT, 0, 5, cmfn=1) == 1
    owner.fill(1, pattern(1))
    assert owner.gen(PUT, 0, 1, cmfn=1) == 1
    assert owner.call(TmemOp(DESTROY_POOL, 0)) == 1
    assert ts.ctrl(SAVE_GET_POOL_FLAGS, 2, pool_id=0) == (b.spec | PERSIST | SHARED)  # b keeps its slot
    b.fill(2, b"\xee" * PAGE)
    got = b.gen(GET, 0, 5, cmfn=2)
    assert got in (1, 0, EEMPTY)  # the owner's leaving may take any object...
    if got == 1:
        assert b.page(2) == pattern(5)  # ...but never replaces one by other data
    b.fill(1, pattern(6))
    assert b.gen(PUT, 0, 6, cmfn=1) == 1
    assert c.new_pool(c.spec | SHARED, uuid) == 0  # joins the same pool: persistent wins
    c.fill(2, b"\xee" * PAGE)
    assert c.gen(GET, 0, 6, cmfn=2) == 1
    assert c.page(2) == pattern(6)
    c.fill(1, pattern(7))
    assert c.gen(PUT, 0, 6, cmfn=1) == 1  # c puts object 6 last
    assert c.gen(PUT, 0, 7, cmfn=1) == 1
    assert c.call(TmemOp(DESTROY_POOL, 0)) == 1  # a non-owner leaves
    for low in (6, 7):
        b.fill(2, b"\xee" * PAGE)
        assert b.gen(GET, 0, low, cmfn=2) == 1
        assert b.page(2) == pattern(7)


def test_a_non_owner_leaving_an_ephemeral_shared_pool_leaves_the_others_objects() -> None:
    # s.10: a non-owner leaving may take only ephemeral objects it got last; the owner's stay (the host
    # is far below its capacity, so no page is evicted either).
    host = make("v1", 16)
    owner, b = Guest(host, 1, "v1"), Guest(host, 2, "v1")
    uuid = (0x61, 0x62)
    assert owner.new_pool(V1_SPEC | SHARED, uuid) == 0
    owner.fill(1, pattern(1))
    assert owner.gen(PUT, 0, 1, cmfn=1) == 1
    assert b.new_pool(V1_SPEC | SHARED, uuid) == 0
    b.fill(1, pattern(2))
    assert b.gen(PUT, 0, 2, cmfn=1) == 1
    host.destroy_domain(2)
    assert owner.gen(GET, 0, 1, cmfn=2) == 1
    assert owner.page(2) == pattern(1)
    assert owner.gen(GET, 0, 2, cmfn=3) in (0, 1)
    host.close()


def test_save_begin_without_live_flag_keeps_live_migration(setup: tuple[Guest, Toolstack]) -> None:
    # s.10: SAVE_BEGIN with arg1 = 0 while a live save is in progress leaves live_migrating set; only
    # SAVE_END clears it. A live-migrating client's dup put is -ENOSPC and deletes the old copy (s.4),
    # which is recorded for SAVE_GET_NEXT_INV (s.5).
    g, ts = setup
    hsize = HANDLE_SIZE[g.v]
    assert g.new_pool(g.spec | PERSIST) == 0
    g.fill(1, pattern(1))
    assert g.gen(PUT, 0, 4, index=0, cmfn=1) == 1
    assert g.gen(PUT, 0, 4, index=1, cmfn=1) == 1
    assert ts.ctrl(SAVE_BEGIN, 1, arg1=1) == 1
    assert ts.ctrl(SAVE_BEGIN, 1, arg1=0) == 1
    assert g.gen(PUT, 0, 4, index=0, cmfn=1) == ENOSPC
    assert g.gen(GET, 0, 4, index=0, cmfn=2) == 0  # the old copy is gone
    assert ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize, buf=0) == 1
    assert _handle(ts.memory[:hsize], g.words) == (0, 0, g.oid(4))
    assert ts.ctrl(SAVE_GET_NEXT_INV, 1, arg1=hsize, buf=0) == 0
    assert ts.ctrl(SAVE_END, 1) == 0
    assert ts.ctrl(THAW, 1) == 0
    assert g.gen(PUT, 0, 4, index=1, cmfn=1) == 1  # no longer live-migrating: a dup put replaces


def test_every_save_reports_every_page_once(setup: tuple[Guest, Toolstack]) -> None:
    # s.9: each save (from its SAVE_BEGIN) reports every page of a persistent pool exactly once, then
    # the end; a one-page pool included, and a save cut short does not shorten the next.
    g, ts = setup
    hsize = HANDLE_SIZE[g.v]
    assert g.new_pool(g.spec | PERSIST) == 0
    assert g.new_pool(g.spec | PERSIST) == 1
    g.fill(1, pattern(1))
    assert g.gen(PUT, 0, 1, index=3, cmfn=1) == 1
    for index in range(3):
        assert g.gen(PUT, 1, 2, index=index, cmfn=1) == 1

    def drain(pool_id: int) -> list[int]:
        got = []
        for _ in range(4):
            rc = ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=pool_id, arg1=PAGE + hsize, buf=0)
            if rc == -1:
                return got
            assert rc == 1
            assert ts.memory[hsize:hsize + PAGE] == pattern(1)
            got.append(_handle(ts.memory[:hsize], g.words)[1])
        raise AssertionError(f"more pages than the pool holds: {got}")

    for _ in range(2):
        assert ts.ctrl(SAVE_BEGIN, 1) == 1
        assert drain(0) == [3]
        assert sorted(drain(1)) == [0, 1, 2]
        assert ts.ctrl(SAVE_END, 1) == 0
    assert ts.ctrl(SAVE_BEGIN, 1) == 1
    assert ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=1, arg1=PAGE + hsize, buf=0) == 1  # cut short
    assert ts.ctrl(SAVE_END, 1) == 0
    assert ts.ctrl(SAVE_BEGIN, 1) == 1
    assert sorted(drain(1)) == [0, 1, 2]


def test_no_ephemeral_page_goes_while_the_host_is_below_capacity(setup: tuple[Guest, Toolstack]) -> None:
    # s.9 / s.10: ephemeral pages are evicted only to make room; the host holds 16 pages.
    g, _ = setup
    assert g.new_pool(g.spec) == 0
    assert g.new_pool(g.spec | PERSIST) == 1
    for index in range(10):
        g.fill(1, pattern(index))
        assert g.gen(PUT, 0, 1, index=index, cmfn=1) == 1
    for index in range(5):
        assert g.gen(PUT, 1, 1, index=index, cmfn=1) == 1
    assert g.gen(PUT, 0, 1, index=3, cmfn=1) == 1  # dup puts need no room
    for index in range(10):
        assert g.gen(GET, 0, 1, index=index, cmfn=2) == 1
        assert g.page(2) == (pattern(index) if index != 3 else pattern(9))  # the dup put's data
