"""The quick look and a case's quick start: short examples before the full budget.

The quick look runs a couple of short examples of every machine of a cell, unshrunk, before any
cell's full budget, so that a backend wrong from its first hypercall hears of it in seconds. A
case's quick start runs some short examples on their own before its full run: a failure there is
where the full run starts and shrinks from (rundb.QuickStart), ten steps, not forty. It runs only
when the case fails: a case first runs its full budget unshrunk (`run_case`), and a backend that
passes it has paid for nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hypothesis import Phase, settings
from hypothesis.database import ExampleDatabase, ReadOnlyDatabase
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from .rundb import QuickStart

#: The quick look's examples per machine, and the steps of every quick example.
QUICK_EXAMPLES, QUICK_STEPS = 2, 10
#: A case's quick start: a tenth of a second for a case that passes them.
START_EXAMPLES = 10


def quick_settings(examples: int = QUICK_EXAMPLES, database: ExampleDatabase | None = None) -> settings:
    """The quick look's and a case's quick start's: a few examples of QUICK_STEPS steps, unshrunk."""
    return settings(settings(), max_examples=examples, stateful_step_count=QUICK_STEPS,
                    phases=[Phase.explicit, Phase.generate], database=database)


def quick_start(machine: type[RuleBasedStateMachine]) -> QuickStart:
    """A case's quick start: START_EXAMPLES short examples, on a machine of their own (their counts are
    not the case's). A failure there is where the full run starts, and shrinks from (rundb.QuickStart)."""
    start = QuickStart()
    try:
        run_state_machine_as_test(machine, settings=quick_settings(START_EXAMPLES, start))
    except Exception:  # noqa: S110 - the full run replays it, and reports it
        pass
    return start


M = TypeVar("M", bound=RuleBasedStateMachine)


def run_case(build: Callable[[], type[M]], current: settings) -> tuple[type[M], Exception | None]:
    """A case's run, as certify makes it: (the machine whose counts are the case's, what it raised or None).

    The full budget runs first without its shrink phase, reading the run's database but writing nothing
    there: derandomized, it draws what the full run draws, so a backend that passes has run exactly the
    case's examples and steps. On a failure the case's quick start runs, and then the full run again,
    as it always ran: it replays the quick start's failure (or the family's counterexample) first and
    shrinks from there. The failing run up to its first failure is the price a failing case pays.
    """
    first = build()
    unshrunk = settings(current, phases=[p for p in current.phases if p is not Phase.shrink],
                        database=None if current.database is None else ReadOnlyDatabase(current.database))
    try:
        run_state_machine_as_test(first, settings=unshrunk)
        return first, None
    except Exception:  # noqa: S110 - the full run below meets it again, and reports it
        pass
    start = quick_start(build())
    machine = build()
    try:
        run_state_machine_as_test(machine, settings=settings(current, database=start.seeding(current.database)))
    except Exception as e:
        return machine, e
    return machine, None
