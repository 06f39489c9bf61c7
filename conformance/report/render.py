"""Reports as a compatibility-matrix grid: text, Markdown, JUnit XML (HTML is in html.py).

Several reports (several backends) render side by side: each grid cell
shows every backend's verdict against the documented expectation.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from ..models.rules import anchor
from .matrix import grid_ids, markdown_table, text_table
from .verdict import Verdict

#: How the text grid shows each verdict, in the order the summary counts them.
SYMBOL = {Verdict.PASS: "pass", Verdict.FAIL: "FAIL", Verdict.ERROR: "ERROR", Verdict.CRASH: "CRASH",
          Verdict.HANG: "HANG", Verdict.NOT_RUN: "not run"}


@dataclass(frozen=True)
class Shown:
    """One backend's result for one cell."""

    backend: str
    verdict: Verdict
    violations: tuple[dict[str, Any], ...]
    errors: tuple[dict[str, Any], ...]


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
                                       tuple(c.get("errors", ()))))
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


def summary(docs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for d in docs:
        verdicts = [c["verdict"] for c in d["cells"]]
        counts = ", ".join(f"{verdicts.count(v)} {v}" for v in SYMBOL if verdicts.count(v))
        lines.append(f"{d['backend']} ({d['profile']} profile, suite {d['suite_version']}): {counts}")
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
    return "\n".join(out) + "\n"


def violation_anchor(backend: str, vid: str) -> str:
    return "v-" + "".join(ch if ch.isalnum() else "-" for ch in f"{backend}-{vid}").lower()


def markdown(docs: list[dict[str, Any]], rules_doc: str = "CONFORMANCE.md") -> str:
    cells = collect(docs)

    def fmt(c: GridCell) -> str:
        parts = []
        for s in c.shown:
            word = f"**{s.verdict}**" if s.verdict == Verdict.PASS else s.verdict.upper()
            if s.violations:
                word = f"[{word}](#{violation_anchor(s.backend, s.violations[0]['id'])})"
            parts.append(word)
        return f"{c.expected}: " + " / ".join(parts)
    out = ["# tmem conformance report", ""] + [f"- {line}" for line in summary(docs)] + [""]
    if len(docs) > 1:
        out += ["Each cell shows the expected outcome, then the verdict of: "
                + " / ".join(f"`{_label(d)}`" for d in docs), ""]
    out += ["## Guest/host pairings", "", markdown_table(_rows("pairing", cells, fmt)), "",
            "## Migration and save/restore", "", markdown_table(_rows("migration", cells, fmt)), ""]
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
    return "\n".join(out)


def junit(docs: list[dict[str, Any]]) -> str:
    suites = ET.Element("testsuites", name="tmem-conformance")
    for d in docs:
        cells = d["cells"]
        count = {v: sum(c["verdict"] == v for c in cells) for v in Verdict}
        suite = ET.SubElement(suites, "testsuite", name=f"tmem-conformance[{d['backend']}]", tests=str(len(cells)),
                              failures=str(count[Verdict.FAIL]),
                              errors=str(sum(n for v, n in count.items() if v.died)),
                              skipped=str(count[Verdict.NOT_RUN]),
                              time=f"{sum(c['seconds'] for c in cells):.3f}")
        props = ET.SubElement(suite, "properties")
        for key in ("backend", "profile", "seed", "suite_version"):
            ET.SubElement(props, "property", name=key, value=str(d.get(key)))
        for c in cells:
            case = ET.SubElement(suite, "testcase", classname=f"tmem.{c['kind']}", name=c["id"],
                                 time=f"{c['seconds']:.3f}")
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
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
