"""One test per (matrix cell, state machine), parametrized by the plugin (see plugin.py).

Each case runs in a forked child with a time limit, so a backend that
segfaults, aborts or never returns costs one cell ("crash", "hang"), not
the run.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import Phase, settings
from hypothesis.internal.conjecture import engine
from hypothesis.stateful import run_state_machine_as_test

from tmem_conformance.cases import Case
from tmem_conformance.checked import BackendDied, find_violation, steps_from_trail
from tmem_conformance.isolation import run_isolated
from tmem_conformance.registry import LoadedBackend


def test_cell(tmem_case: Case, tmem_backend: LoadedBackend, tmem_dest_backend: LoadedBackend,
              tmem_peers: dict[str, LoadedBackend], tmem_time_limit: float, tmem_shrink_seconds: float,
              request: pytest.FixtureRequest) -> None:
    machine = tmem_case.build(tmem_backend.factory, tmem_dest_backend.factory,
                              {name: peer.factory for name, peer in tmem_peers.items()})
    current = settings()

    def run() -> tuple[int, int, BaseException | None]:
        # Hypothesis stops shrinking after this long and reports the smallest counterexample so far.
        engine.MAX_SHRINKING_SECONDS = tmem_shrink_seconds
        try:
            run_state_machine_as_test(machine, settings=current)
        except Exception as e:  # sent back with the counts; re-raised in the parent
            v = find_violation(e)
            if v is not None:  # shrunk as far as it goes only if shrinking ran and ended before the budget
                began = machine.first_failure
                v.fully_shrunk = Phase.shrink in current.phases and (
                    began is None or time.monotonic() - began < tmem_shrink_seconds)
            return machine.examples, machine.steps, e
        return machine.examples, machine.steps, None

    result = run_isolated(run, timeout=tmem_time_limit, trail=True)
    examples, steps, failure = result.value if result.kind == "ok" else (0, 0, None)
    request.node.user_properties.append(("tmem", json.dumps({
        "cell": tmem_case.cell.id, "machine": tmem_case.label, "examples": examples, "steps": steps})))
    if result.kind in ("crash", "hang"):
        steps = steps_from_trail(result.trail)
        flight = f"; the op in flight: {steps[-1]}" if steps else ""
        raise BackendDied(result.kind, f"{tmem_case.id}: {result.describe()}{flight}", steps, result.frames)
    if result.kind == "raised":
        assert result.exception is not None
        raise result.exception
    if failure is not None:
        raise failure
