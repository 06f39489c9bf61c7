"""`tmem-conformance abidiff OLD NEW`: what changes between two tmem ABI revisions, computed from their rows.

As libabigail's abidiff compares two builds of a library, this compares two
rows of models/versions.py (and the layouts models/layouts.py derives from
them), never a hand-written list: the row's own columns, the flag bits a
host newly refuses, commands and sub-ops added, removed or retired, every
field of struct tmem_op and struct tmem_handle per word size (moved, resized,
renamed in the header), every command by the fields it reads, and, for a
guest of either revision on a host of the other, whether the pairing is
gated or silent (models/evolution.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from .models.abi import Cmd, Subop, member_for
from .models.ctypes_table import WORD_SIZES
from .models.evolution import HEAD_ONLY, differs, field_changes, pairing
from .models.host import PRIVILEGED
from .models.layouts import layout
from .models.versions import VERSIONS, AbiVersion, version
from .paths import add_abi_file

FORMATS = ("text", "markdown", "json")
#: Columns shown in sections of their own, or not ABI facts at all (where a row was read from).
_SECTIONED = ("commands", "subops", "retired_commands", "retired_subops", "features", "source")


def diff(old_key: str | int, new_key: str | int,
         table: Mapping[str, AbiVersion] = VERSIONS) -> dict[str, Any]:
    """The whole comparison as one JSON-ready document."""
    old, new = version(old_key, table), version(new_key, table)
    row = {f.name: {"old": _plain(f.name, getattr(old, f.name)), "new": _plain(f.name, getattr(new, f.name))}
           for f in fields(AbiVersion) if f.name not in _SECTIONED and getattr(old, f.name) != getattr(new, f.name)}
    sides = ((old, new),) if old == new else ((old, new), (new, old))
    pairs = [pairing(g, h, ws) for ws in WORD_SIZES for g, h in sides]
    return {
        "old": old.name, "new": new.name, "row": row,
        "flag_bits": {"newly_refused": f"{new.reject_flag_bits & ~old.reject_flag_bits:#010x}",
                      "no_longer_refused": f"{old.reject_flag_bits & ~new.reject_flag_bits:#010x}"},
        "features": {"added": sorted(set(new.features) - set(old.features)),
                     "removed": sorted(set(old.features) - set(new.features))},
        "commands": _numbers(old.commands, new.commands, old.retired_commands, new.retired_commands, _cmd_name),
        "subops": _numbers(old.subops, new.subops, old.retired_subops, new.retired_subops, _subop_name),
        "toolstack_only": sorted(c.name for c in PRIVILEGED),
        "layouts": {str(ws): _layout_diff(old, new, ws) for ws in WORD_SIZES},
        "pairings": [{"guest": p.guest, "host": p.host, "word_size": p.word_size, "verdict": p.verdict,
                      "where": p.where} for p in pairs],
    }


def _layout_diff(old: AbiVersion, new: AbiVersion, ws: int) -> dict[str, Any]:
    lo, ln = layout(old, ws), layout(new, ws)
    cmds = sorted(c for c in Cmd if c in old.commands | new.commands)
    return {
        "sizeof": {"tmem_op": [lo.size, ln.size], "tmem_handle": [lo.handle.size, ln.handle.size]},
        "fields": [{"struct": c.struct, "field": c.name, "old": c.old, "new": c.new, "changes": c.kinds,
                    "old_header": c.old_header, "new_header": c.new_header} for c in field_changes(old, new, ws)],
        "commands": {c.name: {"member": "none" if c in HEAD_ONLY else member_for(c),
                              "moved": differs(old, new, ws, c)} for c in cmds},
    }


def _cmd_name(n: int) -> str:
    return Cmd(n).name if n in Cmd._value2member_map_ else f"#{n}"


def _subop_name(n: int) -> str:
    return Subop(n).name if n in Subop._value2member_map_ else f"#{n}"


def _numbers(old: frozenset[int], new: frozenset[int], old_retired: frozenset[int], new_retired: frozenset[int],
             name: Callable[[int], str]) -> dict[str, list[str]]:
    """Numbers added, removed and newly retired (reserved for ever) from OLD to NEW, by name."""
    return {"added": [f"{name(n)} ({n})" for n in sorted(new - old)],
            "removed": [f"{name(n)} ({n})" for n in sorted(old - new)],
            "retired": [f"{name(n)} ({n})" for n in sorted(new_retired - old_retired)]}


def _plain(name: str, value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(value)
    return f"{value:#010x}" if name.endswith("_bits") and isinstance(value, int) else value


def _span(pos: tuple[int, int] | None) -> str:
    return "-" if pos is None else f"@{pos[0]}+{pos[1]}"


def render_text(doc: dict[str, Any], markdown: bool = False) -> str:
    h = "## " if markdown else ""
    out = [f"{'# ' if markdown else ''}tmem ABI {doc['old']} -> {doc['new']}", ""]
    out += [f"{h}Version row", ""]
    out += [f"- {k}: {v['old']!r} -> {v['new']!r}" for k, v in doc["row"].items()] or ["- (no column differs)"]
    bits = doc["flag_bits"]
    out += ["", f"{h}NEW_POOL flag bits", "", f"- newly refused: {bits['newly_refused']}",
            f"- no longer refused: {bits['no_longer_refused']}", "", f"{h}Commands and sub-ops", "",
            *(f"- {what}: " + "; ".join(f"{k} {', '.join(v) or 'none'}" for k, v in doc[what].items())
              for what in ("commands", "subops")),
            "- features: " + "; ".join(f"{k} {', '.join(f'{n} ({b:#x})' for n, b in v) or 'none'}"
                                      for k, v in doc["features"].items()),
            f"- the toolstack's alone (dom0, TMEM-HC-004), so no guest reaches them: "
            f"{', '.join(doc['toolstack_only'])}"]
    for ws, lay in doc["layouts"].items():
        op, handle = lay["sizeof"]["tmem_op"], lay["sizeof"]["tmem_handle"]
        out += ["", f"{h}Layout, {ws}-bit guests", "",
                f"sizeof tmem_op {op[0]} -> {op[1]}, tmem_handle {handle[0]} -> {handle[1]}", ""]
        if markdown:
            out += ["| struct | field | old | new | change |", "|---|---|---|---|---|"]
        for f in lay["fields"]:
            names = f["field"] if f["old_header"] == f["new_header"] else f"{f['old_header']} -> {f['new_header']}"
            cells = [f["struct"], names, _span(f["old"]), _span(f["new"]), ", ".join(f["changes"])]
            out.append(f"| {' | '.join(cells)} |" if markdown else "  " + "  ".join(cells))
        moved = {c: v["moved"] for c, v in lay["commands"].items() if v["moved"]}
        out += [""] + [f"- {c} ({lay['commands'][c]['member']}) reads moved fields: {', '.join(m)}"
                       for c, m in moved.items()]
        out += [f"- unchanged for every field they read: "
                f"{', '.join(c for c in lay['commands'] if c not in moved) or 'none'}"]
    out += ["", f"{h}Old and new sides together", ""]
    out += [f"- {p['guest']} guest on {p['host']} host, {p['word_size']}-bit: **{p['verdict']}**: {p['where']}"
            if markdown else f"- {p['guest']} guest on {p['host']} host, {p['word_size']}-bit: {p['verdict']}: "
            f"{p['where']}" for p in doc["pairings"]]
    return "\n".join(out) + "\n"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("abidiff", help="what changes between two tmem ABI revisions: layouts, flag bits, "
                                       "and whether each old/new pairing is gated or silent")
    p.add_argument("old", metavar="OLD", help=f"a revision ({', '.join(VERSIONS)}) or its spec number")
    p.add_argument("new", metavar="NEW")
    p.add_argument("--format", choices=FORMATS, default="text")
    add_abi_file(p)
    p.set_defaults(func=main)



def main(args: argparse.Namespace) -> int:
    doc = diff(_key(args.old), _key(args.new), VERSIONS)  # with the --abi-file rows cli.main installed
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(doc, markdown=args.format == "markdown"))
    return 0


def _key(text: str) -> str | int:
    return int(text) if text.isdigit() else text
