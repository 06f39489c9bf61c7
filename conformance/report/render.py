"""Reports as a compatibility-matrix grid: text, Markdown, JUnit XML (HTML is in html.py).

Several reports (several backends) render side by side: each grid cell
shows every backend's verdict against the documented expectation. Every
format names the level each report was certified at; a deviation cell
lists the known deviations it accepted, each with the fix it lacks.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from ..models.rules import anchor
from .levels import lacked_fix, level_of, report_deviations, skipped_message
from .matrix import grid_ids, markdown_table, text_table
from .verdict import Verdict

#: How the text grid shows each verdict, in the order the summary counts them.
SYMBOL = {Verdict.PASS: "pass", Verdict.DEVIATION: "DEVIATION", Verdict.FAIL: "FAIL", Verdict.ERROR: "ERROR",
          Verdict.CRASH: "CRASH", Verdict.HANG: "HANG", Verdict.NOT_RUN: "not run"}


@dataclass(frozen=True)
class Shown:
    """One backend's result for one cell."""

    backend: str
    verdict: Verdict
    violations: tuple[dict[str, Any], ...]
    errors: tuple[dict[str, Any], ...]
    deviations: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class GridCell:
    id: str
    expected: str
    shown: tuple[Shown, ...]


def _label(doc: dict[str, Any]) -> str:
    return str(doc["backend"])


def collect(docs: list[dict[str, Any]]) -> dict[str, GridCell]:
    out: dict[str, GridCell] = {}
    by_doc = [{c["id"]: c for c in d["cells"]} for d in docs]
    for _cols, rows in grid_ids().values():
        for _row, ids in rows:
            for cid in ids:
                shown = []
                expected = ""
                for doc, cells in zip(docs, by_doc):
                    c = cells.get(cid)
                    if c is None:
                        shown.append(Shown(_label(doc), Verdict.NOT_RUN, (), ()))
                        continue
                    expected = c["expected"]
                    shown.append(Shown(_label(doc), Verdict(c["verdict"]), tuple(c.get("violations", ())),
                                       tuple(c.get("errors", ())), tuple(c.get("deviations", ()))))
                if not expected:
                    from ..models.matrix import cell
                    expected = cell(cid).expected
                out[cid] = GridCell(cid, expected, tuple(shown))
    return out


def _rows(kind: str, cells: dict[str, GridCell], fmt_cell: Any) -> list[list[str]]:
    cols, rows = grid_ids()[kind]
    head = ["guest \\ host" if kind == "pairing" else "source \\ destination"] + cols
    return [head] + [[label] + [fmt_cell(cells[cid]) for cid in ids] for label, ids in rows]


def _cell_text(c: GridCell) -> str:
    return f"{c.expected}: " + " / ".join(SYMBOL[s.verdict] for s in c.shown)


def levels(docs: list[dict[str, Any]]) -> str:
    """The levels the reports were certified at, each once: what a title names."""
    return ", ".join(dict.fromkeys(level_of(d) for d in docs))


def summary(docs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for d in docs:
        verdicts = [c["verdict"] for c in d["cells"]]
        counts = ", ".join(f"{verdicts.count(v)} {v}" for v in SYMBOL if verdicts.count(v))
        known = [r["deviation"] for r in report_deviations(d)]
        lines.append(f"{d['backend']} ({d['profile']} profile, level {level_of(d)}, suite {d['suite_version']}): "
                     f"{counts}" + (f"; known deviations: {', '.join(known)}" if known else ""))
    return lines


def text(docs: list[dict[str, Any]]) -> str:
    cells = collect(docs)
    out = summary(docs) + [""]
    if len(docs) > 1:
        out.append("Each cell: expected outcome: " + " / ".join(_label(d) for d in docs))
    out += ["Guest/host pairings", "", text_table(_rows("pairing", cells, _cell_text)), "",
            "Migration and save/restore", "", text_table(_rows("migration", cells, _cell_text)), ""]
    for c in cells.values():
        for s in c.shown:
            for v in s.violations:
                out.append(f"{s.backend} {v['id']}: {v['message']}" +
                           ("" if v.get("fully_shrunk", True) else " (not fully shrunk)"))
                out += [f"    the same steps as {v['same_as']}"] if v.get("same_as") else \
                    [f"    {step}" for step in v["steps"]]
            for e in s.errors:
                out.append(f"{s.backend} {c.id} ({e['machine']}): {e['message']}")
            for d in s.deviations:
                out += [f"{s.backend} {d['id']}: known deviation {lacked_fix(d)}: {d['summary']}",
                        f"    first seen at {d['what']}"]
    return "\n".join(out) + "\n"


def _anchor(prefix: str, backend: str, what: str) -> str:
    return prefix + "".join(ch if ch.isalnum() else "-" for ch in f"{backend}-{what}").lower()


def violation_anchor(backend: str, vid: str) -> str:
    return _anchor("v-", backend, vid)


def deviation_anchor(backend: str, record: dict[str, Any]) -> str:
    """Where a deviation is listed: a case may accept several, so the anchor names the deviation too."""
    return _anchor("d-", backend, f"{record['id']}/{record['deviation']}")


def cell_link(s: Shown) -> str | None:
    """The anchor a grid cell's verdict links to: its first violation, else its first deviation."""
    if s.violations:
        return violation_anchor(s.backend, s.violations[0]["id"])
    return deviation_anchor(s.backend, s.deviations[0]) if s.deviations else None


def markdown(docs: list[dict[str, Any]], rules_doc: str = "CONFORMANCE.md") -> str:
    cells = collect(docs)

    def fmt(c: GridCell) -> str:
        parts = []
        for s in c.shown:
            word = f"**{s.verdict}**" if s.verdict == Verdict.PASS else s.verdict.upper()
            link = cell_link(s)
            parts.append(f"[{word}](#{link})" if link else word)
        return f"{c.expected}: " + " / ".join(parts)
    out = [f"# tmem conformance report (level {levels(docs)})", ""] + [f"- {line}" for line in summary(docs)] + [""]
    if len(docs) > 1:
        out += ["Each cell shows the expected outcome, then the verdict of: "
                + " / ".join(f"`{_label(d)}`" for d in docs), ""]
    out += ["## Guest/host pairings", "", markdown_table(_rows("pairing", cells, fmt)), "",
            "## Migration and save/restore", "", markdown_table(_rows("migration", cells, fmt)), ""]
    return "\n".join(out + _markdown_problems(cells, rules_doc) + _markdown_deviations(cells, rules_doc))


def _markdown_problems(cells: dict[str, GridCell], rules_doc: str) -> list[str]:
    out: list[str] = []
    problems = [(c, s) for c in cells.values() for s in c.shown if s.violations or s.errors]
    if problems:
        out += ["## Violations", ""]
    for c, s in problems:
        for v in s.violations:
            out += [f"### <a id=\"{violation_anchor(s.backend, v['id'])}\"></a>{s.backend}: {v['id']}", "",
                    f"Rule [{v['rule']}]({rules_doc}#{anchor(v['rule'])}): {v['message']}" +
                    ("" if v.get("fully_shrunk", True) else " (not fully shrunk)"), ""]
            if v.get("same_as"):
                out += [f"The same steps as [{v['same_as']}](#{violation_anchor(s.backend, v['same_as'])}).", ""]
                continue
            out += ["```"] + list(v["steps"]) + ["```", ""]
        for e in s.errors:
            out += [f"### {s.backend}: {c.id} ({e['machine']}): error", "", "```", e["message"], "```", ""]
    return out


def listed_deviations(cells: dict[str, GridCell]) -> list[tuple[str, dict[str, Any]]]:
    """(backend, record) for every deviation the grid shows, in grid order: what the reports list."""
    return [(s.backend, d) for c in cells.values() for s in c.shown for d in s.deviations]


def _markdown_deviations(cells: dict[str, GridCell], rules_doc: str) -> list[str]:
    records = listed_deviations(cells)
    out = ["## Known deviations", ""] if records else []
    for backend, d in records:
        out += [f"### <a id=\"{deviation_anchor(backend, d)}\"></a>{backend}: {d['id']}: {d['deviation']}", "",
                f"Rule [{d['rule']}]({rules_doc}#{anchor(d['rule'])}): {d['summary']} (fixed by {d['fix']}). "
                f"First seen at `{d['what']}`.", ""]
    return out


def junit(docs: list[dict[str, Any]]) -> str:
    suites = ET.Element("testsuites", name="tmem-conformance")
    for d in docs:
        cells, level = d["cells"], level_of(d)
        count = {v: sum(c["verdict"] == v for c in cells) for v in Verdict}
        suite = ET.SubElement(suites, "testsuite", name=f"tmem-conformance[{d['backend']}] at {level}",
                              tests=str(len(cells)), failures=str(count[Verdict.FAIL]),
                              errors=str(sum(n for v, n in count.items() if v.died)),
                              skipped=str(count[Verdict.NOT_RUN] + count[Verdict.DEVIATION]),
                              time=f"{sum(c['seconds'] for c in cells):.3f}")
        props = ET.SubElement(suite, "properties")
        for key in ("backend", "profile", "seed", "suite_version"):
            ET.SubElement(props, "property", name=key, value=str(d.get(key)))
        ET.SubElement(props, "property", name="level", value=level)
        for c in cells:
            case = ET.SubElement(suite, "testcase", classname=f"tmem.{c['kind']}", name=c["id"],
                                 time=f"{c['seconds']:.3f}")
            _junit_outcome(case, c, level)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _junit_outcome(case: ET.Element, c: dict[str, Any], level: str) -> None:
    """A cell's verdict as JUnit sees it: a failure, an error, or skipped (not run, or a known deviation,
    which is never a pass)."""
    if c["verdict"] == Verdict.FAIL:
        v: dict[str, Any] = (c["violations"][0] if c["violations"]
                             else {"rule": "fail", "message": "failed", "steps": []})
        node = ET.SubElement(case, "failure", message=v["message"], type=v["rule"])
        node.text = "\n".join(v["steps"])
    elif Verdict(c["verdict"]).died:
        e = c.get("errors") or [{"message": c["verdict"]}]
        node = ET.SubElement(case, "error", message=e[0]["message"], type=c["verdict"])
        node.text = e[0].get("traceback", "")
    elif c["verdict"] == Verdict.NOT_RUN:
        ET.SubElement(case, "skipped", message="not run: no shard ran this cell")
    elif c["verdict"] == Verdict.DEVIATION:
        node = ET.SubElement(case, "skipped", message=skipped_message(level, c["deviations"]))
        node.text = "\n".join(f"{d['id']}: {d['deviation']}: {d['summary']}; first seen at {d['what']}"
                              for d in c["deviations"])
