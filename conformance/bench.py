"""A benchmark of the hypercall path of each candidate, against one 4096-byte memcpy.

Not a timed test: `run()` measures, in this process and this run, the cost
per op of PUT_PAGE, GET_PAGE and FLUSH_PAGE of whole pages, and of a
PUT+GET pair, driven as the engine drives a backend: ops packed beforehand
with models.codec.pack, a bytearray as the guest's memory, and
backend.hypercall. Each cost is also given as a ratio to one memcpy of
4096 bytes (ffi.memmove between two buffers of the engine's compiled native loader,
from the same kind of Python loop), measured in the same run: every round
of a candidate is timed right after a memcpy round of its own, and the
ratio is the median of those paired rounds (a shared machine's speed
drifts, and a memcpy and a Python call do not drift alike, so a best
memcpy from one moment against a best op from another swung the ratio by
half). Every ns figure is the best of `rounds`. Target: a PUT+GET pair
through ctmem costs at most 10 memcpys.
"""

from __future__ import annotations

import functools
import gc
import io
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .backend import Backend, BackendFactory
from .models import codec
from .models.abi import PAGE_SIZE, Cmd, pool_flags
from .models.codec import Creat, Gen, TmemOp

Factory = BackendFactory | Callable[[int, int], Backend]
#: memcpys a PUT+GET pair may cost, per candidate (issues 5 and 6).
PAIR_TARGETS: Mapping[str, float] = {"ctmem": 10.0, "cytmem": 15.0}
#: certification steps per second a candidate should allow, per core (issue 13).
RATE_TARGETS: Mapping[str, float] = {"ctmem": 3000.0}
RATE_CASE = "pair:v1:64:v1/hypercall"
DOMID, WORD_SIZE, VERSION = 1, 64, "v1"
_OID = (0x5EED, 0, 0)


def _timed(fn: Callable[[], list[Any]]) -> tuple[int, list[Any]]:
    start = time.perf_counter_ns()
    out = fn()
    return time.perf_counter_ns() - start, out


def _memcpy_ns(pages: int) -> float:
    """ns per ffi.memmove of one page, from the same kind of loop as the hypercalls."""
    from .native._loader import ffi

    src, dst = ffi.new("unsigned char[]", PAGE_SIZE), ffi.new("unsigned char[]", PAGE_SIZE)
    memmove, size, todo = ffi.memmove, PAGE_SIZE, range(pages)
    ns, _ = _timed(lambda: [memmove(dst, src, size) for _ in todo])
    return ns / pages


class _Driver:
    """One candidate host with a persistent pool and the packed ops of `pages` pages."""

    def __init__(self, name: str, factory: Factory, pages: int) -> None:
        self.name, self.pages = name, pages
        self.host = factory(1, pages + 1)
        self.memory = bytearray(2 * PAGE_SIZE)
        self.memory[:PAGE_SIZE] = bytes(i % 251 for i in range(PAGE_SIZE))
        new_pool = codec.pack(TmemOp(Cmd.NEW_POOL, 0, Creat((0, 0), pool_flags(persist=True, spec=1), 0)),
                              VERSION, WORD_SIZE)
        pool = self.host.hypercall(DOMID, WORD_SIZE, new_pool, self.memory)
        if pool != 0:
            raise RuntimeError(f"{name}: NEW_POOL returned {pool}, expected pool 0")

        def ops(cmd: Cmd, cmfn: int) -> list[bytes]:
            return [codec.pack(TmemOp(cmd, pool, Gen(_OID, i, 0, 0, 0, cmfn)), VERSION, WORD_SIZE)
                    for i in range(pages)]
        self.puts, self.gets, self.flushes = ops(Cmd.PUT_PAGE, 0), ops(Cmd.GET_PAGE, 1), ops(Cmd.FLUSH_PAGE, 0)

    def _run(self, op_list: Sequence[bytes], what: str) -> int:
        hc, memory = self.host.hypercall, self.memory
        ns, rets = _timed(lambda: [hc(DOMID, WORD_SIZE, op, memory) for op in op_list])
        self._check(rets, what)
        return ns

    def _pairs(self) -> int:
        hc, memory = self.host.hypercall, self.memory
        pairs = list(zip(self.puts, self.gets))
        ns, rets = _timed(lambda: [(hc(DOMID, WORD_SIZE, p, memory), hc(DOMID, WORD_SIZE, g, memory))
                                   for p, g in pairs])
        self._check([r for pair in rets for r in pair], "PUT+GET")
        return ns

    def _check(self, rets: list[Any], what: str) -> None:
        bad = [r for r in rets if r != 1]
        if bad:
            raise RuntimeError(f"{self.name}: {what} returned {bad[0]!r} during the benchmark, expected 1")

    def round(self) -> dict[str, float]:
        """One round: put every page, get every page, flush every page, then put+get pairs."""
        n = self.pages
        out = {"PUT_PAGE": self._run(self.puts, "PUT_PAGE") / n, "GET_PAGE": self._run(self.gets, "GET_PAGE") / n,
               "FLUSH_PAGE": self._run(self.flushes, "FLUSH_PAGE") / n, "PUT+GET pair": self._pairs() / n}
        self._run(self.flushes, "FLUSH_PAGE")
        if self.memory[PAGE_SIZE:] != self.memory[:PAGE_SIZE]:
            raise RuntimeError(f"{self.name}: GET_PAGE did not copy the page put")
        return out


def run(candidates: Mapping[str, Factory], pages: int = 256, rounds: int = 5) -> list[dict[str, Any]]:
    """Rows of {candidate, op, ns, memcpys, memcpy_ns, rounds[, target, holds]}: ns the best of `rounds`,
    memcpys the median of the rounds' ratios, each round [op ns, the memcpy ns timed just before it]."""
    if pages < 1 or rounds < 1:
        raise ValueError(f"pages and rounds must be 1 or more, not {pages} and {rounds}")
    drivers = [_Driver(name, factory, pages) for name, factory in candidates.items()]
    paired: dict[tuple[str, str], list[tuple[float, float]]] = {}
    memcpys: list[float] = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for d in drivers:
                memcpy = _memcpy_ns(pages)
                memcpys.append(memcpy)
                for op, ns in d.round().items():
                    paired.setdefault((d.name, op), []).append((ns, memcpy))
    finally:
        if enabled:
            gc.enable()
        for d in drivers:
            d.host.close()
    best = min(memcpys, default=float(_memcpy_ns(pages)))
    rows: list[dict[str, Any]] = [{"candidate": "(baseline)", "op": "memcpy 4096 B (ffi.memmove)",
                                   "ns": best, "memcpys": 1.0, "memcpy_ns": best}]
    for (name, op), samples in paired.items():
        ratio = statistics.median(ns / memcpy for ns, memcpy in samples)
        row: dict[str, Any] = {"candidate": name, "op": op, "ns": min(ns for ns, _ in samples), "memcpys": ratio,
                               "memcpy_ns": best, "rounds": [list(pair) for pair in samples]}
        if op == "PUT+GET pair" and name in PAIR_TARGETS:
            row.update(target=PAIR_TARGETS[name], holds=ratio <= PAIR_TARGETS[name])
        rows.append(row)
    return rows


def certification_rates(candidates: Mapping[str, Factory], case_id: str = RATE_CASE,
                        rounds: int = 3) -> list[dict[str, Any]]:
    """Certification steps per second per candidate: one case of the matrix under the ci profile, each
    in a forked child under certify's collector settings, as certify runs a case. One untimed run in
    this process comes first, so that every child starts with the same warm caches (hypothesis' and
    the model's), and none pays for another's garbage. The case runs `rounds` times per candidate, the
    candidates in turn in each round (a shared machine's speed drifts by half within minutes: all
    candidates meet each moment), and a row is the fastest of its runs (`runs`: each run's seconds),
    as timeit takes the best: a slower run measured the machine's neighbours. A row also gives the
    seconds spent inside the machine's rules (the suite: model, checked host, backend, machine), the
    engine's share of the run (the rest: hypothesis drawing the rules and their arguments, and its
    bookkeeping), and the steps per second the rules alone would allow."""
    from hypothesis import settings
    from hypothesis.stateful import run_state_machine_as_test

    from . import profiles
    from .cases import cases_for
    from .isolation import run_isolated

    if rounds < 1:
        raise ValueError(f"rounds must be 1 or more, not {rounds}")
    cell, _, machine_name = case_id.rpartition("/")
    case = next(c for c in cases_for(cell) if c.machine == machine_name)
    profiles.no_source_constants()  # a ci run's draws, as certify makes them
    ci = settings(settings.get_profile("ci"))
    if candidates:
        run_state_machine_as_test(case.build(next(iter(candidates.values()))),  # type: ignore[arg-type]
                                  settings=ci)  # the warm-up

    def timed(name: str, factory: Factory) -> dict[str, Any]:
        profiles.quiet_collector()
        machine = case.build(factory)  # type: ignore[arg-type]
        start = time.perf_counter()
        run_state_machine_as_test(machine, settings=ci)
        seconds = time.perf_counter() - start
        return {"candidate": name, "case": case_id, "steps": machine.steps, "examples": machine.examples,
                "seconds": seconds, "steps_per_second": machine.steps / seconds,
                "rule_seconds": machine.rule_seconds, "engine_share": 1 - machine.rule_seconds / seconds,
                "rules_steps_per_second": machine.steps / machine.rule_seconds}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, factory in candidates.items():
            runs[name].append(run_isolated(functools.partial(timed, name, factory),  # type: ignore[misc]
                                           timeout=900).unwrap())
    out = []
    for name, rows in runs.items():
        row = dict(min(rows, key=lambda r: r["seconds"]), runs=[r["seconds"] for r in rows])
        if name in RATE_TARGETS:
            row.update(target=RATE_TARGETS[name], holds=row["steps_per_second"] >= RATE_TARGETS[name])
        out.append(row)
    return out


def cell_seconds(factory: Factory, pattern: str | None = None,
                 peers: Mapping[str, Factory] | None = None) -> list[dict[str, Any]]:
    """Certification seconds of every case of the selected cells (migrations to and from each of `peers`
    too), one after another, each in a forked child under certify's collector settings, as certify
    runs them (without pytest and xdist around them): a run that stands for several cells
    (cases.shared_runs) is timed once, in its first cell, and names the others in "also"."""
    from hypothesis import settings

    from . import profiles
    from .cases import cases_for, shared_runs
    from .isolation import run_isolated
    from .quick import run_case

    profiles.no_source_constants()  # a ci run's draws, as certify makes them
    rows: list[dict[str, Any]] = []
    for case in shared_runs(cases_for(pattern, peers=list(peers or {}))):
        def timed(case: Any = case) -> tuple[float, int, int]:  # bound now: it runs in a child at once
            profiles.quiet_collector()
            start = time.perf_counter()
            machine, _ = run_case(lambda: case.build(factory, factory, peers), settings.get_profile("ci"))
            return time.perf_counter() - start, machine.steps, machine.examples
        seconds, steps, examples = run_isolated(timed, timeout=900).unwrap()
        rows.append({"cell": case.cell.id, "machine": case.label, "seconds": seconds, "steps": steps,
                     "examples": examples, "weight": case.weight, **({"also": list(case.also)} if case.also else {})})
    return rows


#: Worker counts the schedule projection shows (CI runners have more cores than this machine).
SCHEDULE_WORKERS = (1, 2, 4, 8, 16)


def schedule(rows: list[dict[str, Any]], workers: Sequence[int] = SCHEDULE_WORKERS) -> list[dict[str, Any]]:
    """The wall time of these cases on N workers as certify hands them out: heaviest `weight` first (the
    order pytest_generate_tests gives), each case to the first worker free. Ideal is the total over N;
    efficiency is ideal over the projected wall time (1.0: no worker waits at the end). Worker start-up
    and fork costs are left out: it shows whether the cases' lengths let N workers stay busy."""
    import heapq

    order = sorted(rows, key=lambda r: -r.get("weight", 1.0))
    total = sum(r["seconds"] for r in rows)
    out = []
    for n in workers:
        free = [0.0] * n
        for r in order:
            heapq.heapreplace(free, free[0] + r["seconds"])
        wall = max(free)
        out.append({"workers": n, "seconds": wall, "ideal": total / n,
                    "efficiency": (total / n) / wall if wall else 1.0, "speedup": total / wall if wall else 1.0})
    return out


def render_schedule(rows: list[dict[str, Any]]) -> str:
    return _table("projected certification wall time by workers (certify's order, from the seconds above)",
                  ("workers", "seconds", "ideal", "speed-up", "efficiency"), (),
                  [(str(r["workers"]), f"{r['seconds']:.2f}", f"{r['ideal']:.2f}", f"{r['speedup']:.2f}",
                    f"{r['efficiency']:.0%}") for r in rows])


def _table(title: str, columns: Sequence[str], left: Sequence[str], rows: list[Sequence[str]]) -> str:
    """A rich table as text: the `left` columns left-aligned, the others right-aligned."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="left" if col in left else "right")
    for row in rows:
        table.add_row(*row)
    out = io.StringIO()
    Console(file=out, width=130, highlight=False).print(table)
    return out.getvalue()


def render_cells(rows: list[dict[str, Any]]) -> str:
    return _table("certification seconds per cell, ci profile, one case after another",
                  ("cell", "machines", "hypercall steps", "seconds"), ("cell", "machines"),
                  [(cell, ", ".join(c["machine"] + (f" (+{len(c['also'])} cells)" if c.get("also") else "")
                                    for c in cases), str(sum(c["steps"] for c in cases)),
                    f"{sum(c['seconds'] for c in cases):.2f}") for cell, cases in _by_cell(rows).items()])


def _by_cell(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["cell"], []).append(r)
    return out


def plot(doc: dict[str, Any], path: str) -> None:
    """Two panels: cost per op in memcpys by candidate; certification seconds per cell."""
    try:
        import matplotlib
    except ImportError as e:
        from .models.errors import UsageError
        raise UsageError("bench --plot needs matplotlib: pip install 'tmem-conformance[plot]'") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = [r for r in doc["ops"] if r["candidate"] != "(baseline)"]
    names = list(dict.fromkeys(r["candidate"] for r in ops))
    kinds = list(dict.fromkeys(r["op"] for r in ops))
    cells = _by_cell(doc.get("cells", []))
    panels = 1 + bool(cells) + bool(doc.get("schedule"))
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.5), squeeze=False)
    ax = axes[0][0]
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        cost = {r["op"]: r["memcpys"] for r in ops if r["candidate"] == name}
        ax.bar([k + i * width for k in range(len(kinds))], [cost.get(k, 0.0) for k in kinds], width, label=name)
    ax.set_xticks([k + width * (len(names) - 1) / 2 for k in range(len(kinds))], kinds)
    ax.set_ylabel("cost per op, in 4 KiB memcpys")
    ax.set_title("hypercall cost per op (a memcpy timed beside each round = 1)")
    ax.legend()
    if cells:
        ax = axes[0][1]
        ax.barh(list(cells), [sum(c["seconds"] for c in cs) for cs in cells.values()], color="tab:gray")
        ax.invert_yaxis()
        ax.set_xlabel("seconds (ci profile, one case after another)")
        ax.set_title(f"certification seconds per cell: {doc.get('cells_backend', '')}")
        ax.tick_params(axis="y", labelsize=7)
    if doc.get("schedule"):
        ax = axes[0][panels - 1]
        sched = doc["schedule"]
        ax.plot([r["workers"] for r in sched], [r["speedup"] for r in sched], "o-", label="projected")
        ax.plot([r["workers"] for r in sched], [r["workers"] for r in sched], ":", color="gray", label="ideal")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xlabel("workers (-n)")
        ax.set_ylabel("speed-up over one worker")
        ax.set_title("certification speed-up, certify's order")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _target(r: dict[str, Any], bound: str) -> str:
    """A row's target column: `bound` ("<=" or ">=") its target, and whether the row meets it."""
    return f"{bound} {r['target']:g}: {'holds' if r['holds'] else 'MISSED'}" if "target" in r else ""


def render_rates(rows: list[dict[str, Any]]) -> str:
    runs = len(rows[0]["runs"]) if rows else 0
    return _table(f"certification speed, ci profile, case {rows[0]['case'] if rows else RATE_CASE}: "
                  f"the fastest of {runs} runs",
                  ("candidate", "examples", "hypercall steps", "seconds", "steps/s", "in rules (s)",
                   "engine share", "steps/s, rules alone", "target"), ("candidate", "target"),
                  [(r["candidate"], str(r["examples"]), str(r["steps"]), f"{r['seconds']:.2f}",
                    f"{r['steps_per_second']:.0f}", f"{r['rule_seconds']:.2f}", f"{r['engine_share']:.0%}",
                    f"{r['rules_steps_per_second']:.0f}", _target(r, ">=")) for r in rows])


def render(rows: list[dict[str, Any]]) -> str:
    """The rows as a small table."""
    return _table("tmem hypercall cost per op (ns: best of rounds; memcpys: median of rounds, each against a "
                  "4096-byte memcpy timed just before it)",
                  ("candidate", "op", "ns/op", "memcpys", "target"), ("candidate", "op", "target"),
                  [(r["candidate"], r["op"], f"{r['ns']:.0f}", f"{r['memcpys']:.2f}", _target(r, "<=")) for r in rows])


def main() -> None:  # pragma: no cover - python -m tmem_conformance.bench
    from .registry import load

    candidates = {name: load(name).factory for name in ("simulator", "ctmem", "cytmem")}
    print(render(run(candidates)))
    print(render_rates(certification_rates(candidates)))


if __name__ == "__main__":  # pragma: no cover
    main()
