"""Pack/unpack: round trips for every shape, version and word size; malformed buffers speak."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tmem_conformance.models import abi, codec
from tmem_conformance.models.ctypes_table import WORD_SIZES
from tmem_conformance.models.errors import LayoutError
from tmem_conformance.models.layouts import layout
from tmem_conformance.models.versions import VERSIONS, constants

U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)
CMDS = {"creat": [abi.Cmd.NEW_POOL, abi.Cmd.AUTH, abi.Cmd.RESTORE_NEW], "ctrl": [abi.Cmd.CONTROL],
        "gen": [abi.Cmd.PUT_PAGE, abi.Cmd.GET_PAGE, abi.Cmd.READ, abi.Cmd.WRITE, 77]}


@st.composite
def ops(draw: st.DrawFn, v: str, ws: int) -> codec.TmemOp:
    words = VERSIONS[v].oid_words
    word = st.integers(0, 2**ws - 1)
    oid = st.tuples(*[U64] * words)
    member = draw(st.sampled_from(sorted(CMDS)))
    cmd = draw(st.sampled_from(CMDS[member]))
    pool_id = draw(st.integers(-(2**31), 2**31 - 1))
    if member == "creat":
        u: codec.Member = codec.Creat(draw(st.tuples(U64, U64)), draw(U32), draw(U32))
    elif member == "ctrl":
        u = codec.Ctrl(draw(U32), draw(U32), draw(U32), draw(U32), draw(oid), draw(word))
    else:
        u = codec.Gen(draw(oid), draw(U32), draw(U32), draw(U32), draw(U32), draw(word))
    return codec.TmemOp(cmd, pool_id, u)


@pytest.mark.parametrize("v", sorted(VERSIONS))
@pytest.mark.parametrize("ws", sorted(WORD_SIZES))
@given(data=st.data())
def test_round_trip(v: str, ws: int, data: st.DataObject) -> None:
    op = data.draw(ops(v, ws))
    raw = codec.pack(op, v, ws)
    assert len(raw) == layout(v, ws).size
    assert codec.unpack(raw, v, ws) == op
    assert codec.pack(codec.unpack(raw, v, ws), v, ws) == raw


@pytest.mark.parametrize("v", sorted(VERSIONS))
@given(pool_id=U32, index=U32, data=st.data())
def test_handle_round_trip(v: str, pool_id: int, index: int, data: st.DataObject) -> None:
    oid = data.draw(st.tuples(*[U64] * VERSIONS[v].oid_words))
    h = codec.TmemHandle(pool_id, index, oid)
    assert codec.unpack_handle(codec.pack_handle(h, v), v) == h


def test_fields_land_where_the_layout_says() -> None:
    raw = codec.pack(codec.TmemOp(abi.Cmd.PUT_PAGE, 3, codec.Gen((0x1111, 0x2222, 0x3333), 7, 0, 0, 0, 9)),
                     "v1", 32)
    assert raw[0:4] == (4).to_bytes(4, "little") and raw[4:8] == (3).to_bytes(4, "little")
    assert raw[8:16] == (0x1111).to_bytes(8, "little") and raw[24:32] == (0x3333).to_bytes(8, "little")
    assert raw[32:36] == (7).to_bytes(4, "little") and raw[48:52] == (9).to_bytes(4, "little")


@pytest.mark.parametrize(("size", "kind"), [(0, "short"), (39, "short"), (41, "long")])
def test_wrong_length_names_expected_and_given(size: int, kind: str) -> None:
    with pytest.raises(LayoutError, match=rf"40 bytes.*{kind}: {size} bytes"):
        codec.unpack(bytes(size), "v0", 64)


def test_values_that_do_not_fit_are_named() -> None:
    with pytest.raises(LayoutError, match=r"gen\.cmfn .*v1 32-bit.*\[0, 4294967295\], not 4294967296"):
        codec.pack(codec.TmemOp(abi.Cmd.GET_PAGE, 0, codec.Gen(cmfn=2**32)), "v1", 32)
    with pytest.raises(LayoutError, match=r"gen\.oid in v0 64-bit tmem_op takes 1 words, got 3"):
        codec.pack(codec.TmemOp(abi.Cmd.GET_PAGE, 0, codec.Gen(oid=(1, 2, 3))), "v0", 64)
    with pytest.raises(LayoutError, match="uses union member 'ctrl', not 'gen'"):
        codec.pack(codec.TmemOp(abi.Cmd.CONTROL, 0, codec.Gen()), "v0", 64)
    with pytest.raises(LayoutError, match=r"pool_id \(int32_t\).*not -2147483649"):
        codec.pack(codec.TmemOp(abi.Cmd.GET_PAGE, -(2**31) - 1, codec.Gen()), "v0", 64)


def test_constants_per_version() -> None:
    v0, v1 = constants("v0"), constants("v1")
    assert v0["TMEM_SPEC_VERSION"] == 0 and v1["TMEM_SPEC_VERSION"] == 1
    assert "TMEM_POOL_PRECOMPRESSED" not in v0 and v1["TMEM_POOL_PRECOMPRESSED"] == 4
    assert v1["TMEM_POOL_RESERVED_BITS"] == 0x00FFFF00
    assert v0["TMEM_XCHG"] == 10 and v1["TMEMC_SAVE_GET_NEXT_INV"] == 20 and v1["EFROZEN"] == 1000
    assert abi.pool_flags(persist=True, shared=True, spec=1) == 0x01000003


def test_packed_ops_pack_once_per_key_and_start_again_past_their_limit() -> None:
    v1 = VERSIONS["v1"]
    cache = codec.PackedOps(v1, 32)
    built: list[int] = []

    def op(index: int) -> codec.TmemOp:
        built.append(index)
        return codec.TmemOp(abi.Cmd.GET_PAGE, 1, codec.Gen((1, 2, 3), index, 0, 0, 0, 1))

    first = cache.get(("get", 5), lambda: op(5))
    assert first == codec.pack(op(5), v1, 32) and built == [5, 5]
    assert cache.get(("get", 5), lambda: op(5)) is first and built == [5, 5]  # not built again
    for i in range(codec.PackedOps.LIMIT):
        cache.get(("get", 100 + i), lambda i=i: op(100 + i))
    cache.get(("get", 5), lambda: op(5))
    assert built[-1] == 5  # past the limit the cache started again
    assert codec.packed_ops(v1, 32) is codec.packed_ops(v1, 32)
    assert codec.packed_ops(v1, 32) is not codec.packed_ops(v1, 64)
