"""Every built-in candidate, through the registry: one parametrized fixture for the worked examples.

A test module imports `candidate` (autouse, parametrized) and `make`; each
test then runs once per candidate with `make` that candidate's factory. A
candidate that cannot be loaded fails, never skips (house rule 4).
`ctmem-standalone` is ctmem's C sources built a second time as a third
party would, loaded by path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.native.libraries import libraries
from tmem_conformance.backend import BackendFactory
from tmem_conformance.native import load_library
from tmem_conformance.registry import load

CANDIDATES = ("simulator", "ctmem", "ctmem-standalone", "cytmem")
_current: dict[str, BackendFactory] = {}


def make(abi_version: int | str, capacity_pages: int) -> Any:
    """The candidate under test's factory (set for each test by the `candidate` fixture)."""
    return _current["factory"](abi_version, capacity_pages)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, params=CANDIDATES)
def candidate(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "ctmem-standalone":
        _current["factory"] = load_library(str(libraries(tmp_path_factory)["ctmem_standalone"]))
    else:
        _current["factory"] = load(request.param).factory
    yield str(request.param)
    _current.clear()
