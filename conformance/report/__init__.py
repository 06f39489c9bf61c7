"""The certification report: per-cell verdicts, the JSON document, and its renderings.

verdict: Verdict and how a case's and a cell's are decided; levels: what
a report certified at spec or at a historical release claims; results: the
report built from case results, checked against its schema, loaded and
merged; render and html: reports as a matrix grid (text, Markdown, JUnit
XML, HTML); matrix: the documented matrix itself; cli: the `report` and
`replay` commands.
"""

from __future__ import annotations

from .results import CaseResult, Report, check, load, merge, not_run, schema, write_json
from .verdict import Verdict, case_deviations, case_verdict, cell_verdict

__all__ = ["CaseResult", "Report", "Verdict", "case_deviations", "case_verdict", "cell_verdict", "check", "load",
           "merge", "not_run", "schema", "write_json"]
