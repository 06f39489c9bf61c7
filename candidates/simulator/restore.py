"""Restore sub-ops 30-33 (TMEM-RESTORE-001, TMEM-RESTORE-003).

RESTORE_PUT_PAGE is a WRITE of arg1 bytes from buf (tmem_offset 0,
pfn_offset 0, len arg1) to (pool_id, ctrl.oid, index arg2) of client
cli_id, with a put's results; RESTORE_FLUSH_PAGE is a FLUSH_PAGE there.
"""

from __future__ import annotations

from .client import CLI_ID_NULL, HostState
from .guest import region_ok, window_page
from .opcodec import Ctrl, HandleCodec
from .pageops import flush, put
from .targets import Handler, pool_of


def _begin(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    """Create client cli_id: 1, or -1 if it exists (TMEM-RESTORE-001)."""
    cli = c.cli_id & CLI_ID_NULL
    if cli == CLI_ID_NULL or cli in state.clients:
        return -1
    state.client_or_new(cli)
    return 1


def _put_page(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    found = pool_of(state, c, pool_id)
    if found is None:
        return -1
    client, pool = found
    page = None
    if region_ok(memory, c.buf, c.arg1):
        with memoryview(memory) as mv:
            page = window_page(mv[c.buf:c.buf + c.arg1], 0, 0, c.arg1, client.compress)
    return put(state.store, client, pool_id, pool, c.oid, c.arg2, page)


def _flush_page(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    found = pool_of(state, c, pool_id)
    if found is None:
        return -1
    client, pool = found
    return flush(state.store, client, pool_id, pool, c.oid, c.arg2)


RESTORE_HANDLERS: dict[int, Handler] = {
    30: _begin,
    32: _put_page,
    33: _flush_page,
}
