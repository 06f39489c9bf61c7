# Clients (one per domain using tmem), save cursors, and the host state that holds them.
#
# A client has 16 pool slots, policy numbers, freeze and live-migration
# state, its authorised shared-pool uuids, the invalidated list of a live
# save (TMEM-SAVE-008) and one save cursor per slot (TMEM-SAVE-007).


@cython.final
cdef class SaveCursor:
    """The pages of one slot SAVE_GET_NEXT_PAGE has reported since the iteration began.

    `pending` is a snapshot of unreported (oid, index) keys in the pool's
    order, walked from `at`; a key gone since is skipped, and when the
    snapshot runs out the pool is scanned again, so a page put meanwhile is
    reported too and none twice.
    """

    cdef list pending
    cdef Py_ssize_t at
    cdef set reported

    def __cinit__(self):
        self.pending = []
        self.at = 0
        self.reported = set()

    cdef object next_key(self, Pool pool):
        """A page of the pool not yet reported, or None at the end."""
        cdef tuple key
        while True:
            while self.at < len(self.pending):
                key = self.pending[self.at]
                self.at += 1
                if key not in self.reported and pool.lookup(key[0], key[1]) is not None:
                    return key
            self.pending = [k for k in pool.keys() if k not in self.reported]
            self.at = 0
            if not self.pending:
                return None


@cython.final
cdef class Client:
    """One domain's tmem state. A new client: weight 0, cap 0, not frozen (TMEM-HC-007)."""

    cdef object domid
    cdef list slots          # MAX_POOLS entries: Pool or None
    cdef bint frozen
    cdef bint was_frozen
    cdef bint live_migrating
    cdef bint compress
    cdef long weight
    cdef long cap
    cdef list auth           # granted uuids (lo, hi)
    cdef list invalidated    # (slot, oid, index), oldest first
    cdef dict cursors        # slot -> SaveCursor

    def __cinit__(self, object domid):
        self.domid = domid
        self.slots = [None] * MAX_POOLS
        self.frozen = False
        self.was_frozen = False
        self.live_migrating = False
        self.compress = False
        self.weight = 0
        self.cap = 0
        self.auth = []
        self.invalidated = []
        self.cursors = {}

    cdef inline Pool pool(self, long pool_id):
        """The pool in a slot; None for a free slot or an id outside 0-15 (XSA-15)."""
        if 0 <= pool_id < MAX_POOLS:
            return self.slots[pool_id]
        return None

    cdef bint has_pools(self):
        for p in self.slots:
            if p is not None:
                return True
        return False


@cython.final
cdef class HostState:
    """Everything one host holds."""

    cdef uint32_t spec
    cdef uint32_t reject_flag_bits
    cdef Store store
    cdef dict clients        # domid -> Client
    cdef dict shared         # (uuid lo, uuid hi) -> global shared Pool
    cdef bint global_auth

    def __cinit__(self, uint32_t spec, uint32_t reject_flag_bits, Py_ssize_t capacity):
        self.spec = spec
        self.reject_flag_bits = reject_flag_bits
        self.store = Store.__new__(Store, capacity)
        self.clients = {}
        self.shared = {}
        self.global_auth = False

    cdef inline Client client_or_new(self, object domid):
        cdef Client client = self.clients.get(domid)
        if client is None:
            client = Client.__new__(Client, domid)
            self.clients[domid] = client
        return client

    cdef inline Client target(self, uint32_t cli_id):
        """The client a control op names (cli_id is truncated to a 16-bit domid)."""
        return self.clients.get(cli_id & CLI_ID_NULL)
