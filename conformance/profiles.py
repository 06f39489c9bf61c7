"""Hypothesis settings profiles: dev (quick, random), ci (deterministic), thorough (exploring).

Budgets live here, never in the machines' code. The ci profile is
derandomized, so the same suite version gives the same run every time.
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import os
import types
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.internal.floats import float_to_int
from sortedcontainers import SortedSet

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


#: The packages whose source constants hypothesis may draw (pin_local_constants): the suite itself, its
#: specification (ABI numbers, flags, layouts), strategies, machines and engine, never a backend's.
CONSTANT_SOURCES = ("tmem_conformance", "tmem_conformance.models", "tmem_conformance.strategies")
#: ... less these: the implementations (the built-in candidates, the broken backends) and the examples
CONSTANT_SOURCES_NOT = ("tmem_conformance.candidates", "tmem_conformance.selftest", "tmem_conformance.examples",
                        "tmem_conformance.suite")


def pin_local_constants() -> None:
    """Hypothesis mixes into its draws constants it finds in the source of every "local" module the
    process has imported (hypothesis.internal.conjecture.providers._get_local_constants): which ones
    depended on what the process happened to import, on whether this suite was installed editable or
    from a wheel (site-packages is never local), and on the source of the backend under test, so a
    derandomized case drew differently under -n 0, xdist, bench and another backend. The pool is pinned
    to the constants of CONSTANT_SOURCES, for every install and every backend (they find the bugs the
    ABI's own numbers expose: reserved bits, buffer lengths)."""
    from hypothesis.internal.conjecture import providers
    if not hasattr(providers, "_get_local_constants"):
        return  # a hypothesis without local constants: nothing differs
    providers._get_local_constants = constants_pool
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None:  # allowed constants computed from another pool before this
        cache.cache.clear()


@functools.cache
def constants_pool() -> Any:
    """The constants of CONSTANT_SOURCES in hypothesis' sorted sets (a fixed order), read from their
    source files without importing them. It takes a tenth of a second or so: a process that forks case
    children computes it first (plugin, bench)."""
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import constants_from_module
    found = providers._local_constants.__class__(
        integers=SortedSet(), floats=SortedSet(key=float_to_int), bytes=SortedSet(), strings=SortedSet())
    for name, path in _sources(CONSTANT_SOURCES):
        module = types.ModuleType(name)
        module.__file__ = str(path)
        found = found | constants_from_module(module)
    return found


def _sources(packages: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(module name, source file) of every module of these packages, less CONSTANT_SOURCES_NOT, sorted."""
    out: dict[str, Path] = {}  # (a wheel has models/ under the package's folder, a checkout beside it)
    for package in packages:
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.submodule_search_locations is not None, package
        for root in spec.submodule_search_locations:
            for path in Path(root).rglob("*.py"):
                parts = (*package.split("."), *path.relative_to(root).with_suffix("").parts)
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                if not any(name == n or name.startswith(n + ".") for n in CONSTANT_SOURCES_NOT):
                    out[name] = path
    return sorted(out.items())


def default_profile() -> str:
    """TMEM_CONFORMANCE_PROFILE if set, else ci: the suite's own tests must not flake."""
    return os.environ.get("TMEM_CONFORMANCE_PROFILE", "ci")


register()
pin_local_constants()
