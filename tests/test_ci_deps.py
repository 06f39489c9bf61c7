"""The README's test command installs the system packages the tests need, or says how (.ci/deps)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _path_without_chromium() -> str:
    """A PATH with the tools .ci/deps runs but no chromium, readable by an unprivileged user."""
    bin_dir = Path(tempfile.mkdtemp(prefix="tmem-deps-"))
    bin_dir.chmod(0o755)
    for tool in ("id", "gcc", "bash", "cat"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="switching to an unprivileged user needs root and setpriv")
def test_not_root_stops_before_any_test_with_the_command_to_run() -> None:
    env = {"PATH": _path_without_chromium(), "HOME": "/"}
    setpriv = shutil.which("setpriv")
    assert setpriv is not None
    done = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "bash",
                           "-c", (ROOT / ".ci" / "deps").read_text()], env=env, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "apt-get update && apt-get install -y chromium" in done.stderr


def test_nothing_missing_installs_nothing() -> None:
    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed here: this test is about a machine that has it")
    done = subprocess.run(["bash", str(ROOT / ".ci" / "deps")], capture_output=True, text=True)
    assert done.returncode == 0 and "installing" not in done.stderr, done.stderr


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test" in readme.split("```")[1]
    lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[-1] == "make test"
