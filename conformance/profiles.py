"""Hypothesis settings profiles: dev (quick, random), ci (deterministic), thorough (exploring).

Budgets live here, never in the machines' code. The ci profile is
derandomized, so the same suite version gives the same run every time:
also wherever it is installed and whichever backend it certifies, for the
constants hypothesis mixes into its draws are pinned (`pin_constants`).
"""

from __future__ import annotations

import gc
import os

from hypothesis import HealthCheck, Phase, settings

from .models import abi

PROFILES = ("dev", "ci", "thorough")
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def register() -> None:
    settings.register_profile("dev", max_examples=25, stateful_step_count=30, deadline=None,
                              suppress_health_check=_SLOW_OK)
    settings.register_profile("ci", max_examples=40, stateful_step_count=40, deadline=None,
                              derandomize=True, database=None, print_blob=False, report_multiple_bugs=False,
                              suppress_health_check=_SLOW_OK)
    settings.register_profile("thorough", max_examples=600, stateful_step_count=120, deadline=None,
                              suppress_health_check=_SLOW_OK,
                              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target,
                                      Phase.shrink, Phase.explain])


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


def abi_constants() -> list[int]:
    """The numbers of the ABI under test (models/abi.py): every named constant, enum value and flag bit,
    and each error number negated as a host returns it. Sorted, so that a draw from them is reproducible."""
    out: set[int] = set()
    for value in vars(abi).values():
        if isinstance(value, type) and value.__module__ == abi.__name__:  # Cmd, Subop, Errno, PoolFlag, ...
            out |= {int(v) for k, v in vars(value).items() if not k.startswith("_") and type(v) in (int, value)}
        elif type(value) is int:
            out.add(value)
    out |= {-int(e) for e in abi.Errno}
    return sorted(out)


def pin_constants() -> bool:
    """Make hypothesis draw its occasional constants from the ABI's numbers, not from the source text.

    Hypothesis (6.131 and later) now and then draws a literal found in the source of any "local" module
    loaded (hypothesis.internal.conjecture.providers): which modules count depends on how the suite is
    installed (a wheel's site-packages never count, a checkout does) and on the backend's own source, and
    every edit to any of them changes the draws. A certification would then depend on more than the suite
    version and the backend's behaviour. Pinned, the pool is abi_constants(); it also spares each forked
    case a scan of every module loaded. False when this hypothesis has no such pool (nothing to pin).
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
        from sortedcontainers import SortedSet
    except ImportError:  # pragma: no cover - a hypothesis from before local constants
        return False
    if not callable(getattr(providers, "_get_local_constants", None)) or \
            not hasattr(providers, "CONSTANTS_CACHE"):
        return False  # pragma: no cover
    pool = Constants(integers=SortedSet(abi_constants()), floats=SortedSet(), bytes=SortedSet(),
                     strings=SortedSet())
    providers._get_local_constants = lambda: pool
    providers.CONSTANTS_CACHE.cache.clear()
    return True


def default_profile() -> str:
    """TMEM_CONFORMANCE_PROFILE if set, else ci: the suite's own tests must not flake."""
    return os.environ.get("TMEM_CONFORMANCE_PROFILE", "ci")


register()
pin_constants()
