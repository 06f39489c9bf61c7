"""Page accounting: the host's capacity and the eviction order of ephemeral pages.

Every page enters and leaves a pool through PageStore, so the host-wide
count stays exact (a shared pool's page counts once). Only when a new page
is needed and the host is full, or on the toolstack's FLUSH, is an ephemeral
page evicted: by default the least recently used (TMEM-PUT-006, TMEM-EPH-001;
the policy is the host's choice, choices.Eviction). Persistent pages are
never evicted (TMEM-EPH-002).
"""

from __future__ import annotations

from collections import OrderedDict

from .choices import LRU, Eviction
from .pool import Oid, Page, Pool, TmemObject

OrderKey = tuple[Pool, Oid, int]


class PageStore:
    """All pages the host holds, with a capacity in pages."""

    def __init__(self, capacity: int, eviction: Eviction = LRU, flush_newest: bool = False) -> None:
        if capacity < 0:
            raise ValueError(f"capacity_pages must be 0 or more, not {capacity}")
        self.capacity = capacity
        self.used = 0
        self._eviction = eviction
        self._flush_newest = flush_newest
        self._order: OrderedDict[OrderKey, None] = OrderedDict()  # oldest first

    @property
    def ephemeral_pages(self) -> int:
        return len(self._order)

    def make_room(self) -> bool:
        """Ensure one free page, evicting an ephemeral page only if full; False if impossible."""
        if self.used < self.capacity:
            return True
        if not self._evict(self._eviction.newest_first):
            return False
        return self.used < self.capacity

    def flush_one(self) -> bool:
        """The toolstack's FLUSH: drop one ephemeral page; False if there is none (TMEM-CTRL-003)."""
        return self._evict(self._flush_newest or self._eviction.newest_first)

    def _evict(self, newest: bool) -> bool:
        if not self._order:
            return False
        pool, oid, index = next(reversed(self._order)) if newest else next(iter(self._order))
        self.remove(pool, oid, index)
        return True

    def add(self, pool: Pool, oid: Oid, index: int, page: Page, putter: int) -> None:
        """Store a page at a handle not present; the caller has made room."""
        obj = pool.objects.get(oid)
        if obj is None:
            obj = pool.objects[oid] = TmemObject(putter)
        else:
            obj.last_putter = putter
        obj.pages[index] = page
        pool.npages += 1
        self.used += 1
        if pool.ephemeral:
            self._order[(pool, oid, index)] = None

    def replace(self, pool: Pool, oid: Oid, index: int, page: Page, putter: int) -> None:
        """A dup put: new data in place, no new page needed (TMEM-PUT-002)."""
        obj = pool.objects[oid]
        obj.pages[index] = page
        obj.last_putter = putter
        if pool.ephemeral:
            self._order.move_to_end((pool, oid, index))

    def touch(self, pool: Pool, oid: Oid, index: int) -> None:
        """A get of an ephemeral page: most recently used, if the policy counts gets."""
        if self._eviction.get_refreshes:
            self._order.move_to_end((pool, oid, index))

    def remove(self, pool: Pool, oid: Oid, index: int) -> Page | None:
        """Delete one page (and its object if it empties); the page, or None if absent."""
        obj = pool.objects.get(oid)
        if obj is None:
            return None
        page = obj.pages.pop(index, None)
        if page is None:
            return None
        if not obj.pages:
            del pool.objects[oid]
        pool.npages -= 1
        self.used -= 1
        if pool.ephemeral:
            del self._order[(pool, oid, index)]
        return page

    def remove_object(self, pool: Pool, oid: Oid) -> list[int]:
        """Delete every page of an object; the indexes removed."""
        obj = pool.objects.get(oid)
        if obj is None:
            return []
        indexes = list(obj.pages)
        for index in indexes:
            self.remove(pool, oid, index)
        return indexes

    def remove_pool(self, pool: Pool) -> None:
        """Delete every page of a pool."""
        for oid in list(pool.objects):
            self.remove_object(pool, oid)
