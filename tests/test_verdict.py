"""One verdict type: the report schema's verdicts, a case's verdict from its test report, a cell's from its cases."""

from __future__ import annotations

import json

import pytest

from tmem_conformance.report import Verdict, case_deviations, case_verdict, cell_verdict, schema

from .deviation_docs import UUID


def test_the_verdicts_are_the_schemas() -> None:
    assert [v.value for v in Verdict] == ["crash", "hang", "error", "fail", "not run", "deviation", "pass"]
    assert set(schema()["$defs"]["verdict"]["enum"]) == {v.value for v in Verdict}


def test_a_verdict_is_its_string_in_json_and_in_text() -> None:
    assert json.dumps({"verdict": Verdict.NOT_RUN, Verdict.PASS: 1}) == '{"verdict": "not run", "pass": 1}'
    assert f"{Verdict.NOT_RUN:9}|" == "not run  |" and Verdict("crash") is Verdict.CRASH
    assert [v for v in Verdict if v.died] == [Verdict.CRASH, Verdict.HANG, Verdict.ERROR]


@pytest.mark.parametrize(("cases", "cell"), [
    ([], Verdict.NOT_RUN), (["pass"], Verdict.PASS), (["pass", "not run"], Verdict.NOT_RUN),
    (["pass", "fail", "not run"], Verdict.FAIL), (["fail", "error"], Verdict.ERROR),
    (["error", "hang", "pass"], Verdict.HANG), (["hang", "crash"], Verdict.CRASH),
    # A known deviation is worse than a pass, better than a failure or a case that never ran.
    (["pass", "deviation", "pass"], Verdict.DEVIATION), (["deviation", "fail"], Verdict.FAIL),
    (["not run", "deviation"], Verdict.NOT_RUN), (["deviation", "error"], Verdict.ERROR),
])
def test_a_cell_has_the_worst_verdict_of_its_cases(cases: list[str], cell: Verdict) -> None:
    assert cell_verdict(cases) is cell
    assert cell_verdict(Verdict(v) for v in cases) is cell


def test_a_case_verdict_comes_from_its_test_report() -> None:
    assert case_verdict(True, {}) is Verdict.PASS
    assert case_verdict(False, {"tmem-violation": "{}"}) is Verdict.FAIL
    assert case_verdict(False, {"tmem-died": "hang"}) is Verdict.HANG
    assert case_verdict(False, {}) is Verdict.ERROR


def _tmem(**extra: object) -> dict[str, str]:
    return {"tmem": json.dumps({"cell": "mig:v1:v1:64", "machine": "migration", "examples": 3, "steps": 9, **extra})}


def test_a_case_that_passed_by_a_known_deviation_is_a_deviation_never_a_pass() -> None:
    assert case_verdict(True, _tmem(deviations=[UUID])) is Verdict.DEVIATION
    assert case_verdict(True, _tmem(deviations=[])) is Verdict.PASS
    assert case_verdict(True, _tmem()) is Verdict.PASS, "a run from before levels has no deviations key"
    assert case_verdict(False, {**_tmem(deviations=[UUID]), "tmem-violation": "{}"}) is Verdict.FAIL
    assert case_deviations(_tmem(deviations=[UUID])) == [UUID] and case_deviations({}) == []
