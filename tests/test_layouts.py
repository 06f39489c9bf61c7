"""Layouts: known values from tmem.h (worked by hand from the declarations) and structural properties."""

from __future__ import annotations

import json

import pytest

from tmem_conformance.cli import main
from tmem_conformance.models.cabi import WORD_SIZES
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
