"""The certification report: verdict per cell, built from per-case results; loading, checking, merging.

The JSON shape is documented by schemas/report.schema.json, shipped in the
package. A malformed report is refused with the path and the offending
field; shard reports merge into one, and a cell no shard ran stays
"not run", never "pass". A report names the level it was certified at
(levels.py); shards of different levels never merge, and a report from
before levels reads as level spec, with no deviations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .. import __version__
from ..models.errors import UsageError
from ..models.matrix import Cell, cells
from .levels import SPEC
from .verdict import Verdict, cell_verdict


@dataclass
class CaseResult:
    cell: str
    machine: str
    verdict: Verdict
    seconds: float
    examples: int = 0
    steps: int = 0
    violation: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    #: The known deviations the case accepted: one record per deviation id ("id", "rule", "summary", "fix", "what").
    deviations: list[dict[str, Any]] = field(default_factory=list)
    #: the case (CELL/MACHINE) whose one run this result is: its machine reads nothing that differs here
    shared_with: str | None = None


@dataclass
class Report:
    backend: str
    profile: str
    seed: int | str | None
    cells: list[Cell]
    results: list[CaseResult] = field(default_factory=list)
    destination_backend: str | None = None
    shard: str | None = None
    level: str = SPEC
    #: the revision files (--abi-file) whose rows the run's matrix had: reading the report needs them too
    abi_files: list[str] = field(default_factory=list)

    def cell_entries(self) -> list[dict[str, Any]]:
        out = []
        for c in self.cells:
            mine = [r for r in self.results if r.cell == c.id]
            entry: dict[str, Any] = c.to_json()
            entry.update(
                verdict=cell_verdict(r.verdict for r in mine),
                machines={r.machine: r.verdict for r in mine},
                examples=sum(r.examples for r in mine),
                steps=sum(r.steps for r in mine),
                seconds=round(sum(r.seconds for r in mine), 3),
                violations=[dict(r.violation, machine=r.machine, id=f"{c.id}/{r.machine}")
                            for r in mine if r.violation],
                errors=[dict(r.error, machine=r.machine, id=f"{c.id}/{r.machine}") for r in mine if r.error],
                deviations=[_deviation_entry(d, c.id, r.machine) for r in mine for d in r.deviations],
            )
            shared = {r.machine: r.shared_with for r in mine if r.shared_with}
            if shared:
                entry["shared"] = shared
            out.append(entry)
        return out

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"suite_version": __version__, "backend": self.backend, "profile": self.profile,
                               "seed": self.seed, "level": self.level}
        if self.abi_files:
            doc["abi_files"] = list(self.abi_files)
        if self.destination_backend and self.destination_backend != self.backend:
            doc["destination_backend"] = self.destination_backend
        if self.shard:
            doc["shard"] = self.shard
        doc["cells"] = self.cell_entries()
        return doc

    def write(self, path: str) -> None:
        write_json(path, self.to_json())


def _deviation_entry(record: dict[str, Any], cell: str, machine: str) -> dict[str, Any]:
    """A case's deviation record as its cell lists it: the record's own id becomes "deviation", and "id"
    names the case (cell/machine), as a violation's does."""
    entry = {"deviation": record["id"], **{k: v for k, v in record.items() if k != "id"}}
    return dict(entry, machine=machine, id=f"{cell}/{machine}")


def write_json(path: str, doc: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


@cache
def schema() -> dict[str, Any]:
    text = resources.files("tmem_conformance").joinpath("schemas/report.schema.json").read_text("utf-8")
    return dict(json.loads(text))


def check(doc: object, where: str) -> dict[str, Any]:
    """The document if it is a valid report, else a UsageError naming where and what."""
    import jsonschema
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        at = "/".join(str(p) for p in e.absolute_path) or "the top level"
        raise UsageError(f"{where} is not a tmem-conformance report: at {at}: {e.message}")
    assert isinstance(doc, dict)
    return doc


def load(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"no report at {path!r}") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{path} is not JSON: line {e.lineno} column {e.colno}: {e.msg}") from None
    return upgraded(check(doc, path))


def upgraded(doc: dict[str, Any]) -> dict[str, Any]:
    """The report as this version writes it: one written before certification levels reads as level
    spec, each cell with no deviations."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        out[key] = value
        if key == "seed":
            out["level"] = doc.get("level", SPEC)
    out["cells"] = [c if "deviations" in c else dict(c, deviations=[]) for c in doc["cells"]]
    return out


MUST_AGREE = ("backend", "suite_version", "profile", "seed", "level", "abi_files")


def merge(docs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One report from shard reports; every documented cell appears, "not run" if no shard ran it."""
    if not docs:
        raise UsageError("report merge needs at least one report")
    docs = [(path, upgraded(doc)) for path, doc in docs]
    first_path, first = docs[0]
    for path, doc in docs[1:]:
        for key in MUST_AGREE:
            if doc.get(key) != first.get(key):
                raise UsageError(f"cannot merge {path} into {first_path}: {key} differs "
                                 f"({doc.get(key)!r} vs {first.get(key)!r}); shards must come from one "
                                 f"certification run")
    by_id: dict[str, dict[str, Any]] = {}
    for path, doc in docs:
        for c in doc["cells"]:
            if c["verdict"] == Verdict.NOT_RUN:
                continue
            if c["id"] in by_id:
                raise UsageError(f"cell {c['id']} appears in more than one report (again in {path}): "
                                 f"shards must not overlap")
            by_id[c["id"]] = c
    out = {k: first[k] for k in ("suite_version", "backend", "profile", "seed", "level")}
    if first.get("abi_files"):
        out["abi_files"] = first["abi_files"]
    if "destination_backend" in first:
        out["destination_backend"] = first["destination_backend"]
    out["merged_from"] = [p for p, _ in docs]
    out["cells"] = [by_id.get(c.id) or not_run(c) for c in cells()]
    return out


def not_run(c: Cell) -> dict[str, Any]:
    entry: dict[str, Any] = c.to_json()
    entry.update(verdict=Verdict.NOT_RUN, machines={}, examples=0, steps=0, seconds=0, violations=[], errors=[],
                 deviations=[])
    return entry
