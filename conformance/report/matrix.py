"""The documented matrix as text, Markdown or JSON (`tmem-conformance matrix`)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..models.ctypes_table import WORD_SIZES
from ..models.matrix import GUESTS, OUTCOMES, Cell, GuestKind, cells, migration_id, pairing_id
from ..models.versions import VERSIONS, AbiVersion


def grids(versions: Mapping[str, AbiVersion] = VERSIONS,
          guests: Mapping[str, GuestKind] = GUESTS) -> tuple[list[list[str]], list[list[str]]]:
    """(pairing grid, migration grid): header row first, then one row per guest or source."""
    by_id = {c.id: c for c in cells(versions, guests)}
    pair = [["guest \\ host"] + [f"{h} host" for h in versions]]
    for g in guests:
        for ws in WORD_SIZES:
            pair.append([f"{g} guest, {ws}-bit"] + [by_id[pairing_id(g, ws, h)].expected for h in versions])
    mig = [["source \\ destination"] + [f"{d} host" for d in versions]]
    for s in versions:
        for ws in WORD_SIZES:
            mig.append([f"{s} host, {ws}-bit guest"] + [by_id[migration_id(s, d, ws)].expected
                                                        for d in versions])
    return pair, mig


def markdown_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    line = "  ".join("-" * w for w in widths)
    fmt = [" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join([fmt[0], line.replace("  ", "-+-"), *fmt[1:]])


def render(fmt: str, versions: Mapping[str, AbiVersion] = VERSIONS,
           guests: Mapping[str, GuestKind] = GUESTS) -> str:
    if fmt == "json":
        return json.dumps([c.to_json() for c in cells(versions, guests)], indent=2)
    pair, mig = grids(versions, guests)
    table = markdown_table if fmt == "markdown" else text_table
    legend = "\n".join(f"- {k}: {v}" for k, v in OUTCOMES.items()) if fmt == "markdown" else \
        "\n".join(f"  {k:17} {v}" for k, v in OUTCOMES.items())
    head = "## " if fmt == "markdown" else ""
    return (f"{head}Guest/host pairings\n\n{table(pair)}\n\n{head}Migration and save/restore\n\n"
            f"{table(mig)}\n\n{head}Outcomes\n\n{legend}\n")


def cell_list(versions: Mapping[str, AbiVersion] = VERSIONS) -> list[Cell]:
    return list(cells(versions))


def grid_ids(versions: Mapping[str, AbiVersion] = VERSIONS, guests: Mapping[str, GuestKind] = GUESTS
             ) -> dict[str, tuple[list[str], list[tuple[str, list[str]]]]]:
    """Cell ids laid out as the two grids: kind -> (column labels, [(row label, [cell id per column])])."""
    pair = ([f"{h} host" for h in versions],
            [(f"{g} guest, {ws}-bit", [pairing_id(g, ws, h) for h in versions]) for g in guests for ws in WORD_SIZES])
    mig = ([f"{d} host" for d in versions],
           [(f"{s} host, {ws}-bit guest", [migration_id(s, d, ws) for d in versions])
            for s in versions for ws in WORD_SIZES])
    return {"pairing": pair, "migration": mig}
