"""The HTML report: one self-contained page (inline CSS, no network), rendered with jinja2."""

from __future__ import annotations

from typing import Any

import jinja2

from ..models.rules import anchor as rule_anchor
from ..selftest.power import measured_power
from .matrix import grid_ids
from .render import cell_link, collect, deviation_anchor, levels, listed_deviations, summary, violation_anchor


def render(docs: list[dict[str, Any]], rules_doc: str = "CONFORMANCE.md") -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("tmem_conformance.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    cells = collect(docs)
    problems = [(c, s) for c in cells.values() for s in c.shown if s.violations or s.errors]
    return env.get_template("report.html.j2").render(
        backends=[d["backend"] for d in docs], levels=levels(docs), summaries=summary(docs), grids=grid_ids(),
        cells=cells, multi=len(docs) > 1, problems=problems, deviations=listed_deviations(cells),
        anchor=violation_anchor, deviation_anchor=deviation_anchor, cell_link=cell_link, rule_anchor=rule_anchor,
        rules_doc=rules_doc, power=measured_power())
