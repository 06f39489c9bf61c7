"""`tmem-conformance selftest`: the suite's own power, measured through `certify`.

Every fault of the catalogue is certified on the cells that expose it and
must be killed naming one of its expected rules; every legal variant (a
host taking another choice tmem-abi.md section 10 allows) is certified on
every cell and must pass; every rule must be named by some killed fault;
a host reproducing each historical release (historical.py) is certified at
that release's level on every cell and must be named by exactly its
deviations (models/history.py).
Each entry runs as its own `tmem-conformance certify ... -n 0` process, the
same path an implementer's backend takes, N of them at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from ..examples import path as example_path
from ..models.errors import UsageError
from ..models.history import RELEASES, deviations_of
from ..models.rules import RULES
from ..paths import writable
from ..profiles import PROFILES
from ..report import Verdict
from . import backends
from .power import save_power

FORMATS = ("text", "json", "markdown")
CERTIFY = "import sys; from tmem_conformance.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class Job:
    kind: str  # "fault", "variant" or "release"
    name: str
    spec: str
    cells: str | None
    expect_rules: frozenset[str] = frozenset()
    choice: str = ""
    #: a release: the certification level it runs at, and the deviations it must be named by, exactly
    level: str = "spec"
    expect_deviations: frozenset[str] = frozenset()
    #: shipped revision files (tmem_conformance.examples) the certification adds (--abi-file)
    abi_files: tuple[str, ...] = ()


def jobs() -> list[Job]:
    """Variants first (they run every cell, the longest jobs), then the faults."""
    from .faults import FAULTS
    from .variants import VARIANTS
    out = [Job("variant", v.name, backends.spec(v.name), None, choice=v.choice, abi_files=v.abi_files)
           for v in VARIANTS.values()]
    out += [Job("release", f"xen-{r}", f"{HISTORICAL_MODULE}:xen_{r.replace('.', '_')}", None,
                level=f"historical={r}", expect_deviations=frozenset(d.id for d in deviations_of(r)))
            for r in RELEASES]
    out += [fault_job(f) for f in FAULTS.values()]
    return out


def fault_job(f: Any) -> Job:
    """A fault of the catalogue (faults.Fault) as the certification that must kill it."""
    return Job("fault", f.name, f"{FAULTS_MODULE}:{f.backend.__name__}", f.cells, frozenset(f.expect_rules),
               abi_files=f.abi_files)


FAULTS_MODULE = "tmem_conformance.selftest.faults"
HISTORICAL_MODULE = "tmem_conformance.selftest.historical"
KINDS = ("fault", "variant", "release")


def certify_argv(job: Job, profile: str, report: str, time_limit: float | None) -> list[str]:
    argv = [sys.executable, "-c", CERTIFY, "certify", "--backend", job.spec, "--profile", profile, "-n", "0",
            "--peers", "none", "--quiet", "--no-quick-look", "--report", report]  # the full checks' own power
    if job.cells:
        argv += ["--cells", job.cells]
    if job.level != "spec":
        argv += ["--level", job.level]
    for name in job.abi_files:
        argv += ["--abi-file", example_path(name)]
    if job.kind == "fault":
        argv += ["--no-shrink", "--exitfirst"]  # the question is whether and by which rule, not the shortest steps
    if time_limit:
        argv += ["--time-limit", str(time_limit)]
    return argv


def run_job(job: Job, profile: str, time_limit: float | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "report.json")
        started = time.monotonic()
        proc = subprocess.run(certify_argv(job, profile, path, time_limit), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        seconds = round(time.monotonic() - started, 2)
        if not os.path.exists(path):  # the entry itself is broken: say so, and go on with the others
            why = f"certify exited {proc.returncode} with no report: {proc.stderr.strip()[-400:]}"
            if job.kind == "variant":
                return {"name": job.name, "choice": job.choice, "verdict": Verdict.FAIL, "failed_cells": [],
                        "rules": [], "seconds": seconds, "violations": [why]}
            return {"name": job.name, "expect_rules": sorted(job.expect_rules), "verdict": "survived",
                    "rules": [], "named_expected": False, "cells": [], "seconds": seconds, "verdicts": [],
                    "error": why}
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    cells = doc["cells"]
    rules = sorted({v["rule"] for c in cells for v in c["violations"]})
    failed = [c["id"] for c in cells if c["verdict"] not in (Verdict.PASS, Verdict.NOT_RUN)]
    if job.kind == "release":
        return release_result(job, cells, rules, seconds)
    if job.kind == "variant":
        return {"name": job.name, "choice": job.choice, "verdict": Verdict.PASS if not failed else Verdict.FAIL,
                "failed_cells": failed, "rules": rules, "seconds": seconds,
                "violations": [v["message"] for c in cells for v in c["violations"]][:3]}
    return {"name": job.name, "expect_rules": sorted(job.expect_rules),
            "verdict": "killed" if failed else "survived", "rules": rules,
            "named_expected": bool(set(rules) & job.expect_rules), "cells": failed, "seconds": seconds,
            "verdicts": sorted({c["verdict"] for c in cells})}


def release_result(job: Job, cells: list[dict[str, Any]], rules: list[str], seconds: float) -> dict[str, Any]:
    """A release reproduced: every cell passes or deviates, and the deviations named are exactly its own."""
    named = sorted({d["deviation"] for c in cells for d in c.get("deviations", [])})
    failed = [c["id"] for c in cells if c["verdict"] not in (Verdict.PASS, Verdict.DEVIATION)]
    ok = not failed and set(named) == job.expect_deviations
    return {"name": job.name, "level": job.level, "verdict": "reproduced" if ok else "not reproduced",
            "expect_deviations": sorted(job.expect_deviations), "deviations": named, "failed_cells": failed,
            "rules": rules, "seconds": seconds}


def run(profile: str, workers: int, only: str | None = None,
        progress: Callable[[str], None] | None = None, time_limit: float | None = None,
        kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    todo = [j for j in jobs() if j.kind in kinds and (only is None or any(p in j.name for p in only.split(",")))]
    if not todo:
        raise UsageError(f"selftest --only {only!r} matches no fault or variant")
    results: dict[tuple[str, str], dict[str, Any]] = {}
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_job, j, profile, time_limit): j for j in todo}
        for fut in as_completed(futures):
            j = futures[fut]
            r = results[(j.kind, j.name)] = fut.result()
            if progress is not None:
                progress(f"{j.kind:7} {j.name:34} {r['verdict']:8} {', '.join(r['rules']) or '-':40} "
                         f"{r['seconds']:7.1f}s")
    faults = [results[("fault", j.name)] for j in todo if j.kind == "fault"]
    variants = [results[("variant", j.name)] for j in todo if j.kind == "variant"]
    releases = [results[("release", j.name)] for j in todo if j.kind == "release"]
    covered: dict[str, list[str]] = {r: [] for r in RULES}
    for f in faults:
        for rule in f["rules"]:
            if rule in f["expect_rules"] and rule in covered:
                covered[rule].append(f["name"])
    return {"profile": profile, "seconds": round(time.monotonic() - started, 1), "faults": faults,
            "variants": variants, "releases": releases, "rules": covered}


def passed(doc: dict[str, Any]) -> bool:
    """Every fault killed naming an expected rule, every variant passing, every rule covered."""
    return (all(f["verdict"] == "killed" and f["named_expected"] for f in doc["faults"])
            and all(v["verdict"] == Verdict.PASS for v in doc["variants"])
            and all(r["verdict"] == "reproduced" for r in doc.get("releases", []))
            and all(doc["rules"].values()))


def summary(doc: dict[str, Any]) -> dict[str, tuple[int, int]]:
    faults, variants, rules = doc["faults"], doc["variants"], doc["rules"]
    releases = doc.get("releases", [])
    return {"faults killed": (sum(f["verdict"] == "killed" and f["named_expected"] for f in faults), len(faults)),
            "variants passed": (sum(v["verdict"] == Verdict.PASS for v in variants), len(variants)),
            "releases reproduced": (sum(r["verdict"] == "reproduced" for r in releases), len(releases)),
            "rules covered": (sum(bool(v) for v in rules.values()), len(rules))}


def power_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The figures of one selftest result."""
    s = summary(doc)
    return {"profile": doc["profile"], "seconds": doc["seconds"],
            "faults_killed": s["faults killed"][0], "faults": s["faults killed"][1],
            "variants_passed": s["variants passed"][0], "variants": s["variants passed"][1],
            "rules_covered": s["rules covered"][0], "rules": s["rules covered"][1]}


def render_markdown(doc: dict[str, Any]) -> str:
    out = ["# tmem-conformance selftest", "", f"Profile `{doc['profile']}`, {doc['seconds']} s.", ""]
    out += [f"- **{k}**: {a} / {b}" for k, (a, b) in summary(doc).items()]
    out += ["", "## Faults (each must be killed naming an expected rule)", "",
            "| fault | expected rules | verdict | rules named | seconds |", "|---|---|---|---|---|"]
    for f in doc["faults"]:
        verdict = f["verdict"] if f["named_expected"] or f["verdict"] == "survived" else "killed (other rule)"
        out.append(f"| {f['name']} | {', '.join(f['expect_rules'])} | {verdict} | "
                   f"{', '.join(f['rules']) or '-'} | {f['seconds']} |")
    out += ["", "## Legal variants (each must pass every cell)", "",
            "| variant | section 10 row | verdict | failed cells | seconds |", "|---|---|---|---|---|"]
    for v in doc["variants"]:
        out.append(f"| {v['name']} | {v['choice']} | {v['verdict']} | {', '.join(v['failed_cells']) or '-'} | "
                   f"{v['seconds']} |")
    out += ["", "## Historical releases (each must certify at its level with exactly its deviations)", "",
            "| release | level | verdict | deviations named | failed cells | seconds |", "|---|---|---|---|---|---|"]
    for r in doc.get("releases", []):
        out.append(f"| {r['name']} | {r['level']} | {r['verdict']} | {', '.join(r['deviations']) or '-'} | "
                   f"{', '.join(r['failed_cells']) or '-'} | {r['seconds']} |")
    missing = [r for r, names in doc["rules"].items() if not names]
    out += ["", "## Rules not named by any fault", "", ", ".join(missing) or "none", ""]
    return "\n".join(out)


def render_text(doc: dict[str, Any]) -> str:
    lines = [f"selftest ({doc['profile']} profile, {doc['seconds']} s)"]
    lines += [f"  {k}: {a}/{b}" for k, (a, b) in summary(doc).items()]
    for f in doc["faults"]:
        if f["verdict"] != "killed" or not f["named_expected"]:
            lines.append(f"  fault {f['name']}: {f['verdict']}, named {f['rules'] or 'nothing'}, "
                         f"expected one of {f['expect_rules']}" + (f" ({f['error']})" if "error" in f else ""))
    for v in doc["variants"]:
        if v["verdict"] != Verdict.PASS:
            lines.append(f"  variant {v['name']} ({v['choice']}): fails {v['failed_cells']}: "
                         f"{'; '.join(v['violations'])[:400]}")
    for r in doc.get("releases", []):
        if r["verdict"] != "reproduced":
            lines.append(f"  release {r['name']} at {r['level']}: named {r['deviations']}, expected exactly "
                         f"{r['expect_deviations']}; failed cells {r['failed_cells']} ({', '.join(r['rules'])})")
    missing = [r for r, names in doc["rules"].items() if not names]
    if missing:
        lines.append(f"  rules no fault names: {', '.join(missing)}")
    return "\n".join(lines) + "\n"


def list_jobs(fmt: str) -> int:
    rows = [{"kind": j.kind, "name": j.name, "backend": j.spec, "cells": j.cells or "every cell",
             **({"expect_rules": sorted(j.expect_rules)} if j.kind == "fault" else
                {"level": j.level, "expect_deviations": sorted(j.expect_deviations)} if j.kind == "release" else
                {"choice": j.choice})}
            for j in jobs()]
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    for r in rows:
        what = ", ".join(r["expect_rules"]) if r["kind"] == "fault" else f"section 10 row {r.get('choice')}" \
            if r["kind"] == "variant" else f"{r['level']}: {', '.join(r['expect_deviations'])}"
        sys.stdout.write(f"{r['kind']:7} {r['name']:36} {r['cells']:40} {what}\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("selftest", help="measure the suite's own power: faults it must kill, legal variants "
                                        "it must pass, rules covered")
    p.add_argument("--profile", choices=PROFILES, default="ci", help="hypothesis profile (default: ci)")
    p.add_argument("-n", dest="workers", default="auto", metavar="N|auto",
                   help="certifications run at a time (default: the number of CPUs)")
    p.add_argument("--report", metavar="FILE.json", help="write the JSON result here")
    p.add_argument("--format", choices=FORMATS, default="text", help="what to print at the end")
    p.add_argument("--only", metavar="NAMES", help="comma-separated substrings of fault/variant names")
    p.add_argument("--kind", choices=KINDS, help="only the faults, the legal variants, or the historical releases")
    p.add_argument("--list", action="store_true", help="print the faults and variants that would run, and stop")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="per case, as for certify")
    p.add_argument("--save-power", action="store_true",
                   help="record the figures in the package (power.json), quoted by the HTML report's footer")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    workers = (os.cpu_count() or 1) if args.workers == "auto" else args.workers
    if not str(workers).isdigit() or int(workers) < 1:
        raise UsageError(f"-n takes a number of parallel certifications (1 or more) or 'auto', "
                         f"not {args.workers!r}")
    writable(args.report, "--report")
    if args.list:
        return list_jobs(args.format)
    doc = run(args.profile, int(workers), args.only,
              progress=None if args.format == "json" else lambda line: print(line, flush=True),
              time_limit=args.time_limit, kinds=(args.kind,) if args.kind else KINDS)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    if args.save_power:
        if args.only or args.kind:
            raise UsageError("--save-power records the whole catalogue's figures: drop --only and --kind")
        save_power(power_of(doc))
    text = {"json": lambda d: json.dumps(d, indent=2) + "\n", "markdown": render_markdown,
            "text": render_text}[args.format](doc)
    sys.stdout.write(text)
    return 0 if passed(doc) else 1
