"""Clients (one per domain using tmem) and the host state that holds them.

A client has 16 pool slots, policy numbers, freeze and live-migration
state, its authorised shared-pool uuids, the invalidated list of a live
save (TMEM-SAVE-008) and one save cursor per slot (TMEM-SAVE-007).
"""

from __future__ import annotations

from .choices import Choices
from .pool import Oid, Pool, Uuid
from .store import PageStore

MAX_POOLS = 16
CLI_ID_NULL = 0xFFFF


class SaveCursor:
    """Which pages of one slot SAVE_GET_NEXT_PAGE has reported since the iteration began."""

    __slots__ = ("pending", "reported")

    def __init__(self) -> None:
        self.pending: list[tuple[Oid, int]] = []
        self.reported: set[tuple[Oid, int]] = set()


class Client:
    """One domain's tmem state. A new client: weight 0, cap 0, not frozen (TMEM-HC-007)."""

    __slots__ = ("domid", "slots", "frozen", "was_frozen", "live_migrating", "weight", "cap",
                 "compress", "auth", "invalidated", "cursors")

    def __init__(self, domid: int) -> None:
        self.domid = domid
        self.slots: list[Pool | None] = [None] * MAX_POOLS
        self.frozen = False
        self.was_frozen = False
        self.live_migrating = False
        self.weight = 0
        self.cap = 0
        self.compress = False
        self.auth: list[Uuid] = []
        self.invalidated: list[tuple[int, Oid, int]] = []  # (slot, oid, index), oldest first
        self.cursors: dict[int, SaveCursor] = {}

    def pool(self, pool_id: int) -> Pool | None:
        """The pool in a slot, or None for a free slot or an id outside 0-15."""
        if 0 <= pool_id < MAX_POOLS:
            return self.slots[pool_id]
        return None

    def has_pools(self) -> bool:
        return any(p is not None for p in self.slots)


class HostState:
    """Everything one simulated host holds."""

    def __init__(self, spec: int, reject_flag_bits: int, capacity: int, choices: Choices,
                 accepts: frozenset[int] | None = None) -> None:
        self.spec = spec
        self.accepts = frozenset({spec}) if accepts is None else accepts  # the spec versions NEW_POOL takes
        self.reject_flag_bits = reject_flag_bits
        self.choices = choices
        self.store = PageStore(capacity, choices.eviction, choices.flush_evicts_newest)
        self.clients: dict[int, Client] = {}
        self.shared: dict[Uuid, Pool] = {}
        self.global_auth = False

    def client_or_new(self, domid: int) -> Client:
        client = self.clients.get(domid)
        if client is None:
            client = self.clients[domid] = Client(domid)
        return client

    def governing(self, client: Client, slot: int, pool: Pool) -> tuple[Client, int]:
        """Whose frozen and live-migrating state an op on `pool` follows, and that client's slot for it.

        The caller's, unless the host follows a shared pool's owner (tmem-abi.md
        section 10; Xen does). A private pool always follows its own client.
        """
        if self.choices.shared_owner_state and pool.shared and pool.owner != client.domid:
            owner = self.clients.get(pool.owner)
            slots = pool.users.get(pool.owner)
            if owner is not None and slots:
                return owner, min(slots)
        return client, slot

    def target(self, cli_id: int) -> Client | None:
        """The client a control op names (cli_id is truncated to a 16-bit domid)."""
        return self.clients.get(cli_id & CLI_ID_NULL)
