"""The reference tmem host: for each hypercall, the set of allowed outcomes.

The host is pure: no I/O, no clock, no randomness. `outcomes()` answers
"which results may a conforming host give here"; `observe()` checks what a
backend gave against that set (naming the rule it breaks if it is not
there) and narrows the model by it. Eviction and memory pressure are the
host's choice, so many ops allow several results; what is never allowed is
data other than the last successful put, a page surviving its flush or its
pool, a persistent page lost while its pool lives, or success on a pool
that does not exist. Where section 10 lets hosts differ, every choice it
lists is in the allowed set, and what it still pins down is checked.
Sources: tmem-abi.md sections 1-5, 9 and 10.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import lru_cache

from . import codec
from .abi import (
    CLI_ID_NULL,
    DOMID_TOOLSTACK,
    MAX_AUTH_UUIDS,
    MAX_GLOBAL_SHARED_POOLS,
    MAX_POOLS_PER_DOMAIN,
    PAGE_SIZE,
    U64_ALL_ONES,
    Cmd,
    Errno,
    PoolFlag,
    Subop,
    flags_pageshift_field,
    flags_spec,
)
from .control import control_outcomes
from .errors import LayoutError, ModelError, Violation
from .frozen import evolve
from .host_state import Client, HostState, Key, Oid, Page, Pool
from .layouts import layout
from .outcomes import ANY_NEGATIVE, ANY_POSITIVE, Outcome, Outcomes
from .pages import ORIGIN, Stored, consistent, put_source, read_writes, window_ok
from .versions import AbiVersion, version

PRIVILEGED = frozenset({Cmd.CONTROL, Cmd.AUTH, Cmd.RESTORE_NEW})
NO_POOL_CHECK = PRIVILEGED | {Cmd.NEW_POOL, Cmd.DESTROY_POOL}
PUTS = frozenset({Cmd.PUT_PAGE, Cmd.NEW_PAGE, Cmd.WRITE})
GETS = frozenset({Cmd.GET_PAGE, Cmd.READ})
#: Most ops one model keeps decoded: a guest's ops repeat, the toolstack's queries above all.
DECODED_OPS = 4096
#: How many readings of a backend (the specification's and historical deviations', history.py) the model
#: follows at once; those with the most deviations go first.
MAX_READINGS = 4


def neg(e: Errno) -> int:
    return -int(e)


class ReferenceHost:
    """The executable specification of one tmem host of a given ABI version."""

    def __init__(self, abi_version: int | str | AbiVersion, capacity_pages: int,
                 tolerated: frozenset[str] = frozenset()) -> None:
        if capacity_pages < 0:
            raise ModelError(f"capacity_pages must be 0 or more, not {capacity_pages}")
        self.state = HostState(version(abi_version), capacity_pages, tolerated=tolerated)
        #: the deviations the backend was seen to take: id -> the op that showed it (history.py)
        self.deviations: dict[str, str] = {}
        #: other readings of the backend still alive, each with the deviations it took: a call that a
        #: deviation and the specification answer alike (the uuid query that also ends the save) forks
        #: the model; a later call that only one reading allows settles it
        self.alternates: list[tuple[HostState, dict[str, str]]] = []

    @property
    def version(self) -> AbiVersion:
        return self.state.version

    # ------------------------------------------------------------------ entry points
    def outcomes(self, domid: int, word_size: int, op: bytes, memory: bytes) -> Outcomes:
        decoded, text, short = read_op(op if type(op) is bytes else bytes(op), self.version, word_size)
        if decoded is None:
            return Outcomes(f"a {len(op)}-byte op buffer from dom{domid}", "TMEM-HC-001",
                            [Outcome.ret(neg(Errno.EFAULT), "TMEM-HC-001", "op cannot be copied")])
        result = self.outcomes_for(domid, decoded, memory, text)
        if short:
            # Section 10: a host may copy its whole struct and fail, or answer from what is there.
            result.options.append(Outcome.ret(neg(Errno.EFAULT), "TMEM-HC-001",
                                              f"the {len(op)}-byte op is shorter than the host's "
                                              f"{layout(self.version, word_size).size}-byte struct: not "
                                              f"copied, nothing changes"))
        return result

    def observe(self, domid: int, word_size: int, op: bytes, before: bytes, ret: int,
                after: bytes) -> Outcome:
        """Check one observed hypercall; raises errors.Violation naming the rule it breaks."""
        if self.state.tolerated:
            return self._observe_readings(domid, word_size, op, before, ret, after)
        return self._observe(domid, word_size, op, before, ret, after)

    def _observe_readings(self, domid: int, word_size: int, op: bytes, before: bytes, ret: int,
                          after: bytes) -> Outcome:
        """Observe under every live reading (the specification's first); keep those that allow it.

        The reading with the fewest deviations becomes the model's state; only when none allows the
        observation is it a violation, named as the specification's reading names it.
        """
        primary = self.state
        alive: list[tuple[HostState, dict[str, str], Outcome]] = []
        for state, seen in [(self.state, self.deviations), *self.alternates]:
            self.state = state
            try:
                outs = self.outcomes(domid, word_size, op, before)
                for dev in outs.forks(ret, before, after):
                    self.state = copy.deepcopy(state)
                    o = self.outcomes(domid, word_size, op, before).observe_deviation(dev, ret, before, after)
                    alive.append((self.state, {**seen, dev: outs.what}, o))
                    self.state = state
                o = outs.observe(ret, before, after)
            except Violation:
                continue
            alive.append((state, {**seen, o.deviation: outs.what} if o.deviation else seen, o))
        if not alive:
            self.state = primary
            return self._observe(domid, word_size, op, before, ret, after)  # raises, named as ever
        alive.sort(key=lambda a: len(a[1]))
        (self.state, self.deviations, chosen), rest = alive[0], alive[1:MAX_READINGS]
        self.alternates = [(st, seen) for st, seen, _ in rest]
        return chosen

    def _observe(self, domid: int, word_size: int, op: bytes, before: bytes, ret: int,
                 after: bytes) -> Outcome:
        try:
            return self.outcomes(domid, word_size, op, before).observe(ret, before, after)
        except Violation as v:
            # A success where the frame is not there: the host skipped the check, not misread the op.
            skip = v.rule == "TMEM-HC-005" or v.diagnosed
            misread = None if skip else self._misread_as(domid, word_size, op, before, ret, after)
            if misread is None:
                raise
            raise Violation("TMEM-LAYOUT-001", v.what, f"{v.expected} (the op read with the {word_size}-bit "
                            f"{self.version.name} layout)", f"{v.observed}, which is what reading the op with "
                            f"the {misread} layout gives (originally {v.rule})") from None

    def _misread_as(self, domid: int, word_size: int, op: bytes, before: bytes, ret: int,
                    after: bytes) -> str | None:
        """The other layout (word size or version) under which the observation would be allowed."""
        mine = layout(self.version, word_size)
        if len(op) < mine.size:
            return None
        decoded = codec.unpack(bytes(op[:mine.size]), self.version, word_size)
        for other in _OTHER_LAYOUTS:
            row, ws = version(other[0]), other[1]
            if (row.name, ws) == (self.version.name, word_size):
                continue
            lay = layout(row, ws)
            try:
                alt = codec.unpack(bytes(op[:lay.size]).ljust(lay.size, b"\0"), row, ws)
                alt = _widen(alt, self.version.oid_words)
            except (LayoutError, ValueError, TypeError):
                continue
            if alt == decoded:
                continue
            # Only a success, a copy or a bad frame is evidence: a miss or another error fits any reading.
            o = self.outcomes_for(domid, alt, before).admitting(ret, before, after)
            if o is not None and (o.writes or ret > 0 or ret == neg(Errno.EFAULT)):
                return f"{ws}-bit {row.name}"
        return None

    def destroy_domain(self, domid: int) -> None:
        primary = self.state
        for state, _ in self.alternates:
            self.state = state
            self._destroy_domain(domid)
        self.state = primary
        self._destroy_domain(domid)

    def _destroy_domain(self, domid: int) -> None:
        client = self.state.clients.pop(domid, None)
        if client is not None:
            self.state.destroyed.add(domid)
            for slot in client.used_slots():
                self._leave(client, slot)

    # ------------------------------------------------------------------ dispatch
    def outcomes_for(self, domid: int, op: codec.TmemOp, memory: bytes, described: str = "") -> Outcomes:
        """The allowed set for a decoded op (`described`: describe(op), when the caller has it)."""
        what = f"{described or describe(op)} from dom{domid}"
        if op.cmd in PRIVILEGED and domid != DOMID_TOOLSTACK:
            refused = Outcomes(what, "TMEM-HC-004", [Outcome.ret(neg(Errno.EPERM), "TMEM-HC-004",
                                                                "privileged op from a guest")])
            if "privilege-check" in self.state.tolerated:  # answered as the toolstack's (history.py)
                refused.options += [o.as_deviation("privilege-check")
                                    for o in self.outcomes_for(DOMID_TOOLSTACK, op, memory).options]
            return refused
        if op.cmd == Cmd.CONTROL:
            assert isinstance(op.u, codec.Ctrl)
            return control_outcomes(self, what, op.pool_id, op.u, memory)
        if op.cmd == Cmd.AUTH:
            assert isinstance(op.u, codec.Creat)
            return self._auth(what, op.u)
        if op.cmd == Cmd.RESTORE_NEW:
            assert isinstance(op.u, codec.Creat)
            return self._restore_new(what, op.pool_id, op.u)
        client = self.state.clients.get(domid)
        create = client is None
        if client is None:
            client = Client(domid, implicit=True, reborn=domid in self.state.destroyed)
        result = self._client_op(what, client, op, memory)
        if create:
            # TMEM-HC-007: the client exists from this call on, whatever the result.
            def register(_: bytes, c: Client = client) -> None:
                self.state.clients.setdefault(c.domid, c)
            result.options = [_then(o, register) for o in result.options]
        return result

    def _client_op(self, what: str, client: Client, op: codec.TmemOp, memory: bytes) -> Outcomes:
        if op.cmd == Cmd.NEW_POOL:
            assert isinstance(op.u, codec.Creat)
            return self._new_pool(what, client, op.u, slot=None)
        if op.cmd == Cmd.DESTROY_POOL:
            return self._destroy_pool(what, client, op.pool_id)
        pool = client.pool(op.pool_id)
        if pool is None:
            rule = "TMEM-DESTROY-003" if client.reborn and not client.used_slots() else "TMEM-HC-002"
            if op.pool_id in client.destroyed_pages:
                rule = "TMEM-DESTROY-001"  # the slot's pool was destroyed: an answer shows it was not
            return Outcomes(what, rule, [Outcome.ret(neg(Errno.ENODEV), rule, "no such pool")])
        assert isinstance(op.u, codec.Gen)
        g = op.u
        key: Key = (g.oid, g.index)
        if op.cmd in PUTS:
            stored = put_source(op.cmd, g, client.compress, memory, pool.pages.get(key))
            result = self.put_outcomes(what, client, op.pool_id, pool, key, stored)
            if op.cmd == Cmd.NEW_PAGE:  # cmfn is never read: its absence cannot fail the put
                result.by_ret.setdefault(neg(Errno.EFAULT), "TMEM-PUT-004")
            return result
        if op.cmd in GETS:
            return self._get(what, client, op.pool_id, pool, key, op.cmd, g, memory)
        if op.cmd == Cmd.FLUSH_PAGE:
            return self.flush_outcomes(what, client, op.pool_id, pool, [key] if key in pool.pages else [],
                                       "TMEM-FLUSH-001", neighbours_of=g.oid, index=g.index)
        if op.cmd == Cmd.FLUSH_OBJECT:
            return self.flush_outcomes(what, client, op.pool_id, pool, pool.keys_of(g.oid), "TMEM-FLUSH-002",
                                       neighbours_of=g.oid)
        if op.cmd in self.version.retired_commands:  # reserved for ever: an unknown command (TMEM-ABI-001)
            return Outcomes(what, "TMEM-ABI-001", [Outcome(ANY_NEGATIVE, 0, "TMEM-ABI-001", f"command {op.cmd}, "
                                                           f"retired: 0 or an error, nothing changes")])
        return Outcomes(what, "TMEM-HC-003", [Outcome(ANY_NEGATIVE, 0, "TMEM-HC-003",
                                                      "no-op command: 0 or an error, nothing changes")])

    def actors(self, client: Client, pool: Pool) -> list[Client]:
        """Whose frozen and live-migrating state may govern an op on `pool` (section 10).

        A private pool follows its own client; a shared pool the caller's or its owner's.
        """
        out = [client]
        if pool.shared:
            for domid in sorted(pool.owners()):
                other = self.state.clients.get(domid)
                if other is not None and other is not client:
                    out.append(other)
        return out

    # ------------------------------------------------------------------ pools
    def flag_error(self, flags: int) -> str | None:
        """The rule a NEW_POOL flags word breaks on this host, in the host's check order."""
        checks: tuple[tuple[bool, str], ...] = (
            (flags_spec(flags) not in self.version.accepts, "TMEM-POOL-001"),
            (flags_pageshift_field(flags) != 0, "TMEM-POOL-002"),
            (bool(flags & self.version.reject_flag_bits & PoolFlag.PRECOMPRESSED), "TMEM-POOL-003"),
            (bool(flags & self.version.reject_flag_bits & PoolFlag.RESERVED_BITS), "TMEM-POOL-004"),
        )
        return next((rule for failed, rule in checks if failed), None)

    def _new_pool(self, what: str, client: Client, c: codec.Creat, slot: int | None) -> Outcomes:
        bad = self.flag_error(c.flags)
        if bad is not None:
            if c.flags & PoolFlag.SHARED and c.uuid in self.state.shared:
                bad = "TMEM-POOL-007"  # the flags are checked before any shared pool is joined

            def refused(_: bytes, gate: bool = bad == "TMEM-POOL-001") -> None:
                client.version_refused = client.version_refused or gate
            return Outcomes(what, bad, [Outcome.ret(neg(Errno.EPERM), bad, "flags refused", refused)])
        wrong = "TMEM-POOL-005" if slot is None else "TMEM-RESTORE-002"  # the rule a wrong slot breaks
        if slot is None:
            free = [i for i, p in enumerate(client.slots) if p is None]
            if not free:
                return Outcomes(what, "TMEM-POOL-006", [Outcome.ret(neg(Errno.EPERM), "TMEM-POOL-006",
                                                                   "all 16 slots used")])
            slot, rule = free[0], "TMEM-POOL-005"
            if client.reborn and len(free) == MAX_POOLS_PER_DOMAIN:
                rule = wrong = "TMEM-DESTROY-003"  # a destroyed domain's new client starts with no pools
        else:
            rule = "TMEM-RESTORE-002"
        persistent = bool(c.flags & PoolFlag.PERSIST)
        all_ones = c.uuid == (U64_ALL_ONES, U64_ALL_ONES)
        shared = bool(c.flags & PoolFlag.SHARED) and not all_ones
        if shared and c.uuid in self.state.shared:
            pool = self.state.shared[c.uuid]
            rule = "TMEM-DESTROY-003" if rule == "TMEM-DESTROY-003" else "TMEM-SHARED-002"
            meaning = f"slot {slot}, joining the shared pool"
        elif shared and len(self.state.shared) >= MAX_GLOBAL_SHARED_POOLS:
            return Outcomes(what, "TMEM-SHARED-003", [Outcome.ret(neg(Errno.EPERM), "TMEM-SHARED-003",
                                                                 "16 shared pools exist")])
        else:
            pool = Pool(persistent, shared, c.uuid, owner=client.domid if shared else None,
                        private_by_uuid=bool(c.flags & PoolFlag.SHARED) and all_ones)
            meaning = f"slot {slot}, a new {'shared' if shared else 'private'} " \
                      f"{'persistent' if persistent else 'ephemeral'} pool"
            if shared and rule != "TMEM-DESTROY-003":
                rule = "TMEM-SHARED-001"

        def create(_: bytes, slot: int = slot, pool: Pool = pool) -> None:
            for key in client.destroyed_pages.pop(slot, ()):
                if key not in pool.pages:
                    pool.gone.setdefault(key, "TMEM-DESTROY-001")  # a hit shows the old pool's page
            client.slots[slot] = pool
            client.saved_slots.discard(slot)  # a new pool starts a new save cursor
            pool.users.setdefault(client.domid, set()).add(slot)
            if pool.shared:
                self.state.shared[pool.uuid] = pool
        # Another slot than the one due: the allocator's (or RESTORE_NEW's) rule, whatever the pool's kind.
        by_ret = {r: wrong for r in range(MAX_POOLS_PER_DOMAIN) if r != slot}
        if client.version_refused:  # a good request refused after a version refusal: the refusal stuck
            by_ret[neg(Errno.EPERM)] = "TMEM-PAIR-003"
        return Outcomes(what, rule, [Outcome.ret(slot, rule, meaning, create)], by_ret)

    def _restore_new(self, what: str, pool_id: int, c: codec.Creat) -> Outcomes:
        client = self.state.clients.get(c.arg1 & CLI_ID_NULL)
        if client is None or not 0 <= pool_id < MAX_POOLS_PER_DOMAIN or client.slots[pool_id] is not None:
            return Outcomes(what, "TMEM-RESTORE-002", [Outcome.ret(
                neg(Errno.EPERM), "TMEM-RESTORE-002", "no such client, or the slot is not free")])
        return self._new_pool(what, client, c, slot=pool_id)

    def _destroy_pool(self, what: str, client: Client, pool_id: int) -> Outcomes:
        if not 0 <= pool_id < MAX_POOLS_PER_DOMAIN:
            result = Outcomes(what, "TMEM-DESTROY-002", [Outcome.ret(0, "TMEM-DESTROY-002",
                                                                    "pool id out of range: nothing")])
            if "pool-id-unchecked" in self.state.tolerated:  # read past the pool array (history.py)
                result.options.append(Outcome(ANY_NEGATIVE, ANY_POSITIVE, "TMEM-DESTROY-002",
                                              "pool id not range-checked: any answer", deviation="pool-id-unchecked"))
            return result
        if client.slots[pool_id] is None:
            return Outcomes(what, "TMEM-DESTROY-001", [Outcome.ret(0, "TMEM-DESTROY-001", "free slot")])
        return Outcomes(what, "TMEM-DESTROY-001", [Outcome.ret(
            1, "TMEM-DESTROY-001", "pool destroyed", lambda _m: self._leave(client, pool_id))])

    def _leave(self, client: Client, slot: int) -> None:
        """Clear a slot; a pool's last user frees it, others keep it (TMEM-SHARED-004, section 10).

        If the leaver may own the pool, any object of it may go (Xen attributes every put to the
        owner); otherwise only ephemeral objects it touched may go, and persistent ones stay.
        """
        pool = client.slots[slot]
        client.slots[slot] = None
        client.reported.pop(slot, None)
        if pool is None:
            return
        client.destroyed_pages[slot] = set()  # the slot is free: an answer from it shows it was not
        mine = pool.users.get(client.domid, set())
        mine.discard(slot)
        if mine:
            return
        owner = client.domid in pool.owners()
        pool.users.pop(client.domid, None)
        if not pool.users:
            client.destroyed_pages[slot] = set(pool.pages)
            pool.pages.clear()
            pool.gone.clear()
            if pool.shared and self.state.shared.get(pool.uuid) is pool:
                del self.state.shared[pool.uuid]
            return
        if pool.owner == client.domid:
            pool.owner = None  # ownership passes to another user: which one is the host's choice
        for k, page in list(pool.pages.items()):
            if owner or (pool.ephemeral and client.domid in pool.touched.get(k[0], ())):
                pool.pages[k] = page.maybe()
            elif page.sure:
                pool.pages[k] = page.keep("TMEM-SHARED-004")

    # ------------------------------------------------------------------ puts
    def put_outcomes(self, what: str, client: Client, slot: int, pool: Pool, key: Key,
                     stored: Stored) -> Outcomes:
        """Allowed results of a put of `stored` (its page None: a bad source, -EFAULT) to `key`."""
        room = self.state.pages_at_most() < self.state.capacity
        # The sure pages are some of the pages: with room for one more, the host is not full either.
        full = not room and self.state.pages_at_least() >= self.state.capacity
        old = pool.pages.get(key)
        page = None if stored.page is None else stored.page.but(sure=True, putter=(client.domid, slot), kept_by=None)
        if page is not None and old is not None:  # what a dup put replaces: showing it names TMEM-PUT-002
            older = tuple(c.but(replaced=()) for c in old.candidates()) + old.replaced
            page = page.but(replaced=older[:MAX_REPLACED])
        actors = self.actors(client, pool)
        merged = _put_fates(old, page, stored, {(a.frozen, a.live_migrating) for a in actors}, room, full)
        frozen_now = any(a.frozen for a in actors)
        live_now = any(a.live_migrating for a in actors)
        rule = "TMEM-PUT-002" if old is not None else "TMEM-PUT-001"
        if all(a.frozen for a in actors) and old is None:
            rule = _frozen_rule(actors, "TMEM-PUT-003")  # checked before the source is read
        elif page is None:
            rule = "TMEM-HC-005"  # the source is not there: -EFAULT, nothing stored
        # Lack of memory while there is room, or holding more than the capacity: TMEM-PUT-006.
        by_ret = {}
        if room and not live_now:
            by_ret = {neg(Errno.ENOMEM): "TMEM-PUT-006", neg(Errno.ENOSPC): "TMEM-PUT-006"}
        if full and old is None and not frozen_now:
            by_ret[1] = "TMEM-PUT-006"
        options = [Outcome.ret(ret, rule, _PUT_MEANING.get(ret, "put"),
                               self._fate_effect(client, slot, pool, key, fate, evict=not room,
                                                 gone_rule="TMEM-PUT-002" if old is not None else rule))
                   for ret, fate in sorted(merged.items(), key=lambda kv: -kv[0])]

        def froze(_: bytes) -> None:  # the refusal shows the freeze happened: later puts name PUT-003
            for a in actors:
                a.frozen_by = ""
        options = [_then(o, froze) if o.admits(neg(Errno.EFROZEN)) else o for o in options]
        return Outcomes(what, rule, options, {**by_ret, **_still_frozen(actors)})

    def _fate_effect(self, client: Client, slot: int, pool: Pool, key: Key, fate: object, evict: bool,
                     gone_rule: str) -> Callable[[bytes], None]:
        def effect(_: bytes) -> None:
            if evict:
                self.state.may_evict()  # eviction only to make room (section 10)
            old = pool.pages.get(key)
            if isinstance(fate, Page):
                pool.pages[key] = fate
                pool.gone.pop(key, None)
                pool.touched.setdefault(key[0], set()).add(client.domid)
            elif fate == "gone":
                self._delete(client, slot, pool, key, gone_rule)
            elif old is not None:
                pool.pages[key] = old.maybe()
        return effect

    def _delete(self, client: Client, slot: int, pool: Pool, key: Key, rule: str) -> None:
        """Remove a page; while live-migrating a persistent page's deletion is recorded (TMEM-SAVE-008)."""
        old = pool.pages.pop(key, None)
        pool.gone[key] = rule
        if old is not None and pool.persistent:
            actors = self.actors(client, pool)
            for a in actors:
                if a.live_migrating:
                    where = slot if a is client else next(i for i, p in enumerate(a.slots) if p is pool)
                    a.invalidated.append((where, key[0], key[1], old.sure and len(actors) == 1))
        if not pool.keys_of(key[0]):
            pool.touched.pop(key[0], None)

    # ------------------------------------------------------------------ gets
    def _get(self, what: str, client: Client, slot: int, pool: Pool, key: Key, cmd: int, g: codec.Gen,
             memory: bytes) -> Outcomes:
        page = pool.pages.get(key)
        by_ret = {1: pool.gone[key]} if key in pool.gone else {}
        if pool.private_by_uuid:
            by_ret.setdefault(1, "TMEM-SHARED-001")
        if not pool.pages:
            removed = [r for r in pool.gone.values() if r in _REMOVALS]
            if removed:  # a miss, not -EEMPTY: the host still holds a page the model saw removed last
                by_ret.setdefault(0, removed[-1])
            return Outcomes(what, "TMEM-GET-001", [Outcome.ret(neg(Errno.EEMPTY), "TMEM-GET-001",
                                                              "the pool holds no pages")], by_ret)
        options: list[Outcome] = []
        if not pool.holds_sure_page():
            options.append(Outcome.ret(neg(Errno.EEMPTY), "TMEM-EPH-001", "every page of the pool dropped",
                                       lambda _m: pool.pages.clear()))
        if page is None or not page.sure:
            def gone(_: bytes) -> None:
                pool.pages.pop(key, None)
            options.append(Outcome.ret(0, "TMEM-GET-002", "miss", gone))
        if page is not None:
            options += self._hits(client, slot, pool, key, page, cmd, g, memory)
        via = (client.domid, slot)
        if page is not None and page.sure and not page.kept_by and pool.shared and via not in page.seen_by \
                and page.putter not in (None, via):
            rule = "TMEM-SHARED-002"  # put through another slot, never shown through this one: not one pool
        elif page is not None and page.sure:
            rule = page.kept_by or _KEEPER[pool.persistent]
        elif page is not None:
            rule = "TMEM-EPH-001"
        else:
            rule = "TMEM-GET-002"
        result = Outcomes(what, rule, options, by_ret)
        frame_ok = 0 <= g.cmfn < len(memory) // PAGE_SIZE
        miss = page is None or not page.sure
        lost = next((k for k, p in pool.pages.items() if p.sure and k != key), None) if miss else None
        if lost is not None:
            # -EEMPTY for a miss while the pool must hold `lost`: lost (its rule), or a miss misreported?
            result.by_ret.setdefault(neg(Errno.EEMPTY), pool.pages[lost].kept_by or _KEEPER[pool.persistent])
            frame = g.cmfn if frame_ok else 0
            probe = codec.TmemOp(Cmd.GET_PAGE, slot, codec.Gen(lost[0], lost[1], 0, 0, 0, frame))
            result.probe = (neg(Errno.EEMPTY), probe, {1: "TMEM-GET-002"},
                            f"the pool still holds oid {lost[0]} index {lost[1]}: a miss reported as empty")
        if page is not None and page.replaced and frame_ok:
            # PUT_PAGE's replacement breaks the dup-put rule; WRITE's and NEW_PAGE's, their own.
            stale = "TMEM-PUT-002" if page.origin == ORIGIN[Cmd.PUT_PAGE] else page.origin
            result.diagnoses.append((stale, "the data a dup put replaced", [
                Outcome.ret(1, stale, "the old data", writes=read_writes(c, cmd, g)) for c in page.replaced]))
        return result

    def _hits(self, client: Client, slot: int, pool: Pool, key: Key, page: Page, cmd: int, g: codec.Gen,
              memory: bytes) -> list[Outcome]:
        """The outcomes of a hit: one per candidate the host may hold, each narrowing to what it shows."""
        exclusive = pool.ephemeral and not pool.shared
        if not 0 <= g.cmfn < len(memory) // PAGE_SIZE:
            return [Outcome.ret(neg(Errno.EFAULT), "TMEM-HC-005", "hit, but cmfn is not there")]
        whole = cmd == Cmd.GET_PAGE

        def hit(after: bytes) -> None:
            if exclusive:
                pool.pages.pop(key, None)
                pool.gone[key] = "TMEM-GET-005"
            else:
                seen = consistent(page, lambda c: read_writes(c, cmd, g), after)
                if whole:
                    start = g.cmfn * PAGE_SIZE
                    seen = seen.learn(after[start:start + PAGE_SIZE], True)
                # The page outlived whatever promised to keep it: a later loss is the page's own rule's.
                pool.pages[key] = seen.but(sure=True, seen_by=page.seen_by | {(client.domid, slot)}, kept_by=None,
                                         replaced=())
            pool.touched.setdefault(key[0], set()).add(client.domid)
        options: list[Outcome] = []
        shown: list[tuple[object, ...]] = []
        for c in page.candidates():
            writes = read_writes(c, cmd, g)
            if writes in shown:
                continue
            shown.append(writes)
            rule = "TMEM-GET-004" if cmd == Cmd.READ and not c.whole else c.origin
            options.append(Outcome.ret(1, rule, "hit with the last data put" +
                                       (", removing it (exclusive get)" if exclusive else ""), hit, writes))
        if cmd == Cmd.READ and not window_ok(g.tmem_offset, g.pfn_offset, g.len) and \
                not all(c.whole for c in page.candidates()):
            def refused(_: bytes) -> None:
                if exclusive:
                    pool.pages[key] = page.maybe()
            options.append(Outcome.ret(neg(Errno.EINVAL), "TMEM-GET-004",
                                       "window past the page end: nothing copied (XSA-15 fix)", refused))
        return options

    # ------------------------------------------------------------------ flushes
    def flush_outcomes(self, what: str, client: Client, slot: int, pool: Pool, keys: list[Key], rule: str,
                       neighbours_of: Oid | None = None, index: int | None = None) -> Outcomes:
        def effect(_: bytes) -> None:
            for k in keys:
                self._delete(client, slot, pool, k, rule)
            if neighbours_of is not None:
                # Other objects keep their pages, even those sharing the low word (TMEM-FLUSH-002).
                for k, p in list(pool.pages.items()):
                    if k[0] != neighbours_of and k[0][0] == neighbours_of[0] and index in (None, k[1]) and p.sure:
                        pool.pages[k] = p.keep("TMEM-FLUSH-002")
        frozen = {a.frozen for a in self.actors(client, pool)}
        options = []
        if True in frozen:
            options.append(Outcome.ret(neg(Errno.EFROZEN), "TMEM-FLUSH-003", "frozen: flushed anyway", effect))
        if False in frozen:
            options.append(Outcome.ret(1, rule, "flushed", effect))
        actors = self.actors(client, pool)
        return Outcomes(what, "TMEM-FLUSH-003" if client.frozen else rule, options, _still_frozen(actors))

    # ------------------------------------------------------------------ auth
    def _auth(self, what: str, c: codec.Creat) -> Outcomes:
        cli_id = c.arg1 & CLI_ID_NULL
        rule = "TMEM-SHARED-005"
        if cli_id == CLI_ID_NULL:
            def switch(_: bytes) -> None:
                self.state.global_auth = c.flags
            return Outcomes(what, rule, [Outcome.ret(1, rule, "global switch set", switch)])
        client = self.state.clients.get(cli_id)
        if client is None:
            return Outcomes(what, rule, [Outcome.ret(neg(Errno.EINVAL), rule, "no such client")])
        held = c.uuid in client.auth
        if c.flags:
            if held:
                return Outcomes(what, rule, [Outcome.ret(1, rule, "already granted")])
            if len(client.auth) >= MAX_AUTH_UUIDS:
                return Outcomes(what, rule, [Outcome.ret(neg(Errno.ENOMEM), rule, "16 uuids held")])
            return Outcomes(what, rule, [Outcome.ret(1, rule, "granted",
                                                     lambda _m: client.auth.append(c.uuid))])
        if held:
            return Outcomes(what, rule, [Outcome.ret(1, rule, "revoked",
                                                     lambda _m: client.auth.remove(c.uuid))])
        return Outcomes(what, rule, [Outcome.ret(0, rule, "nothing to revoke")])


_PUT_MEANING = {
    1: "stored",
    neg(Errno.ENOMEM): "no memory: nothing stored",
    neg(Errno.ENOSPC): "dup put failed: the old copy is deleted",
    neg(Errno.EFROZEN): "client frozen: nothing stored",
    neg(Errno.EFAULT): "cmfn is not there: nothing stored",
    neg(Errno.EINVAL): "window past the page end: nothing stored (XSA-15 fix)",
}


def _frozen_rule(actors: list[Client], rule: str) -> str:
    """`rule`, or SAVE_BEGIN's when it froze every frozen actor (a host whose SAVE_BEGIN does not freeze)."""
    frozen = [a for a in actors if a.frozen]
    return frozen[0].frozen_by if frozen and all(a.frozen_by for a in frozen) else rule


def _still_frozen(actors: list[Client]) -> dict[int, str]:
    """-EFROZEN from a client SAVE_END thawed (and no other state freezes) breaks TMEM-SAVE-009."""
    if any(a.frozen for a in actors) or not any(a.thawed_by_save_end for a in actors):
        return {}
    return {neg(Errno.EFROZEN): "TMEM-SAVE-009"}


def _then(o: Outcome, extra: Callable[[bytes], None]) -> Outcome:
    def effect(after: bytes) -> None:
        extra(after)
        o.effect(after)
    return evolve(o, effect=effect)


#: The rule that keeps a sure page of a pool, by the pool's persist flag.
_KEEPER = {True: "TMEM-EPH-002", False: "TMEM-EPH-001"}

#: How many contents a handle's dup puts replaced the model remembers (since a get last showed it).
MAX_REPLACED = 8

#: The rules that remove a stored page (a flush, an exclusive get), as recorded in a pool's tombstones.
_REMOVALS = frozenset({"TMEM-FLUSH-001", "TMEM-FLUSH-002", "TMEM-GET-005"})

#: The layouts a host might confuse with its own: (version, word size).
_OTHER_LAYOUTS = (("v0", 64), ("v0", 32), ("v1", 64), ("v1", 32))


def _widen(op: codec.TmemOp, words: int) -> codec.TmemOp:
    """An op decoded with another version's layout, its object id fitted to this host's width."""
    u = op.u
    if isinstance(u, codec.Gen | codec.Ctrl) and len(u.oid) != words:
        return codec.with_fields(op, oid=(tuple(u.oid) + (0,) * words)[:words])
    return op


@lru_cache(maxsize=DECODED_OPS)
def read_op(op: bytes, v: AbiVersion, word_size: int) -> tuple[codec.TmemOp | None, str, bool]:
    """An op as a host of this version reads it: (the op decoded, or None if too short to copy; its
    description; whether it is shorter than the struct). Decoded once per distinct op."""
    lay = layout(v, word_size)
    cmd = int.from_bytes(op[:4], "little") if len(op) >= 4 else None
    if cmd is None or len(op) < lay.needed(cmd):
        return None, "", True
    decoded = codec.unpack(op[:lay.size].ljust(lay.size, b"\0"), v, word_size)
    return decoded, describe(decoded), len(op) < lay.size


@lru_cache(maxsize=8192)
def describe(op: codec.TmemOp) -> str:
    """A one-line reading of an op, for violation messages and step lists (ops repeat: cached)."""
    try:
        name = Cmd(op.cmd).name
    except ValueError:
        name = f"command {op.cmd}"
    u = op.u
    if isinstance(u, codec.Ctrl):
        try:
            sub = Subop(u.subop).name
        except ValueError:
            sub = f"sub-op {u.subop}"
        return (f"CONTROL {sub} cli_id={u.cli_id:#x} pool_id={op.pool_id} arg1={u.arg1} arg2={u.arg2} "
                f"oid={_oid(u.oid)} buf={u.buf}")
    if isinstance(u, codec.Creat):
        return (f"{name} pool_id={op.pool_id} flags={u.flags:#010x} uuid=({u.uuid[0]:#x}, {u.uuid[1]:#x}) "
                f"arg1={u.arg1}")
    extra = f" tmem_offset={u.tmem_offset} pfn_offset={u.pfn_offset} len={u.len}" \
        if op.cmd in (Cmd.READ, Cmd.WRITE) else ""
    return f"{name} pool_id={op.pool_id} oid={_oid(u.oid)} index={u.index} cmfn={u.cmfn}{extra}"


def _oid(oid: Oid) -> str:
    return "(" + ", ".join(f"{w:#x}" for w in oid) + ")"


__all__ = ["ReferenceHost", "describe", "MAX_POOLS_PER_DOMAIN"]


def _put_fates(old: Page | None, page: Page | None, stored: Stored, states: set[tuple[bool, bool]],
               room: bool, full: bool) -> dict[int, object]:
    """What a put may return, each with the handle's fate (a Page, "gone" or "maybe"), over the
    (frozen, live-migrating) states of the clients whose state the host may apply (section 10)."""
    merged: dict[int, object] = {}

    def add(ret: int, fate: object) -> None:
        merged[ret] = fate if merged.get(ret, fate) == fate else "maybe"
    for frozen, live in sorted(states):
        if old is not None:
            if live:
                add(neg(Errno.ENOSPC), "gone")
            elif page is None:
                add(neg(Errno.EFAULT), "maybe")
            else:
                add(1, page)
                if not room:
                    add(neg(Errno.ENOSPC), "gone")
                if stored.einval:
                    add(neg(Errno.EINVAL), "maybe")
        if old is None or not old.sure:
            if frozen:
                add(neg(Errno.EFROZEN), "gone")
                continue
            if not room:
                add(neg(Errno.ENOMEM), "gone")
            if page is None:
                add(neg(Errno.EFAULT), "gone")
                continue
            if not full:
                add(1, page)
            if stored.einval:
                add(neg(Errno.EINVAL), "gone")
    return merged
