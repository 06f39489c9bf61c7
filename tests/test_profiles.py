"""The ci profile's draws come from the strategies alone, not from constants in the suite's source."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: A number no strategy draws on its own: only hypothesis' pool of source constants can give it.
MARKER = 987_654_321

_SCRIPT = textwrap.dedent(f"""
    import sys
    sys.path.insert(0, sys.argv[1])
    from hypothesis import given, settings, strategies as st
    from tmem_conformance import profiles
    {{load}}
    import constants_here  # a local module holding the marker: hypothesis collects its constants
    assert constants_here.MARKER == {MARKER}
    seen = []

    @given(st.integers(0, 10**12))
    @settings(max_examples=2000)
    def test(x):
        seen.append(x)

    test()
    print(sum(x == {MARKER} for x in seen))
""")


def _marker_draws(tmp_path: Path, load: str) -> int:
    (tmp_path / "constants_here.py").write_text(f"MARKER = {MARKER}\n")
    script = _SCRIPT.replace("{load}", load)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


def test_the_ci_profile_draws_no_constant_of_the_source(tmp_path: Path) -> None:
    assert _marker_draws(tmp_path, 'profiles.load("ci")') == 0


def test_without_it_hypothesis_draws_the_sources_constants(tmp_path: Path) -> None:
    """The other guard: the same run under a profile that keeps them draws the marker."""
    drawn = _marker_draws(tmp_path, 'settings.register_profile("ci-kept", parent=settings.get_profile("ci")); '
                                    'settings.load_profile("ci-kept")')
    if drawn == 0:
        pytest.skip("this hypothesis draws no constants from local modules: the ci profile has nothing to turn off")
    assert drawn > 0


def test_the_initialize_rules_strategies_are_built_once_and_nothing_else_is_touched() -> None:
    import hypothesis.stateful
    import hypothesis.strategies as st

    import tmem_conformance.machines  # noqa: F401 - importing the machines installs it
    from tmem_conformance.profiles import _InitializeStrategies

    seen = hypothesis.stateful.st
    assert isinstance(seen, _InitializeStrategies)
    arguments = {"x": st.integers(0, 3)}
    rule = object()
    first = seen.one_of([seen.tuples(seen.just(rule), seen.fixed_dictionaries(arguments))])
    again = seen.one_of([seen.tuples(seen.just(rule), seen.fixed_dictionaries(arguments))])
    assert first is again  # validated once, drawn ever after
    assert seen.fixed_dictionaries(dict(arguments)) is not seen.fixed_dictionaries(arguments)  # by identity
    assert seen.just(object()) is not seen.just(object())
    assert seen.fixed_dictionaries(arguments, optional={}) is not seen.fixed_dictionaries(arguments, optional={})
    assert seen.sampled_from is st.sampled_from and seen.data is st.data  # hypothesis' own


def test_a_machine_draws_the_same_with_its_initialize_strategies_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The other guard: the same case under hypothesis' own strategies (new ones every example) runs
    exactly the same steps, with the same arguments."""
    import hashlib

    import hypothesis.stateful
    import hypothesis.strategies
    from hypothesis import settings
    from hypothesis.stateful import run_state_machine_as_test

    from tmem_conformance.cases import cases_for
    from tmem_conformance.checked import StepLog
    from tmem_conformance.registry import load

    case = next(c for c in cases_for("pair:v1:64:v1") if c.machine == "hypercall")
    assert len(case.build(load("simulator").factory).setup_state().initializers) == 2  # the path it changes
    rule = StepLog.rule

    def steps() -> str:
        digest = hashlib.sha256()

        def logged(log: StepLog, name: str, kwargs: dict[str, object]) -> None:
            digest.update(repr((name, sorted(kwargs.items()))).encode())
            rule(log, name, kwargs)
        with monkeypatch.context() as m:
            m.setattr(StepLog, "rule", logged)
            run_state_machine_as_test(case.build(load("simulator").factory),
                                      settings=settings(settings.get_profile("ci"), max_examples=12))
        return digest.hexdigest()
    built_once = steps()
    monkeypatch.setattr(hypothesis.stateful, "st", hypothesis.strategies)
    assert steps() == built_once
