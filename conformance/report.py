"""The certification report: verdict per cell, built from per-test results.

JSON shape: {"suite_version", "backend", "profile", "seed", "cells": [{"id", "kind",
"expected", "verdict", "examples", "steps", "seconds", "violations": [{"rule",
"message", "steps"}], "errors": [...]}]}. Verdicts: pass, fail, error, crash, hang.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import __version__
from .models.matrix import Cell

#: Worst first: a cell's verdict is the worst of its machines'.
VERDICTS = ("crash", "hang", "error", "fail", "pass")


@dataclass
class CaseResult:
    cell: str
    machine: str
    verdict: str
    seconds: float
    examples: int = 0
    steps: int = 0
    violation: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass
class Report:
    backend: str
    profile: str
    seed: int | str | None
    cells: list[Cell]
    results: list[CaseResult] = field(default_factory=list)
    destination_backend: str | None = None

    def cell_entries(self) -> list[dict[str, Any]]:
        out = []
        for c in self.cells:
            mine = [r for r in self.results if r.cell == c.id]
            verdict = min((r.verdict for r in mine), key=VERDICTS.index) if mine else "not run"
            entry: dict[str, Any] = c.to_json()
            entry.update(
                verdict=verdict,
                machines={r.machine: r.verdict for r in mine},
                examples=sum(r.examples for r in mine),
                steps=sum(r.steps for r in mine),
                seconds=round(sum(r.seconds for r in mine), 3),
                violations=[dict(r.violation, machine=r.machine) for r in mine if r.violation],
                errors=[dict(r.error, machine=r.machine) for r in mine if r.error],
            )
            out.append(entry)
        return out

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"suite_version": __version__, "backend": self.backend, "profile": self.profile,
                               "seed": self.seed}
        if self.destination_backend and self.destination_backend != self.backend:
            doc["destination_backend"] = self.destination_backend
        doc["cells"] = self.cell_entries()
        return doc

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=2)
            f.write("\n")
