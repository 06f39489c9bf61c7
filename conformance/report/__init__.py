"""The certification report: per-cell verdicts, the JSON document, and its renderings.

results: the report built from case results, checked against its schema,
loaded and merged; render and html: the report as a matrix grid (text,
Markdown, JUnit XML, HTML); matrix: the documented matrix itself; cli: the
`report` and `replay` commands.
"""

from __future__ import annotations

from .results import CaseResult, Report, case_verdict, check, load, merge, not_run, schema, worst, write_json

__all__ = ["CaseResult", "Report", "case_verdict", "check", "load", "merge", "not_run", "schema", "worst",
           "write_json"]
