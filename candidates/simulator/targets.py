"""How a control sub-op finds what it acts on: the client cli_id names, and its slot pool_id.

cli_id is a u32 of which only the low 16 bits (a domid) count; a pool id
outside 0-15 names no pool (tmem-abi.md section 9, XSA-15).
"""

from __future__ import annotations

from collections.abc import Callable

from .client import Client, HostState
from .opcodec import Ctrl, HandleCodec
from .pool import Pool

#: (state, op pool_id, ctrl member, caller memory, handle codec) -> return value
Handler = Callable[[HostState, int, Ctrl, bytearray, HandleCodec], int]


def pool_of(state: HostState, c: Ctrl, pool_id: int) -> tuple[Client, Pool] | None:
    """The target client and its pool in slot pool_id, or None if either is missing."""
    client = state.target(c.cli_id)
    if client is None:
        return None
    pool = client.pool(pool_id)
    return None if pool is None else (client, pool)
