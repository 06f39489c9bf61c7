"""A certification case: one matrix cell run by one state machine."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .backend import BackendFactory
from .machines import MACHINES, CellMachine
from .models.errors import UsageError
from .models.matrix import UNDETERMINED, Cell, cells

#: The built-in candidates: each certification also migrates between the backend and these.
BUILTIN_CANDIDATES = ("simulator", "ctmem", "cytmem")


#: A case's running time relative to a pairing cell's machine, by machine (`bench --cells all`: a
#: migration case takes about twice as long as one of a pairing cell's three).
CASE_WEIGHT = {"migration": 2.0}

#: A case's shrinking budget in --shrink-seconds, by machine: the control machine's counterexamples
#: shrink slowly (hypothesis re-draws each rule choice first: 4-6 s to get from 23-35 steps to 2 with one
#: worker on a 2-core machine, more than 10 s with two), and its four runs stand for all twelve pairing
#: cells (shared_runs), so it gets five.
SHRINK_WEIGHT = {"control": 5.0}

#: Machines that read nothing of their cell but these fields (the hypercall and control machines drive
#: the host alone, whatever the guest): cells alike in them run the same machine, and one shrunk
#: counterexample serves them all.
MACHINE_READS = {"hypercall": ("kind", "host", "word_size"), "control": ("kind", "host", "word_size")}


@dataclass(frozen=True)
class Case:
    """One cell run by one machine; a migration case may pair the backend with a peer implementation."""

    cell: Cell
    machine: str
    peer: str | None = None
    direction: str | None = None  # "to" the peer (the backend is the source) or "from" it
    #: the other cells this case's one run stands for (`shared_runs`): their machine is the same machine
    also: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        if self.peer:
            return f"{self.cell.id}/{self.machine}-{self.direction}-{self.peer}"
        return f"{self.cell.id}/{self.machine}"

    @property
    def weight(self) -> float:
        """Relative running time (bench's seconds per case): the scheduler starts the long ones first."""
        return CASE_WEIGHT.get(self.machine, 1.0)

    @property
    def shrink_weight(self) -> float:
        """This case's shrinking budget in --shrink-seconds (SHRINK_WEIGHT)."""
        return SHRINK_WEIGHT.get(self.machine, 1.0)

    @property
    def family(self) -> str:
        """Cases that run the same machine on the backend in the same role: a counterexample one of
        them shrank is tried first by the others (hypothesis' example database), not shrunk again.
        Migrations to (or from) each peer form one family; a machine reading only its host's version
        and word size is one family over every cell with that host."""
        if self.peer is not None:
            return f"{self.cell.id}/{self.machine}-{self.direction}"
        fields = MACHINE_READS.get(self.machine)
        if fields is None:
            return self.id
        return ":".join(str(getattr(self.cell, f)) for f in fields) + f"/{self.machine}"

    @property
    def run_key(self) -> str:
        """Cases with one run key run the same machine on the same hosts, draw for draw: a machine that
        reads only its host's version and word size (MACHINE_READS) is one run for every cell with that
        host. Every other case is its own run."""
        return self.family if self.machine in MACHINE_READS else self.id  # (machines without a peer)

    @property
    def label(self) -> str:
        return f"{self.machine} {self.direction} {self.peer}" if self.peer else self.machine

    def build(self, factory: BackendFactory, dest_factory: BackendFactory | None = None,
              peers: Mapping[str, BackendFactory] | None = None,
              tolerated: frozenset[str] = frozenset()) -> type[CellMachine]:
        """The cell's machine on these backends; `tolerated`: the deviations its level accepts (history.py)."""
        builder = dict(MACHINES[self.cell.kind])[self.machine]
        if self.peer is not None:
            other = (peers or {})[self.peer]
            factory, dest_factory = (factory, other) if self.direction == "to" else (other, factory)
        machine = builder(self.cell, factory, dest_factory)
        if tolerated:
            machine.tolerated = tolerated
        return machine


def parse_shard(shard: str | None) -> tuple[int, int] | None:
    if not shard:
        return None
    i, _, n = shard.partition("/")
    if not (i.isdigit() and n.isdigit()) or not 1 <= int(i) <= int(n):
        raise UsageError(f"--shard takes I/N with 1 <= I <= N (e.g. 1/2), not {shard!r}")
    return int(i), int(n)


def _patterns(pattern: str) -> list[tuple[str, str | None]]:
    """`CELL[/MACHINE]` patterns: the part after "/" narrows a cell to some of its machines."""
    out = []
    for p in (p.strip() for p in pattern.split(",")):
        if p:
            cell, _, machine = p.partition("/")
            out.append((cell, machine or None))
    return out


def select_cells(pattern: str | None, shard: str | None = None) -> list[Cell]:
    """Cells whose id matches any comma-separated fnmatch pattern ("pair:*", "mig:v0:*", an exact id).

    A pattern may name machines after a "/" ("pair:v1:64:v1/pairing"): the cell is selected, and
    `cases_for` keeps only those machines. With a shard I/N, every N-th of those in matrix order,
    starting at the I-th: N machines given 1/N .. N/N run every cell exactly once.
    """
    every = list(cells())
    part = parse_shard(shard)
    if part is not None:
        chosen = select_cells(pattern)
        return [c for k, c in enumerate(chosen) if k % part[1] == part[0] - 1]
    if not pattern:
        return every
    pats = _patterns(pattern)
    chosen = [c for c in every if any(fnmatch.fnmatchcase(c.id, p) for p, _ in pats)]
    if not chosen:
        raise UsageError(f"--cells {pattern!r} matches no cell; ids look like {every[0].id!r} or "
                         f"{every[-1].id!r} (see `tmem-conformance matrix --format json`)")
    return chosen


def cases_for(pattern: str | None, shard: str | None = None, peers: Sequence[str] = (),
              peer_versions: Mapping[str, frozenset[str]] | None = None) -> list[Case]:
    """Every machine of every selected cell, plus migrations to and from each peer implementation
    (where the peer implements its end's version: `peer_versions`, peer -> version names, None for all)."""
    def speaks(peer: str, v: str | None) -> bool:
        return peer_versions is None or peer not in peer_versions or v in peer_versions[peer]
    out = []
    for c in select_cells(pattern, shard):
        if c.expected == UNDETERMINED:  # nothing to check it against (models/matrix.py): never run
            continue
        out += [Case(c, name) for name, _ in MACHINES[c.kind]]
        if c.kind == "migration":
            out += [Case(c, "migration", peer, d) for peer in peers for d in ("to", "from")
                    if speaks(peer, c.destination if d == "to" else c.source)]
    if not pattern:
        return out
    pats = _patterns(pattern)
    kept = [k for k in out if any(fnmatch.fnmatchcase(k.cell.id, p) and
                                  (m is None or fnmatch.fnmatchcase(k.id.split("/", 1)[1], m)) for p, m in pats)]
    if not kept:
        names = sorted({k.id.split("/", 1)[1] for k in out})
        raise UsageError(f"--cells {pattern!r} names no machine of its cells; they have {', '.join(names)}")
    return kept


def shared_runs(cases: Sequence[Case]) -> list[Case]:
    """One case per distinct run, in the order given: the first case of each run key, with the cells of
    the others in `also`. Their verdict, examples and steps are that run's (the report says so)."""
    runs: dict[str, Case] = {}
    for k in cases:
        first = runs.get(k.run_key)
        runs[k.run_key] = k if first is None else replace(first, also=first.also + (k.cell.id,))
    return list(runs.values())


def default_peers(backend: str) -> list[str]:
    """The built-in candidates other than the backend itself that are registered here."""
    from .registry import registered
    names = registered()
    return [n for n in BUILTIN_CANDIDATES if n in names and n != backend]


def parse_peers(value: str | None, backend: str) -> list[str]:
    if value is None or value == "auto":
        return default_peers(backend)
    if value in ("", "none"):
        return []
    return [p.strip() for p in value.split(",") if p.strip()]
