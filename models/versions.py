"""tmem ABI versions as data.

Each row is one interface revision of the tmem hypercall. Everything that
differs between v0 (Xen 4.0.0) and v1 (Xen 4.1.0) is a column here, so a
future revision is one more row and the engine needs no new branch.
Sources: xen/include/public/tmem.h and xen/common/tmem.c at RELEASE-4.0.0
and RELEASE-4.1.0; commit b0797898d3 (one-word oid to three words).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .abi import MAX_GLOBAL_SHARED_POOLS, MAX_POOLS_PER_DOMAIN, ClientFlag, Cmd, Errno, PoolFlag, Subop
from .errors import ModelError

#: Every command and CONTROL sub-op number of tmem.h at 4.0.0 and 4.1.0 (both have the same ones).
TMEM_H_COMMANDS = frozenset(int(c) for c in Cmd)
TMEM_H_SUBOPS = frozenset(int(s) for s in Subop)


@dataclass(frozen=True)
class AbiVersion:
    """One row of the version table."""

    name: str
    spec: int
    xen: str
    oid_words: int
    creat_member: str
    ctrl_oid_field: str
    gen_oid_field: str
    reject_flag_bits: int
    accepts: frozenset[int]
    #: The command and sub-op numbers this revision has; a host answers any other as an unknown command.
    commands: frozenset[int] = TMEM_H_COMMANDS
    subops: frozenset[int] = TMEM_H_SUBOPS
    #: Numbers this revision (or one before it) retired: reserved for ever, never given a new meaning.
    retired_commands: frozenset[int] = frozenset()
    retired_subops: frozenset[int] = frozenset()
    #: Optional features a guest may ask for in NEW_POOL's flags: (name, bit); a host that lacks one refuses.
    features: tuple[tuple[str, int], ...] = field(default=())
    #: The older revisions this revision's dual-mode guest (its shim) falls back to, in the order it tries them.
    falls_back_to: tuple[str, ...] = ()
    #: Where the row comes from: "" for the built-in table, else the revision file (models/revisions.py).
    source: str = ""

    def __hash__(self) -> int:
        # Rows key every layout and codec cache, several times per hypercall: hash what tells rows apart
        # (equal rows have equal names, spec numbers and sources), not all seventeen fields.
        return hash((self.name, self.spec, self.source))

    @property
    def feature_bits(self) -> int:
        bits = 0
        for _, bit in self.features:
            bits |= bit
        return bits

    @property
    def oid_bits(self) -> int:
        return 64 * self.oid_words


#: TMEM_POOL_PRECOMPRESSED (bit 2) and TMEM_POOL_RESERVED_BITS (0x00ffff00), v1 only.
_V1_REJECTS = 0x4 | 0x00FFFF00

_ROWS = (
    AbiVersion(
        name="v0", spec=0, xen="4.0.0", oid_words=1, creat_member="new",
        ctrl_oid_field="arg3", gen_oid_field="object", reject_flag_bits=0,
        accepts=frozenset({0}),
    ),
    AbiVersion(
        name="v1", spec=1, xen="4.1.0", oid_words=3, creat_member="creat",
        ctrl_oid_field="oid", gen_oid_field="oid", reject_flag_bits=_V1_REJECTS,
        accepts=frozenset({1}), falls_back_to=("v0",),
    ),
)

_TABLE: dict[str, AbiVersion] = {row.name: row for row in _ROWS}
_BY_SPEC: dict[int, AbiVersion] = {row.spec: row for row in _ROWS}
#: The version table: the built-in rows, and any revision a file added (`register`). Read-only views.
VERSIONS: Mapping[str, AbiVersion] = MappingProxyType(_TABLE)
BY_SPEC: Mapping[int, AbiVersion] = MappingProxyType(_BY_SPEC)
BUILT_IN = frozenset(_TABLE)


def register(row: AbiVersion) -> None:
    """Add one revision's row to the table (models/revisions.py checks it first)."""
    if row.name in _TABLE or row.spec in _BY_SPEC:
        raise ModelError(f"revision {row.name!r} (spec {row.spec}) is already in the version table")
    _TABLE[row.name] = row
    _BY_SPEC[row.spec] = row


def unregister(name: str) -> None:
    """Take a revision a file added out of the table again; the built-in rows stay."""
    if name in BUILT_IN:
        raise ModelError(f"{name} is a built-in revision")
    row = _TABLE.pop(name)
    _BY_SPEC.pop(row.spec, None)


def version(key: str | int | AbiVersion, table: Mapping[str, AbiVersion] = VERSIONS) -> AbiVersion:
    """Look a version up by name ("v1"), spec number (1) or pass a row through."""
    if isinstance(key, AbiVersion):
        return key
    for row in table.values():
        if key in (row.name, row.spec):
            return row
    known = ", ".join(f"{r.name} (spec {r.spec})" for r in table.values())
    raise ModelError(f"unknown tmem ABI version {key!r}; known: {known}")


def constants(v: str | int | AbiVersion) -> dict[str, int]:
    """Every named constant as the given version's header defines it."""
    row = version(v)
    out: dict[str, int] = {f"TMEM_{c.name}": int(c) for c in Cmd}
    out.update({f"TMEMC_{s.name}": int(s) for s in Subop})
    out.update({e.name: int(e) for e in Errno})
    out.update({
        "TMEM_POOL_PERSIST": PoolFlag.PERSIST, "TMEM_POOL_SHARED": PoolFlag.SHARED,
        "TMEM_POOL_PAGESIZE_SHIFT": PoolFlag.PAGESIZE_SHIFT,
        "TMEM_POOL_PAGESIZE_MASK": PoolFlag.PAGESIZE_MASK,
        "TMEM_POOL_VERSION_SHIFT": PoolFlag.VERSION_SHIFT,
        "TMEM_POOL_VERSION_MASK": PoolFlag.VERSION_MASK,
        "TMEM_SPEC_VERSION": row.spec,
        "MAX_POOLS_PER_DOMAIN": MAX_POOLS_PER_DOMAIN,
        "MAX_GLOBAL_SHARED_POOLS": MAX_GLOBAL_SHARED_POOLS,
        "TMEM_CLIENT_COMPRESS": ClientFlag.COMPRESS, "TMEM_CLIENT_FROZEN": ClientFlag.FROZEN,
    })
    # The flags a version defines only to reject them are the ones it checks.
    for name in ("PRECOMPRESSED", "RESERVED_BITS"):
        bits = getattr(PoolFlag, name)
        if row.reject_flag_bits & bits == bits:
            out[f"TMEM_POOL_{name}"] = bits
    return out
