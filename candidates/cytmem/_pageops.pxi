# Puts, gets and flushes on one pool: TMEM-PUT-*, TMEM-GET-*, TMEM-FLUSH-*.
#
# These run once dispatch has found the caller's pool; RESTORE_PUT_PAGE and
# RESTORE_FLUSH_PAGE reuse put() and flush(). Page data never becomes a
# Python object: it goes from the caller's memory to a C block, and back,
# with memcpy.


ctypedef struct Mem:
    unsigned char *p         # the calling domain's memory, PAGE_SIZE-byte frames
    Py_ssize_t n


cdef inline bint frame_ok(const Mem *m, uint64_t cmfn) noexcept nogil:
    """A cmfn names a page of the caller's memory, else -EFAULT (TMEM-HC-005)."""
    return cmfn < <uint64_t>(m.n // PAGE_SIZE)


cdef inline bint region_ok(const Mem *m, uint64_t buf, uint64_t length) noexcept nogil:
    """A control buffer lies inside the caller's memory, else -EFAULT (TMEM-HC-005)."""
    return buf <= <uint64_t>m.n and length <= <uint64_t>m.n - buf


cdef enum SourceKind:
    SRC_FAULT    # the source is not in the caller's memory: -EFAULT, nothing stored
    SRC_ZERO     # NEW_PAGE, WRITE 0/0/0, RESTORE_PUT_PAGE arg1 0: a zero page, cmfn or buf never read
    SRC_FRAME    # PUT_PAGE: the whole frame (TMEM-PUT-004)
    SRC_WINDOW   # WRITE and RESTORE_PUT_PAGE: cyt_fill_window's rules (TMEM-PUT-005)


ctypedef struct Source:
    SourceKind kind
    const unsigned char *p
    size_t n
    uint64_t tmem_offset
    uint64_t pfn_offset
    uint64_t len
    bint compress


cdef inline bint fill(unsigned char *dst, const Source *s) noexcept nogil:
    """Copy what a put stores into a page block; whether it is stored whole (compressed)."""
    if s.kind == SRC_FRAME:
        memcpy(dst, s.p, PAGE_SIZE)
        return False
    if s.kind == SRC_ZERO:
        memset(dst, 0, PAGE_SIZE)
        return False
    return cyt_fill_window(dst, PAGE_SIZE, s.p, s.n, s.tmem_offset, s.pfn_offset, s.len, s.compress) != 0


cdef bint delete(Store store, Client client, int slot, Pool pool, bytes oid, object index) except -1:
    """Remove one page; a persistent page deleted while live-migrating is recorded (TMEM-SAVE-008)."""
    if not store.remove(pool, oid, index):
        return False
    if pool.persistent and client.live_migrating:
        client.invalidated.append((slot, oid, index))
    return True


cdef long put(Store store, Client client, int slot, Pool pool, bytes oid, object index,
              const Source *src) except? -2:
    """Store what `src` names at (oid, index).

    Dup put: -ENOSPC and the old copy deleted when live-migrating, -EFAULT with the
    old copy kept for a bad source, else the data replaced in place, frozen or not
    (TMEM-PUT-002, TMEM-PUT-003). New page: -EFROZEN when frozen, then -EFAULT, then
    room is made by evicting ephemeral pages, else -ENOMEM (TMEM-PUT-001, TMEM-PUT-006).
    """
    cdef Page page = pool.lookup(oid, index)
    cdef TmemObject obj
    if page is not None:
        if client.live_migrating:
            delete(store, client, slot, pool, oid, index)
            return -ENOSPC
        if src.kind == SRC_FAULT:
            return -EFAULT
        page.whole = fill(page.data, src)
        obj = pool.objects[oid]
        obj.last_putter = client.domid
        if not pool.persistent:
            store.touch(page)
        return 1
    if client.frozen:
        return -EFROZEN
    if src.kind == SRC_FAULT:
        return -EFAULT
    if not store.make_room():
        return -ENOMEM
    cdef unsigned char *data = store.block()
    if data is NULL:
        return -ENOMEM
    page = Page.__new__(Page)
    page.data = data
    page.whole = fill(data, src)
    store.add(pool, oid, index, page, client.domid)
    return 1


cdef long get(Store store, Pool pool, bytes oid, object index, const Mem *mem, uint64_t cmfn,
              bint window, uint64_t tmem_offset, uint64_t pfn_offset, uint64_t length) except? -2:
    """GET (window False) or READ: -EEMPTY, 0 on a miss, 1 on a hit (TMEM-GET-001..005).

    A hit with a bad cmfn is -EFAULT and keeps the page. A private ephemeral hit is
    exclusive (the page goes); a shared ephemeral hit becomes most recently used.
    """
    if pool.npages == 0:
        return -EEMPTY
    cdef Page page = pool.lookup(oid, index)
    if page is None:
        return 0
    if not frame_ok(mem, cmfn):
        return -EFAULT
    cdef unsigned char *frame = mem.p + cmfn * PAGE_SIZE
    if not window or page.whole:
        memcpy(frame, page.data, PAGE_SIZE)
    else:
        cyt_copy_window(frame, page.data, PAGE_SIZE, tmem_offset, pfn_offset, length)
    if not pool.persistent:
        if pool.shared:
            store.touch(page)
        else:
            store.remove(pool, oid, index)
    return 1


cdef long flush(Store store, Client client, int slot, Pool pool, bytes oid, object index) except? -2:
    """FLUSH_PAGE (an index) or FLUSH_OBJECT (None): 1, or -EFROZEN with the flush done
    (TMEM-FLUSH-001..003)."""
    cdef TmemObject obj
    if index is not None:
        delete(store, client, slot, pool, oid, index)
    else:
        obj = pool.objects.get(oid)
        if obj is not None:
            for i in list(obj.pages):
                delete(store, client, slot, pool, oid, i)
    return -EFROZEN if client.frozen else 1
