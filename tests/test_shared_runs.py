"""One run per family: a machine reading only its host's version and word size runs once for every cell
with that host, and each of those cells gets its verdict, examples and steps, saying whose run it is."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from tmem_conformance.cases import MACHINE_READS, Case, cases_for, select_cells, shared_runs
from tmem_conformance.certify import ProgressTracker
from tmem_conformance.models.matrix import Cell
from tmem_conformance.plugin import shared_result
from tmem_conformance.registry import load
from tmem_conformance.report import CaseResult, Report, check

ROOT = Path(__file__).resolve().parent.parent
HALF_PAGE = "tmem_conformance.selftest.faults:GetCopiesHalfPage"


def certify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "certify", "--profile", "ci", "-n", "0",
                           "--peers", "none", "--no-quick-look", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_one_run_stands_for_the_cells_of_a_host_and_never_for_the_guest_machines() -> None:
    every = cases_for(None, peers=["ctmem", "cytmem"])
    runs = shared_runs(every)
    # Every case is a run's, once: its own or one the run stands for.
    def what(k: Case) -> str:
        return k.id.split("/", 1)[1]
    covered = [(k.cell.id, what(k)) for k in runs] + [(c, what(k)) for k in runs for c in k.also]
    assert sorted(covered) == sorted((k.cell.id, what(k)) for k in every)
    for k in runs:
        if k.machine not in MACHINE_READS or k.peer is not None:
            assert k.also == (), k.id  # the pairing and migration machines read the guest, the peer
        for other in k.also:
            cell = next(c.cell for c in every if c.cell.id == other)
            assert all(getattr(cell, f) == getattr(k.cell, f) for f in MACHINE_READS[k.machine]), (k.id, other)
    hosts = {(k.cell.host, k.cell.word_size) for k in every if k.machine == "hypercall"}
    assert len([k for k in runs if k.machine == "hypercall"]) == len(hosts)
    assert len(runs) < len(every)
    # In matrix order: the first cell of a host runs it, the order of the rest is kept.
    [v0_64] = [k for k in runs if k.machine == "hypercall" and (k.cell.host, k.cell.word_size) == ("v0", 64)]
    assert v0_64.cell.id == "pair:v0:64:v0" and v0_64.also == ("pair:v1:64:v0", "pair:v1+shim:64:v0")
    # One cell alone, or two hosts: nothing is shared.
    assert [k.also for k in shared_runs(cases_for("pair:v1:64:v0"))] == [(), (), ()]
    assert all(k.also == () for k in shared_runs(cases_for("pair:v0:64:v0,pair:v0:64:v1")))


class _Reading:
    """A cell that records which of its fields a machine reads."""

    def __init__(self, cell: Cell) -> None:
        self._cell, self.read = cell, set[str]()

    def __getattr__(self, name: str) -> Any:
        if name in {f.name for f in dataclasses.fields(Cell)}:  # not hypothesis looking for rules
            self.read.add(name)
        return getattr(self._cell, name)


def _fields_read(machine: str, cell_id: str) -> set[str]:
    [case] = cases_for(f"{cell_id}/{machine}")
    cell = _Reading(case.cell)
    built = Case(cell, machine).build(load("simulator").factory)  # type: ignore[arg-type]
    run_state_machine_as_test(built, settings=settings(settings.get_profile("ci"), max_examples=3, database=None))
    return cell.read


def test_the_machines_that_share_a_run_read_only_what_they_say() -> None:
    for machine, fields in MACHINE_READS.items():
        assert _fields_read(machine, "pair:v1+shim:32:v1") <= set(fields), machine
    # The check sees a read: the pairing machine reads the guest, so it is never shared.
    assert {"guest", "expected"} <= _fields_read("pairing", "pair:v1+shim:32:v1")


def _run(case_id: str) -> tuple[int, int, list[tuple[int, int, bytes]]]:
    """A case's machine on the simulator, derandomized as in ci: its examples, steps and every hypercall."""
    calls: list[tuple[int, int, bytes]] = []
    factory = load("simulator").factory

    def recording(version: int, capacity: int) -> Any:
        host = factory(version, capacity)
        call = host.hypercall

        def hypercall(domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
            calls.append((domid, word_size, bytes(op)))
            return call(domid, word_size, op, memory)
        host.hypercall = hypercall
        return host
    [case] = cases_for(case_id)
    machine = case.build(recording)
    run_state_machine_as_test(machine, settings=settings(settings.get_profile("ci"), database=None))
    return machine.examples, machine.steps, calls


def test_a_shared_run_is_draw_for_draw_the_run_of_each_cell_it_stands_for() -> None:
    assert _run("pair:v0:64:v0/control") == _run("pair:v1+shim:64:v0/control")
    # Not so where the guest is read: the comparison can fail.
    assert _run("pair:v0:64:v0/pairing")[2] != _run("pair:v1+shim:64:v0/pairing")[2]


def test_the_report_of_a_shared_run_gives_each_cell_its_figures_and_says_whose_run_it_was(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    run = certify("--backend", "simulator", "--cells", "pair:v0:32:v0/control,pair:v1:32:v0/control",
                  "--report", str(report))
    assert run.returncode == 0, run.stdout + run.stderr
    doc = check(json.loads(report.read_text()), str(report))
    first, second = doc["cells"]
    assert "shared" not in first and second["shared"] == {"control": "pair:v0:32:v0/control"}
    assert first["examples"] == second["examples"] > 0 and first["steps"] == second["steps"] > 0
    assert first["seconds"] > 0 and second["seconds"] == 0  # the run's time is counted once
    assert "control: 1 cases were the same run as another cell's" in run.stdout
    # Run alone, the second cell has the very same figures.
    alone = tmp_path / "alone.json"
    assert certify("--backend", "simulator", "--cells", "pair:v1:32:v0/control", "--report", str(alone),
                   "--quiet").returncode == 0
    [cell] = json.loads(alone.read_text())["cells"]
    assert "shared" not in cell and (cell["examples"], cell["steps"]) == (second["examples"], second["steps"])
    bad = json.loads(report.read_text())
    bad["cells"][1]["shared"] = {"control": "nowhere"}
    try:
        check(bad, "bad.json")
    except Exception as e:
        assert "cells/1/shared/control" in str(e) and "nowhere" in str(e)
    else:
        raise AssertionError("a shared entry naming no case passed the schema")


def test_a_failing_shared_run_fails_every_cell_it_stands_for(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    run = certify("--backend", HALF_PAGE, "--cells", "pair:v0:64:v1/hypercall,pair:v1:64:v1/hypercall",
                  "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    first, second = json.loads(report.read_text())["cells"]
    assert first["verdict"] == second["verdict"] == "fail"
    v, w = first["violations"][0], second["violations"][0]
    assert v["rule"] == w["rule"] == "TMEM-GET-003" and "same_as" not in v
    assert w["same_as"] == v["id"] == "pair:v0:64:v1/hypercall" and w["id"] == "pair:v1:64:v1/hypercall"
    assert w["steps"] == v["steps"] and w["replay"] == v["replay"], "each cell keeps replayable steps"
    assert "the same run as pair:v0:64:v1/hypercall" in run.stdout
    # Each cell's verdict line comes as the run ends, not one cell short.
    assert sum(1 for line in run.stdout.splitlines() if line.startswith("pair:") and " fail " in line) == 2


def test_the_progress_lines_count_a_run_for_each_cell_it_stands_for() -> None:
    import io

    from rich.console import Console

    cells = select_cells("pair:v0:64:v0,pair:v1:64:v0")
    cases = cases_for("pair:v0:64:v0,pair:v1:64:v0")
    tracker = ProgressTracker(cells, cases, Console(file=io.StringIO()), live=False)
    tracker.out = io.StringIO()

    class Done:
        when, passed = "call", True

        def __init__(self, case: str) -> None:
            self.nodeid = f"suite/test_matrix.py::test_cell[{case}]"
            self.user_properties = [("tmem", json.dumps({"examples": 5}))]
    for k in shared_runs(cases):
        tracker.pytest_runtest_logreport(Done(k.id))
    lines = tracker.out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["pair:v0:64:v0", "pair:v1:64:v0"], lines
    assert all(line.split()[3] == "15" for line in lines), lines  # three machines, five examples each
    assert tracker.pending == {"pair:v0:64:v0": 0, "pair:v1:64:v0": 0}


def test_a_shared_result_is_the_runs_for_another_cell() -> None:
    run = CaseResult("pair:v0:64:v0", "hypercall", "fail", 2.5, 40, 900, violation={"rule": "TMEM-GET-003"},
                     error=None)
    other = shared_result(run, "pair:v1:64:v0")
    assert (other.cell, other.verdict, other.examples, other.steps, other.seconds) == \
        ("pair:v1:64:v0", "fail", 40, 900, 0.0)
    assert other.violation == {"rule": "TMEM-GET-003", "same_as": "pair:v0:64:v0/hypercall"}
    assert other.shared_with == "pair:v0:64:v0/hypercall" and run.violation == {"rule": "TMEM-GET-003"}
    earlier = shared_result(CaseResult("pair:v0:64:v0", "hypercall", "fail", 1.0, 1, 1,
                                       violation={"rule": "R", "same_as": "pair:v0:64:v1/hypercall"}), "x")
    assert earlier.violation["same_as"] == "pair:v0:64:v1/hypercall", "the first to shrink it stays named"
    cells = Report("simulator", "ci", None, select_cells("pair:v0:64:v0,pair:v1:64:v0"),
                   [run, other]).cell_entries()
    assert cells[1]["shared"] == {"hypercall": "pair:v0:64:v0/hypercall"} and "shared" not in cells[0]
