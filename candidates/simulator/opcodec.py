"""Fast decoding of raw struct tmem_op bytes, and packing of struct tmem_handle.

Offsets and widths come from `models.layouts.layout` (never typed in);
from them one precompiled `struct.Struct` per union member reads cmd,
pool_id and that member in one call. A buffer is accepted when it holds
cmd, pool_id and the member its command uses; bytes past that are never
read (TMEM-HC-001, which is also why a v0 guest's shorter NEW_POOL reaches
a v1 host's version check).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from tmem_conformance.models.abi import member_for
from tmem_conformance.models.ctypes_table import Field
from tmem_conformance.models.layouts import MEMBERS, layout
from tmem_conformance.models.versions import AbiVersion

Oid = tuple[int, ...]

_CHARS = {(4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}
_CMD = struct.Struct("<I")


class Creat(NamedTuple):
    """NEW_POOL, AUTH, RESTORE_NEW (`new` in the v0 header)."""

    uuid: tuple[int, int]
    flags: int
    arg1: int


class Ctrl(NamedTuple):
    """TMEM_CONTROL; `oid` is `arg3` (one word) at v0."""

    subop: int
    cli_id: int
    arg1: int
    arg2: int
    oid: Oid
    buf: int


class Gen(NamedTuple):
    """Every other command; `oid` is `object` (one word) at v0."""

    oid: Oid
    index: int  # type: ignore[assignment]  # the tmem field name; shadows tuple.index
    tmem_offset: int
    pfn_offset: int
    len: int
    cmfn: int


_TYPES: dict[str, type] = {"creat": Creat, "ctrl": Ctrl, "gen": Gen}


def _compile(fields: list[Field]) -> tuple[struct.Struct, tuple[int, ...]]:
    """A little-endian struct reading `fields` (sorted by offset) and each field's element count."""
    fmt, at = "<", 0
    for f in fields:
        if f.offset < at:
            raise AssertionError(f"overlapping field {f.name}")
        fmt += "x" * (f.offset - at) + _CHARS[(f.ctype.size, f.ctype.signed)] * f.count
        at = f.end
    return struct.Struct(fmt), tuple(f.count for f in fields)


#: Most decoded ops an OpCodec keeps (the members are named tuples: sharing one is safe).
SEEN_OPS = 4096


class _MemberCodec:
    """Reads cmd, pool_id and one union member."""

    __slots__ = ("codec", "counts", "needed", "kind", "arrays")

    def __init__(self, head: list[Field], member: list[Field], kind: type) -> None:
        self.codec, counts = _compile(head + member)
        self.counts = counts[len(head):]
        self.needed = max(f.end for f in head + member)
        self.kind = kind
        # uuid and oid are tuples even when they hold one word.
        self.arrays = tuple(f.name.endswith("oid") or f.name.endswith("uuid") for f in member)

    def decode(self, op: bytes) -> tuple[int, int, Creat | Ctrl | Gen]:
        vals = self.codec.unpack_from(op)
        out, i = [], 2
        for n, arr in zip(self.counts, self.arrays, strict=True):
            if arr:
                out.append(vals[i:i + n])
            else:
                out.append(vals[i])
            i += n
        return vals[0], vals[1], self.kind(*out)


class OpCodec:
    """Decoder for one (version, word size): struct tmem_op in, (cmd, pool_id, member) out."""

    def __init__(self, row: AbiVersion, word_size: int) -> None:
        lay = layout(row, word_size)
        head = [lay.op.field("cmd"), lay.op.field("pool_id")]
        self.size = lay.size
        self._members = {m: _MemberCodec(head, sorted(lay.member_fields(m), key=lambda f: f.offset),
                                         _TYPES[m]) for m in MEMBERS}
        self._by_cmd: dict[int, _MemberCodec] = {}
        self.handle = HandleCodec(row, word_size)
        #: ops decoded lately, by their bytes: a guest and a toolstack send the same few ops again and again
        self._seen: dict[bytes, tuple[int, int, Creat | Ctrl | Gen] | None] = {}

    def decode(self, op: bytes) -> tuple[int, int, Creat | Ctrl | Gen] | None:
        """(cmd, pool_id, member), or None if the buffer is too short (TMEM-HC-001)."""
        if type(op) is not bytes:
            return self._decode(op)
        try:
            return self._seen[op]
        except KeyError:
            pass
        if len(self._seen) >= SEEN_OPS:
            self._seen.clear()
        out = self._seen[op] = self._decode(op)
        return out

    def _decode(self, op: bytes) -> tuple[int, int, Creat | Ctrl | Gen] | None:
        if len(op) < 4:
            return None
        cmd = _CMD.unpack_from(op)[0]
        mc = self._by_cmd.get(cmd)
        if mc is None:
            mc = self._by_cmd[cmd] = self._members[member_for(cmd)]
        if len(op) < mc.needed:
            return None
        return mc.decode(op)


class HandleCodec:
    """struct tmem_handle {pool_id, index, oid} for one (version, word size)."""

    def __init__(self, row: AbiVersion, word_size: int) -> None:
        lay = layout(row, word_size)
        fields = sorted(lay.handle.fields, key=lambda f: f.offset)
        if [f.name for f in fields] != ["pool_id", "index", "oid"]:
            raise AssertionError(f"unexpected tmem_handle fields {[f.name for f in fields]}")
        self._codec, _ = _compile(fields)
        self.size = lay.handle.size
        self._pad = bytes(self.size - self._codec.size)

    def pack(self, pool_id: int, index: int, oid: Oid) -> bytes:
        return self._codec.pack(pool_id & 0xFFFFFFFF, index, *oid) + self._pad
