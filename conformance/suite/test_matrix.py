"""One test per (matrix cell, state machine), parametrized by the plugin (see plugin.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from tmem_conformance.cases import Case
from tmem_conformance.registry import LoadedBackend


def test_cell(tmem_case: Case, tmem_backend: LoadedBackend, tmem_dest_backend: LoadedBackend,
              request: pytest.FixtureRequest) -> None:
    machine = tmem_case.build(tmem_backend.factory, tmem_dest_backend.factory)
    try:
        run_state_machine_as_test(machine, settings=settings())
    finally:
        request.node.user_properties.append(("tmem", json.dumps({
            "cell": tmem_case.cell.id, "machine": tmem_case.machine,
            "examples": machine.examples, "steps": machine.steps})))
