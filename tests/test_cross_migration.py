"""Migration across implementations: guests move between hosts of any two candidates.

Same version: intact (a v1 ctmem host to a v1 cytmem host and back); different
versions: refused with nothing lost on either side. The stream is the one in
models/, so every pair goes through the same toolstack.
"""

from __future__ import annotations

import json
from pathlib import Path

from .reports_fixtures import certify


def test_cytmem_migrates_to_and_from_the_other_candidates(tmp_path: Path) -> None:
    report = tmp_path / "cross.json"
    run = certify("--backend", "cytmem", "--cells", "mig:v1:v1:64,mig:v0:v1:32", "--peers", "simulator,ctmem",
                  "-n", "2", "--report", str(report))
    assert run.returncode == 0, run.stdout + run.stderr
    cells = {c["id"]: c for c in json.loads(report.read_text())["cells"]}
    expected_machines = {"migration"} | {f"migration {d} {p}" for d in ("to", "from") for p in ("simulator", "ctmem")}
    for cid, expected in (("mig:v1:v1:64", "intact"), ("mig:v0:v1:32", "refused")):
        assert cells[cid]["expected"] == expected and cells[cid]["verdict"] == "pass"
        assert cells[cid]["machines"] == {m: "pass" for m in expected_machines}
