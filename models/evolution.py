"""How one ABI revision reads another's ops: moved fields, and whether a guest of one on a host of the
other is gated or silent. Computed from the version rows and the layouts derived from them.

A pairing is **gated** when the host refuses the guest at NEW_POOL (its op too
short for the host, or the spec-version check) before any op whose layout
differs can be read: every other op a guest may send needs a pool. It is
**silent** when the host would read some op of the guest's with other field
offsets and no earlier check refuses it: that guest would "sort of work, but
incorrectly", and no expected outcome can be derived for the pairing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .abi import Cmd, member_for
from .host import NO_POOL_CHECK, PRIVILEGED
from .layouts import OpLayout, header_name, layout
from .versions import AbiVersion

#: Where a guest's ops cannot go wrong unseen: the command every pool starts with.
GATE = Cmd.NEW_POOL
#: Commands that read only cmd and pool_id of their op, whatever member member_for() names.
HEAD_ONLY = frozenset({Cmd.DESTROY_POOL})


@dataclass(frozen=True)
class FieldChange:
    """One field of struct tmem_op or tmem_handle whose place, size or header name differs."""

    struct: str
    name: str
    old: tuple[int, int] | None  # (offset, size), None: absent
    new: tuple[int, int] | None
    old_header: str
    new_header: str

    @property
    def kinds(self) -> list[str]:
        if self.old is None or self.new is None:
            return ["added" if self.old is None else "removed"]
        out = []
        if self.old[0] != self.new[0]:
            out.append("moved")
        if self.old[1] != self.new[1]:
            out.append("resized")
        if self.old_header != self.new_header:
            out.append("renamed")
        return out


def _field_map(lay: OpLayout, struct: str) -> dict[str, tuple[int, int]]:
    fs = lay.op.fields if struct == "tmem_op" else lay.handle.fields
    return {f.name: (f.offset, f.size) for f in fs}


@cache
def field_changes(old: AbiVersion, new: AbiVersion, word_size: int) -> tuple[FieldChange, ...]:
    """Every field whose offset, size or header name differs, tmem_op's then tmem_handle's."""
    out = []
    lo, ln = layout(old, word_size), layout(new, word_size)
    for struct in ("tmem_op", "tmem_handle"):
        a, b = _field_map(lo, struct), _field_map(ln, struct)
        for name in list(a) + [n for n in b if n not in a]:
            ha, hb = header_name(old, name), header_name(new, name)
            change = FieldChange(struct, name, a.get(name), b.get(name), ha, hb)
            if change.kinds:
                out.append(change)
    return tuple(out)  # cached: every command's and pairing's question reads it again


def differs(old: AbiVersion, new: AbiVersion, word_size: int, cmd: int) -> list[str]:
    """The fields `cmd` reads (cmd, pool_id and its member) that lie elsewhere in the two layouts."""
    member = None if cmd in HEAD_ONLY else member_for(cmd)
    changed = {c.name for c in field_changes(old, new, word_size) if c.struct == "tmem_op"
               and set(c.kinds) - {"renamed"}}
    return sorted(n for n in changed if n.split(".")[0] in ("cmd", "pool_id", member))


@dataclass(frozen=True)
class Pairing:
    """A guest of one revision on a host of the other, at one word size."""

    guest: str
    host: str
    word_size: int
    verdict: str  # "gated", "silent" or "same layout"
    where: str

    def line(self) -> str:
        return f"{self.guest} guest on {self.host} host, {self.word_size}-bit: {self.verdict}: {self.where}"


def _gate(guest: AbiVersion, host: AbiVersion, word_size: int) -> str | None:
    """How the host refuses the guest's NEW_POOL, or None if it accepts it."""
    g, h = layout(guest, word_size), layout(host, word_size)
    if g.size < h.needed(GATE):
        return (f"NEW_POOL's op is {g.size} bytes, shorter than the {h.needed(GATE)} the host reads "
                f"(-EFAULT, or the version check if it decodes what is there)")
    flags = "creat.flags"
    if g.offsets()[flags] != h.offsets()[flags]:
        return None
    if guest.spec not in host.accepts:
        return (f"NEW_POOL's spec-version check (flags bits 24-31 at offset {h.offsets()[flags]}, the same in "
                f"both) refuses spec {guest.spec} (the host accepts {sorted(host.accepts)}): the guest gets no "
                "pool, so the host reads none of its other ops")
    return None


def pairing(guest: AbiVersion, host: AbiVersion, word_size: int) -> Pairing:
    """The first point where `host` can tell a `guest` apart, or the first op it would misread."""
    both = guest.commands & host.commands  # a command the host lacks is answered as unknown, never misread
    guest_cmds = [c for c in Cmd if c not in PRIVILEGED and c in both]
    refused = _gate(guest, host, word_size)
    if refused is not None:
        return Pairing(guest.name, host.name, word_size, "gated", refused)
    for cmd in [c for c in guest_cmds if c == GATE] + [c for c in guest_cmds if c != GATE]:
        moved = differs(guest, host, word_size, cmd)
        if moved:
            pool = "" if cmd in NO_POOL_CHECK else " on a pool NEW_POOL gave it"
            return Pairing(guest.name, host.name, word_size, "silent",
                           f"{cmd.name}{pool} is read with other offsets for {', '.join(moved)}, and no earlier "
                           "check can refuse it")
    return Pairing(guest.name, host.name, word_size, "same layout", "every op a guest sends reads alike")
