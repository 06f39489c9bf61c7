# CytmemHost: hypercall dispatch, in the order of the specification.
#
# 1. An op buffer too short for cmd, pool_id and its member: -EFAULT (TMEM-HC-001).
# 2. CONTROL, AUTH, RESTORE_NEW from a domain other than 0: -EPERM (TMEM-HC-004);
#    from domain 0 they are dispatched without creating a client for the caller.
# 3. Otherwise the caller gets a client if it has none (TMEM-HC-007).
# 4. Every command but NEW_POOL and DESTROY_POOL needs pool_id in 0-15 naming a
#    used slot, else -ENODEV (TMEM-HC-002); XCHG and unknown commands return 0
#    on a good pool (TMEM-HC-003).
#
# Misuse of the interface raises the backend contract's errors (tmem_conformance.backend).

from tmem_conformance.backend import BackendClosedError, WordSizeError


cdef inline bytes gen_oid(const OpLayout *lay, const unsigned char *p):
    return PyBytes_FromStringAndSize(<const char *>(p + lay.gen_oid), lay.oid_size)


@cython.final
cdef class CytmemHost:
    """One tmem host of a fixed spec version and page capacity (see make())."""

    cdef HostState st
    cdef OpLayout lay64
    cdef OpLayout lay32
    cdef bint closed
    cdef readonly str version

    def __cinit__(self, object row, Py_ssize_t capacity_pages):
        if capacity_pages < 0:
            raise ValueError(f"capacity_pages must be 0 or more, not {capacity_pages}")
        self.lay64 = read_layout(row, 64)
        self.lay32 = read_layout(row, 32)
        self.st = HostState.__new__(HostState, row.spec, row.reject_flag_bits, capacity_pages)
        self.closed = False
        self.version = row.name

    @property
    def capacity_pages(self) -> int:
        return self.st.store.capacity

    @property
    def pages_held(self) -> int:
        """Pages the host holds now (a shared pool's page counts once)."""
        return self.st.store.used

    def layout(self, int word_size) -> dict:
        """The C offsets this host reads for a word size, as read from models.layouts."""
        if word_size == 64:
            return self.lay64
        if word_size == 32:
            return self.lay32
        raise WordSizeError(word_size)

    def hypercall(self, object domid, int word_size, const unsigned char[::1] op not None,
                  unsigned char[::1] memory not None) -> int:
        """Carry out one tmem hypercall from `domid`: the hypercall's return value.

        `op` is struct tmem_op in this host's layout for `word_size` (64, or 32 for
        Xen's compat layout); `memory` is the calling domain's memory, read and
        written in place.
        """
        cdef const OpLayout *lay
        if self.closed:
            raise BackendClosedError("hypercall", f"a CytmemHost {self.version}")
        if word_size == 64:
            lay = &self.lay64
        elif word_size == 32:
            lay = &self.lay32
        else:
            raise WordSizeError(word_size)
        cdef Py_ssize_t n = op.shape[0]
        if n < lay.cmd_end:
            return -EFAULT
        cdef const unsigned char *p = &op[0]
        cdef uint32_t cmd = cyt_le32(p + lay.cmd)
        if n < needed(lay, cmd):
            return -EFAULT
        cdef Mem mem
        mem.p = &memory[0] if memory.shape[0] else NULL
        mem.n = memory.shape[0]
        cdef CreatOp c
        cdef HostState st = self.st
        if cmd == CMD_CONTROL or cmd == CMD_AUTH or cmd == CMD_RESTORE_NEW:
            if domid != TOOLSTACK_DOMID:
                return -EPERM
            if cmd == CMD_CONTROL:
                return control(st, lay, p, &mem)
            c = read_creat(lay, p)
            return auth(st, &c) if cmd == CMD_AUTH else restore_new(st, &c)
        cdef Client client = st.client_or_new(domid)
        if cmd == CMD_NEW_POOL:
            c = read_creat(lay, p)
            return new_pool(st, client, &c, -1)
        cdef int32_t pool_id = <int32_t>cyt_le32(p + lay.pool_id)
        if cmd == CMD_DESTROY_POOL:
            return destroy_pool(st, client, pool_id)
        cdef Pool pool = client.pool(pool_id)
        if pool is None:
            return -ENODEV
        return self._gen(client, pool_id, pool, cmd, lay, p, &mem)

    cdef long _gen(self, Client client, int slot, Pool pool, uint32_t cmd, const OpLayout *lay,
                   const unsigned char *p, const Mem *mem) except? -2:
        """The commands that use the `gen` member, on the caller's pool in `slot`."""
        cdef uint32_t index = cyt_le32(p + lay.gen_index)
        cdef uint64_t cmfn = cyt_le_word(p + lay.gen_cmfn, lay.gen_cmfn_size)
        cdef Store store = self.st.store
        cdef Source src
        if cmd == CMD_PUT_PAGE or cmd == CMD_WRITE or cmd == CMD_NEW_PAGE:
            src.tmem_offset = cyt_le32(p + lay.gen_tmem_offset)
            src.pfn_offset = cyt_le32(p + lay.gen_pfn_offset)
            src.len = cyt_le32(p + lay.gen_len)
            src.compress = client.compress
            if cmd == CMD_NEW_PAGE or (cmd == CMD_WRITE and src.tmem_offset == 0 and src.pfn_offset == 0
                                       and src.len == 0):
                src.kind = SRC_ZERO  # a zero page: cmfn is never looked up (tmem-abi.md section 10)
            elif not frame_ok(mem, cmfn):
                src.kind = SRC_FAULT
            else:
                src.p = mem.p + cmfn * PAGE_SIZE
                src.n = PAGE_SIZE
                src.kind = SRC_FRAME if cmd == CMD_PUT_PAGE else SRC_WINDOW
            return put(store, client, slot, pool, gen_oid(lay, p), index, &src)
        if cmd == CMD_GET_PAGE:
            return get(store, pool, gen_oid(lay, p), index, mem, cmfn, False, 0, 0, 0)
        if cmd == CMD_READ:
            return get(store, pool, gen_oid(lay, p), index, mem, cmfn, True, cyt_le32(p + lay.gen_tmem_offset),
                       cyt_le32(p + lay.gen_pfn_offset), cyt_le32(p + lay.gen_len))
        if cmd == CMD_FLUSH_PAGE:
            return flush(store, client, slot, pool, gen_oid(lay, p), index)
        if cmd == CMD_FLUSH_OBJECT:
            return flush(store, client, slot, pool, gen_oid(lay, p), None)
        return 0  # XCHG and unknown commands

    def destroy_domain(self, object domid) -> None:
        """The domain died: free its client, pools and pages (TMEM-DESTROY-003)."""
        if self.closed:
            raise BackendClosedError("destroy_domain", f"a CytmemHost {self.version}")
        destroy_client(self.st, domid)

    def close(self) -> None:
        """Release the host: every page block goes back; no call follows. Idempotent."""
        if self.closed:
            return
        for domid in list(self.st.clients):
            destroy_client(self.st, domid)
        self.st.store.detach()
        self.closed = True

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.st.store.used}/{self.st.store.capacity} pages"
        return f"<CytmemHost {self.version} {state}>"


#: The largest capacity a host takes: a page count whose bytes fit in a C size.
MAX_CAPACITY = <Py_ssize_t>(PY_SSIZE_T_MAX // PAGE_SIZE)
