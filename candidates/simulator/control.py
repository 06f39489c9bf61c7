"""TMEM_CONTROL: the sub-op table and the client-policy sub-ops 0-8.

cli_id names the target client (only its low 16 bits: a domid); 0xFFFF is
all clients where a sub-op supports it. Unknown clients and unassigned
sub-ops give -1. Rules TMEM-CTRL-001..004; the save and restore sub-ops
are in save.py and restore.py.
"""

from __future__ import annotations

from collections.abc import Callable

from .client import CLI_ID_NULL, Client, HostState
from .opcodec import Ctrl, HandleCodec
from .pool import PAGE_SIZE
from .restore import RESTORE_HANDLERS
from .save import SAVE_HANDLERS
from .targets import Handler


def _targets(state: HostState, cli_id: int) -> list[Client] | None:
    """All clients for 0xFFFF, the named one, or None if it does not exist."""
    if cli_id & CLI_ID_NULL == CLI_ID_NULL:
        return list(state.clients.values())
    client = state.target(cli_id)
    return None if client is None else [client]


def _int32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _for_each(apply: Callable[[Client, Ctrl], None]) -> Handler:
    """A sub-op that sets something on one client or all: 0, or -1 for an unknown client."""
    def handler(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
        targets = _targets(state, c.cli_id)
        if targets is None:
            return -1
        for client in targets:
            apply(client, c)
        return 0
    return handler


def _thaw(client: Client, c: Ctrl) -> None:
    client.frozen = False


def _freeze(client: Client, c: Ctrl) -> None:
    client.frozen = True


def _weight(client: Client, c: Ctrl) -> None:
    client.weight = _int32(c.arg1)


def _cap(client: Client, c: Ctrl) -> None:
    client.cap = _int32(c.arg1)


def _compress(client: Client, c: Ctrl) -> None:
    client.compress = c.arg1 != 0


def _flush(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """All clients only: evict up to arg1 KB of ephemeral pages; the KB flushed (TMEM-CTRL-003)."""
    if c.cli_id & CLI_ID_NULL != CLI_ID_NULL:
        return -1
    kb_per_page = PAGE_SIZE // 1024
    flushed = 0
    while flushed + kb_per_page <= c.arg1 and state.store.flush_one():
        flushed += kb_per_page
    return flushed


def _list(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """LIST: 0; the statistics text is optional and none is written (TMEM-CTRL-002)."""
    return 0


def _freeable_mb(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """QUERY_FREEABLE_MB: free capacity plus ephemeral pages, in MB (TMEM-CTRL-004)."""
    store = state.store
    pages = store.capacity - store.used + store.ephemeral_pages
    return max(0, pages) * PAGE_SIZE >> 20


HANDLERS: dict[int, Handler] = {
    0: _for_each(_thaw),       # THAW
    1: _for_each(_freeze),     # FREEZE
    2: _flush,                 # FLUSH
    3: _for_each(_thaw),       # DESTROY: the same code path as THAW
    4: _list,                  # LIST
    5: _for_each(_weight),     # SET_WEIGHT
    6: _for_each(_cap),        # SET_CAP
    7: _for_each(_compress),   # SET_COMPRESS
    8: _freeable_mb,           # QUERY_FREEABLE_MB
    **SAVE_HANDLERS,
    **RESTORE_HANDLERS,
}


def control(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, handle: HandleCodec) -> int:
    """Run one control sub-op; -1 for an unassigned one (TMEM-CTRL-004)."""
    handler = HANDLERS.get(c.subop)
    if handler is None:
        return -1
    return handler(state, pool_id, c, memory, handle)
