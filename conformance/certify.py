"""`tmem-conformance certify`: run every selected cell against a backend and give a verdict per cell.

The cells run as pytest tests through the plugin, in parallel with
pytest-xdist; the verdicts come back as the plugin's JSON report.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .cases import select_cells, shared_runs
from .checked import abridged
from .models.errors import UsageError
from .models.history import SPEC, level
from .models.matrix import GUESTS, UNDETERMINED, Cell, silent
from .models.versions import VERSIONS
from .paths import add_abi_file, writable
from .profiles import PROFILES
from .report import Verdict, case_verdict, cell_verdict
from .runoptions import Handed, RunOptions

VERDICT_STYLE = {Verdict.PASS: "green", Verdict.DEVIATION: "dark_orange", Verdict.FAIL: "bold red",
                 Verdict.ERROR: "red", Verdict.CRASH: "bold magenta", Verdict.HANG: "magenta",
                 Verdict.NOT_RUN: "yellow"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("certify", help="certify a backend against every cell of the matrix")
    p.add_argument("--backend", required=True, metavar="NAME|module:attr",
                   help="a registered backend name, or package.module:attr naming a factory")
    p.add_argument("--dest-backend", metavar="SPEC",
                   help="backend for migration destinations (default: --backend)")
    p.add_argument("--cells", metavar="PATTERN",
                   help="comma-separated fnmatch patterns of cell ids, each optionally narrowed to machines "
                        "after a '/' (pair:v1:64:v1/pairing, mig:*/migration-to-*)")
    p.add_argument("--profile", choices=PROFILES, default="ci", help="hypothesis profile (default: ci)")
    p.add_argument("--seed", type=int, help="hypothesis seed (default: derandomized for ci, random otherwise)")
    p.add_argument("-n", dest="workers", default="auto", metavar="N|auto",
                   help="parallel workers through pytest-xdist (0: run in this process)")
    p.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    p.add_argument("--peers", metavar="NAMES|auto|none", default="auto",
                   help="implementations each migration cell also moves guests to and from: comma-separated "
                        "names, 'auto' (the other built-in candidates, the default) or 'none'")
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="a cell's machine still running after this long is a hang (default 900)")
    p.add_argument("--list", action="store_true",
                   help="print the cells, machines and peers that would run, with each cell's expected outcome "
                        "and rules, and run nothing")
    p.add_argument("--format", choices=("text", "json"), default="text", help="for --list (default: text)")
    p.add_argument("-x", "--exitfirst", action="store_true",
                   help="stop at the first cell that fails; the cells not reached are reported as not run")
    p.add_argument("--no-shrink", action="store_true",
                   help="report each violation as first found, without shrinking its steps (a quick verdict)")
    p.add_argument("--shrink-seconds", type=float, default=None, metavar="SECONDS",
                   help="how long a failing case may shrink its counterexample before it is reported as it "
                        "is then, marked not fully shrunk (default 2; the control machine, slow to shrink, "
                        "gets five times this)")
    p.add_argument("--no-quick-look", action="store_true",
                   help="skip the quick look: a couple of short, unshrunk examples of every cell run first, so "
                        "that a failure shows in seconds")
    p.add_argument("--level", default=SPEC, metavar="spec|historical=RELEASE",
                   help="spec (default): the ABI as fixed, tmem-abi.md section 9; historical=4.0.0 or "
                        "historical=4.1.0: that release's defects are known deviations, reported, never a pass")
    add_abi_file(p)
    p.add_argument("--shard", metavar="I/N", help="run only shard I of N (a deterministic 1/N of the cells)")
    p.add_argument("--quiet", action="store_true",
                   help="no live display: a line per cell as it finishes, then the verdict table")
    p.set_defaults(func=run)


def run_options(args: argparse.Namespace) -> RunOptions:
    """The plugin's options for certify's arguments."""
    if args.shrink_seconds is not None and args.shrink_seconds <= 0:
        raise UsageError(f"--shrink-seconds takes a positive number of seconds, not {args.shrink_seconds:g} "
                         "(--no-shrink skips shrinking)")
    given = {"dest_backend": args.dest_backend, "cells": args.cells, "shard": args.shard,
             "level": None if args.level == SPEC else args.level,
             "abi_files": tuple(os.path.abspath(path) for path in args.abi_file or []),
             "no_shrink": args.no_shrink, "shrink_seconds": args.shrink_seconds,
             "quick_look": not args.no_quick_look, "time_limit": args.time_limit}
    return RunOptions(backend=args.backend, profile=args.profile, peers=args.peers,
                      **{k: v for k, v in given.items() if v is not None})


def pytest_args(args: argparse.Namespace) -> list[str]:
    """pytest's own options and its other plugins' (xdist, hypothesis): the run's are in RunOptions."""
    from .plugin import SUITE_DIR
    out = [SUITE_DIR, "-c", os.devnull, "--rootdir", SUITE_DIR, "-p", "no:cacheprovider", "-q", "--tb=no",
           "--no-header", "-rN", "--assert=plain", "-p", "no:unraisableexception"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        out += ["-p", "tmem_conformance.plugin", "-p", "xdist.plugin"]
    if getattr(args, "exitfirst", False):
        out.append("-x")
    seed = args.seed
    if seed is None and args.profile != "ci":
        seed = random.randrange(2**32)
    if seed is not None:
        out.append(f"--hypothesis-seed={seed}")
    if str(args.workers) not in ("0", ""):
        out += ["-n", str(args.workers)]
    return out


def run(args: argparse.Namespace) -> int:
    if str(args.workers) != "auto" and not str(args.workers).isdigit():
        raise UsageError(f"-n takes a number of workers or 'auto', not {args.workers!r}")
    writable(args.report, "--report")  # before the run, so its result is never lost
    level(args.level)  # a bad level is a usage error before anything runs
    # A bad spec is a usage error here, before any worker starts; the plugin loads and computes none of
    # it again.
    handed = Handed.prepare(run_options(args))
    cases = handed.cases
    chosen = select_cells(args.cells, args.shard)
    if args.list:
        return print_plan(chosen, cases, args.format)
    import pytest
    console = Console(highlight=False)
    say_undetermined(chosen, console)
    tracker = ProgressTracker(chosen, cases, console, live=console.is_terminal and not args.quiet)
    pytest_output = io.StringIO()
    with tracker, contextlib.redirect_stdout(pytest_output), interrupted_by_sigterm():
        code = pytest.main(pytest_args(args), plugins=[tracker, handed])
    doc = handed.report
    if doc is None:
        sys.stderr.write(pytest_output.getvalue())
        raise UsageError(f"the certification run ended with pytest exit code {int(code)} and no report")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    print_summary(doc, console, args.quiet)
    if int(code) == int(pytest.ExitCode.INTERRUPTED):
        console.print("interrupted: the cells not finished are reported as not run", markup=False)
        return 130
    # At a historical level its known deviations are what was asked for; any other verdict fails, but an
    # undetermined cell (never run, reported before the run) is no verdict on the backend.
    return 0 if all(c["verdict"] in (Verdict.PASS, Verdict.DEVIATION) or c["expected"] == UNDETERMINED
                    for c in doc["cells"]) else 1


def _children() -> list[int]:
    """This process's child processes (Linux /proc; none elsewhere)."""
    me, out = os.getpid(), []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                            out.append(int(entry))
    return out


@contextlib.contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM (a CI time-out) stops the run as Ctrl-C does: workers and case children are stopped,
    and the report is still written, with the cells not finished as not run."""
    def stop(signum: int, frame: object) -> None:
        for child in _children():  # the xdist workers: each stops its case child and exits
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGTERM)
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")
    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


class ProgressTracker:
    """A pytest plugin object: follows the cases as xdist reports them, per cell.

    On a terminal it keeps a live line (cells done / running / failed, examples, elapsed);
    otherwise, or with --quiet, it prints one plain line per cell as the cell finishes.
    """

    def __init__(self, cells: list[Any], cases: list[Any], console: Console, live: bool) -> None:
        self.console, self.live_mode = console, live
        self.expected = {c.id: c.expected for c in cells}
        self.pending = {c.id: sum(1 for k in cases if k.cell.id == c.id) for c in cells}
        #: case id -> the other cells its one run stands for (cases.shared_runs)
        self.also = {k.id: k.also for k in shared_runs(cases)}
        self.verdicts: dict[str, list[Verdict]] = {c.id: [] for c in cells}
        self.examples: dict[str, int] = {c.id: 0 for c in cells}
        self.running: set[str] = set()
        self.started = time.monotonic()
        self.live: Live | None = None
        self.out = sys.stdout  # pytest's own output is redirected while the run lasts

    def __enter__(self) -> ProgressTracker:
        if self.live_mode:
            self.live = Live(self.status(), console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def status(self) -> Text:
        done = sum(1 for n in self.pending.values() if n == 0)
        failed = sum(1 for c, v in self.verdicts.items()
                     if self.pending[c] == 0 and set(v) - {Verdict.PASS, Verdict.DEVIATION})
        return Text(f"cells {done}/{len(self.pending)} done, {len(self.running)} running, {failed} failed; "
                    f"{sum(self.examples.values())} examples; {time.monotonic() - self.started:.0f}s elapsed")

    @staticmethod
    def _case(nodeid: str) -> tuple[str, str] | None:
        if "[" not in nodeid:
            return None
        cell, _, machine = nodeid[nodeid.index("[") + 1:-1].rpartition("/")
        return cell, machine

    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        case = self._case(nodeid)
        if case and case[0] in self.pending:
            self.running.add(case[0])
            self.refresh()

    def pytest_runtest_logreport(self, report: Any) -> None:
        props = dict(report.user_properties)
        if "tmem-quick" in props and "tmem-violation" in props:
            where, v = json.loads(props["tmem-quick"]), json.loads(props["tmem-violation"])
            self.say(Text(f"{where['cell']} ({where['machine']}, quick look): rule {v['rule']} violated: "
                          f"{v['observed']}"[:300], style="bold red"))
            return
        case = self._case(report.nodeid)
        if not case or case[0] not in self.pending or report.when != "call":
            return
        examples = json.loads(props["tmem"])["examples"] if "tmem" in props else 0
        verdict = case_verdict(report.passed, props)
        if "tmem-violation" in props:  # say it now: the table comes only when every cell is done
            v = json.loads(props["tmem-violation"])
            self.say(Text(f"{case[0]} ({case[1]}): rule {v['rule']} violated: {v['observed']}"[:300],
                          style="bold red"))
        # One run may stand for several cells (cases.shared_runs): each of them counts it.
        for cell in [case[0], *(c for c in self.also.get("/".join(case), ()) if c in self.pending)]:
            self.examples[cell] += examples
            self.verdicts[cell].append(verdict)
            self.pending[cell] -= 1
            if self.pending[cell] == 0:
                self.running.discard(cell)
                summary = cell_verdict(self.verdicts[cell])
                line = f"{cell:22} {self.expected[cell]:17} {summary:6} {self.examples[cell]:6} examples"
                self.say(Text(line, style=VERDICT_STYLE.get(summary, "")))
        self.refresh()

    def say(self, text: Text) -> None:
        if self.live is not None:
            self.live.console.print(text)
        else:
            self.out.write(text.plain + "\n")
            self.out.flush()

    def refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.status())


def plan(chosen: list[Any], cases: list[Any]) -> list[dict[str, Any]]:
    """What a run would do: per cell its matrix fields, expected outcome, rules and machines."""
    from .models.matrix import OUTCOME_RULES
    return [{**c.to_json(), "rules": list(OUTCOME_RULES[c.expected]),
             "machines": [k.label for k in cases if k.cell.id == c.id]} for c in chosen]


def say_undetermined(chosen: list[Cell], console: Console) -> None:
    """The cells no outcome follows for (models/matrix.py), before anything runs: they are never run."""
    for c in chosen:
        if c.expected == UNDETERMINED:
            assert c.guest is not None and c.host is not None
            console.print(f"{c.id}: undetermined, not run: the {c.negotiated} guest's ops on the {c.host} host: "
                          f"{silent(GUESTS[c.guest], VERSIONS[c.host], c.word_size)}", markup=False)


def print_plan(chosen: list[Any], cases: list[Any], fmt: str) -> int:
    rows = plan(chosen, cases)
    if fmt == "json":
        sys.stdout.write(json.dumps({"cells": rows, "cases": len(cases)}, indent=2) + "\n")
        return 0
    table = Table(title=f"{len(rows)} cells, {len(cases)} cases")
    for col in ("cell", "expected", "rules", "machines"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["expected"], ", ".join(r["rules"]), ", ".join(r["machines"]))
    Console(highlight=False).print(table)
    return 0


def print_summary(doc: dict[str, Any], console: Console, quiet: bool = False) -> None:
    from .report.levels import conclusion, distinct, lacked_fix, level_of
    table = Table(title=f"tmem conformance of {doc['backend']} ({doc['profile']} profile, level {level_of(doc)})")
    for col in ("cell", "expected", "verdict", "examples", "steps", "seconds"):
        table.add_column(col, justify="right" if col in ("examples", "steps", "seconds") else "left")
    for c in doc["cells"]:
        style = VERDICT_STYLE.get(c["verdict"], "")
        table.add_row(c["id"], c["expected"], f"[{style}]{c['verdict']}[/]", str(c["examples"]),
                      str(c["steps"]), f"{c['seconds']:.2f}")
    console.print(table)
    shared = [(c["id"], m) for c in doc["cells"] for m in c.get("shared", {})]
    if shared:
        shared_machines = ", ".join(sorted({m for _, m in shared}))
        console.print(f"{shared_machines}: {len(shared)} cases were the same run as another cell's (the machine reads "
                      f"only the host's version and word size; the report's `shared`)", markup=False)
    if quiet:
        return
    for c in doc["cells"]:
        for v in c["violations"]:
            console.print(f"\n[bold red]{c['id']}[/] ({v['machine']}): {escape(v['message'])}", markup=True)
            shrunk = "" if v.get("fully_shrunk", True) else \
                f", not fully shrunk in {v['shrink_seconds']:g} s (--shrink-seconds)" if "shrink_seconds" in v else \
                ", not shrunk"  # the quick look's, or --no-shrink
            console.print(f"  {v.get('machine_steps', 0)} machine steps, {len(v['steps'])} lines{shrunk}", markup=False)
            console.print(f"  re-run them with `tmem-conformance replay REPORT --violation {v['id']}`", markup=False,
                          soft_wrap=True)  # a command to copy: never broken across lines
            if v.get("same_as") and c.get("shared", {}).get(v["machine"]) == v["same_as"]:
                console.print(f"  the same run as {v['same_as']} (above)", markup=False)
                continue
            if v.get("same_as"):
                console.print(f"  the same steps as {v['same_as']} (shrunk once, above)", markup=False)
                continue
            for step in abridged(v["steps"]):
                console.print(f"    {step}", markup=False)
        for e in c["errors"]:
            console.print(f"\n[red]{c['id']}[/] ({e['machine']}): {c['verdict']}: {escape(e['message'])}",
                          markup=True)
            if e.get("same_as"):
                console.print(f"  the same run as {e['same_as']} (above)", markup=False)
                continue
            for step in e.get("steps", [])[-12:]:
                console.print(f"    {step}", markup=False)
            if c["verdict"] == Verdict.CRASH and e.get("traceback", "").startswith("Fatal Python error"):
                console.print("  Python frames as it died (faulthandler):", markup=False)
                for line in e["traceback"].splitlines()[:10]:
                    console.print(f"    {line}", markup=False)
        if c.get("deviations"):
            console.print()
        for d in distinct(c.get("deviations", ())):
            machines = sorted({r["machine"] for r in c["deviations"] if r["deviation"] == d["deviation"]})
            console.print(f"[{VERDICT_STYLE[Verdict.DEVIATION]}]{c['id']}[/]: known deviation "
                          f"{escape(lacked_fix(d))}: {escape(d['summary'])}", markup=True)
            console.print(f"    in {', '.join(machines)}; first seen at {d['what']}", markup=False)
    console.print(f"\n{conclusion(doc)}", markup=False)
