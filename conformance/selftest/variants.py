"""Legal variants: simulator hosts that each take another outcome tmem-abi.md section 10 allows.

Every variant conforms, so certification must pass every one; a variant the
suite fails is a fault of the suite (a check that pins down a choice the ABI
leaves open), not of the host. Each variant is one simulator choice, named
after it, plus "xen-choices", which takes every choice Xen itself takes.
The catalogue is data; `Variant.factory` builds hosts through the simulator's
`make`, so forked workers can create them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from tmem_conformance.candidates import simulator
from tmem_conformance.examples import V2_FEATURE_FLAGS
from tmem_conformance.models.choices import CHOICES

#: section 10 row id -> the situation it covers (models/choices.py is the table)
ROWS: dict[str, str] = {c.id: c.situation for c in CHOICES.values()}


@dataclass(frozen=True)
class Variant:
    """One legal host: the simulator with `choices`; `choice` is the row id (rows joined by "+")."""

    name: str
    choice: str
    doc: str
    choices: frozenset[str]
    #: shipped revision files (tmem_conformance.examples) it is certified with: its choice shows in their cells
    abi_files: tuple[str, ...] = ()

    @property
    def rows(self) -> tuple[str, ...]:
        return tuple(self.choice.split("+"))

    def factory(self) -> Callable[[int, int], object]:
        """(abi_version, capacity_pages) -> a new simulator host with these choices; picklable."""
        return partial(simulator.make, choices=self.choices)


def _one(name: str, row: str, doc: str) -> Variant:
    return Variant(name, row, doc, frozenset({name}))


_SINGLE = (
    _one("short-op-efault", "short-op",
         "an op buffer shorter than the whole struct tmem_op is -EFAULT, as Xen's copy of the whole struct"),
    _one("window-einval", "window",
         "a window past the page end is -EINVAL with nothing stored or copied, as the XSA-15 fix (4.2.1)"),
    _one("write-keeps-previous", "write-outside-window",
         "a duplicate WRITE keeps the page's previous bytes outside the window, which are the caller's own"),
    _one("zero-write-as-new-page", "write-zero",
         "a WRITE of an all-zero window goes through NEW_PAGE's path: the same zero page, cmfn unread"),
    _one("compress-window-fallback", "write-compress",
         "a compressing client's WRITE stores the window as without compression, Xen's fallback"),
    _one("shared-owner-state", "shared-state",
         "a shared pool follows its owner's frozen and live-migrating state, as Xen; private pools their own"),
    _one("owner-leave-wipes", "shared-leave",
         "the owner leaving a shared pool destroys all its objects (Xen attributes every put to the owner)"),
    _one("nonowner-keeps-ephemeral", "shared-leave",
         "a non-owner leaving an ephemeral shared pool drops nothing, which is one of the allowed outcomes"),
    _one("next-inv-zero", "next-inv",
         "SAVE_GET_NEXT_INV with no client or a too small buffer returns 0, as Xen, writing nothing"),
    _one("save-pages-reverse", "save-order",
         "SAVE_GET_NEXT_PAGE reports pages in the reverse order, still each page once per save"),
    _one("evict-mru", "eviction",
         "evicting to make room takes the most recently used ephemeral page; any page may go"),
    _one("evict-fifo", "eviction",
         "evicting to make room takes the oldest-put ephemeral page, a get does not refresh it"),
    _one("flush-evicts-newest", "eviction",
         "the toolstack's FLUSH evicts the newest ephemeral pages first; any policy may"),
    replace(_one("retired-enosys", "retired",
                 "a command the revision retired is answered -ENOSYS, not 0; on the example revision's cells"),
            abi_files=(V2_FEATURE_FLAGS,)),
)

#: Xen's own outcome in every row where the simulator's default differs from it
XEN_CHOICES = frozenset({"short-op-efault", "compress-window-fallback", "shared-owner-state",
                         "owner-leave-wipes", "next-inv-zero"})

_XEN = Variant("xen-choices", "+".join(sorted({v.choice for v in _SINGLE if v.name in XEN_CHOICES})),
               "every choice Xen takes at once: whole-struct copy, compression fallback, owner's state, "
               "owner's leave wipes the pool, 0 from SAVE_GET_NEXT_INV", XEN_CHOICES)

VARIANTS: dict[str, Variant] = {v.name: v for v in (*_SINGLE, _XEN)}
