"""Pool creation and destruction, shared pools and authorisation.

NEW_POOL and RESTORE_NEW (TMEM-POOL-*, TMEM-SHARED-001..003, TMEM-RESTORE-002),
DESTROY_POOL and domain destruction (TMEM-DESTROY-*, TMEM-SHARED-004), AUTH
(TMEM-SHARED-005). The shared-auth boot option is off: a uuid never needs to
be authorised, AUTH only keeps the tables.
"""

from __future__ import annotations

from .choices import Choices
from .client import CLI_ID_NULL, MAX_POOLS, Client, HostState
from .opcodec import Creat
from .pool import Oid, Pool
from .retvals import EINVAL, ENOMEM, EPERM

PERSIST = 0x1
SHARED = 0x2
PRECOMPRESSED = 0x4
RESERVED_BITS = 0x00FFFF00
MAX_SHARED_POOLS = 16
MAX_AUTH_UUIDS = 16
PRIVATE_UUID = ((1 << 64) - 1, (1 << 64) - 1)


def flags_refused(state: HostState, flags: int) -> bool:
    """The checks in order: spec version, page size, then (per version row) precompressed, reserved."""
    if (flags >> 24) & 0xFF not in state.accepts:
        return True
    if (flags >> 4) & 0xF != 0:
        return True
    if flags & state.reject_flag_bits & PRECOMPRESSED:
        return True
    return bool(flags & state.reject_flag_bits & RESERVED_BITS)


def new_pool(state: HostState, client: Client, c: Creat, slot: int | None) -> int:
    """Create a pool in the lowest free slot (NEW_POOL) or in `slot` (RESTORE_NEW); the slot or -EPERM."""
    if flags_refused(state, c.flags):
        return -EPERM
    if slot is None:
        slot = next((i for i, p in enumerate(client.slots) if p is None), None)
        if slot is None:
            return -EPERM
    persistent = bool(c.flags & PERSIST)
    uuid = (c.uuid[0], c.uuid[1])
    shared = bool(c.flags & SHARED) and uuid != PRIVATE_UUID
    if shared:
        pool = state.shared.get(uuid)
        if pool is None:
            if len(state.shared) >= MAX_SHARED_POOLS:
                return -EPERM
            pool = state.shared[uuid] = Pool(persistent, True, uuid, client.domid)
    else:
        pool = Pool(persistent, False, uuid, client.domid)
    client.slots[slot] = pool
    pool.users.setdefault(client.domid, set()).add(slot)
    return slot


def restore_new(state: HostState, pool_id: int, c: Creat) -> int:
    """RESTORE_NEW: exactly slot `pool_id` of client creat.arg1 (TMEM-RESTORE-002)."""
    client = state.clients.get(c.arg1 & CLI_ID_NULL)
    if client is None or not 0 <= pool_id < MAX_POOLS or client.slots[pool_id] is not None:
        return -EPERM
    return new_pool(state, client, c, pool_id)


def destroy_pool(state: HostState, client: Client, pool_id: int) -> int:
    """DESTROY_POOL: 0 for an id outside 0-15 or a free slot, else 1 (TMEM-DESTROY-001/002)."""
    if client.pool(pool_id) is None:
        return 0
    leave(state, client, pool_id)
    return 1


def leave(state: HostState, client: Client, slot: int) -> None:
    """Clear a slot. The pool's last user frees it; otherwise `_dropped` says which
    objects go with this client, and if it owned the pool the lowest remaining domid
    takes over (TMEM-SHARED-004)."""
    pool = client.slots[slot]
    client.slots[slot] = None
    client.cursors.pop(slot, None)
    if pool is None:
        return
    mine = pool.users.get(client.domid)
    if mine is not None:
        mine.discard(slot)
        if mine:
            return  # the client still holds this pool in another slot
        del pool.users[client.domid]
    if not pool.users:
        state.store.remove_pool(pool)
        if pool.shared and state.shared.get(pool.uuid) is pool:
            del state.shared[pool.uuid]
        return
    owned = pool.owner == client.domid
    if owned:
        pool.owner = min(pool.users)
    for oid in _dropped(state.choices, pool, client.domid, owned):
        state.store.remove_object(pool, oid)


def _dropped(choices: Choices, pool: Pool, domid: int, owned: bool) -> list[Oid]:
    """The objects destroyed when `domid` leaves a pool others still use (tmem-abi.md section 10).

    A non-owner never takes persistent objects; by default a leaver takes the objects
    it put into last. Xen attributes every put to the owner, so its owner takes all.
    """
    if owned and choices.owner_leave_wipes:
        return list(pool.objects)
    if not owned and (pool.persistent or choices.nonowner_keeps_ephemeral):
        return []
    return [oid for oid, obj in pool.objects.items() if obj.last_putter == domid]


def destroy_client(state: HostState, domid: int) -> None:
    """The domain died: free its client, pools and pages (TMEM-DESTROY-003)."""
    client = state.clients.pop(domid, None)
    if client is not None:
        for slot in range(MAX_POOLS):
            leave(state, client, slot)


def auth(state: HostState, c: Creat) -> int:
    """AUTH: 0xFFFF sets the global switch; grant (flags 1) or revoke (flags 0) a uuid (TMEM-SHARED-005)."""
    cli_id = c.arg1 & CLI_ID_NULL
    if cli_id == CLI_ID_NULL:
        state.global_auth = bool(c.flags)
        return 1
    client = state.clients.get(cli_id)
    if client is None:
        return -EINVAL
    uuid = (c.uuid[0], c.uuid[1])
    held = uuid in client.auth
    if c.flags:
        if held:
            return 1
        if len(client.auth) >= MAX_AUTH_UUIDS:
            return -ENOMEM
        client.auth.append(uuid)
        return 1
    if held:
        client.auth.remove(uuid)
        return 1
    return 0
