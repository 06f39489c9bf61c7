"""Hypothesis settings profiles: dev (quick, random), ci (deterministic), thorough (exploring).

Budgets live here, never in the machines' code. The ci profile is
derandomized, so the same suite version gives the same run every time.
"""

from __future__ import annotations

import gc
import os

from hypothesis import HealthCheck, Phase, settings

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


def pin_local_constants() -> None:
    """Hypothesis mixes into its draws constants it finds in the source of every "local" module the
    process has imported (hypothesis.internal.conjecture.providers._get_local_constants): which ones
    depends on what the process happened to import, on whether this suite is installed editable or from
    a wheel, and on the source of the backend under test, so a derandomized case drew differently under
    -n 0, xdist, bench and another backend. Certification is the same run for every backend: the pool
    of local constants stays empty (hypothesis' own constants still come)."""
    from hypothesis.internal.conjecture import providers
    if not hasattr(providers, "_get_local_constants"):
        return  # a hypothesis without local constants: nothing differs
    empty = type(providers._local_constants)()
    providers._get_local_constants = lambda: empty
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None:  # allowed constants computed with local ones before this
        cache.cache.clear()


def default_profile() -> str:
    """TMEM_CONFORMANCE_PROFILE if set, else ci: the suite's own tests must not flake."""
    return os.environ.get("TMEM_CONFORMANCE_PROFILE", "ci")


register()
pin_local_constants()
