"""The certify command end to end, as a user runs it: verdicts, exit codes, the JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def certify(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "certify", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def test_simulator_passes_every_cell(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    run = certify("--backend", "simulator", "--profile", "ci", "-n", "2", "--report", str(report))
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads(report.read_text())
    assert doc["backend"] == "simulator" and doc["profile"] == "ci"
    assert len(doc["cells"]) == 20
    assert {c["verdict"] for c in doc["cells"]} == {"pass"}
    assert all(c["examples"] > 0 and c["steps"] > 0 for c in doc["cells"])
    assert "20 of 20 cells pass" in run.stdout


def test_a_broken_backend_fails_naming_its_rule_with_shrunk_steps(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    run = certify("--backend", "tests.broken:NoPrivilegeCheck", "--cells", "pair:v1:64:v1", "-n", "0",
                  "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "rule TMEM-HC-004 violated" in run.stdout
    cell = json.loads(report.read_text())["cells"][0]
    assert cell["verdict"] == "fail"
    v = cell["violations"][0]
    assert v["rule"] == "TMEM-HC-004" and "expected -1" in v["message"]
    assert 0 < len(v["steps"]) <= 12, v["steps"]  # shrunk to a handful of calls


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
    assert "RuntimeError: backend bug" in cells[0]["errors"][0]["traceback"]


@pytest.mark.parametrize(("args", "message"), [
    (["--backend", "no-such-backend"], "unknown backend 'no-such-backend'"),
    (["--backend", "no_such_module:make"], "cannot import module 'no_such_module'"),
    (["--backend", "tests.broken:NOT_THERE"], "has no attribute 'NOT_THERE'"),
    (["--backend", "simulator", "--cells", "pair:v9:*"], "matches no cell"),
    (["--backend", "simulator", "-n", "many"], "-n takes a number of workers or 'auto'"),
])
def test_usage_errors_exit_2_with_a_fix(args: list[str], message: str) -> None:
    run = certify(*args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
