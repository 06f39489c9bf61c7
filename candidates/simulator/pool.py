"""Pools, objects and pages: the simulator's own storage structures.

A pool holds a dict of objects keyed by the full object-id tuple (so ids
that share a low word stay apart, TMEM-FLUSH-002); an object holds a dict
of pages keyed by the 32-bit index. Page accounting against the host's
capacity lives in store.py; this module only knows the shapes.
"""

from __future__ import annotations

PAGE_SIZE = 4096
ZERO_PAGE = bytes(PAGE_SIZE)

Oid = tuple[int, ...]
Uuid = tuple[int, int]


class Page:
    """One stored page. `whole`: stored compressed, so READ copies it whole (TMEM-GET-004)."""

    __slots__ = ("data", "whole")

    def __init__(self, data: bytes, whole: bool = False) -> None:
        self.data = data
        self.whole = whole


class Patch:
    """WRITE's window before it is stored: `data` goes at `offset`, the other bytes come from a base page.

    The base is a zero page, or on a duplicate the page's previous bytes if the host
    keeps them (tmem-abi.md section 10). Nothing copied is Patch(0, b"").
    """

    __slots__ = ("offset", "data")

    def __init__(self, offset: int, data: bytes) -> None:
        self.offset = offset
        self.data = data

    def onto(self, base: bytes) -> Page:
        end = self.offset + len(self.data)
        return Page(base[:self.offset] + self.data + base[end:])


class TmemObject:
    """The pages of one object id, and the client that last put into it (TMEM-SHARED-004)."""

    __slots__ = ("pages", "last_putter")

    def __init__(self, last_putter: int) -> None:
        self.pages: dict[int, Page] = {}
        self.last_putter = last_putter


class Pool:
    """A private or global shared pool. `users`: domid -> the slots of that client naming it.

    `owner`: the domid that created the pool; when it leaves a shared pool others
    still use, the lowest remaining domid takes over (TMEM-SHARED-004).
    """

    __slots__ = ("persistent", "shared", "uuid", "objects", "npages", "users", "owner")

    def __init__(self, persistent: bool, shared: bool, uuid: Uuid, owner: int) -> None:
        self.persistent = persistent
        self.shared = shared
        self.uuid = uuid
        self.objects: dict[Oid, TmemObject] = {}
        self.npages = 0
        self.users: dict[int, set[int]] = {}
        self.owner = owner

    @property
    def ephemeral(self) -> bool:
        return not self.persistent

    def lookup(self, oid: Oid, index: int) -> Page | None:
        obj = self.objects.get(oid)
        return None if obj is None else obj.pages.get(index)

    def flags(self, spec: int) -> int:
        """persist | shared<<1 | (pageshift-12)<<4 | spec<<24: SAVE_GET_POOL_FLAGS (TMEM-SAVE-004)."""
        return int(self.persistent) | int(self.shared) << 1 | (spec & 0xFF) << 24

    def keys(self) -> list[tuple[Oid, int]]:
        return [(oid, index) for oid, obj in self.objects.items() for index in obj.pages]
