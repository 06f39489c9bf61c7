"""Migration machine: a guest moved between two hosts by the toolstack's save/restore stream.

Same version: every persistent page arrives intact (TMEM-MIG-001). Different
versions: refused, destination untouched (TMEM-MIG-002). Always: the source
keeps every page (TMEM-MIG-003). Truncated and corrupted streams are
refused with the destination left as it was (TMEM-STREAM-003). A
bystander domain on the destination must never notice anything.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from .. import strategies as S
from ..checked import PAGE_RULES, CheckedHost, violation
from ..models import codec
from ..models.abi import U64_ALL_ONES, Cmd, Subop
from ..models.errors import StreamError
from ..models.guests import GuestKernel, frontswap_handle
from ..models.matrix import Cell
from ..models.stream import decode
from ..models.toolstack import Toolstack
from ..models.versions import VERSIONS, AbiVersion
from .base import CellMachine, logged, under

GUEST, BYSTANDER = 1, 2
#: The source still runs the guest after a save: its puts must work again (TMEM-MIG-003).
SOURCE_THAWED = {"TMEM-SAVE-009": "TMEM-MIG-003"}
BYSTANDER_PAGES = 2
#: Deviations whose save streams lack pages the guest stored (models/history.py).
LOSSY = frozenset({"save-skips-first-page", "uuid-falls-through"})
#: What a guest that has nothing swapped out swaps out first at its destination (an offset no rule draws).
RESUME_PAGE = (0, 41, bytes([0x5A]) * 4096)
#: The handle of the page the guest tries to put while SAVE_BEGIN has it frozen (no guest uses it).
PROBE_OID, PROBE_INDEX = (U64_ALL_ONES,) * 3, 0xFFFF_FFF0


class MigrationMachine(CellMachine):
    """A guest on the source host, a bystander on the destination, and the toolstack moving the guest."""

    source_version: ClassVar[AbiVersion]
    dest_version: ClassVar[AbiVersion]

    @classmethod
    def for_cell(cls, cell: Cell) -> dict[str, Any]:
        assert cell.source is not None and cell.destination is not None
        return {"source_version": VERSIONS[cell.source], "dest_version": VERSIONS[cell.destination]}

    @initialize(capacity=st.integers(8, 40))
    @logged(step=False)
    def boot(self, capacity: int) -> None:
        self.here = self.host = CheckedHost(self.factory, self.source_version, capacity, self.log, "source",
                                            self.tolerated)
        # The destination also holds the bystander's pages: room for them comes on top.
        self.there = CheckedHost(self.dest_factory or self.factory, self.dest_version, capacity + BYSTANDER_PAGES,
                                 self.log, "destination", self.tolerated)
        self.hosts += [self.here, self.there]
        self.guest = GuestKernel.of(self.source_version.name, self.cell.word_size, GUEST, self.here)
        self.guest.frontswap_init()
        self.guest.cleancache_init_fs("root")
        self.bystander = GuestKernel.of(self.dest_version.name, 64, BYSTANDER, self.there)
        self.bystander.frontswap_init()
        self.bystander_pages = {(0, i): bytes([0xB0 + i]) * 4096 for i in range(BYSTANDER_PAGES)}
        for (t, o), data in self.bystander_pages.items():
            self.bystander.swap_out(t, o, data)
        self.swapped: dict[tuple[int, int], bytes] = {}
        self.moves = 0

    # ------------------------------------------------------------ the guest's work
    @rule(swap_type=S.SWAP_TYPES, offset=S.SWAP_SLOTS, data=S.PAGES)
    @logged
    @under(SOURCE_THAWED)
    def swap_out(self, swap_type: int, offset: int, data: bytes) -> None:
        self.guest.swap_out(swap_type, offset, data)
        self.swapped[(swap_type, offset)] = data

    @rule(pick=st.integers(0, 10**6))
    @logged
    @under(SOURCE_THAWED)
    def swap_invalidate(self, pick: int) -> None:
        if self.swapped:
            key = sorted(self.swapped)[pick % len(self.swapped)]
            self.guest.swap_invalidate(*key)
            del self.swapped[key]

    @rule(key=st.integers(0, 4), data=S.PAGES)
    @logged
    @under(SOURCE_THAWED)
    def cleancache_put(self, key: int, data: bytes) -> None:
        self.guest.cleancache_put("root", (key,) + (0,) * (self.source_version.oid_words - 1), 0, data)

    # ------------------------------------------------------------ checks
    @staticmethod
    def checked(guest: GuestKernel) -> CheckedHost:
        assert isinstance(guest.port, CheckedHost)
        return guest.port

    def check_guest(self, rule_id: str, where: str) -> None:
        with self.checked(self.guest).promised({r: rule_id for r in PAGE_RULES}):
            for key, data in sorted(self.swapped.items()):
                if self.guest.swap_in(*key) != data:
                    raise violation(rule_id, f"swap-in of type {key[0]} offset {key[1]} {where}",
                                    "the page swapped out", "other data or nothing", self.log)

    def check_bystander(self) -> None:
        with self.checked(self.bystander).promised({r: "TMEM-MIG-002" for r in PAGE_RULES}):
            for key, data in sorted(self.bystander_pages.items()):
                if self.bystander.swap_in(*key) != data:
                    raise violation("TMEM-MIG-002", "the destination's other domain after a restore",
                                    "its pages untouched", "other data or nothing", self.log)

    def destination_has_no_client(self, what: str) -> None:
        rule_id = "TMEM-STREAM-003" if "stream" in what else "TMEM-STREAM-002"
        with self.there.promised({"TMEM-SAVE-003": rule_id, "TMEM-DESTROY-003": rule_id}):
            got = Toolstack(self.there, self.there.version).control(Subop.SAVE_GET_CLIENT_FLAGS, GUEST)
        if got != -1:
            raise violation(rule_id, what, f"no client for dom{GUEST} on the destination (-1)",
                            f"SAVE_GET_CLIENT_FLAGS returned {got}", self.log)

    # ------------------------------------------------------------ moves
    def save(self, live: bool, churn: list[tuple[int, int, bytes]]) -> bytes:
        def guest_runs_on() -> None:
            for swap_type, offset, page in churn:
                if (swap_type, offset) in self.swapped:
                    self.guest.swap_invalidate(swap_type, offset)
                    del self.swapped[(swap_type, offset)]
                else:
                    self.guest.swap_out(swap_type, offset, page)
                    self.swapped[(swap_type, offset)] = page
        return Toolstack(self.here, self.here.version).save(GUEST, live, guest_runs_on, self.probe_frozen)

    def probe_frozen(self) -> None:
        """Right after SAVE_BEGIN the guest puts a page it never asks for again: SAVE_BEGIN froze it."""
        client = self.here.model.state.clients.get(GUEST)
        if client is None or not client.used_slots():
            return
        op = codec.TmemOp(Cmd.NEW_PAGE, client.used_slots()[0],
                          codec.Gen(PROBE_OID[:self.source_version.oid_words], PROBE_INDEX, 0, 0, 0, 0))
        self.here.hypercall(GUEST, self.cell.word_size, codec.pack(op, self.here.version, self.cell.word_size),
                            self.guest.memory)

    def where(self) -> str:
        return f"restore on a {self.there.version.name} host of a stream from a {self.here.version.name} host"

    def moved(self, refused: str | None, data: bytes) -> None:
        """The cell's move is intact: the guest now runs on the destination with every page it had."""
        if refused is not None:
            raise violation("TMEM-MIG-001", self.where(), "the guest restored", f"refused: {refused}", self.log)
        self.forget_unsaved(data)
        self.here.destroy_domain(GUEST)  # the source domain is gone once the move is done
        self.guest.port = self.there
        self.here, self.there = self.there, self.here
        self.host = self.here
        self.moves += 1
        self.check_guest("TMEM-MIG-001", "after the move")
        if not self.swapped:  # the guest runs on at the destination: its first hypercall there
            with self.checked(self.guest).promised({r: "TMEM-MIG-001" for r in PAGE_RULES}):
                self.guest.swap_out(*RESUME_PAGE)
            self.swapped[RESUME_PAGE[:2]] = RESUME_PAGE[2]

    def forget_unsaved(self, data: bytes) -> None:
        """Pages a historical save left out of the stream are lost with the move (models/history.py: the
        pool's first page; after a uuid query that ended the save, what the guest put meanwhile). Those
        deviations are reported, so the guest forgets the pages instead of failing the move for them."""
        if not LOSSY & set(self.here.model.deviations) or not data:
            return
        carried = {(p.oid, p.index) for pool in decode(data).pools if pool.pool_id == self.guest.frontswap_pool
                   for p in pool.pages}
        for key in list(self.swapped):
            if key in self.guest.in_tmem and frontswap_handle(*key, self.guest.oid_words) not in carried:
                del self.swapped[key]
                self.guest.in_tmem.pop(key, None)

    def refused_by_history(self, refused: str | None) -> bool:
        """A same-version move the source's historical save stream makes the destination refuse
        (models/history.py, pool-flags-without-version): the release's outcome, the guest stays."""
        return refused is not None and "pool-flags-without-version" in self.here.model.deviations

    def not_moved(self, refused: str | None) -> None:
        """The cell's move is refused: the destination has no client, the source keeps every page."""
        if refused is None:
            raise violation("TMEM-MIG-002", self.where(), "refused", "restored", self.log)
        self.destination_has_no_client("a refused move")
        self.check_guest("TMEM-MIG-003", "on the source after a refused move")

    @rule(live=st.booleans(), churn=S.CHURN)
    @logged
    def migrate(self, live: bool, churn: list[tuple[int, int, bytes]]) -> None:
        data = self.save(live, churn if live else [])
        try:
            Toolstack(self.there, self.there.version).restore(GUEST, data)
            refused = None
        except StreamError as e:
            refused = str(e)
        if self.cell.expected == "intact" and not self.refused_by_history(refused):  # same spec at both ends
            self.moved(refused, data)
        else:
            self.not_moved(refused)
        self.check_bystander()

    @rule(mode=st.sampled_from(["truncate", "flip", "version"]), pos=st.integers(0, 10**6),
          bit=st.integers(0, 7))
    @logged
    def migrate_corrupt_stream(self, mode: str, pos: int, bit: int) -> None:
        data = bytearray(self.save(False, []))
        if not data:
            return
        if mode == "truncate":
            data = data[:pos % len(data)]
        elif mode == "flip":
            data[pos % len(data)] ^= 1 << bit
        else:
            data[4] ^= 1 << (bit % 2)
        try:
            Toolstack(self.there, self.there.version).restore(GUEST, bytes(data))
            restored = True
        except StreamError:
            restored = False
        if restored:
            # A flip the format cannot see (in page data, say): the model checked every call; undo.
            self.there.destroy_domain(GUEST)
        self.destination_has_no_client("a corrupt stream" if not restored else "a corrupt stream undone")
        self.check_guest("TMEM-MIG-003", "on the source after a corrupt stream")
        self.check_bystander()
