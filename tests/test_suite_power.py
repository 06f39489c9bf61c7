"""Suite power: every deliberately broken backend is rejected under the ci profile, naming its rule."""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tmem_conformance.cases import cases_for
from tmem_conformance.models.errors import Violation

from .broken import CATALOGUE

#: The ci profile without the shrink phase: these tests ask whether a fault is caught and by which
#: rule; shrinking the counterexample is shown once, end to end, in test_certify_cli.py.
DETECT = settings(settings.get_profile("ci"), phases=[Phase.explicit, Phase.reuse, Phase.generate])


def test_the_catalogue_covers_the_areas_it_must() -> None:
    areas = {f.area for f in CATALOGUE.values()}
    assert len(CATALOGUE) >= 12
    assert {"version negotiation", "object ids", "flush semantics", "ephemeral/persistent semantics",
            "shared pools", "save/restore stream", "errors on bad input"} <= areas


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_broken_backend_is_rejected_with_its_rule(name: str) -> None:
    fault = CATALOGUE[name]
    caught: list[Violation] = []
    for case in cases_for(fault.cells):
        machine = case.build(fault.backend)
        try:
            run_state_machine_as_test(machine, settings=DETECT)
        except Violation as v:
            caught.append(v)
            break
    assert caught, f"{name} passed every case of {fault.cells}: the suite did not catch it"
    v = caught[0]
    assert v.rule in fault.rules, f"{name} was caught by {v.rule}, not one of {sorted(fault.rules)}: {v}"
    assert v.steps, "a violation carries the steps that show it"
