"""The report at a certification level: the level and each cell's known deviations are written, checked
against the schema, loaded and merged; reports from before levels still load, as level spec."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tmem_conformance.models.errors import UsageError
from tmem_conformance.models.matrix import cells
from tmem_conformance.report import CaseResult, Report, Verdict, check, load, merge

from .deviation_docs import LEVEL, PRIVILEGE, UUID, deviation_doc, entry, old_doc
from .reports_fixtures import tool


def test_a_case_result_keeps_its_first_eight_fields_in_place_and_takes_the_newer_ones_after() -> None:
    names = [f.name for f in dataclasses.fields(CaseResult)]
    assert names == ["cell", "machine", "verdict", "seconds", "examples", "steps", "violation", "error", "deviations",
                     "shared_with"]
    assert CaseResult("pair:v1:64:v1", "control", Verdict.PASS, 1.0).deviations == []
    assert CaseResult("pair:v1:64:v1", "control", Verdict.PASS, 1.0).shared_with is None
    assert [f.name for f in dataclasses.fields(Report)][-2:] == ["level", "abi_files"]


def test_the_report_writes_its_level_after_the_seed_and_each_cells_deviation_records() -> None:
    chosen = [c for c in cells() if c.id in ("mig:v1:v1:64", "pair:v0:64:v0")]
    results = [CaseResult("mig:v1:v1:64", "migration", Verdict.DEVIATION, 2.0, 3, 9, None, None, [UUID, PRIVILEGE]),
               CaseResult("mig:v1:v1:64", "control", Verdict.DEVIATION, 1.0, 2, 5, None, None, [PRIVILEGE]),
               CaseResult("pair:v0:64:v0", "pairing", Verdict.PASS, 1.0, 4, 8)]
    doc = Report("simulator", "ci", "derandomized", chosen, results, level=LEVEL).to_json()
    assert list(doc)[:5] == ["suite_version", "backend", "profile", "seed", "level"] and doc["level"] == LEVEL
    pair, mig = doc["cells"]
    assert mig["verdict"] == "deviation" and pair["verdict"] == "pass" and pair["deviations"] == []
    assert mig["deviations"] == [
        {"deviation": "uuid-falls-through", "rule": "TMEM-SAVE-006", "summary": UUID["summary"], "fix": "9a2982ce85",
         "what": UUID["what"], "machine": "migration", "id": "mig:v1:v1:64/migration"},
        entry(PRIVILEGE, "mig:v1:v1:64", "migration"), entry(PRIVILEGE, "mig:v1:v1:64", "control")]
    check(doc, "the report")
    spec = Report("simulator", "ci", "derandomized", chosen, results[2:]).to_json()
    assert spec["level"] == "spec"


def test_the_schema_takes_a_report_with_deviations() -> None:
    doc = deviation_doc()
    assert check(doc, "r.json") is doc
    check(deviation_doc(level="historical=4.0.0"), "r.json")
    check(deviation_doc(level="spec", failing="pair:v0:64:v0"), "r.json")


def _broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(deviation_doc())
    mig = next(i for i, c in enumerate(doc["cells"]) if c["id"] == "mig:v1:v1:64")
    change(doc, doc["cells"][mig])
    return doc


@pytest.mark.parametrize(("change", "message"), [
    (lambda d, c: c["deviations"][0].pop("fix"), "at cells/18/deviations/0: 'fix' is a required property"),
    (lambda d, c: c["deviations"][0].pop("deviation"), "at cells/18/deviations/0: 'deviation' is a required property"),
    (lambda d, c: c["deviations"][1].update(rule="HC-4"), "at cells/18/deviations/1/rule: 'HC-4' does not match"),
    (lambda d, c: c["deviations"][0].update(deviation="Uuid Falls"), "at cells/18/deviations/0/deviation: 'Uuid"),
    (lambda d, c: c.update(deviations=[]), "at cells/18/deviations: [] should be non-empty"),
    (lambda d, c: c.pop("deviations"), "at cells/18: 'deviations' is a required property"),
    (lambda d, c: c.update(deviations={}), "at cells/18/deviations: {} is not of type 'array'"),
    (lambda d, c: d.update(level="historical"), "at level: 'historical' does not match"),
    (lambda d, c: d.update(level="4.1.0"), "at level: '4.1.0' does not match"),
    (lambda d, c: c["machines"].update(control="known"), "at cells/18/machines/control: 'known' is not one of"),
])
def test_the_schema_refuses_a_malformed_deviation_naming_the_field(change: Any, message: str) -> None:
    with pytest.raises(UsageError) as e:
        check(_broken(change), "r.json")
    assert str(e.value).startswith("r.json is not a tmem-conformance report: ") and message in str(e.value)


def test_a_report_from_before_levels_loads_as_level_spec_without_deviations(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old_doc()))
    doc = load(str(path))
    assert doc["level"] == "spec" and list(doc)[:5] == ["suite_version", "backend", "profile", "seed", "level"]
    assert all(c["deviations"] == [] for c in doc["cells"]) and len(doc["cells"]) == 20
    check(doc, "the loaded report")
    path.write_text(json.dumps(deviation_doc()))
    assert load(str(path)) == deviation_doc(), "a report that has them keeps its level and deviations"


def _shards(first: dict[str, Any], second: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    ids = [c.id for c in cells()]
    return [("a.json", dict(first, shard="1/2", cells=[c for c in first["cells"] if ids.index(c["id"]) % 2 == 0])),
            ("b.json", dict(second, shard="2/2", cells=[c for c in second["cells"] if ids.index(c["id"]) % 2]))]


def test_merge_keeps_the_level_and_the_deviations() -> None:
    merged = merge(_shards(deviation_doc(), deviation_doc()))
    check(merged, "the merged report")
    assert merged["level"] == LEVEL and list(merged)[:5] == ["suite_version", "backend", "profile", "seed", "level"]
    assert merged["cells"] == deviation_doc()["cells"]


@pytest.mark.parametrize(("first", "second", "levels"), [
    (LEVEL, "spec", "('spec' vs 'historical=4.1.0')"),
    ("spec", LEVEL, "('historical=4.1.0' vs 'spec')"),
    ("historical=4.0.0", LEVEL, "('historical=4.1.0' vs 'historical=4.0.0')"),
])
def test_merge_refuses_shards_of_different_levels_naming_both(first: str, second: str, levels: str) -> None:
    with pytest.raises(UsageError) as e:
        merge(_shards(deviation_doc(level=first), deviation_doc(level=second)))
    assert f"cannot merge b.json into a.json: level differs {levels}" in str(e.value)


def test_an_old_shard_merges_with_a_spec_shard_never_with_a_historical_one() -> None:
    spec = dict(old_doc(), level="spec")
    spec["cells"] = [dict(c, deviations=[]) for c in spec["cells"]]
    merged = merge(_shards(old_doc(), spec))
    assert merged["level"] == "spec" and all("deviations" in c for c in merged["cells"])
    check(merged, "the merged report")
    with pytest.raises(UsageError, match=r"level differs \('historical=4.1.0' vs 'spec'\)"):
        merge(_shards(old_doc(), deviation_doc()))


def test_the_report_commands_take_deviation_reports_and_refuse_mixed_levels(tmp_path: Path) -> None:
    a, b = _shards(deviation_doc(), deviation_doc(level="historical=4.0.0"))
    for path, doc in (a, b):
        (tmp_path / path).write_text(json.dumps(doc))
    run = tool("report", "merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "-o", str(tmp_path / "m.json"))
    assert run.returncode == 2 and "level differs ('historical=4.0.0' vs 'historical=4.1.0')" in run.stderr
    (tmp_path / "r.json").write_text(json.dumps(deviation_doc()))
    junit = tool("report", "render", str(tmp_path / "r.json"), "--format", "junit")
    assert junit.returncode == 0 and f'<skipped message="known deviation at {LEVEL}: privilege-check' in junit.stdout
