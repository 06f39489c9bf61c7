"""The reference host's knowledge: clients, pools, pages, and how sure it is of each page.

A page the model is sure of must be there (a persistent page). A page it
is not sure of may have gone (any ephemeral page; a persistent page after
an op whose effect on it the host may choose). Bytes of a page may be
unknown too (WRITE leaves the rest of a fresh page unspecified); `known`
masks the bytes that must match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .abi import MAX_POOLS_PER_DOMAIN, PAGE_SIZE
from .versions import AbiVersion

Oid = tuple[int, ...]
Key = tuple[Oid, int]  # (oid, index)
ZERO_PAGE = bytes(PAGE_SIZE)


@dataclass(frozen=True)
class Page:
    data: bytes
    known: bytes | None = None  # None: every byte known
    whole: bool = False  # stored compressed: READ copies it whole
    sure: bool = True  # False: the host may have dropped it

    def maybe(self) -> Page:
        return Page(self.data, self.known, self.whole, False)

    def learn(self, observed: bytes, sure: bool) -> Page:
        """The same page once a hit has shown all its bytes."""
        return Page(bytes(observed), None, self.whole, sure)


@dataclass(eq=False)
class Pool:
    persistent: bool
    shared: bool
    uuid: tuple[int, int]
    pages: dict[Key, Page] = field(default_factory=dict)
    users: dict[int, set[int]] = field(default_factory=dict)  # client -> its slots naming this pool
    touched: dict[Oid, set[int]] = field(default_factory=dict)  # oid -> clients that put or got

    @property
    def ephemeral(self) -> bool:
        return not self.persistent

    def sure_pages(self) -> int:
        return sum(1 for p in self.pages.values() if p.sure)

    def keys_of(self, oid: Oid) -> list[Key]:
        return [k for k in self.pages if k[0] == oid]

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
        """The pages the host must be holding now (the ones the model is sure of)."""
        return sum(p.sure_pages() for p in self.pools())
