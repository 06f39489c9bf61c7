"""What a certification run is asked for, as one object from `certify` to the plugin and its workers.

`certify` builds a `RunOptions` from its own arguments and hands it to the plugin inside `Handed`,
with the backends it loaded and the cases it computed, so that the controlling process neither
turns them back into command-line options nor loads and computes them again. An xdist worker
gets the same options in its workerinput (a dict: workers are other processes) and loads the
backends once. A plain pytest session (`pytest --tmem-backend=SPEC ...`) builds the options
from the --tmem-* command-line options.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from .cases import Case, cases_for, parse_peers
from .registry import LoadedBackend, load, versions_made_by

if TYPE_CHECKING:
    import pytest

DEFAULT_TIME_LIMIT = 900.0
#: Seconds a case may spend shrinking its counterexample (hypothesis' own cap is 300).
DEFAULT_SHRINK_SECONDS = 2.0
#: The one option not named --tmem-FIELD (with dashes): the option is given once per file.
_OPTION_NAMES = {"abi_files": "--tmem-abi-file"}


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """A run's backend, cells, profile, budgets and report: one field per --tmem-* option."""

    backend: str | None = None
    dest_backend: str | None = None
    cells: str | None = None
    shard: str | None = None
    profile: str | None = None
    #: where the plugin writes the JSON report (certify's own copy comes back in `Handed.report`)
    report: str | None = None
    peers: str = "none"
    time_limit: float = DEFAULT_TIME_LIMIT
    no_shrink: bool = False
    shrink_seconds: float = DEFAULT_SHRINK_SECONDS
    quick_look: bool = False
    level: str | None = None
    abi_files: tuple[str, ...] = ()

    @staticmethod
    def option(name: str) -> str:
        """The command-line option of field `name`."""
        return _OPTION_NAMES.get(name, "--tmem-" + name.replace("_", "-"))

    @classmethod
    def from_pytest(cls, config: pytest.Config) -> RunOptions:
        """The --tmem-* options of a pytest command line."""
        values = {f.name: config.getoption(cls.option(f.name)) for f in dataclasses.fields(cls)}
        return cls(**dict(values, abi_files=tuple(values["abi_files"] or ())))

    def to_dict(self) -> dict[str, Any]:
        """For an xdist worker's workerinput (plain values only)."""
        return dict(dataclasses.asdict(self), abi_files=list(self.abi_files))

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RunOptions:
        return cls(**dict(doc, abi_files=tuple(doc.get("abi_files", ()))))


@dataclasses.dataclass(eq=False)  # a pytest plugin: hashed by identity
class Handed:
    """certify's run for the plugin in its own process: the options, and what certify already loaded
    and computed from them. The plugin hands the report back in `report` (no file to read back)."""

    options: RunOptions
    backend: LoadedBackend
    dest: LoadedBackend
    peers: dict[str, LoadedBackend]
    cases: list[Case]
    report: dict[str, Any] | None = None

    @classmethod
    def prepare(cls, options: RunOptions) -> Handed:
        """Load the options' backends and peers and compute their cases (once per process: certify's,
        or an xdist worker's, or a plain pytest session's)."""
        assert options.backend is not None
        backend = load(options.backend)
        dest = load(options.dest_backend) if options.dest_backend else backend
        peers = {name: load(name) for name in parse_peers(options.peers, options.backend)}
        cases = cases_for(options.cells, options.shard, list(peers),
                          {name: versions_made_by(p.factory) for name, p in peers.items()})
        return cls(options, backend, dest, peers, cases)
