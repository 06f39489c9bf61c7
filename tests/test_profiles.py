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
