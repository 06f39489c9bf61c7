"""Proposed ABI revisions from a TOML file: one more row of the version table, described as data.

A file holds one `[revision]` table. Every column not given is the one of
the row it is `based_on` (a built-in row or an earlier file's); numbers are
checked against the whole history before the row is accepted:

    [revision]
    name = "v2"                  # unique
    spec = 2                     # unique; later revisions have higher specs
    based_on = "v1"
    xen = "proposed"
    accepts = [2]                # spec versions its hosts accept in NEW_POOL
    oid_words = 3
    reject_flag_bits = 0x00fffe04
    features = { DEDUP = 0x100 } # optional NEW_POOL flag bits a guest may ask for
    falls_back_to = ["v1", "v0"] # what its dual-mode guest tries after it, in order
    retire_commands = [10]       # reserved from here on: answered as unknown commands
    add_commands = { NAME = 11 } # never a number any revision has retired
    retire_subops = []
    add_subops = {}

A retired number stays reserved for ever: a file that gives it
a meaning again, in the same or a later revision, is refused with an error
naming the number, the revision that retired it and the file.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from .abi import PoolFlag
from .errors import ModelError
from .matrix import register_guests, unregister_guests
from .versions import VERSIONS, AbiVersion, register, unregister

#: Columns a file may set directly, with the type each must have.
_COLUMNS = {"name": str, "spec": int, "xen": str, "oid_words": int, "creat_member": str,
            "ctrl_oid_field": str, "gen_oid_field": str, "reject_flag_bits": int}
#: Keys that change the numbers: (what they name, the row column they act on).
_NUMBERS = {"commands": ("commands", "retired_commands"), "subops": ("subops", "retired_subops")}
_KEYS = frozenset(_COLUMNS) | {"based_on", "accepts", "features", "falls_back_to"} | \
    {f"{verb}_{kind}" for kind in _NUMBERS for verb in ("add", "retire")}
#: NEW_POOL flag bits that already mean something: persist, shared, page size, spec version.
_TAKEN_BITS = PoolFlag.PERSIST | PoolFlag.SHARED | PoolFlag.PAGESIZE_MASK << PoolFlag.PAGESIZE_SHIFT | \
    PoolFlag.VERSION_MASK << PoolFlag.VERSION_SHIFT


class RevisionError(ModelError):
    """A revision file that cannot be a row of the version table."""


def load(paths: Iterable[str], table: Mapping[str, AbiVersion] = VERSIONS) -> Mapping[str, AbiVersion]:
    """The version table with each file's revision added, in the order given."""
    out = dict(table)
    for path in paths:
        row = parse(path, out)
        out[row.name] = row
    return MappingProxyType(out)


def parse(path: str, table: Mapping[str, AbiVersion]) -> AbiVersion:
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except OSError as e:
        raise RevisionError(f"cannot read the revision file {path!r}: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise RevisionError(f"{path}: not TOML: {e}") from e
    rev = doc.get("revision")
    if not isinstance(rev, dict) or set(doc) != {"revision"}:
        raise RevisionError(f"{path}: a revision file holds one [revision] table, not {sorted(doc)}")
    return _row(path, rev, table)


def _row(path: str, rev: dict[str, Any], table: Mapping[str, AbiVersion]) -> AbiVersion:
    unknown = sorted(set(rev) - _KEYS)
    if unknown:
        raise RevisionError(f"{path}: unknown key {unknown[0]!r} in [revision]; known: {', '.join(sorted(_KEYS))}")
    base_name = rev.get("based_on")
    if not isinstance(base_name, str) or base_name not in table:
        raise RevisionError(f"{path}: based_on = {base_name!r} names no revision; known: {', '.join(table)}")
    row = table[base_name]
    for key, kind in _COLUMNS.items():
        if key in rev:
            column: dict[str, Any] = {key: _typed(path, key, rev[key], kind)}
            row = replace(row, **column)
    for key in ("name", "spec"):
        if key not in rev:
            raise RevisionError(f"{path}: [revision] needs {key!r} (its own, not {base_name}'s)")
    clash = [r.name for r in table.values() if r.name == row.name or r.spec == row.spec]
    if clash:
        raise RevisionError(f"{path}: revision {row.name!r} (spec {row.spec}) has the name or spec of {clash[0]!r}")
    newest = max(table.values(), key=lambda r: r.spec)
    if row.spec <= newest.spec:
        raise RevisionError(f"{path}: spec {row.spec} must be above every earlier revision's "
                            f"({newest.name} has {newest.spec})")
    accepts = rev.get("accepts", [row.spec])
    row = replace(row, accepts=frozenset(_typed(path, "accepts", a, int) for a in accepts))
    row = _numbers(path, rev, row, table)
    fallback = rev.get("falls_back_to", [])
    if not isinstance(fallback, list) or any(not isinstance(n, str) or n not in table for n in fallback):
        raise RevisionError(f"{path}: falls_back_to = {fallback!r} must list earlier revisions "
                            f"({', '.join(table)}), in the order the guest's shim tries them")
    return replace(row, features=_features(path, rev.get("features", {}), row), falls_back_to=tuple(fallback),
                   source=path)


def install(paths: Iterable[str]) -> list[AbiVersion]:
    """Add each file's revision to the process's version table and its guests to the matrix, for the
    whole run (certify, matrix, docs; each xdist worker installs the same files). A file installed
    already (the same path) is not read again."""
    added = []
    for path in paths:
        if any(row.source == path for row in VERSIONS.values()):
            continue
        row = parse(path, VERSIONS)
        register(row)
        register_guests(row)
        added.append(row)
    return added


def uninstall(rows: Iterable[AbiVersion]) -> None:
    """Take rows `install` added out of the version table and the matrix again."""
    for row in reversed(list(rows)):
        unregister_guests(row)
        unregister(row.name)


@contextlib.contextmanager
def installed(paths: Iterable[str]) -> Iterator[list[AbiVersion]]:
    """`install` for the length of a block (a command, a test): the table is as it was afterwards."""
    added = install(paths)
    try:
        yield added
    finally:
        uninstall(added)


def _typed(path: str, key: str, value: object, kind: type) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RevisionError(f"{path}: {key} must be {kind.__name__}, not {value!r}")
    return value


def _numbers(path: str, rev: dict[str, Any], row: AbiVersion, table: Mapping[str, AbiVersion]) -> AbiVersion:
    """Retire, then add, command and sub-op numbers; a number once retired never comes back."""
    for kind, (live_col, retired_col) in _NUMBERS.items():
        live, retired = set(getattr(row, live_col)), set(getattr(row, retired_col))
        for n in rev.get(f"retire_{kind}", []):
            if _typed(path, f"retire_{kind}", n, int) not in live:
                raise RevisionError(f"{path}: retire_{kind} names {n}, which {rev['based_on']} (based_on) "
                                    "does not have")
            live.discard(n)
            retired.add(n)
        history = {n: r.name for r in table.values() if r.spec < row.spec for n in getattr(r, retired_col)}
        history.update({n: row.name for n in retired if n not in history})
        for name, n in rev.get(f"add_{kind}", {}).items():
            if _typed(path, f"add_{kind}.{name}", n, int) in history:
                raise RevisionError(f"{path}: add_{kind} gives {name} the number {n}, which {history[n]} retired: "
                                    "a retired number stays reserved for ever")
            if n in live:
                raise RevisionError(f"{path}: add_{kind} gives {name} the number {n}, which is already in use")
            live.add(n)
        changes: dict[str, Any] = {live_col: frozenset(live), retired_col: frozenset(retired)}
        row = replace(row, **changes)
    return row


def _features(path: str, features: object, row: AbiVersion) -> tuple[tuple[str, int], ...]:
    if not isinstance(features, dict):
        raise RevisionError(f"{path}: features must be a table of NAME = bit, not {features!r}")
    out: list[tuple[str, int]] = []
    for name, bit in features.items():
        bit = _typed(path, f"features.{name}", bit, int)
        if bit <= 0 or bit & (bit - 1) or bit & _TAKEN_BITS or bit >= 1 << 32:
            raise RevisionError(f"{path}: feature {name} = {bit:#x} must be one free bit of NEW_POOL's flags "
                                f"(not persist, shared, page size or spec version: {_TAKEN_BITS:#010x})")
        if bit & row.reject_flag_bits:
            raise RevisionError(f"{path}: feature {name} = {bit:#x} is among the bits {row.name} refuses "
                                f"(reject_flag_bits {row.reject_flag_bits:#010x})")
        out.append((name, bit))
    return tuple(out)
