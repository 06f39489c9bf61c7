"""Report documents with known deviations, written out by hand for the report tests (no certification run).

The deviation records are the plugin's (one per distinct id per case), and the cell entries the shape
the report layer is to give them: the record's id under "deviation", "machine" and "id" (cell/machine)
added, as a violation's.
"""

from __future__ import annotations

import copy
from typing import Any

from tmem_conformance.models.matrix import cells

LEVEL = "historical=4.1.0"
#: Records as a case reports them.
UUID = {"id": "uuid-falls-through", "rule": "TMEM-SAVE-006",
        "summary": "SAVE_GET_POOL_UUID falls through into SAVE_END", "fix": "9a2982ce85",
        "what": "source (v1): dom0/64-bit CONTROL SAVE_GET_POOL_UUID pool 0"}
PRIVILEGE = {"id": "privilege-check", "rule": "TMEM-HC-004",
             "summary": "the privilege check of CONTROL is compiled out", "fix": "restored in 2012",
             "what": "domid 1/64-bit CONTROL SAVE_BEGIN client 1"}
#: The deviation cells: cell -> (machine, records of that case).
DEVIATING = {"mig:v1:v1:64": [("migration", [UUID, PRIVILEGE]), ("control", [PRIVILEGE])],
             "pair:v1:64:v1": [("control", [PRIVILEGE])]}


def entry(record: dict[str, Any], cell: str, machine: str) -> dict[str, Any]:
    """A record as its cell lists it, spelled out key by key."""
    return {"deviation": record["id"], "rule": record["rule"], "summary": record["summary"], "fix": record["fix"],
            "what": record["what"], "machine": machine, "id": f"{cell}/{machine}"}


def _cell(cid: str, verdict: str, deviating: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    c = next(c for c in cells() if c.id == cid)
    machines = {m: "deviation" for m, _ in deviating} or {"pairing" if c.kind == "pairing" else "migration": verdict}
    return {**c.to_json(), "verdict": verdict, "machines": machines, "examples": 10, "steps": 40, "seconds": 1.5,
            "violations": [], "errors": [],
            "deviations": [entry(r, cid, m) for m, records in deviating for r in records]}


def deviation_doc(level: str = LEVEL, failing: str | None = None, backend: str = "simulator") -> dict[str, Any]:
    """Every documented cell: DEVIATING's as deviation, the one named by failing as fail, the others pass."""
    out = []
    for c in cells():
        cell = _cell(c.id, "deviation", DEVIATING[c.id]) if c.id in DEVIATING else _cell(c.id, "pass", [])
        if c.id == failing:
            cell = _cell(c.id, "fail", [])
            cell["violations"] = [{"id": f"{c.id}/control", "machine": "control", "rule": "TMEM-HC-004",
                                   "message": "rule TMEM-HC-004 violated: expected -1, got 0", "steps": ["step 1"]}]
        out.append(cell)
    return {"suite_version": "0.1.0", "backend": backend, "profile": "ci", "seed": "derandomized", "level": level,
            "cells": out}


def old_doc() -> dict[str, Any]:
    """A report as written before levels: no "level", no cell "deviations", every cell a pass."""
    doc = copy.deepcopy(deviation_doc())
    del doc["level"]
    for c in doc["cells"]:
        c["verdict"] = "pass"
        c["machines"] = {m: "pass" for m in c["machines"]}
        del c["deviations"]
    return doc
