"""The documented compatibility matrix, derived from the version table.

Nothing here names a version: a guest kind lists the versions it can
speak in the order it tries them, a host accepts a set of spec versions,
and each cell's expectation follows. Adding a version (a v2 host that
also accepts v1 guests, say) adds rows and columns, not code.
Source: DESIGN.md and tmem-abi.md section 7.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .ctypes_table import WORD_SIZES
from .versions import VERSIONS, AbiVersion


@dataclass(frozen=True)
class GuestKind:
    """A guest kernel's tmem driver: the versions it speaks, most preferred first."""

    name: str
    speaks: tuple[str, ...]
    description: str

    @property
    def native(self) -> str:
        return self.speaks[0]


_GUESTS = (
    GuestKind("v0", ("v0",), "a Xen 4.0 guest: one-word object ids"),
    GuestKind("v1", ("v1",), "a Xen 4.1 guest: three-word object ids"),
    GuestKind("v1+shim", ("v1", "v0"),
              "a v1 guest with the backward-compatibility shim: tries v1, falls back to v0"),
)
_GUEST_TABLE: dict[str, GuestKind] = {g.name: g for g in _GUESTS}
#: Every guest kind: the built-in ones, and each added revision's (`guests_of`). A read-only view.
GUESTS: Mapping[str, GuestKind] = MappingProxyType(_GUEST_TABLE)


def guests_of(row: AbiVersion) -> tuple[GuestKind, ...]:
    """A revision's guests: one that speaks it alone, and, with a fallback order, its dual-mode guest."""
    features = f", asking for {', '.join(name for name, _ in row.features)} (and retrying without)" \
        if row.features else ""
    out = [GuestKind(row.name, (row.name,), f"a {row.name} guest ({row.oid_words}-word object ids{features})")]
    if row.falls_back_to:
        out.append(GuestKind(f"{row.name}+shim", (row.name, *row.falls_back_to),
                             f"a {row.name} guest with a shim: tries {', then '.join((row.name, *row.falls_back_to))}"))
    return tuple(out)


def register_guests(row: AbiVersion) -> None:
    for g in guests_of(row):
        _GUEST_TABLE[g.name] = g


def unregister_guests(row: AbiVersion) -> None:
    for g in guests_of(row):
        _GUEST_TABLE.pop(g.name, None)

#: The expectation of a cell no outcome follows for from the rows (`silent`): reported, never run.
UNDETERMINED = "undetermined"

#: What each expectation means, for reports and CONFORMANCE.md.
OUTCOMES: Mapping[str, str] = MappingProxyType({
    "native": "the guest negotiates its own version; tmem works as specified",
    "via-shim": "the host refuses the guest's version; the shim negotiates an older one, and object ids "
                "that do not fit are kept by the guest, never truncated or aliased",
    "graceful-failure": "NEW_POOL fails (-EPERM, or -EFAULT for an op shorter than the host's struct); the "
                        "guest runs with tmem off and loses nothing",
    "intact": "the guest's persistent pages arrive at the destination unchanged",
    "refused": "the move is refused before the destination changes; the source keeps every page",
    UNDETERMINED: "the host accepts the version the guest negotiates, but reads its ops at other offsets where "
                    "no check can refuse them (`abidiff`: silent): no outcome follows from the rows, so the cell "
                    "is reported before anything runs and never run",
})


#: The rules that decide each outcome (the machines of a cell check every other rule as well).
OUTCOME_RULES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "native": ("TMEM-PAIR-001", "TMEM-GUEST-001", "TMEM-GUEST-002"),
    "via-shim": ("TMEM-PAIR-003", "TMEM-PAIR-004", "TMEM-GUEST-001", "TMEM-GUEST-002"),
    "graceful-failure": ("TMEM-PAIR-002", "TMEM-GUEST-001"),
    "intact": ("TMEM-MIG-001", "TMEM-MIG-003", "TMEM-STREAM-001", "TMEM-STREAM-003", "TMEM-STREAM-004"),
    "refused": ("TMEM-MIG-002", "TMEM-MIG-003", "TMEM-STREAM-002", "TMEM-STREAM-003"),
    UNDETERMINED: (),
})


@dataclass(frozen=True)
class Cell:
    id: str
    kind: str  # "pairing" or "migration"
    word_size: int
    expected: str
    guest: str | None = None
    host: str | None = None
    source: str | None = None
    destination: str | None = None
    negotiated: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "kind": self.kind}
        if self.kind == "pairing":
            out.update(guest=self.guest, host=self.host, negotiated=self.negotiated)
        else:
            out.update(source=self.source, destination=self.destination)
        out.update(word_size=self.word_size, expected=self.expected)
        return out


def negotiate(guest: GuestKind, host: AbiVersion,
              versions: Mapping[str, AbiVersion] = VERSIONS) -> str | None:
    """The version a guest ends up speaking to a host, or None when tmem stays off."""
    for name in guest.speaks:
        if versions[name].spec in host.accepts:
            return name
    return None


def expected_pairing(guest: GuestKind, host: AbiVersion,
                     versions: Mapping[str, AbiVersion] = VERSIONS) -> str:
    got = negotiate(guest, host, versions)
    if got is None:
        return "graceful-failure"
    return "native" if got == guest.native else "via-shim"


def silent(guest: GuestKind, host: AbiVersion, word_size: int,
           versions: Mapping[str, AbiVersion] = VERSIONS) -> str | None:
    """Where the host misreads the guest's ops with no check to refuse them (evolution.py), or None:
    the guest speaks another revision than the host's, which the host accepts."""
    got = negotiate(guest, host, versions)
    if got is None or versions[got] == host:
        return None
    from .evolution import pairing
    p = pairing(versions[got], host, word_size)
    return p.where if p.verdict == "silent" else None


def expected_migration(source: AbiVersion, destination: AbiVersion) -> str:
    return "intact" if source.spec == destination.spec else "refused"


def pairing_id(guest: str, word_size: int, host: str) -> str:
    return f"pair:{guest}:{word_size}:{host}"


def migration_id(source: str, destination: str, word_size: int) -> str:
    return f"mig:{source}:{destination}:{word_size}"


def cells(versions: Mapping[str, AbiVersion] = VERSIONS,
          guests: Mapping[str, GuestKind] = GUESTS) -> tuple[Cell, ...]:
    """Every cell: guests x word sizes x hosts, then sources x destinations x word sizes."""
    out: list[Cell] = []
    for g in guests.values():
        for ws in WORD_SIZES:
            for h in versions.values():
                expected = expected_pairing(g, h, versions)
                if silent(g, h, ws, versions) is not None:
                    expected = UNDETERMINED
                out.append(Cell(pairing_id(g.name, ws, h.name), "pairing", ws, expected, guest=g.name,
                                host=h.name, negotiated=negotiate(g, h, versions)))
    for s in versions.values():
        for d in versions.values():
            for ws in WORD_SIZES:
                out.append(Cell(migration_id(s.name, d.name, ws), "migration", ws,
                                expected_migration(s, d), source=s.name, destination=d.name))
    return tuple(out)


def cell(cell_id: str, versions: Mapping[str, AbiVersion] = VERSIONS,
         guests: Mapping[str, GuestKind] = GUESTS) -> Cell:
    for c in cells(versions, guests):
        if c.id == cell_id:
            return c
    from .errors import ModelError
    raise ModelError(f"no matrix cell {cell_id!r}; ids look like {pairing_id('v1', 64, 'v0')!r} "
                     f"or {migration_id('v0', 'v1', 32)!r}")
