"""Native libraries certified by path, end to end through the CLI, as an implementer would.

ctmem's sources built a second time outside the package must pass every cell;
a library that segfaults is "crash" and one that never returns is "hang", and
in both cases the other cells still run and the report is still written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.native.libraries import CRASH_AT, libraries

from .reports_fixtures import certify, tool

pytestmark = pytest.mark.xdist_group("native-certify")


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return libraries(tmp_path_factory)


def test_the_standalone_library_passes_every_cell(libs: dict[str, Path], tmp_path: Path) -> None:
    report = tmp_path / "standalone.json"
    run = certify("--backend", str(libs["ctmem_standalone"]), "-n", "2", "--report", str(report))
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads(report.read_text())
    assert doc["backend"] == str(libs["ctmem_standalone"])
    assert len(doc["cells"]) == 20 and {c["verdict"] for c in doc["cells"]} == {"pass"}


@pytest.mark.parametrize(("lib", "verdict", "detail"), [
    ("crash_backend", "crash", "SIGSEGV"),
    ("hang_backend", "hang", "did not finish within 5 s"),
])
def test_faulty_libraries_cost_their_cells_only(libs: dict[str, Path], tmp_path: Path, lib: str, verdict: str,
                                                detail: str) -> None:
    report = tmp_path / f"{lib}.json"
    run = certify("--backend", str(libs[lib]), "--cells", "pair:v1:64:v1,pair:v1:64:v0", "-n", "2",
                  "--time-limit", "5", "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    cells = {c["id"]: c for c in json.loads(report.read_text())["cells"]}
    assert cells["pair:v1:64:v1"]["verdict"] == verdict
    assert detail in cells["pair:v1:64:v1"]["errors"][0]["message"]
    assert f"{verdict}" in run.stdout


def test_a_crash_names_the_op_in_flight_and_the_steps_before_it(libs: dict[str, Path], tmp_path: Path) -> None:
    report = tmp_path / "crash_at.json"
    run = certify("--backend", str(libs["crash_at"]), "--cells", "pair:v1:64:v1", "-n", "0", "--report",
                  str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    cell = json.loads(report.read_text())["cells"][0]
    assert cell["verdict"] == "crash"
    error = cell["errors"][0]
    assert "SIGSEGV" in error["message"] and "the op in flight" in error["message"]
    steps = error["steps"]
    assert 1 <= len(steps) <= CRASH_AT, steps
    assert steps[-1].endswith("never returned (the op in flight)"), steps[-1]
    assert "NEW_POOL" in steps[0]  # the example's first step is a real, described hypercall
    frames = error["traceback"]  # faulthandler's, written as the child died: the Python side of the crash
    assert "Segmentation fault" in frames and "in hypercall" in frames, frames


@pytest.mark.parametrize(("lib", "message"), [
    ("missing_symbol", "missing symbol tmem_backend_destroy_domain"),
    ("wrong_version", "TMEM_BACKEND_ABI_VERSION"),
])
def test_unloadable_libraries_are_usage_errors(libs: dict[str, Path], lib: str, message: str) -> None:
    run = certify("--backend", str(libs[lib]))
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr


def test_header_command_prints_the_abi() -> None:
    run = tool("header")
    assert run.returncode == 0
    for name in ("tmem_backend_create", "tmem_backend_hypercall", "tmem_backend_destroy_domain",
                 "tmem_backend_free", "tmem_backend_abi_version", "#define TMEM_BACKEND_ABI_VERSION"):
        assert name in run.stdout
