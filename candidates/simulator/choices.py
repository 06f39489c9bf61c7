"""Which allowed outcome the simulator takes where tmem-abi.md section 10 leaves a choice.

By default the simulator takes the 4.0/4.1 outcome where the tags agree with
the specification, and the caller's state where the tags use the owner's. Each
named choice takes another outcome of the same row: `resolve` turns a set of
names into one `Choices` value, read at the few places that decide (dispatch,
the write source, puts, pool leaving, eviction, the save iterators).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple


class Eviction(NamedTuple):
    """Which ephemeral page goes first when room is needed (TMEM-EPH-001: any, but only to make room).

    Pages are kept in one order, oldest first; a put moves a page to the recent end,
    a get too if `get_refreshes`. The victim is taken from the recent end if
    `newest_first`, else from the old end.
    """

    name: str
    newest_first: bool
    get_refreshes: bool


LRU = Eviction("lru", newest_first=False, get_refreshes=True)
MRU = Eviction("mru", newest_first=True, get_refreshes=True)
FIFO = Eviction("fifo", newest_first=False, get_refreshes=False)


@dataclass(frozen=True)
class Choices:
    """The resolved choices of one host; the defaults are `make`'s behaviour without choices."""

    short_op_efault: bool = False           # short op buffer: -EFAULT, not decode what is there
    window_einval: bool = False             # window past the page end: -EINVAL (4.2.1), not 1
    write_keeps_previous: bool = False      # dup WRITE: previous bytes outside the window, not zero
    zero_write_as_new_page: bool = False    # WRITE 0/0/0 dispatched as NEW_PAGE
    compress_window_fallback: bool = False  # compressing client: WRITE stores the window, not the page
    shared_owner_state: bool = False        # shared pool: the owner's frozen/live-migrating state
    owner_leave_wipes: bool = False         # the owner leaving a shared pool destroys every object
    nonowner_keeps_ephemeral: bool = False  # a non-owner leaving an ephemeral shared pool drops nothing
    next_inv_zero: bool = False             # SAVE_GET_NEXT_INV: 0 for no client / short buffer
    save_pages_reverse: bool = False        # SAVE_GET_NEXT_PAGE: the reverse of the default order
    eviction: Eviction = LRU                # which ephemeral page is evicted to make room
    flush_evicts_newest: bool = False       # CONTROL FLUSH takes the newest pages first
    retired_enosys: bool = False            # a command the revision retired: -ENOSYS, not 0 as unknown ones


#: choice name -> (Choices field, value it takes)
CHOICES: dict[str, tuple[str, Any]] = {
    "short-op-efault": ("short_op_efault", True),
    "window-einval": ("window_einval", True),
    "write-keeps-previous": ("write_keeps_previous", True),
    "zero-write-as-new-page": ("zero_write_as_new_page", True),
    "compress-window-fallback": ("compress_window_fallback", True),
    "shared-owner-state": ("shared_owner_state", True),
    "owner-leave-wipes": ("owner_leave_wipes", True),
    "nonowner-keeps-ephemeral": ("nonowner_keeps_ephemeral", True),
    "next-inv-zero": ("next_inv_zero", True),
    "save-pages-reverse": ("save_pages_reverse", True),
    "evict-mru": ("eviction", MRU),
    "evict-fifo": ("eviction", FIFO),
    "flush-evicts-newest": ("flush_evicts_newest", True),
    "retired-enosys": ("retired_enosys", True),
}

DEFAULT = Choices()


def resolve(names: Iterable[str]) -> Choices:
    """The Choices for a set of choice names; ValueError names an unknown one or a conflicting pair."""
    if isinstance(names, str | bytes):
        raise ValueError(f"choices must be a set of choice names, not the string {names!r}")
    taken: dict[str, tuple[str, Any]] = {}
    for name in sorted(set(names)):
        entry = CHOICES.get(name)
        if entry is None:
            raise ValueError(f"unknown simulator choice {name!r}; known choices: {', '.join(sorted(CHOICES))}")
        field, value = entry
        if field in taken:
            raise ValueError(f"simulator choices {taken[field][0]!r} and {name!r} decide the same thing; "
                             f"take at most one")
        taken[field] = (name, value)
    return replace(DEFAULT, **{field: value for field, (_, value) in taken.items()})
