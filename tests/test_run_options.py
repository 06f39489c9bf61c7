"""One options object from certify to the plugin (runoptions.py), and the plain pytest path beside it.

certify hands the plugin its RunOptions and what it loaded in-process; a plain pytest session
(`pytest --tmem-backend=SPEC`) builds the same options from its --tmem-* command line, and an xdist
worker gets the controller's in its workerinput. These tests hold the two paths to one run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tmem_conformance import certify, cli, plugin
from tmem_conformance.runoptions import RunOptions

CELL = "pair:v0:64:v0/hypercall"


class _Options:
    """What plugin.pytest_addoption adds: the names of its options."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def getgroup(self, *args: object) -> _Options:
        return self

    def addoption(self, *names: str, **how: object) -> None:
        self.names.update(names)


def test_every_field_is_a_plugin_option_and_survives_a_worker_s_workerinput() -> None:
    added = _Options()
    plugin.pytest_addoption(added)  # type: ignore[arg-type]
    names = added.names
    fields = [f.name for f in dataclasses.fields(RunOptions)]
    assert {RunOptions.option(f) for f in fields} <= names, {RunOptions.option(f) for f in fields} - names
    assert len(fields) == len(names)  # and every --tmem-* option is a field
    given = RunOptions(backend="simulator", cells=CELL, peers="auto", time_limit=12.5, no_shrink=True,
                       shrink_seconds=0.25, quick_look=True, level="historical=4.1.0", abi_files=("/x.toml",))
    doc = json.loads(json.dumps(given.to_dict()))  # what xdist sends a worker is plain data
    assert RunOptions.from_dict(doc) == given


def test_certify_s_arguments_become_the_options_and_only_pytest_s_own_stay_on_the_command_line() -> None:
    args = cli.build_parser().parse_args(
        ["certify", "--backend", "simulator", "--cells", CELL, "--shrink-seconds", "0.5", "--no-quick-look",
         "--level", "historical=4.0.0", "--abi-file", "examples/v2-feature-flags.toml", "-n", "2", "-x"])
    options = certify.run_options(args)
    assert options == RunOptions(backend="simulator", cells=CELL, profile="ci", peers="auto", shrink_seconds=0.5,
                                 quick_look=False, level="historical=4.0.0",
                                 abi_files=(os.path.abspath("examples/v2-feature-flags.toml"),))
    argv = certify.pytest_args(args)
    assert not [a for a in argv if a.startswith("--tmem")], argv
    assert argv[-3:] == ["-x", "-n", "2"]


def _report(path: Path) -> dict[str, tuple[str, int, int]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {c["id"]: (c["verdict"], c["examples"], c["steps"]) for c in doc["cells"]}


@pytest.mark.xdist_group("certify")
def test_plain_pytest_and_certify_give_one_run(tmp_path: Path) -> None:
    """The same cell through `pytest --tmem-*` on two workers (the options reach them in workerinput)
    and through certify: the same verdict, examples and steps."""
    env = dict(os.environ, PYTEST_ADDOPTS="")
    plain = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2",
                            "--tmem-backend=simulator", f"--tmem-cells={CELL}", "--tmem-profile=ci",
                            f"--tmem-report={tmp_path / 'plain.json'}"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-3000:]
    run = subprocess.run([sys.executable, "-m", "tmem_conformance.cli", "certify", "--backend", "simulator",
                          "--cells", CELL, "--peers", "none", "--no-quick-look", "-n", "2", "--quiet",
                          "--report", str(tmp_path / "certify.json")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    plain_cells, certified = _report(tmp_path / "plain.json"), _report(tmp_path / "certify.json")
    assert plain_cells == certified and plain_cells["pair:v0:64:v0"][0] == "pass", (plain_cells, certified)
    assert plain_cells["pair:v0:64:v0"][1] > 0
