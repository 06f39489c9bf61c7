"""The simulator's own op decoder agrees with models.codec (an internal of that candidate only)."""

from __future__ import annotations

import pytest

from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, Ctrl, Gen, TmemOp

CONTROL, NEW_POOL, WRITE, SAVE_GET_NEXT_PAGE = 0, 1, 9, 19


@pytest.mark.parametrize("v", ["v0", "v1"])
@pytest.mark.parametrize("ws", [64, 32])
def test_decoder_reads_the_fields_models_codec_packs(v: str, ws: int) -> None:
    from tmem_conformance.candidates.simulator.opcodec import OpCodec
    from tmem_conformance.models.versions import version

    words = 1 if v == "v0" else 3
    oid = tuple(0x0102030405060708 + i for i in range(words))
    ops = [
        TmemOp(WRITE, -2, Gen(oid, 0xFFFFFFFF, 1, 2, 3, 2**ws - 1)),
        TmemOp(CONTROL, 15, Ctrl(SAVE_GET_NEXT_PAGE, 0xFFFF, 4, 5, oid, 2**ws - 2)),
        TmemOp(NEW_POOL, 3, Creat((2**64 - 1, 9), 0x01000003, 77)),
    ]
    dec = OpCodec(version(v), ws)
    for op in ops:
        cmd, pool_id, u = dec.decode(codec.pack(op, v, ws))
        assert (cmd, pool_id) == (op.cmd, op.pool_id)
        assert tuple(u) == tuple(getattr(op.u, name) for name in u._fields)
