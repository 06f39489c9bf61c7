"""One example database per certification run, so that a counterexample is shrunk once.

Cases of one family (`Case.family`: the same machine with the backend in the same role) share
a hypothesis example database in the run's directory. When a case fails, hypothesis saves its
shrunk counterexample there; a later case of the family replays it before generating anything
(hypothesis' reuse phase) and, if it fails again, reports it at once without shrinking it again
(hypothesis does not re-shrink an example it reused). The first case to fail records which it was,
and a later one with the same rule and steps says "the same counterexample as ..." in the report.

The database lives only as long as the run: under the ci profile nothing carries over between runs,
so every run of a suite version gives the same verdicts and rules. Which of a family's cases
shrinks and which references it depends on the order they run in (under xdist, on the workers).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    InMemoryExampleDatabase,
    MultiplexedDatabase,
)

from .models.errors import Violation

_RECORD = "first-failure.json"


@dataclass(frozen=True)
class RunDatabase:
    """The run's directory: a subdirectory per family holds its examples and its first failure."""

    root: str

    @classmethod
    def create(cls) -> RunDatabase:
        return cls(tempfile.mkdtemp(prefix="tmem-run-examples-"))

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _dir(self, family: str) -> str:
        return os.path.join(self.root, hashlib.sha256(family.encode()).hexdigest()[:16])

    def examples(self, family: str, kept: ExampleDatabase | None = None) -> ExampleDatabase:
        """The family's database; with the profile's own (`kept`, dev and thorough keep `.hypothesis/`)
        as well, so that a re-run still replays what earlier runs saved."""
        here = DirectoryBasedExampleDatabase(self._dir(family))
        return here if kept is None else MultiplexedDatabase(kept, here)

    def share(self, family: str, case_id: str, v: Violation) -> None:
        """Record `v` as the family's first failure, or mark it the same as the one recorded before.

        `case_id` is the violation's id in the report (CELL/MACHINE). The same rule with the same steps
        is the same counterexample: `v.same_as` names the case that shrank it, and `v.fully_shrunk` is
        that case's (this one reused it, never shrinking it)."""
        os.makedirs(self._dir(family), exist_ok=True)
        path = os.path.join(self._dir(family), _RECORD)
        record = {"case": case_id, "rule": v.rule, "steps": list(v.steps), "fully_shrunk": v.fully_shrunk}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                with open(path, encoding="utf-8") as f:
                    first = json.load(f)
            except (OSError, ValueError):  # a worker still writing it: this case keeps its own steps
                return
            if first["case"] != case_id and first["rule"] == v.rule and first["steps"] == list(v.steps):
                v.same_as, v.fully_shrunk = first["case"], bool(first["fully_shrunk"])
            return
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)


class QuickStart(ExampleDatabase):
    """Where a case's quick start (a couple of short examples before its full run) keeps a failure it
    found: under hypothesis' secondary key, whose examples the full run's reuse phase replays before it
    generates anything. One that fails again is then shrunk from its ten steps or so, not from a full
    example, and generation is skipped (the ci profile reports one bug). A primary entry would not do:
    hypothesis reports a failing primary example as it is, never shrinking it."""

    def __init__(self) -> None:
        super().__init__()
        self.found = InMemoryExampleDatabase()

    def save(self, key: bytes, value: bytes) -> None:
        self.found.save(key + b".secondary", value)  # hypothesis' own sub-key: ConjectureRunner.secondary_key

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return ()  # the quick start itself replays nothing

    def delete(self, key: bytes, value: bytes) -> None:
        pass

    def seeding(self, database: ExampleDatabase | None) -> ExampleDatabase:
        """`database` (the full run's) with what the quick start found."""
        return self.found if database is None else MultiplexedDatabase(database, self.found)
