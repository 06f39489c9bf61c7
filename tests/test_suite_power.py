"""Suite power: every fault of the catalogue is rejected under the ci profile, naming one of its rules.

The catalogue is tmem_conformance.selftest.faults.FAULTS: the simulator with one realistic fault each,
the cells that expose it and the one or two rules the first violation must name.
"""

from __future__ import annotations

import re

import pytest

from tmem_conformance.cases import select_cells
from tmem_conformance.examples import path as example_path
from tmem_conformance.models import revisions
from tmem_conformance.models.rules import RULES
from tmem_conformance.selftest import faults
from tmem_conformance.selftest.faults import FAULTS, Broken
from tmem_conformance.selftest.run import fault_job, run_job

#: The faults the issue asks for by name (G1-G5b): each must be in the catalogue.
REQUIRED = {
    "shared-ephemeral-get-exclusive": "G1: a get from a shared ephemeral pool deletes the page",
    "ephemeral-puts-store-nothing": "G2a: ephemeral puts return 1 but store nothing",
    "ephemeral-purge-every-6th-call": "G2b: ephemeral pages vanish far below capacity",
    "write-into-recycled-frame": "G3: a WRITE leaks a freed page's bytes outside its window",
    "nonowner-leave-takes-objects": "G4: a non-owner leaving a shared pool takes others' objects",
    "auth-grants-nothing": "G5a: AUTH grants nothing",
    "auth-grants-every-client": "G5b: AUTH grants to every client",
}


def test_the_catalogue_has_its_shape() -> None:
    assert len(FAULTS) >= 40
    for name, f in FAULTS.items():
        assert f.name == name and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
        assert issubclass(f.backend, Broken) and getattr(faults, f.backend.__name__) is f.backend, name
        assert 1 <= len(f.expect_rules) <= 2, f"{name} expects {sorted(f.expect_rules)}: one or two rules"
        assert f.expect_rules <= set(RULES), f"{name} expects unknown rules {sorted(f.expect_rules - set(RULES))}"
        with revisions.installed([example_path(n) for n in f.abi_files]):
            assert select_cells(f.cells), name
        assert f.area and f.doc and "\n" not in f.doc, name
    assert len({f.backend for f in FAULTS.values()}) == len(FAULTS), "one backend per fault"
    areas = {f.area for f in FAULTS.values()}
    assert {"version negotiation", "object ids", "flush semantics", "ephemeral/persistent semantics",
            "shared pools", "save/restore stream", "errors on bad input"} <= areas


def test_the_faults_the_issue_names_are_there() -> None:
    missing = {name: what for name, what in REQUIRED.items() if name not in FAULTS}
    assert not missing, f"the catalogue lacks {missing}"


def test_every_rule_is_expected_by_some_fault() -> None:
    expected = set().union(*(f.expect_rules for f in FAULTS.values()))
    uncovered = sorted(set(RULES) - expected)
    assert not uncovered, f"no fault of the catalogue is expected to break {uncovered}"


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_killed_naming_its_rule(name: str) -> None:
    """Through `certify`, exactly as `tmem-conformance selftest` runs it (the same derandomized examples)."""
    fault = FAULTS[name]
    got = run_job(fault_job(fault), "ci", None)
    assert got["verdict"] == "killed", f"{name} passed every case of {fault.cells}: the suite did not catch it"
    assert got["named_expected"], f"{name} was caught by {got['rules']}, not one of {sorted(fault.expect_rules)}"


def test_the_recorded_power_is_of_this_catalogue() -> None:
    from tmem_conformance.models.rules import RULES as ALL_RULES
    from tmem_conformance.selftest.power import measured_power
    from tmem_conformance.selftest.variants import VARIANTS
    power = measured_power()
    assert power is not None, "power.json is missing: run `tmem-conformance selftest --save-power`"
    assert (power["faults"], power["variants"], power["rules"]) == (len(FAULTS), len(VARIANTS), len(ALL_RULES)), \
        "power.json is stale: re-run `tmem-conformance selftest --save-power`"
    assert power["faults_killed"] == len(FAULTS), "power.json records faults the suite does not kill"
    assert power["rules_covered"] == len(ALL_RULES), "power.json records rules no killed fault names"
