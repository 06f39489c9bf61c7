"""Layouts: known values from tmem.h (worked by hand from the declarations) and structural properties."""

from __future__ import annotations

import json

import pytest

from tmem_conformance.cli import main
from tmem_conformance.models.ctypes_table import WORD_SIZES
from tmem_conformance.models.layouts import MEMBERS, OFFSET_NAMES, layout, layouts_table
from tmem_conformance.models.versions import VERSIONS

# (version, word size) -> (sizeof tmem_op, sizeof tmem_handle, gen.cmfn, ctrl.buf), worked by hand.
KNOWN = {
    ("v0", 64): (40, 16, 32, 32),
    ("v0", 32): (36, 16, 32, 32),
    ("v1", 64): (56, 32, 48, 48),
    ("v1", 32): (52, 32, 48, 48),
}


@pytest.mark.parametrize(("v", "ws"), sorted(KNOWN))
def test_known_sizes_and_word_fields(v: str, ws: int) -> None:
    lay = layout(v, ws)
    offs = lay.offsets()
    assert (lay.size, lay.handle.size, offs["gen.cmfn"], offs["ctrl.buf"]) == KNOWN[(v, ws)]


@pytest.mark.parametrize("v", sorted(VERSIONS))
@pytest.mark.parametrize("ws", sorted(WORD_SIZES))
def test_members_never_overlap_and_lie_inside(v: str, ws: int) -> None:
    lay = layout(v, ws)
    for m in MEMBERS:
        fields = sorted(lay.member_fields(m), key=lambda f: f.offset)
        assert fields[0].offset == lay.member_offset
        for a, b in zip(fields, fields[1:]):
            assert a.end <= b.offset, (m, a, b)
        assert fields[-1].end <= lay.size
        for f in fields:
            assert f.offset % f.ctype.align == 0


def test_only_word_sized_fields_and_padding_differ_between_word_sizes() -> None:
    for v in VERSIONS:
        o64, o32 = layout(v, 64).offsets(), layout(v, 32).offsets()
        assert o64 == o32  # no field moves: every u64 follows an even number of u32s
        assert layout(v, 64).size - layout(v, 32).size == 4


def test_layouts_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layouts", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(doc) == ["v0", "v1"]
    for v in doc:
        assert sorted(doc[v]) == ["32", "64"]
        for ws in doc[v]:
            assert list(doc[v][ws]["offsetof"]) == list(OFFSET_NAMES)
            assert doc[v][ws]["sizeof"]["tmem_op"] == KNOWN[(v, int(ws))][0]
    assert doc == json.loads(json.dumps(layouts_table()))
    assert doc["v0"]["64"]["offsetof"]["ctrl.oid"] == 24  # the v0 header's ctrl.arg3
    assert doc["v1"]["64"]["offsetof"]["ctrl.oid"] == 24


def test_models_numbers_match_the_literals_the_tests_trust() -> None:
    # models/abi.py against tests/abi_literals.py, written separately from tmem.h: a wrong number in
    # the model fails here instead of agreeing with itself in the tests that take it from the model.
    from tmem_conformance.models import abi

    from . import abi_literals as lit

    cmds = {"PUT": "PUT_PAGE", "GET": "GET_PAGE"}
    for name in ("CONTROL", "NEW_POOL", "DESTROY_POOL", "NEW_PAGE", "PUT", "GET", "FLUSH_PAGE", "FLUSH_OBJECT",
                 "READ", "WRITE", "XCHG", "AUTH", "RESTORE_NEW"):
        assert abi.Cmd[cmds.get(name, name)] == getattr(lit, name), name
    subops = {"SAVE_GET_WEIGHT": "SAVE_GET_CLIENT_WEIGHT"}
    for name in ("THAW", "FREEZE", "FLUSH", "SET_WEIGHT", "SET_COMPRESS", "SAVE_BEGIN", "SAVE_GET_VERSION",
                 "SAVE_GET_WEIGHT", "SAVE_GET_CLIENT_FLAGS", "SAVE_GET_POOL_FLAGS", "SAVE_GET_POOL_NPAGES",
                 "SAVE_GET_POOL_UUID", "SAVE_GET_NEXT_PAGE", "SAVE_GET_NEXT_INV", "SAVE_END", "RESTORE_BEGIN",
                 "RESTORE_PUT_PAGE", "RESTORE_FLUSH_PAGE"):
        assert abi.Subop[subops.get(name, name)] == getattr(lit, name), name
    for name in ("EPERM", "EFAULT", "ENOMEM", "ENODEV", "EINVAL", "ENOSPC", "EFROZEN", "EEMPTY"):
        assert -abi.Errno[name] == getattr(lit, name), name
    assert (abi.PAGE_SIZE, abi.CLI_ID_NULL, abi.PoolFlag.PERSIST, abi.PoolFlag.SHARED) == \
        (lit.PAGE, lit.ALL, lit.PERSIST, lit.SHARED)
    assert (0 << abi.PoolFlag.VERSION_SHIFT, 1 << abi.PoolFlag.VERSION_SHIFT) == (lit.V0_SPEC, lit.V1_SPEC)
