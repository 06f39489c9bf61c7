"""Save sub-ops 10-21 (TMEM-SAVE-001..009), with tmem-abi.md section 9's fixes.

SAVE_GET_POOL_UUID changes nothing but the buffer; SAVE_GET_POOL_FLAGS
carries the host's spec version; SAVE_GET_NEXT_PAGE reports every page of
a persistent pool exactly once. Pool sub-ops read the slot from the op's
pool_id; an id outside 0-15 is "no such pool".
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from .client import MAX_POOLS, Client, HostState, SaveCursor
from .memory import region_ok
from .opcodec import Ctrl, HandleCodec
from .pool import PAGE_SIZE, Oid, Pool
from .retvals import EFAULT, ENOMEM
from .targets import Handler, pool_of

_UUID = struct.Struct("<QQ")
COMPRESS_FLAG = 0x1
FROZEN_FLAG = 0x2


def _begin(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """SAVE_BEGIN: 0 with nothing to save; else freeze, mark live migration if arg1, 1 (TMEM-SAVE-001).

    arg1 = 0 never clears live migration: only SAVE_END does (tmem-abi.md section 10).
    """
    client = state.target(c.cli_id)
    if client is None or not client.has_pools():
        return 0
    client.was_frozen = client.frozen
    client.frozen = True
    if c.arg1 != 0:
        client.live_migrating = True
    client.cursors.clear()
    return 1


def _version(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    return state.spec  # TMEM-SAVE-002, any cli_id


def _maxpools(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    return MAX_POOLS  # TMEM-SAVE-002


def _client_value(value: Callable[[Client], int]) -> Handler:
    """A per-client number; -1 with no client (TMEM-SAVE-003)."""
    def handler(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
        client = state.target(c.cli_id)
        return -1 if client is None else value(client)
    return handler


def _reported(v: int) -> int:
    return -2 if v == -1 else v


def _client_flags(client: Client) -> int:
    return (COMPRESS_FLAG if client.compress else 0) | (FROZEN_FLAG if client.was_frozen else 0)


def _pool_flags(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """Flags with the spec version (TMEM-SAVE-004); -1 with no pool."""
    found = pool_of(state, c, pool_id)
    return -1 if found is None else found[1].flags(state.spec)


def _pool_npages(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    found = pool_of(state, c, pool_id)
    return -1 if found is None else found[1].npages  # TMEM-SAVE-005


def _pool_uuid(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """Write uuid lo, hi at buf; 0, nothing else changes (TMEM-SAVE-006)."""
    found = pool_of(state, c, pool_id)
    if found is None:
        return -1
    if not region_ok(memory, c.buf, _UUID.size):
        return -EFAULT
    _UUID.pack_into(memory, c.buf, *found[1].uuid)
    return 0


def _next_key(pool: Pool, cursor: SaveCursor, reverse: bool) -> tuple[Oid, int] | None:
    """A page of the pool not yet reported since the iteration began, or None.

    Pages go in the pool's order (objects as created, then pages as put), or the
    reverse of it; any order conforms, each page once per save (tmem-abi.md section 10).
    """
    while True:
        while cursor.pending:
            key = cursor.pending.pop()
            if key not in cursor.reported and pool.lookup(*key) is not None:
                return key
        fresh = [k for k in pool.keys() if k not in cursor.reported]
        if not fresh:
            return None
        if not reverse:
            fresh.reverse()  # pending is popped from its end
        cursor.pending = fresh


def _next_page(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """Handle then page data at buf; 1, or -1 at the end, restarting the iteration (TMEM-SAVE-007)."""
    found = pool_of(state, c, pool_id)
    if found is None or found[1].ephemeral:
        return -1
    client, pool = found
    need = h.size + PAGE_SIZE
    if c.arg1 < need:
        return -ENOMEM
    if not region_ok(memory, c.buf, need):
        return -EFAULT
    cursor = client.cursors.get(pool_id)
    if cursor is None:
        cursor = client.cursors[pool_id] = SaveCursor()
    key = _next_key(pool, cursor, state.choices.save_pages_reverse)
    if key is None:
        del client.cursors[pool_id]
        return -1
    oid, index = key
    page = pool.lookup(oid, index)
    assert page is not None
    cursor.reported.add(key)
    memory[c.buf:c.buf + h.size] = h.pack(pool_id, index, oid)
    start = c.buf + h.size
    memory[start:start + PAGE_SIZE] = page.data
    return 1


def _next_inv(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """Pop one invalidated handle into buf: 1, or 0 when the list is empty (TMEM-SAVE-008).

    No client or a buffer too small for a handle: -1 / -ENOMEM, or 0 as Xen (choice next-inv-zero).
    """
    client = state.target(c.cli_id)
    if client is None:
        return 0 if state.choices.next_inv_zero else -1
    if c.arg1 < h.size:
        return 0 if state.choices.next_inv_zero else -ENOMEM
    if not region_ok(memory, c.buf, h.size):
        return -EFAULT
    if not client.invalidated:
        return 0
    slot, oid, index = client.invalidated.pop(0)
    memory[c.buf:c.buf + h.size] = h.pack(slot, index, oid)
    return 1


def _end(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """SAVE_END: end live migration, drop the list, frozen = was_frozen; 0 (TMEM-SAVE-009)."""
    client = state.target(c.cli_id)
    if client is None:
        return -1
    client.live_migrating = False
    client.invalidated.clear()
    client.frozen = client.was_frozen
    client.cursors.clear()
    return 0


SAVE_HANDLERS: dict[int, Handler] = {
    10: _begin,
    11: _version,
    12: _maxpools,
    13: _client_value(lambda cl: _reported(cl.weight)),
    14: _client_value(lambda cl: _reported(cl.cap)),
    15: _client_value(_client_flags),
    16: _pool_flags,
    17: _pool_npages,
    18: _pool_uuid,
    19: _next_page,
    20: _next_inv,
    21: _end,
}
