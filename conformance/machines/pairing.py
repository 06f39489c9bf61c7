"""Pairing machine: a reference guest (version, shim, word size) runs cleancache and frontswap over a host.

Checks the cell's documented outcome (native, via-shim, graceful failure)
and that the guest never loses a page it swapped out, whether tmem or its
own swap device holds it (TMEM-GUEST-001). The machine keeps its own record
of every page swapped out, apart from the guest's bookkeeping.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from .. import strategies as S
from ..checked import PAGE_RULES, CheckedHost, violation
from ..models.guests import GuestKernel
from ..models.matrix import Cell
from ..models.versions import VERSIONS, AbiVersion
from .base import CellMachine, logged, under

EXPECTATION_RULE = {"native": "TMEM-PAIR-001", "graceful-failure": "TMEM-PAIR-002", "via-shim": "TMEM-PAIR-003"}
SHARED_FS_UUID = (0x5EED, 0xF00D)
#: A frontswap operation's promise: a page rule broken beneath it loses a swapped-out page.
SWAP = {r: "TMEM-GUEST-001" for r in PAGE_RULES}


class PairingMachine(CellMachine):
    """Two guests of the cell's kind on one host: the first negotiates, swaps and caches; the second shares."""

    version: ClassVar[AbiVersion]  # the cell's host's
    guest_kind: ClassVar[str]
    native_words: ClassVar[int]  # the width of the guest's own object ids, in 64-bit words
    #: What each guest-level operation was promised, naming a page rule broken beneath it.
    negotiate: ClassVar[dict[str, str]]
    clean: ClassVar[dict[str, str]]

    @classmethod
    def for_cell(cls, cell: Cell) -> dict[str, Any]:
        assert cell.guest is not None and cell.host is not None
        expectation = EXPECTATION_RULE[cell.expected]
        # A cleancache put the host takes beyond its capacity breaks no promise made to the cleancache
        # guest (its pages may go at any time): it breaks the host's own, TMEM-PUT-006, named as it is.
        clean = {r: "TMEM-GUEST-002" for r in PAGE_RULES - {"TMEM-PUT-006"}}
        if cell.expected == "via-shim":  # another id's data: the shim's ids were aliased
            clean["TMEM-GET-003"] = "TMEM-PAIR-004"
        return {"version": VERSIONS[cell.host], "guest_kind": cell.guest,
                "native_words": VERSIONS[cell.guest.split("+")[0]].oid_words,
                "negotiate": {"TMEM-POOL-001": expectation, "TMEM-POOL-005": expectation}, "clean": clean}

    @initialize(capacity=st.integers(2, 40))
    @logged(step=False)
    def boot(self, capacity: int) -> None:
        self.host = CheckedHost(self.factory, self.version, capacity, self.log, tolerated=self.tolerated)
        self.hosts.append(self.host)
        self.guest = GuestKernel.of(self.guest_kind, self.cell.word_size, 1, self.host)
        self.peer = GuestKernel.of(self.guest_kind, self.cell.word_size, 2, self.host)
        with self.host.promised(self.negotiate):
            self.guest.frontswap_init()
        got = self.guest.negotiated.name if self.guest.negotiated else None
        cell = self.cell
        if got != cell.negotiated:
            raise violation(EXPECTATION_RULE[cell.expected], f"{cell.guest} {cell.word_size}-bit guest "
                            f"negotiating with a {cell.host} host", f"{cell.expected} (tmem version "
                            f"{cell.negotiated or 'none'})", f"tmem version {got or 'none'} "
                            f"after NEW_POOL results {self.guest.tried}", self.log)
        with self.host.promised(self.negotiate):
            for g in (self.guest, self.peer):
                g.cleancache_init_fs("root")
                g.cleancache_init_fs("shared", SHARED_FS_UUID)
            self.peer.frontswap_init()
        self.swapped: dict[tuple[int, int], bytes] = {}

    # ------------------------------------------------------------ frontswap
    @rule(swap_type=S.SWAP_TYPES, offset=S.SWAP_OFFSETS, data=S.PAGES)
    @logged
    @under(SWAP)
    def swap_out(self, swap_type: int, offset: int, data: bytes) -> None:
        self.guest.swap_out(swap_type, offset, data)
        self.swapped[(swap_type, offset)] = data

    @precondition(lambda self: bool(getattr(self, "swapped", None)))
    @rule(pick=st.integers(0, 10**6))
    @logged
    @under(SWAP)
    def swap_in(self, pick: int) -> None:
        key = sorted(self.swapped)[pick % len(self.swapped)]
        got = self.guest.swap_in(*key)
        if got != self.swapped[key]:
            raise violation("TMEM-GUEST-001", f"swap-in of type {key[0]} offset {key[1]}",
                            "the page swapped out", "other data" if got else "nothing", self.log)

    @precondition(lambda self: bool(getattr(self, "swapped", None)))
    @rule(pick=st.integers(0, 10**6))
    @logged
    @under(SWAP)
    def swap_invalidate(self, pick: int) -> None:
        key = sorted(self.swapped)[pick % len(self.swapped)]
        self.guest.swap_invalidate(*key)
        del self.swapped[key]

    @rule(swap_type=S.SWAP_TYPES)
    @logged
    @under(SWAP)
    def swap_invalidate_area(self, swap_type: int) -> None:
        self.guest.swap_invalidate_area(swap_type)
        self.swapped = {k: d for k, d in self.swapped.items() if k[0] != swap_type}

    @rule(swap_type=S.SWAP_TYPES, offset=S.SWAP_OFFSETS, data=S.PAGES)
    @logged
    @under(SWAP)
    def peer_swaps_too(self, swap_type: int, offset: int, data: bytes) -> None:
        self.peer.swap_out(swap_type, offset, data)
        if self.peer.swap_in(swap_type, offset) != data:
            raise violation("TMEM-GUEST-001", "the second guest's swap-in", "the page it swapped out",
                            "other data", self.log)

    # ------------------------------------------------------------ cleancache
    @rule(fs=S.FILESYSTEMS, key=S.CELL_FILEKEYS, index=st.integers(0, 3), data=S.PAGES, by_peer=st.booleans())
    @logged
    @under("clean")
    def cleancache_put(self, fs: str, key: tuple[int, ...], index: int, data: bytes, by_peer: bool) -> None:
        (self.peer if by_peer else self.guest).cleancache_put(fs, key, index, data)

    @rule(fs=S.FILESYSTEMS, key=S.CELL_FILEKEYS, index=st.integers(0, 3), by_peer=st.booleans())
    @logged
    @under("clean")
    def cleancache_get(self, fs: str, key: tuple[int, ...], index: int, by_peer: bool) -> None:
        g = self.peer if by_peer else self.guest
        allowed = None
        if fs == "shared":  # either guest's last put may be what a shared pool holds
            allowed = {d for d in (self.guest.cleancache.get((fs, key, index)),
                                   self.peer.cleancache.get((fs, key, index))) if d is not None}
        g.cleancache_get(fs, key, index, allowed)

    @rule(fs=S.FILESYSTEMS, key=S.CELL_FILEKEYS, index=st.integers(0, 3), whole=st.booleans())
    @logged
    @under("clean")
    def cleancache_invalidate(self, fs: str, key: tuple[int, ...], index: int, whole: bool) -> None:
        for g in (self.guest, self.peer) if fs == "shared" else (self.guest,):
            if whole:
                g.cleancache_invalidate_inode(fs, key)
            else:
                g.cleancache_invalidate_page(fs, key, index)

    @rule(fs=S.FILESYSTEMS, index=st.integers(0, 3), data=S.PAGES)
    @logged
    @under("clean")
    def cleancache_above_4g(self, fs: str, index: int, data: bytes) -> None:
        """Two inodes that differ only above bit 31 hold different pages; each gets its own back."""
        low, high = ((n,) + (0,) * (self.native_words - 1) for n in (1, 1 << 32 | 1))
        self.guest.cleancache_put(fs, low, index, data)
        self.guest.cleancache_put(fs, high, index, data[::-1] if data[::-1] != data else bytes(4096))
        self.guest.cleancache_get(fs, low, index)
        self.guest.cleancache_get(fs, high, index)

    @rule(fs=st.sampled_from(["root", "home"]))
    @logged
    @under("clean")
    def remount(self, fs: str) -> None:
        """The filesystem goes and comes back: none of the pages it cached may show in the new pool."""
        cached = sorted(k for k in self.guest.cleancache if k[0] == fs)[:2]
        self.guest.cleancache_invalidate_fs(fs)
        self.guest.cleancache_init_fs(fs)
        for _, key, index in cached:
            self.guest.cleancache_get(fs, key, index)

    # ------------------------------------------------------------ the cell's outcome
    @invariant()
    def outcome_is_the_documented_one(self) -> None:
        g = getattr(self, "guest", None)
        if g is None:
            return
        if self.cell.expected == "graceful-failure" and (g.tmem_on or g.in_tmem):
            raise violation("TMEM-PAIR-002", "a guest the host refused", "tmem off, every page on the "
                            "guest's own swap device", f"{len(g.in_tmem)} pages held by tmem", self.log)
