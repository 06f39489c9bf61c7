# Pool creation and destruction, shared pools and authorisation.
#
# NEW_POOL and RESTORE_NEW (TMEM-POOL-*, TMEM-SHARED-001..003, TMEM-RESTORE-002),
# DESTROY_POOL and domain destruction (TMEM-DESTROY-*, TMEM-SHARED-004), AUTH
# (TMEM-SHARED-005). The shared-auth boot option is off: a uuid never needs to
# be authorised, AUTH only keeps the tables.

ctypedef struct CreatOp:
    int32_t pool_id
    uint64_t uuid_lo
    uint64_t uuid_hi
    uint32_t flags
    uint32_t arg1


cdef inline CreatOp read_creat(const OpLayout *lay, const unsigned char *p) noexcept nogil:
    cdef CreatOp c
    c.pool_id = <int32_t>cyt_le32(p + lay.pool_id)
    c.uuid_lo = cyt_le64(p + lay.creat_uuid)
    c.uuid_hi = cyt_le64(p + lay.creat_uuid + 8)
    c.flags = cyt_le32(p + lay.creat_flags)
    c.arg1 = cyt_le32(p + lay.creat_arg1)
    return c


cdef inline bint flags_refused(HostState st, uint32_t flags) noexcept:
    """The checks in order (TMEM-POOL-007): spec version, page size, then what the
    version row rejects: precompressed (TMEM-POOL-003), reserved bits (TMEM-POOL-004)."""
    if (flags >> VERSION_SHIFT) & VERSION_MASK != st.spec:
        return True
    if (flags >> PAGESIZE_SHIFT) & PAGESIZE_MASK != PAGESIZE_FIELD:
        return True
    if flags & st.reject_flag_bits & POOL_PRECOMPRESSED:
        return True
    return (flags & st.reject_flag_bits & POOL_RESERVED_BITS) != 0


cdef long new_pool(HostState st, Client client, const CreatOp *c, int slot) except? -2:
    """Create a pool in the lowest free slot (slot -1: NEW_POOL) or in `slot` (RESTORE_NEW);
    the slot, or -EPERM (TMEM-POOL-001..007, TMEM-SHARED-001..003)."""
    cdef Pool pool
    if flags_refused(st, c.flags):
        return -EPERM
    if slot < 0:
        for i in range(MAX_POOLS):
            if client.slots[i] is None:
                slot = i
                break
        else:
            return -EPERM
    cdef bint persistent = (c.flags & POOL_PERSIST) != 0
    cdef bint shared = (c.flags & POOL_SHARED) != 0 and not (c.uuid_lo == U64_ALL_ONES and c.uuid_hi == U64_ALL_ONES)
    if shared:
        uuid = (c.uuid_lo, c.uuid_hi)
        pool = st.shared.get(uuid)
        if pool is None:
            if len(st.shared) >= MAX_SHARED_POOLS:
                return -EPERM
            pool = Pool.__new__(Pool, persistent, True, c.uuid_lo, c.uuid_hi)
            st.shared[uuid] = pool
    else:
        pool = Pool.__new__(Pool, persistent, False, c.uuid_lo, c.uuid_hi)
    if not pool.users:
        pool.owner = client.domid  # the creator owns it
    client.slots[slot] = pool
    slots = pool.users.get(client.domid)
    if slots is None:
        slots = pool.users[client.domid] = set()
    slots.add(slot)
    return slot


cdef long restore_new(HostState st, const CreatOp *c) except? -2:
    """RESTORE_NEW: exactly slot pool_id of client creat.arg1; -EPERM for no such client,
    a slot outside 0-15 or a taken one (TMEM-RESTORE-002)."""
    cdef Client client = st.clients.get(c.arg1 & CLI_ID_NULL)
    if client is None or not 0 <= c.pool_id < MAX_POOLS or client.slots[c.pool_id] is not None:
        return -EPERM
    return new_pool(st, client, c, c.pool_id)


cdef long destroy_pool(HostState st, Client client, int32_t pool_id) except? -2:
    """DESTROY_POOL: 0 for an id outside 0-15 or a free slot, else 1 (TMEM-DESTROY-001/002)."""
    if client.pool(pool_id) is None:
        return 0
    leave(st, client, pool_id)
    return 1


cdef int leave(HostState st, Client client, int slot) except -1:
    """Clear a slot. The pool's last user frees it. Otherwise the others keep their slots
    (TMEM-SHARED-004, tmem-abi.md section 10): a non-owner leaving a persistent pool takes
    nothing with it; the owner, or a non-owner of an ephemeral pool, takes the objects it
    put into last. An owner's leaving passes ownership to the lowest remaining domid."""
    cdef Pool pool = client.slots[slot]
    cdef TmemObject obj
    client.slots[slot] = None
    client.cursors.pop(slot, None)
    if pool is None:
        return 0
    mine = pool.users.get(client.domid)
    if mine is not None:
        mine.discard(slot)
        if mine:
            return 0  # the client still holds this pool in another slot
        del pool.users[client.domid]
    if not pool.users:
        st.store.remove_pool(pool)
        if pool.shared:
            uuid = (pool.uuid_lo, pool.uuid_hi)
            if st.shared.get(uuid) is pool:
                del st.shared[uuid]
        return 0
    cdef bint owner = pool.owner == client.domid
    if owner:
        pool.owner = min(pool.users)
    elif pool.persistent:
        return 0
    for oid, obj in list(pool.objects.items()):
        if obj.last_putter == client.domid:
            st.store.remove_object(pool, oid)
    return 0


cdef int destroy_client(HostState st, object domid) except -1:
    """The domain died: free its client, pools and pages (TMEM-DESTROY-003)."""
    cdef Client client = st.clients.pop(domid, None)
    if client is not None:
        for slot in range(MAX_POOLS):
            leave(st, client, slot)
    return 0


cdef long auth(HostState st, const CreatOp *c) except? -2:
    """AUTH: client 0xFFFF sets the global switch; else grant (flags != 0) or revoke a uuid
    (TMEM-SHARED-005)."""
    cdef uint32_t cli_id = c.arg1 & CLI_ID_NULL
    if cli_id == CLI_ID_NULL:
        st.global_auth = c.flags != 0
        return 1
    cdef Client client = st.clients.get(cli_id)
    if client is None:
        return -EINVAL
    uuid = (c.uuid_lo, c.uuid_hi)
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
