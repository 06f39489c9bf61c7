"""Hypothesis settings profiles: dev (quick, random), ci (deterministic), thorough (exploring).

Budgets live here, never in the machines' code. The ci profile is
derandomized, so the same suite version gives the same run every time.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from hypothesis import HealthCheck, Phase, settings

PROFILES = ("dev", "ci", "thorough")
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
#: Every profile's phases: hypothesis' own but its explain phase, which varies a shrunk counterexample's
#: parts after shrinking to annotate hypothesis' printout; the suite reports its own step log instead, and
#: explaining took what was left of a case's shrink budget (a case whose shrinking had finished was then
#: reported as not fully shrunk).
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]


def register() -> None:
    settings.register_profile("dev", max_examples=25, stateful_step_count=30, deadline=None,
                              suppress_health_check=_SLOW_OK, phases=PHASES)
    settings.register_profile("ci", max_examples=40, stateful_step_count=40, deadline=None,
                              derandomize=True, database=None, print_blob=False, report_multiple_bugs=False,
                              suppress_health_check=_SLOW_OK, phases=PHASES)
    settings.register_profile("thorough", max_examples=600, stateful_step_count=120, deadline=None,
                              suppress_health_check=_SLOW_OK, phases=PHASES)


#: The collector's first generation while machines run: a machine allocates and drops millions of small
#: objects (ops, outcomes, hypothesis' choices), and at Python's default 700 collecting takes a third of
#: a certification.
GC_THRESHOLD = (10_000, 10, 10)


def quiet_collector() -> None:
    """Before machines run in this process: what exists now is never collected again (gc.freeze; in a
    forked case child that is everything inherited from its parent), and young objects are collected
    fourteen times less often."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def load(name: str) -> None:
    """Load a profile; a derandomized one (ci) also draws no constants from the suite's source text."""
    settings.load_profile(name)
    if settings().derandomize:
        no_source_constants()


def no_source_constants() -> None:
    """Hypothesis (6.131 on) draws, now and then, a constant found in the source of any local module
    loaded so far: for an editable install, the suite's own models and machines. A derandomized run
    then changes with every edit of a number or a string anywhere in the suite, and with which modules
    happened to be imported before a case ran (a case after its quick start drew otherwise than on
    its own). Its draws must come from the strategies alone, so that the same machines make the same
    run: the pool of local constants is left empty (hypothesis' own constants still come). Uses
    hypothesis' internals where they exist; a version without them has nothing to turn off."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without the module has no local constants
        return
    constants = getattr(providers, "Constants", None)
    if constants is None or not callable(getattr(providers, "_get_local_constants", None)):
        return
    empty = constants()
    providers._get_local_constants = lambda: empty  # noqa: SLF001 - no public switch exists


class _InitializeStrategies:
    """hypothesis.strategies as hypothesis.stateful sees it, but for the strategy it builds, in every
    example, to draw a machine's initialize rules that have not run yet: `one_of` of `tuples(just(rule),
    fixed_dictionaries(rule.arguments))` per rule. Those are new objects each time, and validating them
    anew cost about 0.8 ms an example (a machine with two initialize rules), 6% of a hypercall case.
    Here each is made once per set of arguments (by identity; the arguments are kept, so an identity is
    never reused) and is the same object after: a strategy is immutable, so what is drawn is the same.
    Every other name, and a call with keywords, is hypothesis' own."""

    _MEMOIZED = ("just", "tuples", "fixed_dictionaries", "one_of")

    def __init__(self, strategies: Any) -> None:
        self._strategies = strategies
        self._made: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = {}

    def __getattr__(self, name: str) -> Any:
        """Met once per name: the function found is kept on the instance, so later uses find it there."""
        made = getattr(self._strategies, name)
        if name in self._MEMOIZED:
            made = self._once(name, made)
        setattr(self, name, made)
        return made

    def _once(self, name: str, made: Any) -> Any:
        def once(*args: Any, **kwargs: Any) -> Any:
            if kwargs:
                return made(*args, **kwargs)
            # one_of is given one list of options: keyed by the options, not by the list, made anew each time
            kept = tuple(args[0]) if name == "one_of" and len(args) == 1 and isinstance(args[0], list) else args
            key = (name, kept is not args, *map(id, kept))
            hit = self._made.get(key)
            if hit is None:
                hit = self._made[key] = (kept, made(*args))
            return hit[1]
        return once


def reuse_initialize_strategies() -> None:
    """Let hypothesis.stateful build its initialize rules' strategies once (_InitializeStrategies). Where
    hypothesis.stateful does not reach the strategies through the name `st`, nothing changes."""
    import hypothesis.stateful
    import hypothesis.strategies

    if getattr(hypothesis.stateful, "st", None) is hypothesis.strategies:
        hypothesis.stateful.st = _InitializeStrategies(hypothesis.strategies)  # type: ignore[assignment]


def default_profile() -> str:
    """TMEM_CONFORMANCE_PROFILE if set, else ci: the suite's own tests must not flake."""
    return os.environ.get("TMEM_CONFORMANCE_PROFILE", "ci")


register()
