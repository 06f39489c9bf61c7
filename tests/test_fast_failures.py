"""A failing backend heard of fast: the quick look, one shrink per counterexample family, step lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tmem_conformance.cases import cases_for
from tmem_conformance.checked import STEP_PREFIX, abridged, machine_steps, short
from tmem_conformance.models.errors import Violation
from tmem_conformance.plugin import _with_quick_look
from tmem_conformance.quick import QUICK_STEPS
from tmem_conformance.report import CaseResult
from tmem_conformance.rundb import QuickStart, RunDatabase

ROOT = Path(__file__).resolve().parent.parent
HALF_PAGE = "tmem_conformance.selftest.faults:GetCopiesHalfPage"


def certify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "certify", "--profile", "ci", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_families_join_cases_that_run_one_machine_in_one_role() -> None:
    fam = {k.id: k.family for k in cases_for("pair:*:64:v1,mig:v0:v0:64", peers=["ctmem", "cytmem"])}
    # The hypercall and control machines read only the host and word size: one family per host.
    assert fam["pair:v0:64:v1/hypercall"] == fam["pair:v1:64:v1/hypercall"] == fam["pair:v1+shim:64:v1/hypercall"]
    assert fam["pair:v0:64:v1/control"] == fam["pair:v1:64:v1/control"]
    assert fam["pair:v0:64:v1/hypercall"] != fam["pair:v0:64:v1/control"]
    assert len({fam[f"pair:{g}:64:v1/pairing"] for g in ("v0", "v1", "v1+shim")}) == 3  # the guest matters
    # Migrations to (or from) every peer: one family per direction, apart from the backend's own.
    assert fam["mig:v0:v0:64/migration-to-ctmem"] == fam["mig:v0:v0:64/migration-to-cytmem"]
    assert fam["mig:v0:v0:64/migration-from-ctmem"] == fam["mig:v0:v0:64/migration-from-cytmem"]
    assert len({fam["mig:v0:v0:64/migration-to-ctmem"], fam["mig:v0:v0:64/migration-from-ctmem"],
                fam["mig:v0:v0:64/migration"]}) == 3
    other = {k.family for k in cases_for("pair:v0:32:v1,pair:v0:64:v0")}
    assert fam["pair:v0:64:v1/hypercall"] not in other  # another word size or host: another family


def _violation(rule: str, steps: list[str], fully: bool = True) -> Violation:
    v = Violation(rule, "what", "expected", "observed")
    v.steps, v.fully_shrunk = steps, fully
    return v


def test_the_first_failure_of_a_family_is_referenced_by_the_same_steps_only(tmp_path: Path) -> None:
    db = RunDatabase(str(tmp_path))
    first = _violation("TMEM-GET-003", ["a", "b"], fully=False)
    db.share("fam", "pair:v0:64:v1/hypercall", first)
    assert first.same_as is None  # the first one is the original
    again = _violation("TMEM-GET-003", ["a", "b"])
    db.share("fam", "pair:v1:64:v1/hypercall", again)
    assert again.same_as == "pair:v0:64:v1/hypercall"
    assert again.fully_shrunk is False, "a reused counterexample is as shrunk as the one it reuses"
    for other in (_violation("TMEM-GET-003", ["a", "c"]), _violation("TMEM-GET-001", ["a", "b"])):
        db.share("fam", "pair:v1+shim:64:v1/hypercall", other)
        assert other.same_as is None, (other.rule, other.steps)
    elsewhere = _violation("TMEM-GET-003", ["a", "b"])
    db.share("another family", "pair:v1:32:v1/hypercall", elsewhere)
    assert elsewhere.same_as is None
    db.remove()
    assert not tmp_path.exists()


def test_cases_of_one_family_shrink_once_and_say_whose_steps_they_show(tmp_path: Path) -> None:
    # Migrations to two peers: two runs of one family (the hypercall machine's cells share one run,
    # test_shared_runs.py); the second tries the first's counterexample before its own search.
    report = tmp_path / "r.json"
    run = certify("--backend", HALF_PAGE, "--cells", "mig:v0:v0:64/migration-to-*", "-n", "0",
                  "--peers", "ctmem,cytmem", "--no-quick-look", "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    [cell] = json.loads(report.read_text())["cells"]
    first, second = cell["violations"]
    # A GET that copies half a page shows first in a restored page's read-back (TMEM-RESTORE-003) or in
    # the source's after a refused stream (TMEM-MIG-003), as the draws meet it: the same in both runs.
    assert first["rule"] == second["rule"] and first["rule"] in {"TMEM-RESTORE-003", "TMEM-MIG-003"}
    assert "same_as" not in first and second["same_as"] == first["id"] == "mig:v0:v0:64/migration to ctmem"
    assert second["steps"] == first["steps"] and second["replay"], "the reference keeps its own replayable steps"
    assert "shared" not in cell, "runs on different peers are not one run"
    assert "the same steps as mig:v0:v0:64/migration to ctmem" in run.stdout


def test_the_quick_look_says_a_failure_before_the_cells_full_budget(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    run = certify("--backend", HALF_PAGE, "--cells", "pair:v1:64:v1", "-n", "0", "--peers", "none", "--quiet",
                  "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    quick = [i for i, line in enumerate(lines) if "quick look): rule TMEM-" in line]
    verdict = [i for i, line in enumerate(lines) if line.startswith("pair:v1:64:v1 ") and " fail " in line]
    assert quick and verdict and quick[0] < verdict[0], run.stdout
    # The full cases still give the verdicts: their violations are shrunk, not the quick look's.
    cell = json.loads(report.read_text())["cells"][0]
    assert cell["verdict"] == "fail" and set(cell["machines"]) == {"hypercall", "control", "pairing"}
    assert not any("found by the quick look" in v["message"] for v in cell["violations"])
    plain = certify("--backend", "simulator", "--cells", "pair:v1:64:v1/pairing", "-n", "0", "--peers", "none",
                    "--quiet", "--no-quick-look")
    assert plain.returncode == 0 and "quick look" not in plain.stdout


def test_the_quick_look_looks_at_a_shared_run_once_and_tells_each_of_its_cells(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from tmem_conformance.plugin import _Recorder
    run = certify("--backend", HALF_PAGE, "--cells", "pair:v0:64:v1,pair:v1:64:v1", "-n", "0", "--peers", "none",
                  "--report", str(tmp_path / "r.json"))
    assert run.returncode == 1, run.stdout + run.stderr
    looked = [line.split(" (")[0] for line in run.stdout.splitlines() if "hypercall, quick look): rule" in line]
    assert looked == ["pair:v0:64:v1"], run.stdout  # the other cell's hypercall machine is the same run
    state = SimpleNamespace(quick={})
    found = {"rule": "TMEM-GET-003", "message": "x"}
    _Recorder(state).pytest_runtest_logreport(SimpleNamespace(when="call", user_properties=[  # type: ignore[arg-type]
        ("tmem-quick", json.dumps({"cell": "pair:v0:64:v1", "machine": "hypercall", "also": ["pair:v1:64:v1"]})),
        ("tmem-violation", json.dumps(found))]))
    assert state.quick == {("pair:v0:64:v1", "hypercall"): found, ("pair:v1:64:v1", "hypercall"): found}


def test_what_the_quick_look_found_is_never_lost() -> None:
    found = {"rule": "TMEM-GET-003", "message": "rule TMEM-GET-003 violated: x", "steps": ["s"]}
    results = [CaseResult("pair:v1:64:v1", "hypercall", "pass", 1.0, 40, 900),
               CaseResult("pair:v1:64:v1", "control", "fail", 1.0, 3, 20, violation={"rule": "TMEM-GET-001"})]
    out = _with_quick_look(results, {("pair:v1:64:v1", "hypercall"): found, ("pair:v1:64:v1", "control"): found,
                                     ("pair:v1:64:v1", "pairing"): found})
    by = {r.machine: r for r in out}
    assert by["hypercall"].verdict == "fail" and by["hypercall"].examples == 40  # passed, then failed by it
    assert by["hypercall"].violation["message"].endswith("(found by the quick look)")
    assert by["control"].violation == {"rule": "TMEM-GET-001"}, "a case's own violation comes first"
    assert by["pairing"].verdict == "fail", "a case that never ran (-x, an interrupt) keeps the quick look's"
    assert _with_quick_look(results, {}) == results


def test_a_violations_steps_name_each_machine_step_before_its_hypercalls(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    run = certify("--backend", HALF_PAGE, "--cells", "mig:v0:v1:64", "-n", "0", "--peers", "none",
                  "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    [v] = json.loads(report.read_text())["cells"][0]["violations"]
    assert v["steps"][0] == f"{STEP_PREFIX}1: boot(capacity=8)" or v["steps"][0].startswith(f"{STEP_PREFIX}1: boot(")
    assert 2 <= v["machine_steps"] == machine_steps(v["steps"]) <= 20 < len(v["steps"])
    assert not any("4096 bytes" in s and len(s) > 300 for s in v["steps"]), "a page is shown short"
    assert f"{v['machine_steps']} machine steps, {len(v['steps'])} lines" in run.stdout.replace("\n", " ")


def test_the_control_machine_shrinks_five_times_as_long(tmp_path: Path) -> None:
    from tmem_conformance.cases import SHRINK_WEIGHT
    assert {k.machine: k.shrink_weight for k in cases_for("pair:v0:64:v0,mig:v0:v0:64")} == \
        {"hypercall": 1.0, "control": SHRINK_WEIGHT["control"], "pairing": 1.0, "migration": 1.0}
    report = tmp_path / "r.json"
    run = certify("--backend", HALF_PAGE, "--cells", "pair:v0:64:v0/control,pair:v0:64:v0/hypercall", "-n", "0",
                  "--peers", "none", "--no-quick-look", "--shrink-seconds", "0.1", "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    [cell] = json.loads(report.read_text())["cells"]
    budgets = {v["machine"]: v["shrink_seconds"] for v in cell["violations"]}
    assert budgets == {"control": 0.1 * SHRINK_WEIGHT["control"], "hypercall": 0.1}, budgets
    for v in cell["violations"]:  # the counterexample is not shrunk in half a second: the message gives it
        assert v["fully_shrunk"] or f"not fully shrunk in {v['shrink_seconds']:g} s" in run.stdout


def test_step_lines_abridge_for_a_terminal() -> None:
    assert short(bytes([0x5A]) * 4096) == "<4096 bytes 5a5a5a5a...>"
    assert short([(0, 3, b"\x01\x02")]) == "[(0, 3, 0102)]" and short((7,)) == "(7,)"
    lines = ["step 1: boot()"] + [f"call {i}" for i in range(20)] + ["step 2: go()"] + [f"call {i}" for i in range(9)]
    assert abridged(lines, tail=3) == ["step 1: boot()", "...", "step 2: go()", "...", "call 6", "call 7", "call 8"]
    assert abridged(lines[:3], tail=8) == lines[:3]


def test_a_quick_start_keeps_its_failure_where_the_full_run_replays_it_first(tmp_path: Path) -> None:
    start = QuickStart()
    start.save(b"machine", b"choices")
    assert list(start.fetch(b"machine")) == [], "the quick start replays nothing itself"
    assert list(start.found.fetch(b"machine.secondary")) == [b"choices"]
    assert list(start.found.fetch(b"machine")) == [], "a primary entry would be reported unshrunk"
    assert start.seeding(None) is start.found
    family = RunDatabase(str(tmp_path)).examples("fam")
    family.save(b"machine", b"shrunk")
    both = start.seeding(family)
    assert sorted(both.fetch(b"machine.secondary")) == [b"choices"] and list(both.fetch(b"machine")) == [b"shrunk"]


def test_a_case_shrinks_from_its_quick_start(tmp_path: Path) -> None:
    # The control machine's full examples fail after some 40 steps; its quick start's within ten. With
    # next to no time to shrink, the counterexample is still the quick start's.
    report = tmp_path / "r.json"
    run = certify("--backend", HALF_PAGE, "--cells", "pair:v0:64:v0/control", "-n", "0", "--peers", "none",
                  "--no-quick-look", "--shrink-seconds", "0.001", "--report", str(report))
    assert run.returncode == 1, run.stdout + run.stderr
    [v] = json.loads(report.read_text())["cells"][0]["violations"]
    assert v["rule"] == "TMEM-GET-003" and 2 <= v["machine_steps"] <= QUICK_STEPS + 1, v["machine_steps"]


def _counting_machine(limit: int) -> type:
    """A machine whose step fails for a value of `limit` or more (never, for limit 10)."""
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, rule

    class Counting(RuleBasedStateMachine):
        steps = 0

        @rule(x=st.integers(0, 9))
        def step(self, x: int) -> None:
            type(self).steps += 1
            assert x < limit, f"{x} >= {limit}"
    return Counting


def _recorded_runs(monkeypatch: object) -> tuple[list[tuple[bool, object]], list[object]]:
    """Each run run_case makes: (with a shrink phase, its database), and each quick start it takes."""
    from hypothesis import Phase

    from tmem_conformance import quick
    runs: list[tuple[bool, object]] = []
    starts: list[object] = []
    real_run, real_start = quick.run_state_machine_as_test, quick.quick_start

    def run(machine: type, settings: object) -> None:
        runs.append((Phase.shrink in settings.phases, settings.database))  # type: ignore[attr-defined]
        real_run(machine, settings=settings)

    def start(machine: type) -> QuickStart:
        starts.append(machine)
        return real_start(machine)
    monkeypatch.setattr(quick, "run_state_machine_as_test", run)  # type: ignore[attr-defined]
    monkeypatch.setattr(quick, "quick_start", start)  # type: ignore[attr-defined]
    return runs, starts


def test_a_passing_case_runs_its_budget_once_and_takes_no_quick_start(monkeypatch: object, tmp_path: Path) -> None:
    from hypothesis import settings
    from hypothesis.database import ReadOnlyDatabase

    from tmem_conformance.quick import run_case
    runs, starts = _recorded_runs(monkeypatch)
    family = RunDatabase(str(tmp_path)).examples("fam")
    built: list[type] = []
    machine, failure = run_case(lambda: built.append(_counting_machine(10)) or built[-1],
                                settings(settings(max_examples=5, stateful_step_count=4, derandomize=True),
                                         database=family))
    assert failure is None and starts == [] and built == [machine] and machine.steps > 0
    [(shrinks, database)] = runs
    assert not shrinks and isinstance(database, ReadOnlyDatabase), "unshrunk, and it writes nothing there"


def test_a_failing_case_takes_its_quick_start_then_runs_again_and_shrinks(monkeypatch: object, tmp_path: Path) -> None:
    from hypothesis import settings
    from hypothesis.database import ReadOnlyDatabase

    from tmem_conformance.quick import run_case
    runs, starts = _recorded_runs(monkeypatch)
    family = RunDatabase(str(tmp_path)).examples("fam")
    machine, failure = run_case(lambda: _counting_machine(5),
                                settings(settings(max_examples=50, stateful_step_count=20, derandomize=True),
                                         database=family))
    assert isinstance(failure, AssertionError) and "5 >= 5" in str(failure), failure  # shrunk to the least value
    assert len(starts) == 1 and machine not in starts
    (probe, read), (quick, _), (full, seeded) = runs  # the budget unshrunk, the quick start, the full run
    assert not probe and isinstance(read, ReadOnlyDatabase) and not quick and full and seeded is not read
