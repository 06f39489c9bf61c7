"""The worked examples of tests/test_simulator_examples.py, run against ctmem and the standalone library.

One set of examples for every candidate (house rule 3): the module's
tests are collected here too, with its `make` swapped for ctmem's factory
or the factory of libctmem_standalone.so (ctmem's sources built as a
third party would). Expected values stay the literals of that file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tests.test_simulator_examples as examples
from tests.native.libraries import libraries
from tests.test_simulator_examples import *  # noqa: F403 - collect the same examples here
from tmem_conformance.candidates import ctmem
from tmem_conformance.native import load_library

# Tests that read the simulator's own internals, not hypercalls: no example for other candidates.
for _name in [n for n in globals() if n.startswith("test_") and "decoder" in n]:
    del globals()[_name]


@pytest.fixture(autouse=True, params=["ctmem", "standalone"])
def _candidate(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "ctmem":
        factory = ctmem.make
    else:
        factory = load_library(str(libraries(tmp_path_factory)["ctmem_standalone"]))
    monkeypatch.setattr(examples, "make", factory)
    yield request.param
