"""The certify command end to end, as a user runs it: verdicts, exit codes, the JSON report."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tmem_conformance.candidates import simulator
from tmem_conformance.models import codec

WRITE = 9  # tmem.h

ROOT = Path(__file__).resolve().parent.parent


def certify(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    args = (*args, "--peers", "none")
    return subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "certify", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


class Raises:
    def __init__(self, abi_version: int, capacity_pages: int) -> None:
        pass

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        raise RuntimeError("backend bug")

    def destroy_domain(self, domid: int) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_backend_that_raises_is_an_error_and_other_cells_still_run(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    run = certify("--backend", "tests.test_certify_cli:Raises", "--cells", "pair:v0:64:*", "-n", "0",
                  "--report", str(report))
    assert run.returncode == 1
    cells = json.loads(report.read_text())["cells"]
    assert [c["verdict"] for c in cells] == ["error", "error"]
    assert all(c["steps"] > 0 for c in cells), "an error verdict counts the steps that ran (the raising ones)"
    assert "RuntimeError: backend bug" in cells[0]["errors"][0]["traceback"]


class Aborts(Raises):
    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        os.abort()


class Hangs(Raises):
    """The simulator, except that the second guest's first NEW_POOL never returns."""

    def __init__(self, abi_version: int, capacity_pages: int) -> None:
        self.inner = simulator.make(abi_version, capacity_pages)

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        while op[0] == 1 and domid == 2:
            time.sleep(0.01)
        return self.inner.hypercall(domid, word_size, op, memory)


class SegfaultsOnWrite(Hangs):
    """The simulator, except that a WRITE with a window of 100 bytes or more kills the process (SIGSEGV)."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        decoded = codec.unpack(bytes(op).ljust(56, b"\0")[:56], "v1", 64) if word_size == 64 else None
        if decoded is not None and decoded.cmd == WRITE and isinstance(decoded.u, codec.Gen) \
                and decoded.u.len >= 100:
            os.kill(os.getpid(), signal.SIGSEGV)
        return self.inner.hypercall(domid, word_size, op, memory)


def test_a_crash_is_shrunk_in_fresh_processes_to_the_op_that_kills(tmp_path: Path) -> None:
    report = tmp_path / "crash.json"
    # A generous budget (10 x 4 s for a crash), so that a slow machine shrinks it too.
    run = certify("--backend", "tests.test_certify_cli:SegfaultsOnWrite", "--cells", "pair:v1:64:v1/hypercall",
                  "-n", "0", "--shrink-seconds", "4", "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    [cell] = json.loads(report.read_text())["cells"]
    assert cell["verdict"] == "crash"
    [error] = cell["errors"]
    assert "SIGSEGV" in error["message"] and "shrunk to" in error["message"], error["message"]
    steps = error["steps"]
    assert "WRITE" in steps[-1] and "BackendCrashed" in steps[-1], steps[-1]  # the op that kills, last
    shrunk, unshrunk = map(int, re.search(r"shrunk to (\d+) steps from (\d+)", error["message"]).groups())
    assert shrunk == len(steps) < unshrunk, error["message"]
    # replay treats it like any other counterexample: the crash reproduces; a fixed backend passes.
    for backend, code, said in (("tests.test_certify_cli:SegfaultsOnWrite", 1, "reproduced: the backend crashed"),
                                ("simulator", 0, "the steps pass against simulator")):
        again = subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "replay", str(report), "--violation",
                                error["id"], "--backend", backend], cwd=ROOT, capture_output=True, text=True,
                               timeout=300)
        assert again.returncode == code and said in again.stdout, again.stdout + again.stderr


def test_crash_and_hang_cost_one_cell_each_and_the_report_is_written(tmp_path: Path) -> None:
    for backend, verdict in (("Aborts", "crash"), ("Hangs", "hang")):
        report = tmp_path / f"{verdict}.json"
        run = certify("--backend", f"tests.test_certify_cli:{backend}", "--cells", "pair:v0:64:v0,mig:v0:v1:64",
                      "-n", "2", "--time-limit", "5", "--report", str(report))
        assert run.returncode == 1, run.stdout + run.stderr
        cells = json.loads(report.read_text())["cells"]
        assert [c["verdict"] for c in cells] == [verdict, verdict], cells
        assert {"crash": "SIGABRT", "hang": "did not finish within 5 s"}[verdict] in cells[0]["errors"][0]["message"]


@pytest.mark.parametrize(("args", "message"), [
    (["--backend", "no-such-backend"], "unknown backend 'no-such-backend'"),
    (["--backend", "no_such_module:make"], "cannot import module 'no_such_module'"),
    (["--backend", "tests.broken:NOT_THERE"], "has no attribute 'NOT_THERE'"),
    (["--backend", "simulator", "--cells", "pair:v9:*"], "matches no cell"),
    (["--backend", "simulator", "--cells", "pair:v0:64:v0/nope"], "names no machine of its cells; they have "
                                                                   "control, hypercall, pairing"),
    (["--backend", "simulator", "-n", "many"], "-n takes a number of workers or 'auto'"),
    (["--backend", "simulator", "--shrink-seconds", "0"], "--shrink-seconds takes a positive number"),
    (["--backend", "simulator", "--shard", "3/2"], "--shard takes I/N with 1 <= I <= N"),
    (["--backend", "simulator", "--report", "missing/dir/r.json"], "'missing/dir/r.json': the directory"),
    (["--backend", "simulator", "--report", "."], "'.' is a directory"),
])
def test_usage_errors_exit_2_with_a_fix(args: list[str], message: str) -> None:
    run = certify(*args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["report", "render", "no-such-report.json"], "no report at 'no-such-report.json'"),
    (["report", "render", "README.md", "-o", "missing/dir/x.html"], "'missing/dir/x.html': the directory"),
    (["report", "merge", "README.md", "-o", "missing/dir/x.json"], "'missing/dir/x.json': the directory"),
    (["docs", "-o", "missing/dir/CONFORMANCE.md"], "'missing/dir/CONFORMANCE.md': the directory"),
    (["selftest", "--report", "missing/dir/s.json"], "'missing/dir/s.json': the directory"),
    (["selftest", "-n", "0"], "-n takes a number of parallel certifications"),
    (["selftest", "--only", "no-such-fault"], "matches no fault or variant"),
])
def test_bad_paths_and_options_are_refused_before_any_work(argv: list[str], message: str) -> None:
    run = subprocess.run([sys.executable, "-c", "import sys; from tmem_conformance.cli import main; "
                          "sys.exit(main())", *argv], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_list_shows_every_cell_with_its_expected_outcome_and_runs_nothing() -> None:
    run = certify("--backend", "simulator", "--list", "--format", "json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    cells = {c["id"]: c for c in doc["cells"]}
    assert len(cells) == 20
    # Literals from the documented matrix (README, DESIGN.md), not from the code under test.
    assert cells["pair:v0:64:v1"]["expected"] == "graceful-failure"
    assert cells["pair:v1+shim:32:v0"]["expected"] == "via-shim"
    assert cells["mig:v0:v1:64"]["expected"] == "refused"
    assert cells["mig:v1:v1:32"]["expected"] == "intact"
    assert "TMEM-PAIR-002" in cells["pair:v0:64:v1"]["rules"]
    assert cells["pair:v1:64:v1"]["machines"] == ["hypercall", "control", "pairing"]
    assert cells["mig:v0:v0:64"]["machines"] == ["migration"]  # this helper passes --peers none


@pytest.mark.parametrize(("options", "fully"), [(["--shrink-seconds", "0.5"], None), (["--no-shrink"], False)])
def test_a_violation_says_whether_its_steps_are_fully_shrunk(tmp_path: Path, options: list[str],
                                                              fully: bool | None) -> None:
    report = tmp_path / "r.json"
    run = certify("--backend", "tmem_conformance.selftest.faults:GetCopiesHalfPage", "--cells",
                  "pair:v1:64:v1/hypercall", "-n", "0", "--report", str(report), *options)
    assert run.returncode == 1, run.stdout + run.stderr
    [v] = json.loads(report.read_text())["cells"][0]["violations"]
    assert v["rule"] == "TMEM-GET-003" and isinstance(v["fully_shrunk"], bool)
    if fully is not None:
        assert v["fully_shrunk"] is fully
    assert "steps" in run.stdout and "tmem-conformance replay REPORT --violation pair:v1:64:v1/hypercall" in run.stdout


class Returns(Hangs):
    """The simulator, except that every NEW_POOL returns RETURNS instead of its slot."""

    RETURNS: object = None

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        ret = self.inner.hypercall(domid, word_size, op, memory)
        return self.RETURNS if op[0] == 1 else ret  # type: ignore[return-value]


class ReturnsNone(Returns):
    RETURNS = None


class ReturnsFloat(Returns):
    RETURNS = 0.0


class ReturnsHuge(Returns):
    RETURNS = 2**80


class RaisesHtml(Raises):
    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        raise RuntimeError("<script>alert('owned')</script> & <b>bold</b>")


@pytest.mark.parametrize(("backend", "verdict", "message"), [
    ("ReturnsNone", "error", "the backend returned None (NoneType), not an int"),
    ("ReturnsFloat", "error", "the backend returned 0.0 (float), not an int"),
    ("ReturnsHuge", "fail", "observed returned 1208925819614629174706176"),
])
def test_a_return_value_that_is_not_a_long_is_named(tmp_path: Path, backend: str, verdict: str,
                                                     message: str) -> None:
    report = tmp_path / "r.json"
    run = certify("--backend", f"tests.test_certify_cli:{backend}", "--cells", "pair:v1:64:v1/hypercall",
                  "-n", "0", "--no-shrink", "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    [cell] = json.loads(report.read_text())["cells"]
    assert cell["verdict"] == verdict
    said = [e["message"] for e in cell["errors"]] + [v["message"] for v in cell["violations"]]
    assert any(message in m for m in said), said


def test_html_in_a_backends_error_is_escaped_in_the_html_report(tmp_path: Path) -> None:
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    run = certify("--backend", "tests.test_certify_cli:RaisesHtml", "--cells", "pair:v1:64:v1/hypercall", "-n", "0",
                  "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    rendered = subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "report", "render", str(report),
                               "--format", "html", "-o", str(page)], capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr
    html = page.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html


def test_a_cell_pattern_may_name_its_machines() -> None:
    run = certify("--backend", "simulator", "--list", "--format", "json",
                  "--cells", "pair:v1:64:v1/pairing,pair:v0:*/h*,mig:v0:v0:64")
    assert run.returncode == 0, run.stderr
    machines = {c["id"]: c["machines"] for c in json.loads(run.stdout)["cells"]}
    assert machines == {"pair:v0:64:v0": ["hypercall"], "pair:v0:32:v0": ["hypercall"],
                        "pair:v0:64:v1": ["hypercall"], "pair:v0:32:v1": ["hypercall"], "pair:v1:64:v1": ["pairing"],
                        "mig:v0:v0:64": ["migration"]}


def _marked(mark: str) -> list[int]:
    """Processes whose environment carries `mark` (every descendant of a run inherits it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if mark.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the run's processes through /proc")
def test_sigterm_stops_every_process_of_the_run_and_still_writes_the_report(tmp_path: Path) -> None:
    import signal
    mark = f"TMEM_SIGTERM_TEST={os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, mark.split("=")[0]: mark.split("=")[1]}
    report = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "tmem_conformance.cli", "certify", "--backend", "simulator",
                             "-n", "2", "--peers", "none", "--quiet", "--report", str(report)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(_marked(mark)) < 4 and time.monotonic() < deadline:  # certify, 2 workers, a case child
        time.sleep(0.2)
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 130
    time.sleep(5)
    assert _marked(mark) == [], "a process of the run outlived it by 5 s"
    cells = json.loads(report.read_text())["cells"]
    assert len(cells) == 20 and "not run" in {c["verdict"] for c in cells}
