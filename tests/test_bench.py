"""`tmem-conformance bench`: the JSON people feed to dashboards and the figure the README shows.

No figure is asserted (these machines are shared and noisy; speed lives in benchmarks, not tests):
the tests check the shape of what bench writes and that every figure is measured, not made up.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import sys; from tmem_conformance.cli import main; "
                           "sys.exit(main())", "bench", *args], capture_output=True, text=True, timeout=600)


def test_json_and_plot_hold_every_measurement(tmp_path: Path) -> None:
    png = tmp_path / "bench.png"
    run = bench("--backend", "simulator", "--backend", "ctmem", "--pages", "16", "--rounds", "1",
                "--cells", "pair:v0:64:v0/hypercall,mig:v0:v0:64", "--format", "json", "--plot", str(png))
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    ops = {(r["candidate"], r["op"]): r for r in doc["ops"]}
    baseline = ops[("(baseline)", "memcpy 4096 B (ffi.memmove)")]
    for name in ("simulator", "ctmem"):
        for op in ("PUT_PAGE", "GET_PAGE", "FLUSH_PAGE", "PUT+GET pair"):
            r = ops[(name, op)]
            # Each round paired with a memcpy of its own moment; the ratio is their median, ns the best.
            assert len(r["rounds"]) == 1 and r["ns"] == min(ns for ns, _ in r["rounds"]) > 0
            assert abs(r["memcpys"] - statistics.median(ns / m for ns, m in r["rounds"])) < 1e-9
            assert all(m >= baseline["ns"] for _, m in r["rounds"])  # the baseline is the best memcpy
    assert {r["candidate"] for r in doc["rates"]} == {"simulator", "ctmem"}
    for r in doc["rates"]:
        assert r["steps"] > 0 and abs(r["steps_per_second"] - r["steps"] / r["seconds"]) < 1e-6
        assert 0 < r["rule_seconds"] < r["seconds"]  # measured inside the rules: part of the run, never all
        assert abs(r["engine_share"] - (1 - r["rule_seconds"] / r["seconds"])) < 1e-9
        assert r["rules_steps_per_second"] > r["steps_per_second"]
        assert r["runs"] == [r["seconds"]]  # --rounds 1: one run
    assert {r["candidate"]: r.get("target") for r in doc["rates"]} == {"simulator": None, "ctmem": 3000}
    assert doc["cells_backend"] == "simulator"
    # As certify runs them: migrations to and from the other built-in candidates too.
    assert [(c["cell"], c["machine"]) for c in doc["cells"]] == [
        ("pair:v0:64:v0", "hypercall"), ("mig:v0:v0:64", "migration"),
        *[("mig:v0:v0:64", f"migration {d} {p}") for p in ("ctmem", "cytmem") for d in ("to", "from")]]
    assert all(c["seconds"] > 0 and c["steps"] > 0 for c in doc["cells"])
    total = sum(c["seconds"] for c in doc["cells"])
    sched = {r["workers"]: r for r in doc["schedule"]}
    assert abs(sched[1]["seconds"] - total) < 1e-6 and sched[1]["efficiency"] == 1.0
    longest = max(c["seconds"] for c in doc["cells"])
    assert sched[16]["seconds"] >= longest - 1e-9 and all(0 < r["efficiency"] <= 1.0 + 1e-9 for r in sched.values())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_plot_path_that_cannot_be_written_is_refused_before_measuring() -> None:
    run = bench("--backend", "simulator", "--plot", "missing/dir/b.png")
    assert run.returncode == 2 and "'missing/dir/b.png': the directory" in run.stderr


def test_a_ratio_is_the_median_of_rounds_each_paired_with_its_own_memcpy() -> None:
    from tmem_conformance import bench as b
    from tmem_conformance.registry import load

    rows = b.run({"ctmem": load("ctmem").factory}, pages=8, rounds=3)
    baseline = rows[0]
    for r in rows[1:]:
        assert len(r["rounds"]) == 3 and r["ns"] == min(ns for ns, _ in r["rounds"])
        assert r["memcpys"] == statistics.median(ns / m for ns, m in r["rounds"])
        assert baseline["ns"] == min(m for _, m in r["rounds"])  # one candidate: its rounds' memcpys are all there were
    pair = next(r for r in rows if r["op"] == "PUT+GET pair")
    assert pair["holds"] == (pair["memcpys"] <= b.PAIR_TARGETS["ctmem"])


def test_a_rate_is_the_fastest_of_its_rounds_and_says_whether_it_meets_its_target() -> None:
    from tmem_conformance import bench as b
    from tmem_conformance.registry import load

    (row,) = b.certification_rates({"ctmem": load("ctmem").factory}, rounds=2)
    assert len(row["runs"]) == 2 and row["seconds"] == min(row["runs"])
    assert abs(row["steps_per_second"] - row["steps"] / row["seconds"]) < 1e-6
    assert row["target"] == b.RATE_TARGETS["ctmem"] and row["holds"] is (row["steps_per_second"] >= row["target"])
    text = b.render_rates([row])
    assert "the fastest of 2 runs" in text and f"{row['steps_per_second']:.0f}" in text
    assert ("holds" if row["holds"] else "MISSED") in text


def test_rounds_and_pages_below_one_are_refused_naming_the_value() -> None:
    for args, said in ((("--rounds", "0"), "argument --rounds: takes 1 or more, not 0"),
                       (("--pages", "-3"), "argument --pages: takes 1 or more, not -3"),
                       (("--rounds", "two"), "argument --rounds: takes a whole number, not 'two'")):
        run = bench(*args, "--cells", "none", "--no-rates")
        assert run.returncode == 2 and said in run.stderr and "Traceback" not in run.stderr, run.stderr
