"""pytest plugin (entry point pytest11): certify a backend from any pytest session.

    pytest --tmem-backend=SPEC [--tmem-cells=PATTERN] [--tmem-profile=ci] [-n auto]

adds one test per (matrix cell, state machine) to the session. A violation
fails its test with the rule id, expected vs observed and the shrunk steps;
`--tmem-report=FILE.json` writes the per-cell verdicts (under xdist too).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
import traceback
from collections.abc import Generator
from typing import Any

import pytest
from hypothesis import Phase, settings

from . import profiles
from .cases import Case, select_cells, shared_runs
from .checked import BackendDied, BackendError, find_exception, machine_steps
from .models.errors import TmemConformanceError, Violation
from .models.history import Level, level
from .models.revisions import install, uninstall
from .models.versions import AbiVersion
from .registry import LoadedBackend
from .report import CaseResult, Report, Verdict, case_verdict
from .rundb import RunDatabase
from .runoptions import DEFAULT_SHRINK_SECONDS, DEFAULT_TIME_LIMIT, Handed, RunOptions

SUITE_DIR = os.path.join(os.path.dirname(__file__), "suite")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tmem-conformance", "tmem conformance certification")
    group.addoption("--tmem-backend", metavar="SPEC", default=None,
                    help="backend to certify: a registered name (e.g. simulator), package.module:attr naming "
                         "a factory make(abi_version, capacity_pages), or a native library path")
    group.addoption("--tmem-dest-backend", metavar="SPEC", default=None,
                    help="backend for migration destinations (default: the same as --tmem-backend)")
    group.addoption("--tmem-cells", metavar="PATTERN", default=None,
                    help="comma-separated fnmatch patterns of cell ids, e.g. 'pair:*' or 'mig:v0:*'")
    group.addoption("--tmem-profile", choices=profiles.PROFILES, default=None,
                    help="hypothesis profile: dev (quick), ci (deterministic), thorough (exploring)")
    group.addoption("--tmem-report", metavar="FILE", default=None,
                    help="write the per-cell verdicts as JSON to FILE")
    group.addoption("--tmem-peers", metavar="NAMES", default="none",
                    help="implementations to migrate to and from as well: comma-separated names, 'auto' "
                         "(the other built-in candidates) or 'none' (default)")
    group.addoption("--tmem-time-limit", metavar="SECONDS", type=float, default=DEFAULT_TIME_LIMIT,
                    help=f"a case still running after this long is a hang (default {DEFAULT_TIME_LIMIT:.0f})")
    group.addoption("--tmem-no-shrink", action="store_true", default=False,
                    help="report a violation as first found, without shrinking its steps (a quick verdict)")
    group.addoption("--tmem-shrink-seconds", metavar="SECONDS", type=float, default=DEFAULT_SHRINK_SECONDS,
                    help="stop shrinking a case's counterexample after this long and report it as it is "
                         f"then, marked not fully shrunk (default {DEFAULT_SHRINK_SECONDS:g}; cases.SHRINK_WEIGHT "
                         "gives the control machine five times this)")
    group.addoption("--tmem-quick-look", action="store_true", default=False,
                    help="first run a couple of short examples of every cell, unshrunk, so that a failure shows "
                         "in seconds (certify does this unless told --no-quick-look)")
    group.addoption("--tmem-level", metavar="LEVEL", default=None,
                    help="certification level: spec (default) or historical=RELEASE (models/history.py)")
    group.addoption("--tmem-abi-file", metavar="REV.toml", action="append", default=[],
                    help="add a proposed ABI revision described as data (repeatable): its cells join the matrix")
    group.addoption("--tmem-shard", metavar="I/N", default=None,
                    help="run only shard I of N (a deterministic 1/N of the selected cells)")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _options(config: pytest.Config) -> tuple[RunOptions, Handed | None]:
    """The run's options: certify's (handed in this process, or in an xdist worker's workerinput), else
    the command line's --tmem-* options."""
    handed = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, Handed)), None)
    if handed is not None:
        return handed.options, handed
    worker = getattr(config, "workerinput", None)
    if worker and "tmem_run" in worker:
        return RunOptions.from_dict(worker["tmem_run"]), None
    return RunOptions.from_pytest(config), None


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker told to stop stops its case child first
        signal.signal(signal.SIGTERM, _interrupt)
    run, handed = _options(config)
    if run.profile:
        profiles.load(run.profile)
    if run.no_shrink:
        settings.register_profile("tmem-no-shrink", parent=settings(),
                                  phases=[Phase.explicit, Phase.reuse, Phase.generate])
        settings.load_profile("tmem-no-shrink")
    if not run.backend:
        if run.report or run.cells:
            raise pytest.UsageError("--tmem-report and --tmem-cells need --tmem-backend=SPEC "
                                    "(e.g. --tmem-backend=simulator)")
        return
    try:
        added = install(run.abi_files)  # before the cells are computed (every worker too)
        chosen = level(run.level)
        prepared = handed or Handed.prepare(run)  # certify's were loaded and computed already
    except TmemConformanceError as e:
        raise pytest.UsageError(str(e)) from e
    worker = getattr(config, "workerinput", None)
    # The run's example database: made by the controller (or the only process), used by every worker.
    rundb = RunDatabase(worker["tmem_run_examples"]) if worker and "tmem_run_examples" in worker else \
        RunDatabase.create()
    config.stash[_STATE] = _State(run, prepared.backend, prepared.dest, prepared.cases, prepared.peers, rundb,
                                  owner=worker is None, level=chosen, revisions=added, handed=handed)
    config.pluginmanager.register(_Recorder(config.stash[_STATE]), "tmem-recorder")
    if SUITE_DIR not in config.args:
        config.args.append(SUITE_DIR)


class _State:
    def __init__(self, options: RunOptions, backend: LoadedBackend, dest: LoadedBackend, cases: list[Case],
                 peers: dict[str, LoadedBackend], rundb: RunDatabase, owner: bool, level: Level,
                 revisions: list[AbiVersion], handed: Handed | None = None) -> None:
        self.options, self.handed = options, handed
        self.backend, self.dest, self.cases, self.peers = backend, dest, cases, peers
        self.level = level
        #: the revisions this run's --tmem-abi-file added to the version table (taken out again at the end)
        self.revisions = revisions
        self.rundb, self.owns_rundb = rundb, owner
        self.results: list[CaseResult] = []
        #: (cell, machine) -> the violation the quick look found there (a case that passes still fails by it)
        self.quick: dict[tuple[str, str], dict[str, Any]] = {}
        self.started = time.time()


_STATE = pytest.StashKey[_State]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: each worker gets the controller's options and shares its example database."""
    state = node.config.stash.get(_STATE, None)
    if state is not None:
        node.workerinput["tmem_run"] = state.options.to_dict()
        node.workerinput["tmem_run_examples"] = state.rundb.root


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None and state.owns_rundb:
        state.rundb.remove()
    if state is not None:
        uninstall(state.revisions)


def _state(config: pytest.Config) -> _State:
    try:
        return config.stash[_STATE]
    except KeyError:
        raise pytest.UsageError("the tmem certification tests need --tmem-backend=SPEC") from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tmem_case" in metafunc.fixturenames:
        # One test per distinct run (a machine reading only its host runs once for the cells of that
        # host); longest first, so that no worker is left with a long case when the others are done.
        cases = sorted(shared_runs(_state(metafunc.config).cases), key=lambda c: -c.weight)
        metafunc.parametrize("tmem_case", cases, ids=[c.id for c in cases])
    if "tmem_quick_cell" in metafunc.fixturenames:
        # A run that stands for several cells is looked at once too, in its first cell ("also": the others).
        every = shared_runs(_state(metafunc.config).cases)
        groups = [[k for k in every if k.cell.id == c] for c in dict.fromkeys(k.cell.id for k in every)]
        metafunc.parametrize("tmem_quick_cell", groups, ids=[g[0].cell.id for g in groups])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --tmem-quick-look the quick look's tests are deselected."""
    state = config.stash.get(_STATE, None)
    if state is not None and state.options.quick_look:
        return
    quick = [i for i in items if "tmem_quick_cell" in getattr(i, "fixturenames", ())]
    if quick:
        config.hook.pytest_deselected(items=quick)
        items[:] = [i for i in items if i not in quick]


@pytest.fixture
def tmem_backend(request: pytest.FixtureRequest) -> LoadedBackend:
    return _state(request.config).backend


@pytest.fixture
def tmem_peers(request: pytest.FixtureRequest) -> dict[str, LoadedBackend]:
    return _state(request.config).peers


@pytest.fixture
def tmem_rundb(request: pytest.FixtureRequest) -> RunDatabase:
    return _state(request.config).rundb


@pytest.fixture
def tmem_shrink_seconds(request: pytest.FixtureRequest) -> float:
    return float(_state(request.config).options.shrink_seconds)


@pytest.fixture
def tmem_time_limit(request: pytest.FixtureRequest) -> float:
    return float(_state(request.config).options.time_limit)


@pytest.fixture
def tmem_level(request: pytest.FixtureRequest) -> Level:
    return _state(request.config).level


@pytest.fixture
def tmem_dest_backend(request: pytest.FixtureRequest) -> LoadedBackend:
    return _state(request.config).dest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    names = getattr(item, "fixturenames", ())
    if call.when != "call" or not {"tmem_case", "tmem_quick_cell"} & set(names) or call.excinfo is None:
        return
    exc = call.excinfo.value
    v = find_exception(exc, Violation)
    if isinstance(v, Violation):
        report.user_properties.append(("tmem-violation", json.dumps({
            "rule": v.rule, "message": str(v), "expected": v.expected, "observed": v.observed,
            "steps": list(getattr(v, "steps", [])), "machine_steps": machine_steps(getattr(v, "steps", [])),
            "replay": list(getattr(v, "events", [])),
            "fully_shrunk": v.fully_shrunk, **({"same_as": v.same_as} if v.same_as else {}),
            **({"shrink_seconds": v.shrink_seconds} if v.shrink_seconds is not None else {})})))
        return
    died = find_exception(exc, BackendDied)
    if isinstance(died, BackendDied):
        report.user_properties.append(("tmem-died", died.verdict))
    b = find_exception(exc, BackendError) or died
    detail = {"message": str(b or exc), "steps": list(getattr(b, "steps", [])),
              "traceback": getattr(b, "traceback", "") or "".join(traceback.format_exception(exc))}
    events = getattr(b, "events", None)
    if events:  # a shrunk crash, or a backend that raised: replayable like a violation
        detail["replay"] = list(events)
    report.user_properties.append(("tmem-error", json.dumps(detail)))


def shared_result(run: CaseResult, cell: str) -> CaseResult:
    """The result of `run` for another cell it stood for (cases.shared_runs): the same verdict, examples
    and steps, its seconds counted once (in the cell that ran it), its violation or error referred to."""
    ran = f"{run.cell}/{run.machine}"

    def referred(found: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if found is None else {**found, "same_as": found.get("same_as", ran)}
    return dataclasses.replace(run, cell=cell, seconds=0.0, violation=referred(run.violation),
                               error=referred(run.error), shared_with=ran)


def _with_quick_look(results: list[CaseResult], quick: dict[tuple[str, str], dict[str, Any]]) -> list[CaseResult]:
    """A case that passed its full budget still fails by a violation its quick look found, and one that
    never ran (-x, an interrupt) fails by it too: nothing the quick look saw is lost."""
    def failed(found: dict[str, Any]) -> dict[str, Any]:
        return {**found, "message": f"{found['message']} (found by the quick look)"}
    out = [dataclasses.replace(r, verdict=Verdict.FAIL, violation=failed(quick[(r.cell, r.machine)]))
           if r.verdict in (Verdict.PASS, Verdict.DEVIATION) and (r.cell, r.machine) in quick else r
           for r in results]
    ran = {(r.cell, r.machine) for r in results}
    out += [CaseResult(cell, machine, Verdict.FAIL, 0.0, violation=failed(v))
            for (cell, machine), v in quick.items() if (cell, machine) not in ran]
    return out


class _Recorder:
    """The run's one result store: a case result per finished test, the report at the end of the session.

    Registered per session by pytest_configure (on the xdist controller, which sees every worker's
    reports), so results never outlive the run they belong to.
    """

    def __init__(self, state: _State) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props: dict[str, Any] = dict(report.user_properties)
        if "tmem-quick" in props and "tmem-violation" in props and report.when == "call":
            where, found = json.loads(props["tmem-quick"]), json.loads(props["tmem-violation"])
            for cell in [where["cell"], *where.get("also", ())]:
                self.state.quick[(cell, where["machine"])] = found
            return
        if "tmem" not in props or report.when != "call":
            return
        info = json.loads(props["tmem"])
        run = CaseResult(
            info["cell"], info["machine"], case_verdict(report.passed, props), report.duration, info["examples"],
            info["steps"], json.loads(props["tmem-violation"]) if "tmem-violation" in props else None,
            json.loads(props["tmem-error"]) if "tmem-error" in props else None,
            deviations=info.get("deviations", []))
        self.state.results += [run, *(shared_result(run, cell) for cell in info.get("also", ()))]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config, st = session.config, self.state
        run = st.options
        if not (run.report or st.handed) or hasattr(config, "workerinput"):
            return
        seed = config.getoption("hypothesis_seed", None)
        report = Report(st.backend.spec, run.profile or "current", seed if seed is not None else "derandomized"
                        if settings().derandomize else None, select_cells(run.cells, run.shard),
                        _with_quick_look(st.results, st.quick), st.dest.spec, run.shard, level=st.level.name,
                        abi_files=list(run.abi_files))
        if st.handed is not None:
            st.handed.report = report.to_json()
        if run.report:
            report.write(run.report)
