"""The raw-hypercall machines' domains and frames, and the strategies that depend on a machine's cell.

A machine is a module-level class, so its rules cannot close over its cell: a strategy that depends on
the cell is drawn through the running machine (hypothesis' runner), from its class attributes (its
host's `version`, its `cell`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.internal.conjecture.utils import calc_label_from_name
from hypothesis.strategies import SearchStrategy

from ..models.abi import CLI_ID_NULL, PoolFlag
from ..models.versions import AbiVersion
from .flags import any_flags, invalid_flags
from .flat import compile_draw, flat
from .ids import filekeys, oids
from .raw import malformed_ops

#: The pages of each domain's memory (frames 0 .. PAGES_PER_DOMAIN - 1).
PAGES_PER_DOMAIN = 4
GUESTS = (1, 2, 3)
RESTORED = (7, 8)
NEWCOMERS = (4, 5)  # domains that have made no call yet

#: A caller's frame: mostly one it has, sometimes one past its memory or far beyond.
CMFNS = flat(st.one_of(st.integers(0, PAGES_PER_DOMAIN - 1), st.integers(0, PAGES_PER_DOMAIN - 1),
                       st.sampled_from([PAGES_PER_DOMAIN, 2**32 - 1])), "CMFNS")
#: A frame the caller has.
FRAMES = st.integers(0, PAGES_PER_DOMAIN - 1)
DOMS = st.sampled_from(GUESTS)
#: The client a control op names: mostly a guest, else no client, a restored one, or one that never was.
TARGETS = st.sampled_from(GUESTS + GUESTS + (CLI_ID_NULL,) + RESTORED + (0x10001,))
OPTIONAL_TARGETS = flat(st.one_of(st.none(), TARGETS), "OPTIONAL_TARGETS")


T = TypeVar("T")


class OfCell(SearchStrategy[T]):
    """What `make(machine)` gives for the running state machine, drawn in one span as if drawn from it
    directly (st.runner().flatmap(make) would add spans, and hypothesis' generation would differ)."""

    def __init__(self, name: str, make: Callable[[Any], SearchStrategy[T]]) -> None:
        super().__init__()
        self.name, self.make = name, make

    def calc_label(self) -> int:
        return calc_label_from_name(f"tmem-conformance cell strategy {self.name}")

    def __repr__(self) -> str:
        return f"OfCell({self.name!r})"

    def do_draw(self, data: ConjectureData) -> T:
        return _draw_of(self.make(data.hypothesis_runner))(data)  # type: ignore[no-any-return]


@cache
def _draw_of(strategy: SearchStrategy[Any]) -> Callable[[ConjectureData], Any]:
    """The cell strategy's own draw, its choices made directly (flat.py): `make` gives one strategy per
    version and word size, so there are a few of these."""
    return compile_draw(strategy)


def _shared(flags: int) -> int:
    return flags | PoolFlag.SHARED


@cache
def _invalid_shared_flags(v: AbiVersion) -> SearchStrategy[int]:
    return invalid_flags(v).map(_shared)


#: Object ids as wide as the machine's host's.
CELL_OIDS = OfCell("CELL_OIDS", lambda m: oids(m.version.oid_words))
#: Pool flags, valid and invalid, for the machine's host.
CELL_FLAGS = OfCell("CELL_FLAGS", lambda m: any_flags(m.version))
#: Flags the machine's host refuses, with SHARED set.
CELL_BAD_SHARED_FLAGS = OfCell("CELL_BAD_SHARED_FLAGS", lambda m: _invalid_shared_flags(m.version))
#: Malformed op bytes in the machine's host's layout for its cell's word size.
CELL_RAW_OPS = OfCell("CELL_RAW_OPS", lambda m: malformed_ops(m.version, m.cell.word_size, PAGES_PER_DOMAIN))
#: Inode keys as the machine's guest hands them to cleancache.
CELL_FILEKEYS = OfCell("CELL_FILEKEYS", lambda m: filekeys(m.native_words))
