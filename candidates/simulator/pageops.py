"""Puts, gets and flushes on one pool: TMEM-PUT-*, TMEM-GET-*, TMEM-FLUSH-*.

These run after dispatch has found the caller's pool. RESTORE_PUT_PAGE and
RESTORE_FLUSH_PAGE reuse `put` and `flush`. Frozen and live-migrating state
is the governing client's (HostState.governing): the caller's, or for a
shared pool its owner's if the host follows the owner.
"""

from __future__ import annotations

from .client import Client, HostState
from .memory import copy_out, frame_ok, window_ok
from .pool import ZERO_PAGE, Oid, Page, Patch, Pool
from .retvals import EEMPTY, EFAULT, EFROZEN, EINVAL, ENOMEM, ENOSPC

#: What a put stores: a page, a WRITE window to lay onto a base page, or the negative
#: errno the put returns when it needs its source (a bad cmfn, a refused window).
Source = Page | Patch | int


def delete(state: HostState, client: Client, slot: int, pool: Pool, oid: Oid, index: int) -> bool:
    """Remove one page; a persistent page deleted while live-migrating is recorded (TMEM-SAVE-008)."""
    if state.store.remove(pool, oid, index) is None:
        return False
    holder, holder_slot = state.governing(client, slot, pool)
    if pool.persistent and holder.live_migrating:
        holder.invalidated.append((holder_slot, oid, index))
    return True


def _stored(src: Page | Patch, old: Page | None, keep_previous: bool) -> Page:
    """The page a put leaves: a WRITE window lies on zeros, or on a duplicate's old bytes if kept."""
    if isinstance(src, Page):
        return src
    return src.onto(old.data if old is not None and keep_previous else ZERO_PAGE)


def put(state: HostState, client: Client, slot: int, pool: Pool, oid: Oid, index: int, src: Source) -> int:
    """Store `src` at (oid, index) for `client`, who becomes the object's last putter.

    Dup put: -ENOSPC and the old copy deleted when live-migrating, else the data is
    replaced in place, frozen or not (TMEM-PUT-002, TMEM-PUT-003); a source error
    keeps the old copy. New page: -EFROZEN when frozen, then the source error, then
    room is made by evicting ephemeral pages, else -ENOMEM (TMEM-PUT-001, TMEM-PUT-006).
    """
    store = state.store
    holder, _ = state.governing(client, slot, pool)
    old = pool.lookup(oid, index)
    if old is not None:
        if holder.live_migrating:
            delete(state, client, slot, pool, oid, index)
            return -ENOSPC
        if isinstance(src, int):
            return src
        store.replace(pool, oid, index, _stored(src, old, state.choices.write_keeps_previous), client.domid)
        return 1
    if holder.frozen:
        return -EFROZEN
    if isinstance(src, int):
        return src
    if not store.make_room():
        return -ENOMEM
    store.add(pool, oid, index, _stored(src, None, False), client.domid)
    return 1


def get(state: HostState, pool: Pool, oid: Oid, index: int, memory: bytearray, cmfn: int,
        window: tuple[int, int, int] | None) -> int:
    """GET (window None) or READ: -EEMPTY, 0 on a miss, 1 on a hit (TMEM-GET-001..005).

    A hit with a bad cmfn (-EFAULT), then a refused window (-EINVAL, if the host
    refuses windows past the page end), keeps the page. A private ephemeral hit is exclusive (the
    page goes); a shared ephemeral hit becomes most recently used.
    """
    if pool.npages == 0:
        return -EEMPTY
    page = pool.lookup(oid, index)
    if page is None:
        return 0
    if not frame_ok(memory, cmfn):
        return -EFAULT
    if window is not None and state.choices.window_einval and not page.whole and not window_ok(*window):
        return -EINVAL
    copy_out(memory, cmfn, page, window)
    if pool.ephemeral:
        if pool.shared:
            state.store.touch(pool, oid, index)
        else:
            state.store.remove(pool, oid, index)
    return 1


def flush(state: HostState, client: Client, slot: int, pool: Pool, oid: Oid, index: int | None) -> int:
    """FLUSH_PAGE (an index) or FLUSH_OBJECT (None): 1, or -EFROZEN with the flush done (TMEM-FLUSH-*)."""
    if index is not None:
        delete(state, client, slot, pool, oid, index)
    else:
        obj = pool.objects.get(oid)
        if obj is not None:
            for i in list(obj.pages):
                delete(state, client, slot, pool, oid, i)
    return -EFROZEN if state.governing(client, slot, pool)[0].frozen else 1
