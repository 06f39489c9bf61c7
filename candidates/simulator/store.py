"""Page accounting: the host's capacity and the LRU list of ephemeral pages.

Every page enters and leaves a pool through PageStore, so the host-wide
count stays exact (a shared pool's page counts once). When a new page is
needed and the host is full, the least recently used ephemeral page is
evicted first (TMEM-PUT-006, TMEM-EPH-001); persistent pages are never
evicted (TMEM-EPH-002).
"""

from __future__ import annotations

from collections import OrderedDict

from .pool import Oid, Page, Pool, TmemObject

LruKey = tuple[Pool, Oid, int]


class PageStore:
    """All pages the host holds, with a capacity in pages."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"capacity_pages must be 0 or more, not {capacity}")
        self.capacity = capacity
        self.used = 0
        self._lru: OrderedDict[LruKey, None] = OrderedDict()

    @property
    def ephemeral_pages(self) -> int:
        return len(self._lru)

    def make_room(self) -> bool:
        """Ensure one free page, evicting the LRU ephemeral page if full; False if impossible."""
        if self.used < self.capacity:
            return True
        if not self._lru:
            return False
        self.evict_one()
        return self.used < self.capacity

    def evict_one(self) -> bool:
        """Drop the least recently used ephemeral page; False if there is none."""
        if not self._lru:
            return False
        pool, oid, index = next(iter(self._lru))
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
            self._lru[(pool, oid, index)] = None

    def replace(self, pool: Pool, oid: Oid, index: int, page: Page, putter: int) -> None:
        """A dup put: new data in place, no new page needed (TMEM-PUT-002)."""
        obj = pool.objects[oid]
        obj.pages[index] = page
        obj.last_putter = putter
        if pool.ephemeral:
            self.touch(pool, oid, index)

    def touch(self, pool: Pool, oid: Oid, index: int) -> None:
        """Mark an ephemeral page most recently used."""
        self._lru.move_to_end((pool, oid, index))

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
            del self._lru[(pool, oid, index)]
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
