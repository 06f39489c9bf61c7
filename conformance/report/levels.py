"""Certification levels: what a report's verdicts claim, and the known deviations a level accepts.

At level spec a case passes only by keeping every rule. At historical=RELEASE
(4.0.0 or 4.1.0) each defect that Xen release had (tmem-abi.md section 9,
e.g. SAVE_GET_POOL_UUID falling through into SAVE_END until 9a2982ce85) is
accepted as a known deviation: the case's verdict is deviation, reported
with the fix the release lacks, never pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .verdict import Verdict

SPEC = "spec"
HISTORICAL = "historical="
#: The verdicts with which a cell conforms at a historical level.
CONFORMING = (Verdict.PASS, Verdict.DEVIATION)


def level_of(doc: dict[str, Any]) -> str:
    """The report's level; a report written before levels existed was certified at spec."""
    return str(doc.get("level", SPEC))


def release(level: str) -> str | None:
    """The Xen release a historical level names (historical=4.1.0: 4.1.0), None at spec."""
    return level[len(HISTORICAL):] if level.startswith(HISTORICAL) else None


def distinct(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per deviation id, the first seen, in the order first seen."""
    seen: dict[str, dict[str, Any]] = {}
    for r in records:
        seen.setdefault(r["deviation"], r)
    return list(seen.values())


def report_deviations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's distinct deviations, over every cell."""
    return distinct(d for c in doc["cells"] for d in c.get("deviations", ()))


def lacked_fix(record: dict[str, Any]) -> str:
    """A deviation by its id, its rule and the fix the certified release lacks."""
    return f"{record['deviation']} ({record['rule']}, fixed by {record['fix']})"


def skipped_message(level: str, records: Iterable[dict[str, Any]]) -> str:
    """Why a deviation cell is skipped, not passed, in JUnit: each deviation and the fix it lacks."""
    return f"known deviation at {level}: " + "; ".join(lacked_fix(r) for r in distinct(records))


def _deviation_count(records: list[dict[str, Any]]) -> str:
    if not records:
        return "no known deviations"
    noun = "known deviation" if len(records) == 1 else "known deviations"
    return f"{len(records)} {noun} ({', '.join(r['deviation'] for r in records)})"


def conclusion(doc: dict[str, Any]) -> str:
    """The line a certification ends with. At spec: how many cells pass. At a historical level: how many
    conform (pass, or pass but for the release's known deviations), whether the backend is then compatible
    with that release, and which distinct deviations it showed."""
    cells, level = doc["cells"], level_of(doc)
    rel = release(level)
    if rel is None:
        return f"{sum(c['verdict'] == Verdict.PASS for c in cells)} of {len(cells)} cells pass"
    conform = sum(c["verdict"] in CONFORMING for c in cells)
    not_run = sum(c["verdict"] == Verdict.NOT_RUN for c in cells)
    failing = len(cells) - conform - not_run
    if not failing and not not_run:
        verdict = f"{rel}-compatible, "
    else:
        verdict = ", ".join(f"{n} {word}" for n, word in ((failing, "fail"), (not_run, "not run")) if n) + "; "
    return f"{conform} of {len(cells)} cells conform at {level}: {verdict}{_deviation_count(report_deviations(doc))}"
