# Restore sub-ops 30-33 (TMEM-RESTORE-001, TMEM-RESTORE-003).
#
# RESTORE_PUT_PAGE is a WRITE of arg1 bytes from buf (tmem_offset 0,
# pfn_offset 0, len arg1) to (pool_id, ctrl.oid, index arg2) of client
# cli_id, with a put's results; RESTORE_FLUSH_PAGE is a FLUSH_PAGE there.


cdef long restore_begin(HostState st, const CtrlOp *c) except? -2:
    """Create client cli_id: 1, or -1 if it exists or is 0xFFFF, no domain (TMEM-RESTORE-001)."""
    cdef uint32_t cli = c.cli_id & CLI_ID_NULL
    if cli == CLI_ID_NULL or cli in st.clients:
        return -1
    st.client_or_new(cli)
    return 1


cdef long restore_put_page(HostState st, const OpLayout *lay, const CtrlOp *c, const Mem *mem) except? -2:
    cdef Client client = st.target(c.cli_id)
    cdef Pool pool = None if client is None else client.pool(c.pool_id)
    if pool is None:
        return -1
    cdef Source src
    src.kind = SRC_FAULT
    if c.arg1 == 0:
        src.kind = SRC_ZERO  # a zero page: buf is not read (tmem-abi.md section 10)
    elif region_ok(mem, c.buf, c.arg1):
        src.kind = SRC_WINDOW
        src.p = mem.p + c.buf
        src.n = c.arg1
        src.tmem_offset = 0
        src.pfn_offset = 0
        src.len = c.arg1
        src.compress = client.compress
    return put(st.store, client, c.pool_id, pool, ctrl_oid(lay, c), c.arg2, &src)


cdef long restore_flush_page(HostState st, const OpLayout *lay, const CtrlOp *c) except? -2:
    cdef Client client = st.target(c.cli_id)
    cdef Pool pool = None if client is None else client.pool(c.pool_id)
    if pool is None:
        return -1
    return flush(st.store, client, c.pool_id, pool, ctrl_oid(lay, c), c.arg2)


cdef long restore(HostState st, const OpLayout *lay, const CtrlOp *c, const Mem *mem) except? -2:
    """The restore sub-ops; -1 for any other (TMEM-CTRL-004)."""
    if c.subop == SUB_RESTORE_BEGIN:
        return restore_begin(st, c)
    if c.subop == SUB_RESTORE_PUT_PAGE:
        return restore_put_page(st, lay, c, mem)
    if c.subop == SUB_RESTORE_FLUSH_PAGE:
        return restore_flush_page(st, lay, c)
    return -1
