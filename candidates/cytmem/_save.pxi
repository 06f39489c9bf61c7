# Save sub-ops 10-21 (TMEM-SAVE-001..009), with tmem-abi.md section 9's fixes.
#
# SAVE_GET_POOL_UUID changes nothing but the buffer; SAVE_GET_POOL_FLAGS
# carries the host's spec version; SAVE_GET_NEXT_PAGE reports every page of
# a persistent pool exactly once. Pool sub-ops read the slot from the op's
# pool_id; an id outside 0-15 is "no such pool".


cdef inline void write_handle(const OpLayout *lay, unsigned char *dst, uint32_t pool_id, uint32_t index,
                              bytes oid) noexcept:
    """struct tmem_handle {pool_id, index, oid} in the host's layout, padding zeroed."""
    memset(dst, 0, lay.handle_size)
    cyt_put_le32(dst + lay.handle_pool_id, pool_id)
    cyt_put_le32(dst + lay.handle_index, index)
    memcpy(dst + lay.handle_oid, <const char *>oid, lay.oid_size)


cdef inline long reported(long v) noexcept:
    """Weight and cap: -1 is reported as -2 (TMEM-SAVE-003)."""
    return -2 if v == -1 else v


cdef long save_begin(HostState st, const CtrlOp *c) except? -2:
    """0 with nothing to save; else record was_frozen, freeze, mark live migration if arg1, 1
    (TMEM-SAVE-001). arg1 0 never clears live migration (only SAVE_END does); each save starts
    its SAVE_GET_NEXT_PAGE cursors afresh."""
    cdef Client client = st.target(c.cli_id)
    if client is None or not client.has_pools():
        return 0
    client.was_frozen = client.frozen
    client.frozen = True
    if c.arg1 != 0:
        client.live_migrating = True
    client.cursors.clear()
    return 1


cdef long pool_uuid(HostState st, const CtrlOp *c, const Mem *mem) except? -2:
    """Write uuid lo, hi at buf; 0, and nothing else changes (TMEM-SAVE-006)."""
    cdef Pool pool = pool_of(st, c)
    if pool is None:
        return -1
    if not region_ok(mem, c.buf, 16):
        return -EFAULT
    cyt_put_le64(mem.p + c.buf, pool.uuid_lo)
    cyt_put_le64(mem.p + c.buf + 8, pool.uuid_hi)
    return 0


cdef long next_page(HostState st, const OpLayout *lay, const CtrlOp *c, const Mem *mem) except? -2:
    """Handle then page data at buf; 1, or -1 at the end, which restarts the iteration (TMEM-SAVE-007)."""
    cdef Client client = st.target(c.cli_id)
    cdef Pool pool = None if client is None else client.pool(c.pool_id)
    if pool is None or not pool.persistent:
        return -1
    cdef uint64_t need = lay.handle_size + PAGE_SIZE
    if c.arg1 < need:
        return -ENOMEM
    if not region_ok(mem, c.buf, need):
        return -EFAULT
    cdef SaveCursor cursor = client.cursors.get(c.pool_id)
    if cursor is None:
        cursor = SaveCursor.__new__(SaveCursor)
        client.cursors[c.pool_id] = cursor
    key = cursor.next_key(pool)
    if key is None:
        del client.cursors[c.pool_id]
        return -1
    oid, index = key
    cdef Page page = pool.lookup(oid, index)
    cursor.reported.add(key)
    write_handle(lay, mem.p + c.buf, <uint32_t>c.pool_id, index, oid)
    memcpy(mem.p + c.buf + lay.handle_size, page.data, PAGE_SIZE)
    return 1


cdef long next_inv(HostState st, const OpLayout *lay, const CtrlOp *c, const Mem *mem) except? -2:
    """Pop one invalidated handle into buf: 1, or 0 when the list is empty (TMEM-SAVE-008)."""
    cdef Client client = st.target(c.cli_id)
    if client is None:
        return -1
    if c.arg1 < <uint64_t>lay.handle_size:
        return -ENOMEM
    if not region_ok(mem, c.buf, lay.handle_size):
        return -EFAULT
    if not client.invalidated:
        return 0
    slot, oid, index = client.invalidated.pop(0)
    write_handle(lay, mem.p + c.buf, slot, index, oid)
    return 1


cdef long save_end(HostState st, const CtrlOp *c) except? -2:
    """End live migration, drop the list, frozen = was_frozen; 0 (TMEM-SAVE-009)."""
    cdef Client client = st.target(c.cli_id)
    if client is None:
        return -1
    client.live_migrating = False
    client.invalidated.clear()
    client.frozen = client.was_frozen
    client.cursors.clear()
    return 0


cdef long save(HostState st, const OpLayout *lay, const CtrlOp *c, const Mem *mem) except? -2:
    """The save sub-ops; anything else goes on to restore()."""
    cdef uint32_t s = c.subop
    cdef Client client
    cdef Pool pool
    if s == SUB_SAVE_BEGIN:
        return save_begin(st, c)
    if s == SUB_SAVE_GET_VERSION:
        return st.spec  # TMEM-SAVE-002, any cli_id
    if s == SUB_SAVE_GET_MAXPOOLS:
        return MAX_POOLS  # TMEM-SAVE-002
    if s == SUB_SAVE_GET_CLIENT_WEIGHT or s == SUB_SAVE_GET_CLIENT_CAP or s == SUB_SAVE_GET_CLIENT_FLAGS:
        client = st.target(c.cli_id)  # TMEM-SAVE-003
        if client is None:
            return -1
        if s == SUB_SAVE_GET_CLIENT_WEIGHT:
            return reported(client.weight)
        if s == SUB_SAVE_GET_CLIENT_CAP:
            return reported(client.cap)
        return (CLIENT_COMPRESS if client.compress else 0) | (CLIENT_FROZEN if client.was_frozen else 0)
    if s == SUB_SAVE_GET_POOL_FLAGS:
        pool = pool_of(st, c)  # TMEM-SAVE-004
        return -1 if pool is None else pool.flags(st.spec)
    if s == SUB_SAVE_GET_POOL_NPAGES:
        pool = pool_of(st, c)  # TMEM-SAVE-005
        return -1 if pool is None else pool.npages
    if s == SUB_SAVE_GET_POOL_UUID:
        return pool_uuid(st, c, mem)
    if s == SUB_SAVE_GET_NEXT_PAGE:
        return next_page(st, lay, c, mem)
    if s == SUB_SAVE_GET_NEXT_INV:
        return next_inv(st, lay, c, mem)
    if s == SUB_SAVE_END:
        return save_end(st, c)
    return restore(st, lay, c, mem)
