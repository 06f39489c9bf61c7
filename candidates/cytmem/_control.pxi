# TMEM_CONTROL: decoding, the sub-op dispatch and the client-policy sub-ops 0-8.
#
# cli_id names the target client (only its low 16 bits: a domid); 0xFFFF is
# all clients where a sub-op supports it. Unknown clients and unassigned
# sub-ops give -1. Rules TMEM-CTRL-001..004; the save and restore sub-ops
# are in _save.pxi and _restore.pxi.

ctypedef struct CtrlOp:
    int32_t pool_id
    uint32_t subop
    uint32_t cli_id
    uint32_t arg1
    uint32_t arg2
    const unsigned char *oid  # oid_size raw bytes inside the op (ctrl.arg3 at v0, ctrl.oid at v1)
    uint64_t buf


cdef inline CtrlOp read_ctrl(const OpLayout *lay, const unsigned char *p) noexcept nogil:
    cdef CtrlOp c
    c.pool_id = <int32_t>cyt_le32(p + lay.pool_id)
    c.subop = cyt_le32(p + lay.ctrl_subop)
    c.cli_id = cyt_le32(p + lay.ctrl_cli_id)
    c.arg1 = cyt_le32(p + lay.ctrl_arg1)
    c.arg2 = cyt_le32(p + lay.ctrl_arg2)
    c.oid = p + lay.ctrl_oid
    c.buf = cyt_le_word(p + lay.ctrl_buf, lay.ctrl_buf_size)
    return c


cdef inline bytes ctrl_oid(const OpLayout *lay, const CtrlOp *c):
    return PyBytes_FromStringAndSize(<const char *>c.oid, lay.oid_size)


cdef Pool pool_of(HostState st, const CtrlOp *c):
    """The pool in slot pool_id of the target client, or None if either is missing."""
    cdef Client client = st.target(c.cli_id)
    return None if client is None else client.pool(c.pool_id)


cdef long for_each(HostState st, const CtrlOp *c) except? -2:
    """THAW, FREEZE, DESTROY, SET_WEIGHT, SET_CAP, SET_COMPRESS on one client or all (0xFFFF):
    0, or -1 for an unknown client (TMEM-CTRL-001, TMEM-CTRL-002)."""
    cdef Client client
    cdef list targets
    if c.cli_id & CLI_ID_NULL == CLI_ID_NULL:
        targets = list(st.clients.values())
    else:
        client = st.target(c.cli_id)
        if client is None:
            return -1
        targets = [client]
    for client in targets:
        if c.subop == SUB_THAW or c.subop == SUB_DESTROY:  # DESTROY: the same code path as THAW
            client.frozen = False
        elif c.subop == SUB_FREEZE:
            client.frozen = True
        elif c.subop == SUB_SET_WEIGHT:
            client.weight = <int32_t>c.arg1
        elif c.subop == SUB_SET_CAP:
            client.cap = <int32_t>c.arg1
        else:  # SET_COMPRESS
            client.compress = c.arg1 != 0
    return 0


cdef long flush_ephemeral(HostState st, const CtrlOp *c) except? -2:
    """FLUSH, all clients only: evict up to arg1 KB of ephemeral pages; the KB flushed (TMEM-CTRL-003)."""
    if c.cli_id & CLI_ID_NULL != CLI_ID_NULL:
        return -1
    cdef long kb_per_page = PAGE_SIZE // 1024
    cdef long flushed = 0
    while flushed + kb_per_page <= c.arg1 and st.store.evict_one():
        flushed += kb_per_page
    return flushed


cdef long freeable_mb(HostState st) noexcept:
    """QUERY_FREEABLE_MB: free capacity plus ephemeral pages, in MB (TMEM-CTRL-004)."""
    cdef Store store = st.store
    cdef Py_ssize_t pages = store.capacity - store.used + store.ephemeral
    return (pages if pages > 0 else 0) * PAGE_SIZE >> 20


cdef long control(HostState st, const OpLayout *lay, const unsigned char *p, const Mem *mem) except? -2:
    """Run one control sub-op; -1 for an unassigned one (TMEM-CTRL-004)."""
    cdef CtrlOp c = read_ctrl(lay, p)
    cdef uint32_t s = c.subop
    if (s == SUB_THAW or s == SUB_FREEZE or s == SUB_DESTROY or s == SUB_SET_WEIGHT or s == SUB_SET_CAP
            or s == SUB_SET_COMPRESS):
        return for_each(st, &c)
    if s == SUB_FLUSH:
        return flush_ephemeral(st, &c)
    if s == SUB_LIST:
        return 0  # the statistics text is optional; none is written (TMEM-CTRL-002)
    if s == SUB_QUERY_FREEABLE_MB:
        return freeable_mb(st)
    return save(st, lay, &c, mem)  # then restore(), then -1
