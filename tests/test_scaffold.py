"""`tmem-conformance new-backend`: both skeletons build, register and certify at once, failing by rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tmem_conformance.models.rules import RULES
from tmem_conformance.scaffold import DISPATCH_RULES, DOMAIN_RULES, SECTIONS, render

CELLS = "pair:v1:64:v1,mig:v0:v0:64"


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import sys; from tmem_conformance.cli import main; "
                           "sys.exit(main())", *args], capture_output=True, text=True, timeout=600, env=env, cwd=cwd)


def certify_fails_by_rules(backend: str, report: Path, env: dict[str, str] | None = None) -> None:
    run = cli("certify", "--backend", backend, "--cells", CELLS, "-n", "0", "--peers", "none", "--no-shrink",
              "--report", str(report), env=env)
    assert run.returncode == 1, run.stdout + run.stderr  # fails, is not a usage error or a crash of the run
    cells = json.loads(report.read_text())["cells"]
    assert [c["verdict"] for c in cells] == ["fail", "fail"], [(c["id"], c["verdict"], c["errors"]) for c in cells]
    for c in cells:
        assert c["violations"] and all(v["rule"] in RULES for v in c["violations"]), c


def test_every_rule_has_its_place_in_the_skeleton() -> None:
    placed = set(DISPATCH_RULES) | set(DOMAIN_RULES)
    for s in SECTIONS:
        placed |= set(s.rules)
    assert placed == set(RULES)
    for lang in ("python", "c"):
        text = "\n".join(render("x", lang).values())
        missing = sorted(r for r in RULES if r not in text)
        assert not missing, f"the {lang} skeleton does not name {missing}"


def test_the_python_skeleton_installs_registers_and_certifies(tmp_path: Path) -> None:
    made = cli("new-backend", "my-host", "--lang", "python", str(tmp_path))
    assert made.returncode == 0, made.stderr
    root = tmp_path / "my-host"
    assert {"pyproject.toml", "tox.ini", "README.md"} <= {p.name for p in root.iterdir()}
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--target", str(site), str(root)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = cli("certify", "--backend", "my-host", "--list", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr  # found by its entry point, by name
    certify_fails_by_rules("my-host", tmp_path / "py.json", env)


def test_the_c_skeleton_builds_and_certifies(tmp_path: Path) -> None:
    made = cli("new-backend", "my-c", "--lang", "c", str(tmp_path))
    assert made.returncode == 0, made.stderr
    root = tmp_path / "my-c"
    build = subprocess.run(["make"], cwd=root, capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stdout + build.stderr  # -Wall -Wextra -Werror: the skeleton is clean
    certify_fails_by_rules(str(root / "libmy_c.so"), tmp_path / "c.json")


@pytest.mark.parametrize(("args", "message"), [
    (["new-backend", "My Host", "--lang", "python"], "a backend name is lower-case letters"),
    (["new-backend", "x", "--lang", "python", "no/such/dir"], "'no/such/dir': the directory does not exist"),
    (["new-backend", "x", "y", "z", "--lang", "c"], "NAME and at most one DIR"),
])
def test_bad_scaffold_requests_are_usage_errors(args: list[str], message: str) -> None:
    run = cli(*args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr


def test_an_existing_project_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    run = cli("new-backend", "x", "--lang", "c", str(tmp_path))
    assert run.returncode == 2 and "already exists" in run.stderr
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
