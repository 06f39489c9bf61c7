"""Puts, gets and flushes on one pool: TMEM-PUT-*, TMEM-GET-*, TMEM-FLUSH-*.

These run after dispatch has found the caller's pool. RESTORE_PUT_PAGE and
RESTORE_FLUSH_PAGE reuse `put` and `flush`.
"""

from __future__ import annotations

from .client import Client
from .guest import copy_out, frame_ok
from .pool import Oid, Page, Pool
from .retvals import EEMPTY, EFAULT, EFROZEN, ENOMEM, ENOSPC
from .store import PageStore


def delete(store: PageStore, client: Client, slot: int, pool: Pool, oid: Oid, index: int) -> bool:
    """Remove one page; a persistent page deleted while live-migrating is recorded (TMEM-SAVE-008)."""
    if store.remove(pool, oid, index) is None:
        return False
    if pool.persistent and client.live_migrating:
        client.invalidated.append((slot, oid, index))
    return True


def put(store: PageStore, client: Client, slot: int, pool: Pool, oid: Oid, index: int,
        page: Page | None) -> int:
    """Store `page` at (oid, index); None means its source is not in memory (-EFAULT).

    Dup put: -ENOSPC and the old copy deleted when live-migrating, else the data is
    replaced in place, frozen or not (TMEM-PUT-002, TMEM-PUT-003). New page: -EFROZEN
    when frozen, then -EFAULT, then room is made by evicting ephemeral pages, else
    -ENOMEM (TMEM-PUT-001, TMEM-PUT-006).
    """
    if pool.lookup(oid, index) is not None:
        if client.live_migrating:
            delete(store, client, slot, pool, oid, index)
            return -ENOSPC
        if page is None:
            return -EFAULT  # the old copy is kept
        store.replace(pool, oid, index, page, client.domid)
        return 1
    if client.frozen:
        return -EFROZEN
    if page is None:
        return -EFAULT
    if not store.make_room():
        return -ENOMEM
    store.add(pool, oid, index, page, client.domid)
    return 1


def get(store: PageStore, pool: Pool, oid: Oid, index: int, memory: bytearray, cmfn: int,
        window: tuple[int, int, int] | None) -> int:
    """GET (window None) or READ: -EEMPTY, 0 on a miss, 1 on a hit (TMEM-GET-001..005).

    A hit with a bad cmfn is -EFAULT and keeps the page. A private ephemeral hit is
    exclusive (the page goes); a shared ephemeral hit becomes most recently used.
    """
    if pool.npages == 0:
        return -EEMPTY
    page = pool.lookup(oid, index)
    if page is None:
        return 0
    if not frame_ok(memory, cmfn):
        return -EFAULT
    copy_out(memory, cmfn, page, window)
    if pool.ephemeral:
        if pool.shared:
            store.touch(pool, oid, index)
        else:
            store.remove(pool, oid, index)
    return 1


def flush(store: PageStore, client: Client, slot: int, pool: Pool, oid: Oid, index: int | None) -> int:
    """FLUSH_PAGE (an index) or FLUSH_OBJECT (None): 1, or -EFROZEN with the flush done (TMEM-FLUSH-*)."""
    if index is not None:
        delete(store, client, slot, pool, oid, index)
    else:
        obj = pool.objects.get(oid)
        if obj is not None:
            for i in list(obj.pages):
                delete(store, client, slot, pool, oid, i)
    return -EFROZEN if client.frozen else 1
