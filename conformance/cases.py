"""A certification case: one matrix cell run by one state machine."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from .backend import BackendFactory
from .machines import MACHINES, CellMachine
from .machines import migration as migration_machine
from .models.errors import UsageError
from .models.matrix import Cell, cells


@dataclass(frozen=True)
class Case:
    cell: Cell
    machine: str

    @property
    def id(self) -> str:
        return f"{self.cell.id}/{self.machine}"

    def build(self, factory: BackendFactory, dest_factory: BackendFactory | None = None) -> type[CellMachine]:
        if self.machine == "migration":
            return migration_machine.build(self.cell, factory, dest_factory)
        builder = dict(MACHINES[self.cell.kind])[self.machine]
        return builder(self.cell, factory)


def select_cells(pattern: str | None) -> list[Cell]:
    """Cells whose id matches any comma-separated fnmatch pattern ("pair:*", "mig:v0:*", an exact id)."""
    every = list(cells())
    if not pattern:
        return every
    pats = [p.strip() for p in pattern.split(",") if p.strip()]
    chosen = [c for c in every if any(fnmatch.fnmatchcase(c.id, p) for p in pats)]
    if not chosen:
        raise UsageError(f"--cells {pattern!r} matches no cell; ids look like {every[0].id!r} or "
                         f"{every[-1].id!r} (see `tmem-conformance matrix --format json`)")
    return chosen


def cases_for(pattern: str | None) -> list[Case]:
    return [Case(c, name) for c in select_cells(pattern) for name, _ in MACHINES[c.kind]]
