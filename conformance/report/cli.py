"""`tmem-conformance report merge|render` and `tmem-conformance replay`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from ..models.errors import UsageError
from ..paths import writable
from . import html, render
from .results import check, load, merge, write_json
from .verdict import Verdict

FORMATS = ("text", "markdown", "html", "junit", "json")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="merge shard reports, or render reports as a matrix")
    rsub = p.add_subparsers(dest="report_command", metavar="SUBCOMMAND")
    m = rsub.add_parser("merge", help="merge shard reports of one certification run into one")
    m.add_argument("reports", nargs="+", metavar="REPORT.json")
    m.add_argument("-o", "--output", required=True, metavar="FILE.json")
    m.set_defaults(func=_merge)
    r = rsub.add_parser("render", help="render one or more reports (several backends side by side)")
    r.add_argument("reports", nargs="+", metavar="REPORT.json")
    r.add_argument("--format", choices=FORMATS, default="text")
    r.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    r.add_argument("--rules-doc", default="CONFORMANCE.md",
                   help="where rule links point (default: CONFORMANCE.md beside the report)")
    r.set_defaults(func=_render)
    p.set_defaults(func=_report_usage)

    q = sub.add_parser("replay", help="re-run a violation's shrunk steps against a backend")
    q.add_argument("report", metavar="REPORT.json")
    q.add_argument("--violation", required=True, metavar="ID",
                   help="the violation's id (cell/machine, as in the report) or its number")
    q.add_argument("--backend", required=True, metavar="SPEC", help="the backend to replay against")
    q.set_defaults(func=_replay)


def _report_usage(args: argparse.Namespace) -> int:
    raise UsageError("report needs a subcommand: `report merge A.json B.json -o all.json` or "
                     "`report render all.json --format html -o report.html`")


def revisions_of(docs: list[dict[str, Any]]) -> contextlib.AbstractContextManager[object]:
    """The proposed revisions the reports were certified with, in the version table while they are read
    (a file that is gone is a usage error naming it)."""
    from ..models.revisions import installed
    return installed(sorted({path for d in docs for path in d.get("abi_files", [])}))


def _merge(args: argparse.Namespace) -> int:
    writable(args.output, "-o")
    loaded = [(p, load(p)) for p in args.reports]
    with revisions_of([d for _, d in loaded]):
        merged = merge(loaded)
    check(merged, "the merged report")
    write_json(args.output, merged)
    not_run = sum(c["verdict"] == Verdict.NOT_RUN for c in merged["cells"])
    print(f"merged {len(args.reports)} reports into {args.output}: {len(merged['cells'])} cells"
          + (f", {not_run} not run" if not_run else ""))
    return 0


def _render(args: argparse.Namespace) -> int:
    writable(args.output, "-o")
    docs: list[dict[str, Any]] = [load(p) for p in args.reports]
    with revisions_of(docs):
        text = _rendered(docs, args)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _rendered(docs: list[dict[str, Any]], args: argparse.Namespace) -> str:
    if args.format == "json":
        if len(docs) != 1:
            raise UsageError("--format json renders one report; use `report merge` to combine shards")
        import json
        text = json.dumps(docs[0], indent=2) + "\n"
    elif args.format == "html":
        text = html.render(docs, args.rules_doc)
    elif args.format == "markdown":
        text = render.markdown(docs, args.rules_doc)
    elif args.format == "junit":
        text = render.junit(docs)
    else:
        text = render.text(docs)
    return text


#: How long a replay may run before it counts as a hang.
REPLAY_SECONDS = 300.0


def _replay(args: argparse.Namespace) -> int:
    doc = load(args.report)
    with revisions_of([doc]):
        return _replayed(doc, args)


def _replayed(doc: dict[str, Any], args: argparse.Namespace) -> int:
    from ..isolation import run_isolated
    from ..registry import load as load_backend
    from ..replay import find_violation, replay
    violation = find_violation(doc, args.violation)
    backend = load_backend(args.backend)
    what = f"rule {violation['rule']}" if "rule" in violation else violation["message"].split(": ", 1)[-1][:120]
    print(f"replaying {violation['id']} ({what}) against {backend.spec}", flush=True)
    # In a child of its own: a crash the steps reproduce is a verdict, not the end of replay.
    result = run_isolated(lambda: replay(violation, backend.factory, lambda line: print(line, flush=True)),
                          timeout=REPLAY_SECONDS)
    if result.kind == "ok" and result.value is None:
        print(f"the steps pass against {backend.spec}: no violation")
        return 0
    if result.kind == "ok":
        print(f"reproduced: rule {result.value.rule} violated")
    elif result.kind == "raised" and isinstance(result.exception, UsageError):
        raise result.exception
    else:
        print(f"reproduced: the backend {result.describe()}")
    return 1
