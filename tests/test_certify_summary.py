"""certify's closing summary: deviation verdicts in their own style, each cell's deviations listed, and a
last line that says whether the backend conforms at the level it was certified at."""

from __future__ import annotations

import io
import re

from rich.console import Console

from tmem_conformance.certify import VERDICT_STYLE, print_summary
from tmem_conformance.report import Verdict, render

from .deviation_docs import LEVEL, deviation_doc, old_doc


def _summary(doc: dict[str, object]) -> list[str]:
    out = io.StringIO()
    print_summary(doc, Console(file=out, width=200, color_system=None), quiet=False)
    return out.getvalue().rstrip("\n").splitlines()


def test_certify_ends_by_saying_the_backend_conforms_at_the_historical_level() -> None:
    lines = _summary(deviation_doc())
    assert lines[-1] == (f"20 of 20 cells conform at {LEVEL}: 4.1.0-compatible, "
                         "2 known deviations (privilege-check, uuid-falls-through)")
    assert ("mig:v1:v1:64: known deviation privilege-check (TMEM-HC-004, fixed by restored in 2012): the privilege "
            "check of CONTROL is compiled out") in lines
    assert "    in control, migration; first seen at domid 1/64-bit CONTROL SAVE_BEGIN client 1" in lines
    assert any(re.fullmatch(r"│ mig:v1:v1:64 +│ intact +│ deviation +│.*", line) for line in lines), lines


def test_certify_says_how_many_cells_fail_at_a_historical_level_and_stays_as_it_was_at_spec() -> None:
    failing = _summary(deviation_doc(level="historical=4.0.0", failing="mig:v0:v0:64"))
    assert failing[-1] == ("19 of 20 cells conform at historical=4.0.0: 1 fail; "
                           "2 known deviations (privilege-check, uuid-falls-through)")
    assert _summary(old_doc())[-1] == "20 of 20 cells pass"
    assert _summary(deviation_doc(level="spec"))[-1] == "18 of 20 cells pass"


def test_the_deviation_verdict_has_its_own_style_and_symbol() -> None:
    assert set(VERDICT_STYLE) == set(Verdict) == set(render.SYMBOL)
    assert VERDICT_STYLE[Verdict.DEVIATION] not in (VERDICT_STYLE[Verdict.PASS], VERDICT_STYLE[Verdict.FAIL])
    assert render.SYMBOL[Verdict.DEVIATION] not in (render.SYMBOL[Verdict.PASS], render.SYMBOL[Verdict.FAIL])
