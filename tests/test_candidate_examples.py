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
from tmem_conformance.models.codec import Creat, Ctrl, Gen, TmemOp

from .candidates import candidate, make  # noqa: F401 - the parametrizing fixture and its factory

EPERM, EFAULT, ENOMEM, ENODEV, EINVAL, ENOSPC, EFROZEN, EEMPTY = -1, -14, -12, -19, -22, -28, -1000, -1001
PAGE = 4096
ALL = 0xFFFF
PERSIST, SHARED = 0x1, 0x2
V0_SPEC, V1_SPEC = 0x00000000, 0x01000000  # spec version in bits 24-31
# command numbers (tmem.h)
CONTROL, NEW_POOL, DESTROY_POOL, NEW_PAGE, PUT, GET, FLUSH_PAGE, FLUSH_OBJECT = 0, 1, 2, 3, 4, 5, 6, 7
READ, WRITE, XCHG, AUTH, RESTORE_NEW = 8, 9, 10, 101, 102
# control sub-ops (tmem.h)
THAW, FREEZE, FLUSH, SET_WEIGHT, SET_COMPRESS = 0, 1, 2, 5, 7
SAVE_BEGIN, SAVE_GET_VERSION, SAVE_GET_WEIGHT, SAVE_GET_CLIENT_FLAGS = 10, 11, 13, 15
SAVE_GET_POOL_FLAGS, SAVE_GET_POOL_NPAGES, SAVE_GET_POOL_UUID = 16, 17, 18

SAVE_GET_NEXT_PAGE, SAVE_GET_NEXT_INV, SAVE_END = 19, 20, 21
RESTORE_BEGIN, RESTORE_PUT_PAGE, RESTORE_FLUSH_PAGE = 30, 32, 33

VERSIONS = [("v0", 1, V0_SPEC), ("v1", 3, V1_SPEC)]
HANDLE_SIZE = {"v0": 16, "v1": 32}  # pool_id u32, index u32, oid u64 x 1 or 3


def pattern(seed: int) -> bytes:
    return bytes((seed + i) % 251 for i in range(PAGE))


class Guest:
    """One domain's view: its memory and ops packed in the host's layout for its word size."""

    def __init__(self, host: object, domid: int, v: str, ws: int = 64, pages: int = 8) -> None:
        self.host, self.domid, self.v, self.ws = host, domid, v, ws
        self.words = 1 if v == "v0" else 3
        self.spec = V0_SPEC if v == "v0" else V1_SPEC
        self.memory = bytearray(pages * PAGE)

    def call(self, op: TmemOp) -> int:
        return self.host.hypercall(self.domid, self.ws, codec.pack(op, self.v, self.ws), self.memory)

    def oid(self, low: int) -> tuple[int, ...]:
        return (low,) + (0,) * (self.words - 1)

    def new_pool(self, flags: int, uuid: tuple[int, int] = (0, 0)) -> int:
        return self.call(TmemOp(NEW_POOL, 0, Creat(uuid, flags, 0)))

    def gen(self, cmd: int, pool: int, low: int, index: int = 0, cmfn: int = 0,
            toff: int = 0, poff: int = 0, length: int = 0) -> int:
        return self.call(TmemOp(cmd, pool, Gen(self.oid(low), index, toff, poff, length, cmfn)))

    def page(self, cmfn: int) -> bytes:
        return bytes(self.memory[cmfn * PAGE:(cmfn + 1) * PAGE])

    def fill(self, cmfn: int, data: bytes) -> None:
        self.memory[cmfn * PAGE:(cmfn + 1) * PAGE] = data


class Toolstack(Guest):
    """Domain 0 issuing control sub-ops."""

    def __init__(self, host: object, v: str, ws: int = 64) -> None:
        super().__init__(host, 0, v, ws, pages=4)

    def ctrl(self, subop: int, cli_id: int, pool_id: int = 0, arg1: int = 0, arg2: int = 0,
             oid: tuple[int, ...] | None = None, buf: int = 0) -> int:
        oid = oid if oid is not None else (0,) * self.words
        return self.call(TmemOp(CONTROL, pool_id, Ctrl(subop, cli_id, arg1, arg2, oid, buf)))


@pytest.fixture(params=[(v, ws) for v, _, _ in VERSIONS for ws in (64, 32)], ids=lambda p: f"{p[0]}-{p[1]}")
def setup(request: pytest.FixtureRequest) -> Iterator[tuple[Guest, Toolstack]]:
    v, ws = request.param
    host = make(v, 16)
    yield Guest(host, 1, v, ws), Toolstack(host, v, ws)
    host.close()


# ---------------------------------------------------------------- pool creation and versions

def test_make_accepts_spec_number_and_name() -> None:
    for key in (0, "v0", 1, "v1"):
        make(key, 1).close()


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
