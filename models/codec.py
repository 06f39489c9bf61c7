"""Pack and unpack struct tmem_op and struct tmem_handle.

All tmem hosts are x86, so every field is little-endian. The union member
is chosen from `cmd` as Xen's compat translation does (abi.MEMBER_FOR_CMD).
A buffer of the wrong length, or a value that does not fit its field,
raises LayoutError naming the struct, field, version and word size.
"""

from __future__ import annotations

import struct as _struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cache, lru_cache
from typing import Any

from .abi import member_for
from .ctypes_table import Field
from .errors import LayoutError
from .layouts import OpLayout, layout
from .versions import AbiVersion

Oid = tuple[int, ...]


@dataclass(frozen=True)
class Creat:
    """NEW_POOL, AUTH and RESTORE_NEW (`new` in the v0 header)."""

    uuid: tuple[int, int] = (0, 0)
    flags: int = 0
    arg1: int = 0


@dataclass(frozen=True)
class Ctrl:
    """TMEM_CONTROL. `oid` is `arg3` (one word) in v0."""

    subop: int = 0
    cli_id: int = 0
    arg1: int = 0
    arg2: int = 0
    oid: Oid = ()
    buf: int = 0


@dataclass(frozen=True)
class Gen:
    """Every other command. `oid` is `object` (one word) in v0."""

    oid: Oid = ()
    index: int = 0
    tmem_offset: int = 0
    pfn_offset: int = 0
    len: int = 0
    cmfn: int = 0


Member = Creat | Ctrl | Gen
MEMBER_TYPES: dict[str, type] = {"creat": Creat, "ctrl": Ctrl, "gen": Gen}


@dataclass(frozen=True)
class TmemOp:
    cmd: int
    pool_id: int = 0
    u: Member = field(default_factory=Gen)


@dataclass(frozen=True)
class TmemHandle:
    pool_id: int
    index: int
    oid: Oid


_FORMATS = {(4, False): "<I", (4, True): "<i", (8, False): "<Q", (8, True): "<q"}


def _codec(f: Field) -> _struct.Struct:
    return _struct.Struct(_FORMATS[(f.ctype.size, f.ctype.signed)])


def _where(lay: OpLayout) -> str:
    return f"{lay.version.name} {lay.word_size}-bit"


def _put(buf: bytearray, f: Field, value: object, lay: OpLayout) -> None:
    codec = _codec(f)
    values: tuple[object, ...] = tuple(value) if isinstance(value, tuple) else (value,)
    if f.count > 1 or isinstance(value, tuple):
        if values == ():
            values = (0,) * f.count
        if len(values) != f.count:
            raise LayoutError(f"{f.name} in {_where(lay)} tmem_op takes {f.count} words, "
                              f"got {len(values)}: {value!r}")
    bits = f.ctype.size * 8
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if f.ctype.signed else (0, (1 << bits) - 1)
    for i, v in enumerate(values):
        if not isinstance(v, int) or not lo <= v <= hi:
            raise LayoutError(f"{f.name} ({f.ctype.name}) in {_where(lay)} must be an integer in "
                              f"[{lo}, {hi}], not {v!r}")
        codec.pack_into(buf, f.offset + i * f.ctype.size, v)


def _get(buf: bytes, f: Field) -> int | tuple[int, ...]:
    codec = _codec(f)
    vals = tuple(codec.unpack_from(buf, f.offset + i * f.ctype.size)[0] for i in range(f.count))
    return vals if f.count > 1 or f.name.endswith("oid") else vals[0]


def pack(op: TmemOp, v: str | int | AbiVersion, word_size: int) -> bytes:
    """The bytes a guest of this version and word size passes to the hypercall."""
    lay = layout(v, word_size)
    member = member_for(op.cmd)
    if not isinstance(op.u, MEMBER_TYPES[member]):
        raise LayoutError(f"command {op.cmd} uses union member {member!r}, "
                          f"not {type(op.u).__name__.lower()!r}")
    buf = bytearray(lay.size)
    whole, names = _compiled(lay.version, word_size, member)
    values: list[object] = [op.cmd, op.pool_id]
    for name, count, as_tuple in names:
        value = getattr(op.u, name)
        if as_tuple and isinstance(value, tuple) and len(value) in (count, 0):
            values += value or (0,) * count
        elif not as_tuple:
            values.append(value)
        else:
            break  # an id of another width: the field-by-field path names it
    else:
        try:
            whole.pack_into(buf, 0, *values)
            return bytes(buf)
        except _struct.error:
            pass  # a value out of its field's range: the field-by-field path names it
    _put(buf, lay.op.field("cmd"), op.cmd, lay)
    _put(buf, lay.op.field("pool_id"), op.pool_id, lay)
    for f in lay.member_fields(member):
        _put(buf, f, getattr(op.u, f.name.split(".", 1)[1]), lay)
    return bytes(buf)


class PackedOps:
    """Ops packed once each, by a caller's key for them: a guest's and the toolstack's ops repeat."""

    #: Most ops kept; past it the cache starts again.
    LIMIT = 1024

    def __init__(self, v: str | int | AbiVersion, word_size: int) -> None:
        self.version, self.word_size = v, word_size
        self._ops: dict[Any, bytes] = {}

    def get(self, key: Any, build: Callable[[], TmemOp]) -> bytes:
        """The packed op for `key`; `build()` makes the op the first time."""
        raw = self._ops.get(key)
        if raw is None:
            raw = pack(build(), self.version, self.word_size)
            if len(self._ops) >= self.LIMIT:
                self._ops.clear()
            self._ops[key] = raw
        return raw


@cache
def packed_ops(v: AbiVersion, word_size: int) -> PackedOps:
    """The process's one PackedOps for this version and word size (guests and toolstacks come and go
    with every example; the ops they send are the same few)."""
    return PackedOps(v, word_size)


def _check_length(data: bytes | bytearray, size: int, what: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise LayoutError(f"{what} must be bytes, not {type(data).__name__}")
    if len(data) != size:
        kind = "short" if len(data) < size else "long"
        raise LayoutError(f"{what} is {size} bytes; the buffer given is {kind}: {len(data)} bytes")


def unpack(data: bytes | bytearray, v: str | int | AbiVersion, word_size: int) -> TmemOp:
    """Decode exactly one struct tmem_op; the buffer must be exactly sizeof(struct tmem_op)."""
    lay = layout(v, word_size)
    _check_length(data, lay.size, f"struct tmem_op ({_where(lay)})")
    return _unpack(bytes(data), lay.version, word_size)


@lru_cache(maxsize=8192)
def _unpack(data: bytes, v: AbiVersion, word_size: int) -> TmemOp:
    """unpack() of a buffer of the right size (a guest's ops repeat: the toolstack's queries above all)."""
    cmd = int.from_bytes(data[:4], "little")
    member = member_for(cmd)
    whole, names = _compiled(v, word_size, member)
    raw = whole.unpack_from(data)
    values: dict[str, object] = {}
    pos = 2
    for name, count, as_tuple in names:
        values[name] = tuple(raw[pos:pos + count]) if as_tuple else raw[pos]
        pos += count
    return TmemOp(raw[0], raw[1], MEMBER_TYPES[member](**values))


@cache
def _compiled(v: AbiVersion, word_size: int, member: str) -> tuple[_struct.Struct, tuple[tuple[str, int, bool], ...]]:
    """One struct.Struct reading cmd, pool_id and every field of `member` (padding skipped)."""
    lay = layout(v, word_size)
    fields = (lay.op.field("cmd"), lay.op.field("pool_id"), *lay.member_fields(member))
    names = tuple((f.name.split(".", 1)[1], f.count, f.count > 1 or f.name.endswith("oid")) for f in fields[2:])
    return _struct_of(fields), names


def _struct_of(fields: Sequence[Field]) -> _struct.Struct:
    """One struct.Struct packing `fields` (in offset order) at their offsets, padding skipped."""
    fmt, pos = "<", 0
    for f in fields:
        if f.offset > pos:
            fmt += f"{f.offset - pos}x"
        fmt += _FORMATS[(f.ctype.size, f.ctype.signed)][1] * f.count
        pos = f.offset + f.ctype.size * f.count
    return _struct.Struct(fmt)


@cache
def _compiled_handle(v: AbiVersion, word_size: int) -> _struct.Struct:
    """One struct.Struct for pool_id, index and oid of struct tmem_handle, in that order."""
    lay = layout(v, word_size)
    fields = sorted(lay.handle.fields, key=lambda f: f.offset)
    assert [f.name for f in fields] == ["pool_id", "index", "oid"], fields
    return _struct_of(fields)


def pack_handle(h: TmemHandle, v: str | int | AbiVersion, word_size: int = 64) -> bytes:
    lay = layout(v, word_size)
    buf = bytearray(lay.handle.size)
    whole = _compiled_handle(lay.version, word_size)
    if isinstance(h.oid, tuple) and len(h.oid) == lay.version.oid_words:
        try:
            whole.pack_into(buf, 0, h.pool_id, h.index, *h.oid)
            return bytes(buf)
        except _struct.error:
            pass  # out of range: the field-by-field path names the field
    for f in lay.handle.fields:
        _put(buf, f, getattr(h, f.name), lay)
    return bytes(buf)


def unpack_handle(data: bytes | bytearray, v: str | int | AbiVersion, word_size: int = 64) -> TmemHandle:
    lay = layout(v, word_size)
    _check_length(data, lay.handle.size, f"struct tmem_handle ({_where(lay)})")
    vals = {f.name: _get(bytes(data), f) for f in lay.handle.fields}
    return TmemHandle(**vals)  # type: ignore[arg-type]


def with_fields(op: TmemOp, **changes: object) -> TmemOp:
    """A copy of `op` with top-level or union-member fields changed."""
    top = {f.name for f in fields(TmemOp)}
    outer: dict[str, Any] = {k: v for k, v in changes.items() if k in top}
    inner: dict[str, Any] = {k: v for k, v in changes.items() if k not in top}
    new = replace(op, **outer) if outer else op
    return replace(new, u=replace(new.u, **inner)) if inner else new
