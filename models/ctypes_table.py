"""C struct layout from field declarations, per guest word size.

The two word sizes are the x86-64 ABI (64) and the i386 ABI that Xen's
compat layer uses for 32-bit guests (32). They differ in the size of
`unsigned long` and guest handles, and in the alignment of 64-bit
integers inside structs (8 on x86-64, 4 on i386). Offsets are computed
here, never typed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .errors import LayoutError


@dataclass(frozen=True)
class CType:
    """A scalar C type as one ABI lays it out."""

    name: str
    size: int
    align: int
    signed: bool = False


def _abi(word_bytes: int, u64_align: int) -> Mapping[str, CType]:
    types = (
        CType("uint32_t", 4, 4),
        CType("int32_t", 4, 4, signed=True),
        CType("uint64_t", 8, u64_align),
        # xen_pfn_t is unsigned long; tmem_cli_va_t is a guest handle (a pointer).
        CType("xen_pfn_t", word_bytes, word_bytes),
        CType("guest_handle", word_bytes, word_bytes),
    )
    return MappingProxyType({t.name: t for t in types})


#: word size in bits -> C type table.
WORD_SIZES: Mapping[int, Mapping[str, CType]] = MappingProxyType({
    64: _abi(word_bytes=8, u64_align=8),
    32: _abi(word_bytes=4, u64_align=4),
})


@dataclass(frozen=True)
class Decl:
    """A field declaration: name, C type name, array length."""

    name: str
    ctype: str
    count: int = 1


@dataclass(frozen=True)
class Field:
    """A laid-out field: where it is and how wide each element is."""

    name: str
    ctype: CType
    count: int
    offset: int

    @property
    def size(self) -> int:
        return self.ctype.size * self.count

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class Struct:
    """A laid-out struct or union: its fields in declaration order."""

    name: str
    fields: tuple[Field, ...]
    size: int
    align: int

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise LayoutError(f"struct {self.name} has no field {name!r}; fields: "
                          + ", ".join(f.name for f in self.fields))


def _round_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def lay_out_struct(name: str, decls: Sequence[Decl], word_size: int) -> Struct:
    """Place fields in order, each at the next offset its alignment allows."""
    types = _types(word_size)
    offset, align, fields = 0, 1, []
    for d in decls:
        ct = types[d.ctype]
        offset = _round_up(offset, ct.align)
        fields.append(Field(d.name, ct, d.count, offset))
        offset += ct.size * d.count
        align = max(align, ct.align)
    return Struct(name, tuple(fields), _round_up(offset, align), align)


def nest(prefix: str, inner: Struct, at: int) -> tuple[Field, ...]:
    """The fields of `inner` placed at offset `at` with dotted names."""
    return tuple(Field(f"{prefix}.{f.name}", f.ctype, f.count, at + f.offset) for f in inner.fields)


def _types(word_size: int) -> Mapping[str, CType]:
    try:
        return WORD_SIZES[word_size]
    except KeyError:
        raise LayoutError(f"guest word size must be one of {sorted(WORD_SIZES)}, not {word_size!r}") from None
