"""Verdicts: a case's, from its test report, and a cell's, from its cases.

A verdict is a string in the JSON report; Verdict is a str enum, so a member
compares equal to the string a loaded report holds and serialises as it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """Worst first: a cell's verdict is the worst of its cases'."""

    CRASH = "crash"  # the backend killed the process running the case
    HANG = "hang"  # the case ran past its time limit
    ERROR = "error"  # the backend raised, or answered something that is not a return value
    FAIL = "fail"  # a rule was violated
    NOT_RUN = "not run"  # no case of the cell ran (a shard or an interrupted run left it out)
    DEVIATION = "deviation"  # kept every rule but the defects the certified release had (tmem-abi.md section 9)
    PASS = "pass"

    @property
    def died(self) -> bool:
        """The backend went wrong in a way other than breaking a rule (error, crash, hang)."""
        return self in (Verdict.ERROR, Verdict.CRASH, Verdict.HANG)


_ORDER = list(Verdict)


def cell_verdict(cases: Iterable[str]) -> Verdict:
    """A cell's verdict: the worst of its cases' verdicts, not run if none ran."""
    return min((Verdict(v) for v in cases), key=_ORDER.index, default=Verdict.NOT_RUN)


def case_deviations(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The known deviations a case accepted, from its "tmem" property (absent in runs before levels)."""
    return list(json.loads(props["tmem"]).get("deviations", [])) if "tmem" in props else []


def case_verdict(passed: bool, props: Mapping[str, Any]) -> Verdict:
    """A case's verdict from its test report's user properties: pass, deviation (passed by accepting a
    historical defect), fail (a violation), or how the backend died (crash, hang; error when it raised
    or answered something that is not a return value)."""
    if passed:
        return Verdict.DEVIATION if case_deviations(props) else Verdict.PASS
    return Verdict.FAIL if "tmem-violation" in props else Verdict(props.get("tmem-died", Verdict.ERROR))
