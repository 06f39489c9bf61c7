"""Reports: shards merge to the unsharded verdicts, renderings validate, replay reproduces.

The certification runs are shared in this module (one xdist group), since each takes a while.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from tmem_conformance.report import check

from .reports_fixtures import OUTPUT, ROOT, run_report, tool

pytestmark = pytest.mark.xdist_group("certified-reports")
BROKEN = "tests.broken:NoPrivilegeCheck"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def full(workdir: Path) -> dict[str, Any]:
    return run_report(workdir / "full.json", "--backend", "simulator", "-n", "2", expect=0)


@pytest.fixture(scope="module")
def broken(workdir: Path) -> dict[str, Any]:
    # Shrinking to its end, not to a time budget: the steps are then the same on any machine.
    return run_report(workdir / "broken.json", "--backend", BROKEN, "--cells", "pair:v1:64:v1,mig:v1:v1:64",
                      "-n", "2", "--shrink-seconds", "300", expect=1)


def test_the_simulator_passes_every_cell(full: dict[str, Any]) -> None:
    assert len(full["cells"]) == 20 and {c["verdict"] for c in full["cells"]} == {"pass"}
    assert full["backend"] == "simulator" and full["profile"] == "ci" and full["seed"] == "derandomized"
    assert all(c["examples"] > 0 and c["steps"] > 0 for c in full["cells"])
    check(full, "the simulator's report")


def test_a_broken_backend_fails_naming_its_rule_with_shrunk_steps(broken: dict[str, Any]) -> None:
    cell, mig = broken["cells"]
    assert (cell["verdict"], mig["verdict"]) == ("fail", "pass")
    v = cell["violations"][0]
    assert v["rule"] == "TMEM-HC-004" and "expected -1" in v["message"] and v["id"] == "pair:v1:64:v1/control"
    calls = [s for s in v["steps"] if not s.startswith("step ")]
    assert 0 < len(calls) <= 12 and 1 <= v["machine_steps"] <= 4, v["steps"]  # shrunk to a handful of calls
    assert v["replay"][0]["event"] == "create"


def test_two_shards_merge_to_the_unsharded_verdicts(full: dict[str, Any], workdir: Path) -> None:
    a = run_report(workdir / "a.json", "--backend", "simulator", "--shard", "1/2", "-n", "2", expect=0)
    b = run_report(workdir / "b.json", "--backend", "simulator", "--shard", "2/2", "-n", "2", expect=0)
    assert a["shard"] == "1/2" and len(a["cells"]) == 10 and len(b["cells"]) == 10
    assert not {c["id"] for c in a["cells"]} & {c["id"] for c in b["cells"]}
    run = tool("report", "merge", str(workdir / "a.json"), str(workdir / "b.json"), "-o", str(workdir / "m.json"))
    assert run.returncode == 0, run.stderr
    merged = json.loads((workdir / "m.json").read_text())
    check(merged, "the merged report")
    assert [(c["id"], c["verdict"]) for c in merged["cells"]] == [(c["id"], c["verdict"]) for c in full["cells"]]
    assert [(c["id"], c["examples"]) for c in merged["cells"]] == [(c["id"], c["examples"]) for c in full["cells"]]


def test_a_missing_shard_shows_not_run_never_pass(workdir: Path, full: dict[str, Any]) -> None:
    half = dict(full, shard="1/2", cells=full["cells"][::2])
    (workdir / "half.json").write_text(json.dumps(half))
    assert tool("report", "merge", str(workdir / "half.json"), "-o", str(workdir / "h.json")).returncode == 0
    cells = json.loads((workdir / "h.json").read_text())["cells"]
    assert [c["verdict"] for c in cells[1::2]] == ["not run"] * 10
    text = tool("report", "render", str(workdir / "h.json"), "--format", "text").stdout
    assert "10 pass, 10 not run" in text


@pytest.mark.parametrize(("field", "value", "message"), [
    ("backend", "other", "backend differs ('other' vs 'simulator')"),
    ("profile", "thorough", "profile differs"),
    ("suite_version", "9.9", "suite_version differs"),
])
def test_merge_refuses_reports_of_different_runs(workdir: Path, full: dict[str, Any], field: str, value: str,
                                                 message: str) -> None:
    (workdir / "x.json").write_text(json.dumps(dict(full, **{field: value}, cells=full["cells"][:1])))
    (workdir / "y.json").write_text(json.dumps(dict(full, cells=full["cells"][1:])))
    run = tool("report", "merge", str(workdir / "y.json"), str(workdir / "x.json"), "-o", str(workdir / "z.json"))
    assert run.returncode == 2 and message in run.stderr


def test_malformed_reports_are_named(workdir: Path, full: dict[str, Any]) -> None:
    bad = json.loads(json.dumps(full))
    bad["cells"][3]["verdict"] = "fine"
    (workdir / "bad.json").write_text(json.dumps(bad))
    run = tool("report", "render", str(workdir / "bad.json"))
    assert run.returncode == 2 and "at cells/3/verdict: 'fine' is not one of" in run.stderr
    (workdir / "notjson.json").write_text("{")
    assert "is not JSON: line 1" in tool("report", "render", str(workdir / "notjson.json")).stderr
    assert "no report at" in tool("report", "render", str(workdir / "nope.json")).stderr
    (workdir / "empty.json").write_text("")
    empty = tool("report", "render", str(workdir / "empty.json"))
    assert empty.returncode == 2 and "is not JSON" in empty.stderr and "Traceback" not in empty.stderr


def test_markdown_renders_both_grids_and_links_violations(workdir: Path, broken: dict[str, Any]) -> None:
    md = tool("report", "render", str(workdir / "broken.json"), "--format", "markdown").stdout
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert html.count("<table>") == 2
    assert "[FAIL](#v-tests-broken-noprivilegecheck-pair-v1-64-v1-control)" in md
    assert "(CONFORMANCE.md#tmem-hc-004)" in md
    assert "native: [FAIL]" in md and "intact: **pass**" in md


def test_junit_has_one_testcase_per_cell(workdir: Path, broken: dict[str, Any]) -> None:
    xml = tool("report", "render", str(workdir / "broken.json"), "--format", "junit").stdout
    root = ET.fromstring(xml)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"pair:v1:64:v1", "mig:v1:v1:64"}
    failure = cases["pair:v1:64:v1"].find("failure")
    assert failure is not None and failure.get("type") == "TMEM-HC-004"
    assert cases["mig:v1:v1:64"].find("failure") is None


def test_replay_reproduces_and_passes_against_the_fixed_backend(workdir: Path, broken: dict[str, Any]) -> None:
    vid = broken["cells"][0]["violations"][0]["id"]
    again = tool("replay", str(workdir / "broken.json"), "--violation", vid, "--backend", BROKEN)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "reproduced: rule TMEM-HC-004 violated" in again.stdout
    fixed = tool("replay", str(workdir / "broken.json"), "--violation", vid, "--backend", "simulator")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "the steps pass against simulator" in fixed.stdout and "expected -1" in fixed.stdout


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Debian's chromium is needed for this test: apt-get install chromium (.ci/run installs it)"
    return exe


def test_html_report_in_headless_chromium(workdir: Path, full: dict[str, Any], broken: dict[str, Any]) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page = OUTPUT / "sample-report.html"
    run = tool("report", "render", str(workdir / "full.json"), str(workdir / "broken.json"), "--format", "html",
               "-o", str(page), "--rules-doc", str(ROOT / "CONFORMANCE.md"))
    assert run.returncode == 0, run.stderr
    assert "http" not in page.read_text().replace("http-equiv", "")  # self-contained: nothing to fetch
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={workdir / 'chromium-profile'}"]
    shot = OUTPUT / "sample-report.png"
    subprocess.run([_chromium(), *flags, f"--screenshot={shot}", "--window-size=1400,1800", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.stat().st_size > 10_000
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", page.as_uri()], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    assert dom.count('id="grid-pairing"') == 1 and dom.count('id="grid-migration"') == 1
    assert dom.count("data-cell=") == 20
    cell = dom[dom.index('data-cell="pair:v1:64:v1"'):]
    cell = cell[:cell.index("</td>")]
    assert 'data-backend="simulator" data-verdict="pass"' in cell
    assert f'data-backend="{BROKEN}" data-verdict="fail"' in cell
    other = dom[dom.index('data-cell="pair:v0:64:v0"'):]
    other = other[:other.index("</td>")]
    assert f'data-backend="{BROKEN}" data-verdict="not run"' in other
