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
