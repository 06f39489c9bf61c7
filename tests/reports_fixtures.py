"""Certification runs shared by the report tests: run once per worker, kept for the session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"


def certify(*args: str) -> subprocess.CompletedProcess[str]:
    """certify as a user runs it; without --peers, no cross-implementation migrations (they are tested apart)."""
    if not any(a.startswith("--peers") for a in args):
        args = (*args, "--peers", "none")
    return subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "certify", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tmem_conformance.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def run_report(path: Path, *args: str, expect: int) -> dict[str, Any]:
    run = certify(*args, "--report", str(path))
    assert run.returncode == expect, run.stdout + run.stderr
    return dict(json.loads(path.read_text()))
