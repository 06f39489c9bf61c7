"""The state machines, and which of them run for each kind of matrix cell."""

from __future__ import annotations

from collections.abc import Callable

from ..backend import BackendFactory
from ..models.matrix import Cell
from .base import CellMachine
from .hypercall import ControlMachine, HypercallMachine
from .migration import MigrationMachine
from .pairing import PairingMachine

#: `Machine.configured`: (cell, factory, dest_factory) -> the machine for that cell; a migration's
#: destination hosts come from dest_factory (factory's when None), the other machines ignore it.
Builder = Callable[[Cell, BackendFactory, "BackendFactory | None"], type[CellMachine]]

#: cell kind -> (machine name, builder), in the order they run.
MACHINES: dict[str, tuple[tuple[str, Builder], ...]] = {
    "pairing": (("hypercall", HypercallMachine.configured), ("control", ControlMachine.configured),
                ("pairing", PairingMachine.configured)),
    "migration": (("migration", MigrationMachine.configured),),
}

__all__ = ["MACHINES", "CellMachine", "Builder", "ControlMachine", "HypercallMachine", "MigrationMachine",
           "PairingMachine"]
