"""The three state machines, and which of them run for each kind of matrix cell."""

from __future__ import annotations

from collections.abc import Callable

from ..backend import BackendFactory
from ..models.matrix import Cell
from . import hypercall, migration, pairing
from .base import CellMachine

Builder = Callable[[Cell, BackendFactory], type[CellMachine]]

#: cell kind -> (machine name, builder), in the order they run.
MACHINES: dict[str, tuple[tuple[str, Builder], ...]] = {
    "pairing": (("hypercall", hypercall.build), ("control", hypercall.build_control), ("pairing", pairing.build)),
    "migration": (("migration", migration.build),),
}

__all__ = ["MACHINES", "CellMachine", "Builder"]
