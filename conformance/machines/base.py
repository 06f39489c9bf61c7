"""What every state machine shares: a step log, violations that carry it, the cell it runs."""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from hypothesis.stateful import RuleBasedStateMachine

from .. import isolation, profiles
from ..backend import BackendFactory
from ..checked import BackendError, StepLog
from ..models.errors import Violation
from ..models.history import DEVIATIONS
from ..models.matrix import Cell

F = TypeVar("F", bound=Callable[..., Any])

profiles.reuse_initialize_strategies()  # every example draws the machine's initialize rules


def logged(fn: F | None = None, *, step: bool = True) -> Any:
    """Count the rule as a step once it returns (where a machine's steps are its rules; `step=False`
    for an initialize rule, which sets up rather than steps), and attach the step log to a violation
    raised in it (a guest's or the machine's own check); add its time to the class's `rule_seconds`
    (the suite's share of a run: model, checked host, backend, machine). `@logged` or
    `@logged(step=False)`."""
    if fn is None:
        return functools.partial(logged, step=step)

    @functools.wraps(fn)
    def wrapper(self: CellMachine, *args: Any, **kwargs: Any) -> Any:
        counts = type(self).__dict__.get("rule_counts")
        if counts is None:
            counts = type(self).rule_counts = Counter()
        counts[fn.__name__] += 1
        start = time.perf_counter()
        self.log.rule(fn.__name__, kwargs)
        try:
            out = fn(self, *args, **kwargs)
            if step and type(self).steps_are_rules:
                type(self).steps += 1
            return out
        except BackendError:
            type(self).steps += 1  # the step that raised ran too: an error verdict counts it
            self.failed = True
            raise
        except Violation as v:
            self.failed = True
            if type(self).first_failure is None:
                type(self).first_failure = time.monotonic()  # shrinking starts about now
            if not getattr(v, "steps", None):
                v.steps = list(self.log.lines)
                v.events = self.log.replay_events()
            raise
        finally:
            type(self).rule_seconds += time.perf_counter() - start
    return wrapper


def under(renames: dict[str, str] | str) -> Callable[[F], F]:
    """Run a rule with its host naming page-rule violations by what the rule's guest was promised
    (`renames`, or the machine's attribute of that name when it depends on the cell)."""
    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            with self.host.promised(getattr(self, renames) if isinstance(renames, str) else renames):
                return fn(self, *args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return deco


class CellMachine(RuleBasedStateMachine):
    """Counts examples and steps for the certification report.

    A machine is a module-level class; `configured` makes the subclass that runs one cell, with the
    cell and its backend factories as class attributes (and its own counters).
    """

    cell: ClassVar[Cell]
    factory: ClassVar[BackendFactory]
    dest_factory: ClassVar[BackendFactory | None] = None

    #: the historical deviations the certification level accepts (models/history.py)
    tolerated: ClassVar[frozenset[str]] = frozenset()
    examples = 0
    steps = 0
    #: seconds spent inside the rules (`logged`): the rest of a run is hypothesis' drawing and bookkeeping
    rule_seconds = 0.0
    #: the deviations passing examples took: id -> the op that first showed it
    deviations: ClassVar[dict[str, str]]
    #: True: a step is a rule that returned (`logged` counts it); False: the machine counts its hypercalls
    steps_are_rules: ClassVar[bool] = True
    rule_counts: Counter[str]
    #: a rule of this example raised: teardown checks nothing more, so that violation is the one reported
    failed = False
    #: when the first violation of the case was raised (time.monotonic()), or None
    first_failure: float | None = None

    @classmethod
    def configured(cls, cell: Cell, factory: BackendFactory,
                   dest_factory: BackendFactory | None = None) -> type[CellMachine]:
        """This machine for one cell, on hosts made by `factory` (a migration's destination by
        `dest_factory`, else by `factory` too)."""
        # A qualname inspect finds no source for (the class is made here, not written): hypothesis then
        # derives the derandomized seed and the database key from the name alone, as it did when each
        # machine was a class made in a function, so editing a machine does not change every example.
        # Its module is the machines' package, whose few lines inspect parses in looking for it, where
        # the machine's own module cost 4-15 ms of every run (hypothesis digests the class each time).
        attrs: dict[str, Any] = {"__module__": __package__, "cell": cell,
                                 "__qualname__": f"CellMachine.configured.<locals>.{cls.__name__}",
                                 "factory": staticmethod(factory),
                                 "dest_factory": None if dest_factory is None else staticmethod(dest_factory)}
        attrs.update(cls.for_cell(cell))
        return type(cls.__name__, (cls,), attrs)

    @classmethod
    def for_cell(cls, cell: Cell) -> dict[str, Any]:
        """Class attributes a machine derives from its cell (its host's version, say)."""
        return {}

    def __init__(self) -> None:
        super().__init__()
        self.log = StepLog()
        self.hosts: list[Any] = []
        type(self).examples += 1
        isolation.note(None)  # a crash report shows the steps of this example only

    def step_done(self) -> None:
        type(self).steps += 1

    def teardown(self) -> None:
        if not self.failed:
            seen = type(self).__dict__.get("deviations")
            if seen is None:
                seen = type(self).deviations = {}
            for h in self.hosts:
                for dev, what in h.model.deviations.items():
                    seen.setdefault(dev, what)
        for h in self.hosts:
            h.close()


def deviation_records(machine: type[CellMachine]) -> list[dict[str, str]]:
    """The deviations a machine's passing examples took, as the report names them (history.py)."""
    seen = machine.__dict__.get("deviations", {})
    return [DEVIATIONS[dev].record(what) for dev, what in sorted(seen.items())]
