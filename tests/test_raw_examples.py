"""More worked examples for every candidate, each built from raw op bytes as a guest sends them.

Expected values are literals from tmem-abi.md and the specification
decisions of CONFORMANCE.md, never computed by a host. Runs once per
candidate (tests/candidates.py).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import pytest

from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, Ctrl, Gen, TmemOp

from .abi_literals import EEMPTY, EFAULT, EFROZEN, ENODEV, ENOMEM, EPERM, PAGE
from .candidates import candidate, make  # noqa: F401 - the parametrizing fixture and its factory

# ---------------------------------------------------------------- examples built from raw op bytes

NEW_POOL, DESTROY_POOL, PUT, GET, FLUSH_PAGE, FLUSH_OBJECT, CONTROL = 1, 2, 4, 5, 6, 7, 0
AUTH, RESTORE_NEW = 101, 102
FREEZE, SAVE_BEGIN, SAVE_GET_POOL_FLAGS, SAVE_GET_NEXT_PAGE, SAVE_END, RESTORE_BEGIN = 1, 10, 16, 19, 21, 30
PERSIST, SHARED = 0x1, 0x2
SPEC_FLAGS = {"v0": 0x00000000, "v1": 0x01000000}  # spec version in bits 24-31
OID_WORDS = {"v0": 1, "v1": 3}
HANDLE_SIZE = {"v0": 16, "v1": 32}  # tmem-abi.md s.2: pool_id u32, index u32, oid u64 x 1 or 3
OP_SIZE = {("v0", 64): 40, ("v0", 32): 36, ("v1", 64): 56, ("v1", 32): 52}  # CONFORMANCE.md layouts
CREAT_END = 32  # cmd, pool_id, uuid[2], flags, arg1: the same in every layout


def _fill(seed: int) -> bytes:
    return bytes((seed * 13 + i) % 256 for i in range(PAGE))


class _Dom:
    """One domain of a host: its memory, its word size, ops packed in the host's layout."""

    def __init__(self, host: Any, domid: int, v: str, ws: int, pages: int = 4) -> None:
        self.host, self.domid, self.v, self.ws = host, domid, v, ws
        self.memory = bytearray(pages * PAGE)

    def raw(self, op: bytes) -> int:
        return self.host.hypercall(self.domid, self.ws, op, self.memory)

    def call(self, cmd: int, pool_id: int, u: Creat | Ctrl | Gen) -> int:
        return self.raw(codec.pack(TmemOp(cmd, pool_id, u), self.v, self.ws))

    def oid(self, low: int) -> tuple[int, ...]:
        return (low,) + (0,) * (OID_WORDS[self.v] - 1)

    def new_pool(self, flags: int, uuid: tuple[int, int] = (0, 0)) -> int:
        return self.call(NEW_POOL, 0, Creat(uuid, flags, 0))

    def gen(self, cmd: int, pool_id: int, low: int, index: int = 0, cmfn: int = 0) -> int:
        return self.call(cmd, pool_id, Gen(self.oid(low), index, 0, 0, 0, cmfn))

    def ctrl(self, subop: int, cli_id: int, pool_id: int = 0, arg1: int = 0, buf: int = 0) -> int:
        return self.call(CONTROL, pool_id, Ctrl(subop, cli_id, arg1, 0, self.oid(0), buf))

    def frame(self, cmfn: int) -> bytes:
        return bytes(self.memory[cmfn * PAGE:(cmfn + 1) * PAGE])


@pytest.fixture(params=[(v, ws) for v in ("v0", "v1") for ws in (64, 32)], ids=lambda p: f"{p[0]}-{p[1]}")
def doms(request: pytest.FixtureRequest) -> Iterator[tuple[_Dom, _Dom]]:
    """Guest domain 1 and the toolstack (domain 0) of a fresh host with room for 8 pages."""
    v, ws = request.param
    host = make(v, 8)
    yield _Dom(host, 1, v, ws), _Dom(host, 0, v, ws, pages=3)
    host.close()


@pytest.mark.parametrize("host_v,guest_flags", [("v1", 0x00000001), ("v0", 0x01000001)])
def test_version_gate_refuses_the_other_version(host_v: str, guest_flags: int) -> None:
    # tmem-abi.md s.3 check 1 and s.7: a host accepts only its own spec version (TMEM-POOL-001).
    g = _Dom(make(host_v, 4), 1, host_v, 64)
    assert g.new_pool(guest_flags) == EPERM
    assert g.new_pool(SPEC_FLAGS[host_v] | PERSIST) == 0  # nothing was created: slot 0 is still free


@pytest.mark.parametrize("bits", [0x00000100, 0x00008000, 0x00FF0000])
def test_reserved_bits_refused_by_v1_only(bits: int) -> None:
    # tmem-abi.md s.3 check 4 (TMEM-POOL-004): 0x00ffff00 must be 0 at v1, is ignored at v0.
    assert _Dom(make("v1", 4), 1, "v1", 64).new_pool(0x01000000 | bits) == EPERM
    assert _Dom(make("v0", 4), 1, "v0", 64).new_pool(0x00000000 | bits) == 0


def test_put_get_round_trip(doms: tuple[_Dom, _Dom]) -> None:
    g, _ = doms
    assert g.new_pool(SPEC_FLAGS[g.v] | PERSIST) == 0
    assert g.gen(GET, 0, 7, cmfn=2) == EEMPTY  # no page in the pool yet (TMEM-GET-001)
    g.memory[PAGE:2 * PAGE] = _fill(3)
    assert g.gen(PUT, 0, 7, index=0xFFFFFFFF, cmfn=1) == 1  # TMEM-PUT-001
    assert g.gen(GET, 0, 7, index=0xFFFFFFFE, cmfn=2) == 0  # a miss writes nothing (TMEM-GET-002)
    assert g.frame(2) == bytes(PAGE)
    assert g.gen(GET, 0, 7, index=0xFFFFFFFF, cmfn=2) == 1  # TMEM-GET-003
    assert g.frame(2) == _fill(3)
    assert g.frame(3) == bytes(PAGE)  # nothing else written (TMEM-HC-006)


def test_exclusive_get(doms: tuple[_Dom, _Dom]) -> None:
    g, _ = doms
    assert g.new_pool(SPEC_FLAGS[g.v]) == 0  # private ephemeral
    g.memory[PAGE:2 * PAGE] = _fill(5)
    assert g.gen(PUT, 0, 1, cmfn=1) == 1
    assert g.gen(GET, 0, 1, cmfn=2) == 1  # TMEM-GET-005: the hit removes the page
    assert g.frame(2) == _fill(5)
    assert g.gen(GET, 0, 1, cmfn=3) == EEMPTY  # the pool holds no page any more


def test_frozen_put_and_flush(doms: tuple[_Dom, _Dom]) -> None:
    g, ts = doms
    assert g.new_pool(SPEC_FLAGS[g.v] | PERSIST) == 0
    assert g.gen(FLUSH_PAGE, 0, 1) == 1  # TMEM-FLUSH-001: 1 whether or not found
    assert g.gen(FLUSH_OBJECT, 0, 1) == 1  # TMEM-FLUSH-002
    assert g.gen(PUT, 0, 1, index=0, cmfn=1) == 1
    assert ts.ctrl(FREEZE, 1) == 0
    assert g.gen(PUT, 0, 1, index=1, cmfn=1) == EFROZEN  # TMEM-PUT-003: a new page while frozen
    assert g.gen(GET, 0, 1, index=1, cmfn=2) == 0  # nothing stored
    assert g.gen(FLUSH_PAGE, 0, 1, index=0) == EFROZEN  # TMEM-FLUSH-003: done all the same
    assert g.gen(GET, 0, 1, index=0, cmfn=2) == EEMPTY


def test_capacity_refuses_a_persistent_page() -> None:
    g = _Dom(make("v1", 3), 1, "v1", 64)
    assert g.new_pool(0x01000000 | PERSIST) == 0
    for index in range(3):
        assert g.gen(PUT, 0, 1, index=index, cmfn=1) == 1  # below capacity: never fails (TMEM-PUT-006)
    assert g.gen(PUT, 0, 1, index=3, cmfn=1) == ENOMEM  # full of pages it must keep
    assert g.gen(PUT, 0, 1, index=0, cmfn=2) == 1  # a dup put needs no new page
    assert g.gen(FLUSH_PAGE, 0, 1, index=1) == 1
    assert g.gen(PUT, 0, 1, index=3, cmfn=1) == 1


def test_save_iteration_reports_each_page_once(doms: tuple[_Dom, _Dom]) -> None:
    g, ts = doms
    hsize, words = HANDLE_SIZE[g.v], OID_WORDS[g.v]
    assert g.new_pool(SPEC_FLAGS[g.v] | PERSIST) == 0
    stored = {(4, 0): 1, (4, 9): 2, (6, 9): 3, (8, 0xFFFFFFFF): 4}
    for (low, index), seed in stored.items():
        g.memory[PAGE:2 * PAGE] = _fill(seed)
        assert g.gen(PUT, 0, low, index=index, cmfn=1) == 1
    assert ts.ctrl(SAVE_BEGIN, 1) == 1  # TMEM-SAVE-001
    assert ts.ctrl(SAVE_GET_POOL_FLAGS, 1, pool_id=0) == SPEC_FLAGS[g.v] | PERSIST  # TMEM-SAVE-004
    seen: dict[tuple[int, int], bytes] = {}
    for _ in stored:
        assert ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=0, arg1=PAGE + hsize, buf=40) == 1  # TMEM-SAVE-007
        pool_id, index = struct.unpack_from("<II", ts.memory, 40)
        oid = struct.unpack_from(f"<{words}Q", ts.memory, 48)
        assert pool_id == 0 and oid[1:] == (0,) * (words - 1)
        assert (oid[0], index) not in seen
        seen[(oid[0], index)] = bytes(ts.memory[40 + hsize:40 + hsize + PAGE])
    assert seen == {key: _fill(seed) for key, seed in stored.items()}
    assert ts.ctrl(SAVE_GET_NEXT_PAGE, 1, pool_id=0, arg1=PAGE + hsize, buf=40) == -1
    assert ts.memory[:40] == bytes(40)  # written only at buf (TMEM-HC-006)
    assert ts.ctrl(SAVE_END, 1) == 0


def test_privileged_ops_need_domain_0(doms: tuple[_Dom, _Dom]) -> None:
    g, ts = doms
    assert g.new_pool(SPEC_FLAGS[g.v] | PERSIST) == 0
    assert g.ctrl(FREEZE, 1) == EPERM  # TMEM-HC-004
    assert g.call(AUTH, 0, Creat((1, 1), 1, 0xFFFF)) == EPERM
    assert g.call(RESTORE_NEW, 2, Creat((0, 0), SPEC_FLAGS[g.v] | PERSIST, 1)) == EPERM
    assert g.gen(PUT, 0, 1, cmfn=1) == 1  # not frozen
    assert g.new_pool(SPEC_FLAGS[g.v]) == 1  # slot 1 was free: RESTORE_NEW made nothing
    assert ts.ctrl(RESTORE_BEGIN, 0xFFFF) == -1  # restore into no domain (CONFORMANCE.md choices)


@pytest.mark.parametrize("v,ws", [("v0", 64), ("v0", 32), ("v1", 64), ("v1", 32)])
def test_short_op_buffer_is_efault(v: str, ws: int) -> None:
    # TMEM-HC-001: cmd, pool_id and the member the command uses must be there; the rest is ignored.
    g = _Dom(make(v, 4), 1, v, ws)
    assert g.new_pool(SPEC_FLAGS[v] | PERSIST) == 0
    put = codec.pack(TmemOp(PUT, 0, Gen(g.oid(1), 0, 0, 0, 0, 1)), v, ws)
    assert len(put) == OP_SIZE[(v, ws)]
    assert g.raw(b"") == EFAULT
    assert g.raw(put[:3]) == EFAULT
    assert g.raw(put[:-1]) == EFAULT  # the gen member ends with cmfn, at the end of the op
    assert g.gen(GET, 0, 1, cmfn=2) == EEMPTY  # nothing was stored
    assert g.raw(put + b"\xff" * 9) == 1
    new_pool = codec.pack(TmemOp(NEW_POOL, 0, Creat((0, 0), SPEC_FLAGS[v] | PERSIST, 0)), v, ws)
    assert g.raw(new_pool[:CREAT_END - 1]) == EFAULT
    assert g.raw(new_pool[:CREAT_END]) == 1  # the creat member is all NEW_POOL reads


def test_v0_new_pool_bytes_reach_the_v1_version_check() -> None:
    # tmem-abi.md s.7: new/creat has the same layout, so a v0 guest's shorter op is read whole by
    # a v1 host and refused by the version check, not by its length (TMEM-HC-001, TMEM-PAIR-002).
    host = make("v1", 4)
    op = codec.pack(TmemOp(NEW_POOL, 0, Creat((0, 0), 0x00000001, 0)), "v0", 64)
    assert len(op) == 40
    assert host.hypercall(1, 64, op, bytearray(PAGE)) == EPERM
    assert host.hypercall(1, 32, op[:36], bytearray(PAGE)) == EPERM


def test_bad_pool_ids(doms: tuple[_Dom, _Dom]) -> None:
    g, _ = doms
    assert g.new_pool(SPEC_FLAGS[g.v] | PERSIST) == 0
    for bad in (-1, 16, -(1 << 31), (1 << 31) - 1):
        assert g.gen(PUT, bad, 1, cmfn=1) == ENODEV  # TMEM-HC-002
        assert g.call(DESTROY_POOL, bad, Gen(g.oid(0), 0, 0, 0, 0, 0)) == 0  # TMEM-DESTROY-002
