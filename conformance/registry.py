"""Finding a backend: a registered name, or a `package.module:attr` spec.

Names come from the entry-point group `tmem_conformance.backends` (the
built-in candidates register there too), so another distribution adds its
own backend by declaring one entry point. Anything that cannot be loaded
is a UsageError that says what was tried and how to fix it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

from .backend import BackendFactory, UnknownVersionError
from .models.errors import UsageError
from .models.versions import VERSIONS

GROUP = "tmem_conformance.backends"

def _native(spec: str) -> bool:
    from .native import looks_like_library
    return looks_like_library(spec)


def _load_native(spec: str) -> BackendFactory:
    from .native import load_library
    return load_library(spec)


#: Loaders for specs that are not names or module:attr: a native library exporting tmem_backend.h.
SPEC_LOADERS: list[tuple[Callable[[str], bool], Callable[[str], BackendFactory]]] = [(_native, _load_native)]


@dataclass(frozen=True)
class LoadedBackend:
    spec: str
    name: str
    factory: BackendFactory


def versions_made_by(factory: BackendFactory) -> frozenset[str]:
    """The revisions of the version table a backend makes hosts of: one it answers UnknownVersionError
    for is not its own (a peer that lacks a proposed revision takes no part in that revision's cells)."""
    made = set()
    for row in VERSIONS.values():
        try:
            host = factory(row.spec, 1)
        except UnknownVersionError:
            continue
        host.close()
        made.add(row.name)
    return frozenset(made)


def registered() -> dict[str, str]:
    """Registered backend names and what they point at."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load(spec: str) -> LoadedBackend:
    if not spec:
        raise UsageError("no backend given: pass --backend NAME or --backend package.module:attr "
                         f"(registered names: {', '.join(sorted(registered())) or 'none'})")
    for matches, loader in SPEC_LOADERS:
        if matches(spec):
            return LoadedBackend(spec, spec, loader(spec))
    eps = {ep.name: ep for ep in entry_points(group=GROUP)}
    if spec in eps:
        try:
            factory = eps[spec].load()
        except Exception as e:  # a broken third-party registration must not be a traceback
            raise UsageError(f"backend {spec!r} is registered as {eps[spec].value!r} but cannot be "
                             f"loaded: {type(e).__name__}: {e}") from e
        return LoadedBackend(spec, spec, _callable(spec, factory))
    if ":" not in spec:
        raise UsageError(f"unknown backend {spec!r}: use a registered name "
                         f"({', '.join(sorted(eps)) or 'none registered'}) or package.module:attr naming "
                         f"a factory make(abi_version, capacity_pages)")
    module_name, _, attr = spec.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as e:
        raise UsageError(f"cannot import module {module_name!r} of backend {spec!r}: "
                         f"{type(e).__name__}: {e} (is it on PYTHONPATH or in the current directory?)") from e
    obj: object = module
    for part in attr.split("."):
        if not part or not hasattr(obj, part):
            raise UsageError(f"module {module_name!r} has no attribute {attr!r} (backend {spec!r})")
        obj = getattr(obj, part)
    return LoadedBackend(spec, spec, _callable(spec, obj))


def _callable(spec: str, obj: object) -> BackendFactory:
    if not callable(obj):
        raise UsageError(f"backend {spec!r} names {type(obj).__name__} {obj!r}, not a factory "
                         f"make(abi_version, capacity_pages)")
    return obj  # type: ignore[return-value]
