"""struct tmem_op and struct tmem_handle, per (version, word size).

Declarations follow xen/include/public/tmem.h; the only version column
they read is the object-id width. Canonical field names are the v1 ones
(`creat`, `oid`); `HEADER_NAMES` maps them to what each version's header
calls them (v0: `new`, `ctrl.arg3`, `gen.object`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from .abi import member_for
from .ctypes_table import WORD_SIZES, Decl, Field, Struct, _round_up, lay_out_struct, nest
from .versions import VERSIONS, AbiVersion, version

MEMBERS = ("creat", "ctrl", "gen")

#: Field names of the JSON output, in order.
OFFSET_NAMES = (
    "cmd", "pool_id", "creat.uuid", "creat.flags", "creat.arg1", "ctrl.subop", "ctrl.cli_id",
    "ctrl.arg1", "ctrl.arg2", "ctrl.oid", "ctrl.buf", "gen.oid", "gen.index", "gen.tmem_offset",
    "gen.pfn_offset", "gen.len", "gen.cmfn",
)


def member_decls(row: AbiVersion) -> dict[str, tuple[Decl, ...]]:
    return {
        "creat": (Decl("uuid", "uint64_t", 2), Decl("flags", "uint32_t"), Decl("arg1", "uint32_t")),
        "ctrl": (Decl("subop", "uint32_t"), Decl("cli_id", "uint32_t"), Decl("arg1", "uint32_t"),
                 Decl("arg2", "uint32_t"), Decl("oid", "uint64_t", row.oid_words),
                 Decl("buf", "guest_handle")),
        "gen": (Decl("oid", "uint64_t", row.oid_words), Decl("index", "uint32_t"),
                Decl("tmem_offset", "uint32_t"), Decl("pfn_offset", "uint32_t"),
                Decl("len", "uint32_t"), Decl("cmfn", "xen_pfn_t")),
    }


def handle_decls(row: AbiVersion) -> tuple[Decl, ...]:
    return (Decl("pool_id", "uint32_t"), Decl("index", "uint32_t"), Decl("oid", "uint64_t", row.oid_words))


@dataclass(frozen=True)
class OpLayout:
    """struct tmem_op for one version and word size, with its union members."""

    version: AbiVersion
    word_size: int
    op: Struct
    members: dict[str, Struct]
    member_offset: int
    handle: Struct

    @property
    def size(self) -> int:
        return self.op.size

    def offsets(self) -> dict[str, int]:
        return {f.name: f.offset for f in self.op.fields}

    def needed(self, cmd: int) -> int:
        """Bytes a host must be able to copy for `cmd`: cmd, pool_id and the member it uses.

        The tail of the union beyond that member is never read, which is why a
        v0 guest's NEW_POOL reaches a v1 host's version check (tmem-abi.md s.7).
        """
        return _needed(self.version, self.word_size, member_for(cmd))

    def member_fields(self, member: str) -> tuple[Field, ...]:
        return _member_fields(self.version, self.word_size, member)


@cache
def _member_fields(v: AbiVersion, word_size: int, member: str) -> tuple[Field, ...]:
    lay = layout(v, word_size)
    return nest(member, lay.members[member], lay.member_offset)


@cache
def _needed(v: AbiVersion, word_size: int, member: str) -> int:
    return max(f.end for f in _member_fields(v, word_size, member))


@cache
def layout(v: str | int | AbiVersion, word_size: int) -> OpLayout:
    row = version(v)
    members = {m: lay_out_struct(m, d, word_size) for m, d in member_decls(row).items()}
    head = lay_out_struct("tmem_op.head", (Decl("cmd", "uint32_t"), Decl("pool_id", "int32_t")), word_size)
    u_align = max(s.align for s in members.values())
    u_off = _round_up(head.size, u_align)
    u_size = _round_up(max(s.size for s in members.values()), u_align)
    align = max(head.align, u_align)
    fields = head.fields + tuple(f for m in MEMBERS for f in nest(m, members[m], u_off))
    op = Struct("tmem_op", fields, _round_up(u_off + u_size, align), align)
    handle = lay_out_struct("tmem_handle", handle_decls(row), word_size)
    return OpLayout(row, word_size, op, members, u_off, handle)


def header_name(row: AbiVersion, canonical: str) -> str:
    """What the given version's public header calls a canonical field."""
    renames = {"creat": row.creat_member, "ctrl.oid": f"ctrl.{row.ctrl_oid_field}",
               "gen.oid": f"gen.{row.gen_oid_field}"}
    if canonical in renames:
        return renames[canonical]
    head, _, rest = canonical.partition(".")
    if head == "creat" and rest:
        return f"{row.creat_member}.{rest}"
    return canonical


def layouts_table(versions: Iterable[AbiVersion] | None = None) -> dict[str, dict[str, dict]]:
    """The `layouts --format json` document: version -> word size -> sizes and offsets."""
    out: dict[str, dict[str, dict]] = {}
    for row in versions or VERSIONS.values():
        out[row.name] = {}
        for ws in WORD_SIZES:
            lay = layout(row, ws)
            offs = lay.offsets()
            out[row.name][str(ws)] = {
                "sizeof": {"tmem_op": lay.size, "tmem_handle": lay.handle.size},
                "offsetof": {name: offs[name] for name in OFFSET_NAMES},
            }
    return out
