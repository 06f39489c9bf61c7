"""The save/restore stream and the toolstack, over the model alone (tests/model_oracle.py)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tmem_conformance.models import abi, codec, stream
from tmem_conformance.models.abi import Cmd
from tmem_conformance.models.errors import StreamError
from tmem_conformance.models.toolstack import Toolstack

from .model_oracle import ModelOracle


def _guest_with_pages(host: ModelOracle, v: str, dom: int, n: int) -> dict[tuple, bytes]:
    spec, words = (0, 1) if v == "v0" else (1, 3)
    mem = bytearray(4096)
    ws = 64
    assert host.hypercall(dom, ws, codec.pack(codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(
        (0, 0), abi.pool_flags(persist=True, spec=spec), 0)), v, ws), mem) == 0
    assert host.hypercall(dom, ws, codec.pack(codec.TmemOp(Cmd.NEW_POOL, 0, codec.Creat(
        (0, 0), abi.pool_flags(spec=spec), 0)), v, ws), mem) == 1
    pages = {}
    for i in range(n):
        mem[:] = bytes([i + 1]) * 4096
        oid = (100 + i,) + (i,) * (words - 1)
        assert host.hypercall(dom, ws, codec.pack(codec.TmemOp(Cmd.PUT_PAGE, 0, codec.Gen(oid, i, 0, 0, 0, 0)),
                                                  v, ws), mem) == 1
        pages[(oid, i)] = bytes(mem)
    return pages


@pytest.mark.parametrize("v", ["v0", "v1"])
def test_save_restore_same_version_is_intact(v: str) -> None:
    src, dst = ModelOracle(v, 32), ModelOracle(v, 32)
    pages = _guest_with_pages(src, v, 5, 4)
    data = Toolstack(src, v).save(5)
    assert struct.unpack_from("<iI", data) == (abi.SAVE_ID_TMEM, int(v[1]))
    saved = Toolstack(dst, v).restore(7, data)
    assert saved is not None and {(p.oid, p.index): p.data for p in saved.pools[0].pages} == pages
    pool = dst.model.state.clients[7].slots[0]
    assert pool is not None and {k: p.data for k, p in pool.pages.items()} == pages
    assert dst.model.state.clients[7].slots[1] is not None  # the ephemeral pool comes back empty
    assert not src.model.state.clients[5].frozen  # SAVE_END thawed the source


@pytest.mark.parametrize(("a", "b"), [("v0", "v1"), ("v1", "v0")])
def test_cross_version_restore_refused_before_any_change(a: str, b: str) -> None:
    src, dst = ModelOracle(a, 32), ModelOracle(b, 32)
    _guest_with_pages(src, a, 5, 2)
    data = Toolstack(src, a).save(5)
    calls_before = dst.calls
    with pytest.raises(StreamError, match=rf"stream is tmem version {a[1]}, the destination host is version "
                                          rf"{b[1]}"):
        Toolstack(dst, b).restore(5, data)
    assert dst.model.state.clients == {}
    assert dst.calls == calls_before + 1  # only SAVE_GET_VERSION was asked


def test_every_truncation_is_refused_and_leaves_the_destination_alone() -> None:
    src = ModelOracle("v1", 32)
    _guest_with_pages(src, "v1", 5, 2)
    data = Toolstack(src, "v1").save(5)
    for cut in range(1, len(data), 97):
        dst = ModelOracle("v1", 32)
        with pytest.raises(StreamError, match="truncated|corrupt"):
            Toolstack(dst, "v1").restore(5, data[:cut])
        assert dst.model.state.clients == {}


def test_corrupt_fields_are_named() -> None:
    src = ModelOracle("v0", 32)
    _guest_with_pages(src, "v0", 5, 1)
    data = bytearray(Toolstack(src, "v0").save(5))
    bad = bytearray(data)
    bad[12:16] = b"\0\0\0\0"  # the first separator
    with pytest.raises(StreamError, match="first separator at byte 12 is 0x0, expected 0xffffffff"):
        stream.decode(bytes(bad))
    bad = bytearray(data)
    bad[0:4] = struct.pack("<i", -7)
    with pytest.raises(StreamError, match="tmem marker at byte 0"):
        stream.decode(bytes(bad))
    with pytest.raises(StreamError, match="extra-block marker at byte"):
        stream.decode(bytes(data) + b"\1\2\3\4")


def test_empty_client_saves_nothing() -> None:
    src = ModelOracle("v1", 8)
    assert Toolstack(src, "v1").save(9) == b""
    assert Toolstack(ModelOracle("v1", 8), "v1").restore(9, b"") is None


OIDS = st.tuples(st.integers(0, 2**64 - 2), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))


@given(pools=st.lists(st.tuples(st.booleans(), st.lists(st.tuples(OIDS, st.integers(0, 2**32 - 1)),
                                                         max_size=3, unique=True)),
                      max_size=4),
       inv=st.booleans(), flags=st.integers(0, 3), weight=st.integers(-2, 100))
def test_encode_decode_round_trip(pools: list, inv: bool, flags: int, weight: int) -> None:
    saved_pools = tuple(
        stream.SavedPool(i, abi.pool_flags(persist=persist, spec=1), len(pages) if persist else 0, (i, i + 1),
                         tuple(stream.SavedPage(oid, idx, bytes([i]) * 4096) for oid, idx in pages)
                         if persist else ())
        for i, (persist, pages) in enumerate(pools))
    saved = stream.SavedClient(1, 16, flags, weight, 0, saved_pools,
                               ((0, (1, 2, 3), 4),) if inv and saved_pools else (() if inv else None))
    assert stream.decode(stream.encode(saved)) == saved
