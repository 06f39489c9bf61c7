# Pages, objects, pools, and the page store: capacity, C page blocks and the LRU list.
#
# A pool's objects are a dict keyed by the object id's raw bytes as the op
# carries them (8 bytes at v0, 24 at v1), so ids that share a low word stay
# apart (TMEM-FLUSH-002) and no integer is ever built from an oid. An
# object's pages are a dict keyed by the 32-bit index. Every page enters and
# leaves through Store, so the host-wide count is exact (a shared pool's page
# counts once). When a new page is needed and the host is full, the least
# recently used ephemeral page is evicted (TMEM-PUT-006, TMEM-EPH-001);
# persistent pages never are (TMEM-EPH-002).

cdef class Pool  # forward: a Page names its pool


@cython.freelist(64)
@cython.final
cdef class Page:
    """One stored page: a C block of PAGE_SIZE bytes.

    `whole`: stored compressed, so READ copies it whole (TMEM-GET-004). An
    ephemeral page is on the store's LRU list and names its pool, oid and
    index, so that eviction can remove it.
    """

    cdef unsigned char *data
    cdef bint whole
    cdef Page lru_prev
    cdef Page lru_next
    cdef Pool pool
    cdef bytes oid
    cdef object index

    def __dealloc__(self):
        # Only a page of a host dropped without close() still owns its block.
        if self.data is not NULL:
            free(self.data)
            self.data = NULL


@cython.final
cdef class TmemObject:
    """The pages of one object id, and the client that last put into it (TMEM-SHARED-004): its
    objects may go when it leaves a shared pool as the owner, or an ephemeral one."""

    cdef dict pages          # index (int) -> Page, in first-put order
    cdef object last_putter  # domid

    def __cinit__(self, object last_putter):
        self.pages = {}
        self.last_putter = last_putter


@cython.final
cdef class Pool:
    """A private pool, or a global shared one. `users`: domid -> the set of that client's slots naming it;
    `owner`: the domid of the client that created it (a shared pool's ownership passes on when it leaves)."""

    cdef readonly bint persistent
    cdef readonly bint shared
    cdef uint64_t uuid_lo
    cdef uint64_t uuid_hi
    cdef dict objects        # oid bytes -> TmemObject, in first-put order
    cdef readonly Py_ssize_t npages
    cdef dict users
    cdef object owner

    def __cinit__(self, bint persistent, bint shared, uint64_t uuid_lo, uint64_t uuid_hi):
        self.persistent = persistent
        self.shared = shared
        self.uuid_lo = uuid_lo
        self.uuid_hi = uuid_hi
        self.objects = {}
        self.npages = 0
        self.users = {}
        self.owner = None

    cdef inline Page lookup(self, bytes oid, object index):
        cdef TmemObject obj = self.objects.get(oid)
        if obj is None:
            return None
        return obj.pages.get(index)

    cdef uint32_t flags(self, uint32_t spec) noexcept:
        """persist | shared<<1 | page-size field | spec<<24: SAVE_GET_POOL_FLAGS (TMEM-SAVE-004)."""
        return ((POOL_PERSIST if self.persistent else 0) | (POOL_SHARED if self.shared else 0)
                | PAGESIZE_FIELD << PAGESIZE_SHIFT | (spec & VERSION_MASK) << VERSION_SHIFT)

    cdef list keys(self):
        """Every (oid, index) of the pool, objects and pages in first-put order."""
        cdef list out = []
        cdef TmemObject obj
        for oid, obj in self.objects.items():
            for index in obj.pages:
                out.append((oid, index))
        return out


@cython.final
cdef class Store:
    """All pages the host holds, against a capacity in pages."""

    cdef readonly Py_ssize_t capacity
    cdef readonly Py_ssize_t used
    cdef readonly Py_ssize_t ephemeral
    cdef Page lru            # sentinel: lru.lru_next is the least recently used ephemeral page
    cdef cyt_blocks blocks

    def __cinit__(self, Py_ssize_t capacity):
        cyt_blocks_init(&self.blocks, PAGE_SIZE)
        self.capacity = capacity
        self.used = 0
        self.ephemeral = 0
        self.lru = Page.__new__(Page)
        self.lru.lru_prev = self.lru
        self.lru.lru_next = self.lru

    def __dealloc__(self):
        cyt_blocks_release(&self.blocks)

    cdef void detach(self) noexcept:
        """Break the sentinel's cycle once the host is closed."""
        self.lru.lru_prev = None
        self.lru.lru_next = None

    cdef inline unsigned char *block(self) noexcept:
        """A page block, or NULL if malloc failed."""
        return cyt_block_get(&self.blocks)

    cdef bint make_room(self) except -1:
        """Ensure one free page, evicting the LRU ephemeral page if full; False if impossible."""
        if self.used < self.capacity:
            return True
        if not self.evict_one():
            return False
        return self.used < self.capacity

    cdef bint evict_one(self) except -1:
        """Drop the least recently used ephemeral page; False if there is none."""
        cdef Page page = self.lru.lru_next
        if page is self.lru:
            return False
        self.remove(page.pool, page.oid, page.index)
        return True

    cdef int add(self, Pool pool, bytes oid, object index, Page page, object putter) except -1:
        """Store a page at a handle not present; the caller has made room."""
        cdef TmemObject obj = pool.objects.get(oid)
        if obj is None:
            obj = TmemObject.__new__(TmemObject, putter)
            pool.objects[oid] = obj
        else:
            obj.last_putter = putter
        obj.pages[index] = page
        pool.npages += 1
        self.used += 1
        if not pool.persistent:
            page.pool = pool
            page.oid = oid
            page.index = index
            self._link_last(page)
            self.ephemeral += 1
        return 0

    cdef inline void _link_last(self, Page page) noexcept:
        cdef Page last = self.lru.lru_prev
        page.lru_prev = last
        page.lru_next = self.lru
        last.lru_next = page
        self.lru.lru_prev = page

    cdef inline void _unlink(self, Page page) noexcept:
        page.lru_prev.lru_next = page.lru_next
        page.lru_next.lru_prev = page.lru_prev
        page.lru_prev = None
        page.lru_next = None

    cdef void touch(self, Page page) noexcept:
        """Mark an ephemeral page most recently used."""
        self._unlink(page)
        self._link_last(page)

    cdef bint remove(self, Pool pool, bytes oid, object index) except -1:
        """Delete one page (and its object if it empties); False if absent. Its block is recycled."""
        cdef TmemObject obj = pool.objects.get(oid)
        if obj is None:
            return False
        cdef Page page = obj.pages.pop(index, None)
        if page is None:
            return False
        if not obj.pages:
            del pool.objects[oid]
        pool.npages -= 1
        self.used -= 1
        if not pool.persistent:
            self._unlink(page)
            page.pool = None
            page.oid = None
            page.index = None
            self.ephemeral -= 1
        cyt_block_put(&self.blocks, page.data)
        page.data = NULL
        return True

    cdef list remove_object(self, Pool pool, bytes oid):
        """Delete every page of an object; the indexes removed."""
        cdef TmemObject obj = pool.objects.get(oid)
        if obj is None:
            return []
        cdef list indexes = list(obj.pages)
        for index in indexes:
            self.remove(pool, oid, index)
        return indexes

    cdef int remove_pool(self, Pool pool) except -1:
        """Delete every page of a pool."""
        for oid in list(pool.objects):
            self.remove_object(pool, oid)
        return 0
