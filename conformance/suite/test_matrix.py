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
from tmem_conformance.checked import BackendDied, BackendError, find_exception, find_violation, steps_from_trail
from tmem_conformance.isolation import run_isolated
from tmem_conformance.machines.base import CellMachine, deviation_records
from tmem_conformance.models.history import Level
from tmem_conformance.outofprocess import out_of_process
from tmem_conformance.profiles import quiet_collector
from tmem_conformance.quick import quick_settings, run_case
from tmem_conformance.registry import LoadedBackend
from tmem_conformance.rundb import RunDatabase

#: A crash shrinks for this many times --shrink-seconds: each example it tries starts a helper process
#: per host (outofprocess.py), some 70 ms, and crashes are rare enough to be worth the wait.
CRASH_SHRINK_FACTOR = 10


def test_quick_look(tmem_quick_cell: list[Case], tmem_backend: LoadedBackend, tmem_dest_backend: LoadedBackend,
                    tmem_peers: dict[str, LoadedBackend], tmem_time_limit: float, tmem_level: Level,
                    request: pytest.FixtureRequest) -> None:
    quick = quick_settings()

    def run() -> tuple[int, BaseException] | None:
        quiet_collector()
        for i, case in enumerate(tmem_quick_cell):
            machine = case.build(tmem_backend.factory, tmem_dest_backend.factory,
                                 {name: peer.factory for name, peer in tmem_peers.items()}, tmem_level.tolerated)
            try:
                run_state_machine_as_test(machine, settings=quick)
            except Exception as e:
                return i, e
        return None

    result = run_isolated(run, timeout=tmem_time_limit)
    if result.kind != "ok" or result.value is None:  # a crash or hang is the full case's to report
        return
    i, failure = result.value
    v = find_violation(failure)
    if v is not None:
        v.fully_shrunk = False
        case = tmem_quick_cell[i]  # a shared run's violation is each of its cells' (cases.shared_runs)
        request.node.user_properties.append(("tmem-quick", json.dumps({
            "cell": case.cell.id, "machine": case.label, **({"also": list(case.also)} if case.also else {})})))
        raise v


def test_cell(tmem_case: Case, tmem_backend: LoadedBackend, tmem_dest_backend: LoadedBackend,
              tmem_peers: dict[str, LoadedBackend], tmem_time_limit: float, tmem_shrink_seconds: float,
              tmem_rundb: RunDatabase, tmem_level: Level, request: pytest.FixtureRequest) -> None:
    def build() -> type[CellMachine]:
        return tmem_case.build(tmem_backend.factory, tmem_dest_backend.factory,
                               {name: peer.factory for name, peer in tmem_peers.items()}, tmem_level.tolerated)
    # Its family's counterexamples first (rundb.py); derandomized generation is unchanged by them.
    current = settings(settings(), database=tmem_rundb.examples(tmem_case.family, settings().database))
    budget = tmem_shrink_seconds * tmem_case.shrink_weight  # a slow-shrinking machine gets more (cases.py)

    def run() -> tuple[int, int, list[dict[str, str]], BaseException | None]:
        quiet_collector()
        # Hypothesis stops shrinking after this long and reports the smallest counterexample so far.
        engine.MAX_SHRINKING_SECONDS = budget  # type: ignore[assignment]  # compared with seconds
        machine, e = run_case(build, current)
        if e is not None:  # sent back with the counts; re-raised in the parent
            v = find_violation(e)
            if v is not None:  # shrunk as far as it goes only if shrinking ran and ended before the budget
                began = machine.first_failure
                v.fully_shrunk = Phase.shrink in current.phases and (
                    began is None or time.monotonic() - began < budget)
                v.shrink_seconds = budget if Phase.shrink in current.phases else None
            return machine.examples, machine.steps, [], e
        return machine.examples, machine.steps, deviation_records(machine), None

    result = run_isolated(run, timeout=tmem_time_limit, trail=True)
    examples, steps, deviations, failure = result.value if result.kind == "ok" else (0, 0, [], None)
    request.node.user_properties.append(("tmem", json.dumps({
        "cell": tmem_case.cell.id, "machine": tmem_case.label, "examples": examples, "steps": steps,
        **({"deviations": deviations} if deviations else {}),
        **({"also": list(tmem_case.also)} if tmem_case.also else {})})))
    if result.kind in ("crash", "hang"):
        steps = steps_from_trail(result.trail)
        flight = f"; the op in flight: {steps[-1]}" if steps else ""
        message = f"{tmem_case.id}: {result.describe()}{flight}"
        if result.kind == "crash" and Phase.shrink in current.phases:
            shrunk = shrink_crash(tmem_case, tmem_backend, tmem_dest_backend, tmem_peers, current,
                                  CRASH_SHRINK_FACTOR * budget, tmem_time_limit)
            events: list[dict[str, object]] = []
            if shrunk is not None and len(shrunk[1]) <= len(steps):
                what, shorter, events = shrunk
                message = f"{tmem_case.id}: {result.describe()}; shrunk to {len(shorter)} steps from {len(steps)}: " \
                          f"{what}"
                steps = shorter
            raise BackendDied(result.kind, message, steps, result.frames, events)
        raise BackendDied(result.kind, message, steps, result.frames)
    if result.kind == "raised":
        assert result.exception is not None
        raise result.exception
    if failure is not None:
        v = find_violation(failure)
        if v is not None:
            tmem_rundb.share(tmem_case.family, f"{tmem_case.cell.id}/{tmem_case.label}", v)  # a violation's id
        raise failure


def shrink_crash(case: Case, backend: LoadedBackend, dest: LoadedBackend, peers: dict[str, LoadedBackend],
                 current: settings, budget: float,
                 time_limit: float) -> tuple[str, list[str], list[dict[str, object]]] | None:
    """The case again, each host in a helper process (outofprocess.py): a crash is then an exception that
    hypothesis shrinks, for at most `budget` seconds. (what the backend did, the shrunk steps, their
    events for `replay`), or None if it does not crash again."""
    machine = case.build(out_of_process(backend.factory), out_of_process(dest.factory),
                         {name: out_of_process(peer.factory) for name, peer in peers.items()})

    def run() -> tuple[str, list[str], list[dict[str, object]]] | None:
        engine.MAX_SHRINKING_SECONDS = budget  # type: ignore[assignment]  # compared with seconds
        try:
            run_state_machine_as_test(machine, settings=current)
        except Exception as e:
            err = find_exception(e, BackendError)
            if isinstance(err, BackendError) and "BackendCrashed" in str(err):
                return str(err), list(err.steps), list(err.events)
        return None

    again = run_isolated(run, timeout=time_limit)
    return again.value if again.kind == "ok" else None
