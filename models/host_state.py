"""The reference host's knowledge: clients, pools, pages, and how sure it is of each page.

A page the model is sure of must be there: a persistent page, or an
ephemeral page while the host has had no reason to evict (tmem-abi.md
section 10: eviction only to make room). A page it is not sure of may have
gone. Where the host may choose what a page holds (a duplicate WRITE keeps
or zeroes the bytes outside its window; a compressing client stores the
whole page or the window), the page is one of several candidates, and the
first hit that shows its bytes tells which. `known` masks the bytes that
must match. Each page also says which rule defined its bytes (`origin`)
and, where one applies, which rule promised that it stays (`kept_by`), so a
violation names the rule the backend broke rather than the op that saw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .abi import MAX_POOLS_PER_DOMAIN, PAGE_SIZE
from .frozen import evolve
from .versions import AbiVersion

Oid = tuple[int, ...]
Key = tuple[Oid, int]  # (oid, index)
ZERO_PAGE = bytes(PAGE_SIZE)


#: More candidates than this for one page are merged into one, masking the bytes they disagree on.
MAX_CANDIDATES = 4


@dataclass(frozen=True)
class Page:
    data: bytes
    known: bytes | None = None  # None: every byte known
    whole: bool = False  # stored compressed: READ copies it whole
    sure: bool = True  # False: the host may have dropped it
    origin: str = "TMEM-GET-003"  # the rule that defined these bytes (PUT_PAGE's: a hit returns them)
    kept_by: str | None = None  # the rule that promised this page stays, where it is not the pool kind's
    putter: tuple[int, int] | None = None  # the (client, slot) whose put stored it
    seen_by: frozenset[tuple[int, int]] = frozenset()  # the (client, slot)s a get has shown it through
    alts: tuple[Page, ...] = ()  # other candidates the host may have stored instead of this one
    replaced: tuple[Page, ...] = ()  # what a dup put replaced here: a hit showing it names TMEM-PUT-002

    def but(self, **changes: object) -> Page:
        """This page with `changes` (a hit or a put makes several per hypercall: models/frozen.py)."""
        return evolve(self, **changes)

    def maybe(self) -> Page:
        return self.but(sure=False)

    def keep(self, rule: str) -> Page:
        return self.but(kept_by=rule)

    def candidates(self) -> tuple[Page, ...]:
        """Every page the host may hold here (this one first); each has no alternatives of its own."""
        if not self.alts:  # the common case: a page is frozen, so it is its own only candidate
            return (self,)
        return (self.but(alts=()),) + self.alts

    def learn(self, observed: bytes, sure: bool) -> Page:
        """The same page once a hit has shown all its bytes."""
        return self.but(data=bytes(observed), known=None, sure=sure, alts=())

    def narrowed(self, keep: list[Page]) -> Page:
        """This page with only the candidates in `keep` (at least one) left."""
        return keep[0].but(sure=self.sure, kept_by=self.kept_by, alts=tuple(keep[1:]))


def one_of(pages: list[Page]) -> Page:
    """A page that is any one of `pages` (all stored by one op, so they share origin, putter, sureness)."""
    unique: list[Page] = []
    for p in pages:
        for c in p.candidates():
            if c not in unique:
                unique.append(c)
    if len(unique) > MAX_CANDIDATES or len({c.whole for c in unique}) > 1:
        unique = [_merge(unique)]
    return unique[0].narrowed(unique) if len(unique) > 1 else unique[0]


def _merge(pages: list[Page]) -> Page:
    """One page whose known bytes are those every candidate knows and agrees on."""
    first = pages[0]
    known = bytearray(len(first.data))
    for i in range(len(first.data)):
        b = first.data[i]
        known[i] = all((p.known is None or p.known[i]) and p.data[i] == b for p in pages)
    return first.but(known=bytes(known), whole=any(p.whole for p in pages), alts=())


@dataclass(eq=False)
class Pool:
    persistent: bool
    shared: bool
    uuid: tuple[int, int]
    pages: dict[Key, Page] = field(default_factory=dict)
    users: dict[int, set[int]] = field(default_factory=dict)  # client -> its slots naming this pool
    touched: dict[Oid, set[int]] = field(default_factory=dict)  # oid -> clients that put or got
    #: the client that created a shared pool; None once it has left (any user may own it then)
    owner: int | None = None
    #: handles known to be absent, with the rule that removed them (a later hit names it)
    gone: dict[Key, str] = field(default_factory=dict)
    #: SHARED was asked with the all-ones uuid, which makes a private pool (TMEM-SHARED-001)
    private_by_uuid: bool = False

    @property
    def ephemeral(self) -> bool:
        return not self.persistent

    def sure_pages(self) -> int:
        return sum(1 for p in self.pages.values() if p.sure)

    def holds_sure_page(self) -> bool:
        """sure_pages() > 0, told at the first sure page."""
        return any(p.sure for p in self.pages.values())

    def keys_of(self, oid: Oid) -> list[Key]:
        return [k for k in self.pages if k[0] == oid]

    def owners(self) -> set[int]:
        """The clients that may own this pool: its creator, or any user once the creator left."""
        if not self.shared:
            return set(self.users)
        return {self.owner} if self.owner is not None else set(self.users)

    def flags(self, spec: int) -> int:
        return int(self.persistent) | int(self.shared) << 1 | spec << 24


@dataclass(eq=False)
class Client:
    domid: int
    slots: list[Pool | None] = field(default_factory=lambda: [None] * MAX_POOLS_PER_DOMAIN)
    frozen: bool = False
    was_frozen: bool = False
    live_migrating: bool = False
    weight: int = 0
    cap: int = 0
    compress: bool = False
    auth: list[tuple[int, int]] = field(default_factory=list)
    #: pages deleted while live-migrating: (slot, oid, index, certainly recorded)
    invalidated: list[tuple[int, Oid, int, bool]] = field(default_factory=list)
    #: slot -> keys reported by SAVE_GET_NEXT_PAGE since the iteration began
    reported: dict[int, set[Key]] = field(default_factory=dict)
    #: created by its first call (TMEM-HC-007), not by RESTORE_BEGIN
    implicit: bool = False
    #: its domid had a client that was destroyed before this one (TMEM-DESTROY-003)
    reborn: bool = False
    #: created by RESTORE_BEGIN: the toolstack re-applies its saved policy (TMEM-STREAM-004)
    restored: bool = False
    #: SAVE_END thawed it (was not frozen before SAVE_BEGIN): new puts must work again (TMEM-MIG-003)
    thawed_by_save_end: bool = False
    #: the rule of the op that froze it when that op was SAVE_BEGIN (TMEM-SAVE-001), else ""
    frozen_by: str = ""
    #: slot -> the keys its destroyed pool held (none may show in the next pool made there)
    destroyed_pages: dict[int, set[Key]] = field(default_factory=dict)
    #: the version gate refused one of its NEW_POOLs: a later refusal of a good one names TMEM-PAIR-003
    version_refused: bool = False
    #: slots whose pages a save has iterated to the end (a historical cursor stays there: history.py)
    saved_slots: set[int] = field(default_factory=set)


    def pool(self, pool_id: int) -> Pool | None:
        if 0 <= pool_id < MAX_POOLS_PER_DOMAIN:
            return self.slots[pool_id]
        return None

    def used_slots(self) -> list[int]:
        return [i for i, p in enumerate(self.slots) if p is not None]


@dataclass(eq=False)
class HostState:
    version: AbiVersion
    capacity: int
    clients: dict[int, Client] = field(default_factory=dict)
    shared: dict[tuple[int, int], Pool] = field(default_factory=dict)
    global_auth: int = 0
    #: domids whose client was destroyed (a later client of that domid starts empty)
    destroyed: set[int] = field(default_factory=set)
    #: domids the toolstack probed with a control sub-op while they had no client (a restore's
    #: version check): the probe must not create one (TMEM-MIG-002)
    probed: set[int] = field(default_factory=set)
    #: the historical deviations (models/history.py) the certification level accepts
    tolerated: frozenset[str] = frozenset()

    def pools(self) -> list[Pool]:
        seen: dict[int, Pool] = {}
        for c in self.clients.values():
            for p in c.slots:
                if p is not None:
                    seen[id(p)] = p
        return list(seen.values())

    def pages_at_most(self) -> int:
        """An upper bound of the pages the host holds now."""
        return sum(len(p.pages) for p in self.pools())

    def pages_at_least(self) -> int:
        """The pages the host must be holding now and cannot evict (sure persistent pages)."""
        return sum(p.sure_pages() for p in self.pools() if p.persistent)

    def may_evict(self) -> None:
        """The host may have evicted ephemeral pages to make room: none of them is sure any more."""
        for pool in self.pools():
            if pool.ephemeral:
                for k, page in pool.pages.items():
                    if page.sure:
                        pool.pages[k] = page.maybe()
