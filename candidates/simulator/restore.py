"""Restore sub-ops 30-33 (TMEM-RESTORE-001, TMEM-RESTORE-003).

RESTORE_PUT_PAGE is a WRITE of arg1 bytes from buf (tmem_offset 0,
pfn_offset 0, len arg1) to (pool_id, ctrl.oid, index arg2) of client
cli_id, with a put's results (arg1 = 0: a zero page, buf not read);
RESTORE_FLUSH_PAGE is a FLUSH_PAGE there. A restore put is not a guest's
WRITE window, so window-einval does not apply to it.
"""

from __future__ import annotations

from .client import CLI_ID_NULL, HostState
from .memory import region_ok, window_page
from .opcodec import Ctrl, HandleCodec
from .pageops import Source, flush, put
from .retvals import EFAULT
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
    src: Source = -EFAULT
    if c.arg1 == 0 or region_ok(memory, c.buf, c.arg1):  # arg1 = 0: a zero page, buf never read
        whole = client.compress and not state.choices.compress_window_fallback
        with memoryview(memory) as mv:
            src = window_page(mv[c.buf:c.buf + c.arg1], 0, 0, c.arg1, whole)
    return put(state, client, pool_id, pool, c.oid, c.arg2, src)


def _flush_page(state: HostState, pool_id: int, c: Ctrl, memory: bytearray, h: HandleCodec) -> int:
    found = pool_of(state, c, pool_id)
    if found is None:
        return -1
    client, pool = found
    return flush(state, client, pool_id, pool, c.oid, c.arg2)


RESTORE_HANDLERS: dict[int, Handler] = {
    30: _begin,
    32: _put_page,
    33: _flush_page,
}
