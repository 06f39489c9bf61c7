"""The reference tmem host: for each hypercall, the set of allowed outcomes.

The host is pure: no I/O, no clock, no randomness. `outcomes()` answers
"which results may a conforming host give here"; `observe()` checks what a
backend gave against that set (naming the rule it breaks if it is not
there) and narrows the model by it. Eviction and memory pressure are the
host's choice, so many ops allow several results; what is never allowed is
data other than the last successful put, a page surviving its flush or its
pool, a persistent page lost while its pool lives, or success on a pool
that does not exist. Sources: tmem-abi.md sections 1-5 and 9.
"""

from __future__ import annotations

from collections.abc import Callable

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
from .errors import ModelError
from .host_state import ZERO_PAGE, Client, HostState, Key, Oid, Page, Pool
from .layouts import layout
from .outcomes import ANY_NEGATIVE, Outcome, Outcomes, Write
from .versions import AbiVersion, version

PRIVILEGED = frozenset({Cmd.CONTROL, Cmd.AUTH, Cmd.RESTORE_NEW})
NO_POOL_CHECK = PRIVILEGED | {Cmd.NEW_POOL, Cmd.DESTROY_POOL}
PUTS = frozenset({Cmd.PUT_PAGE, Cmd.NEW_PAGE, Cmd.WRITE})
GETS = frozenset({Cmd.GET_PAGE, Cmd.READ})


def neg(e: Errno) -> int:
    return -int(e)


class ReferenceHost:
    """The executable specification of one tmem host of a given ABI version."""

    def __init__(self, abi_version: int | str | AbiVersion, capacity_pages: int) -> None:
        if capacity_pages < 0:
            raise ModelError(f"capacity_pages must be 0 or more, not {capacity_pages}")
        self.state = HostState(version(abi_version), capacity_pages)

    @property
    def version(self) -> AbiVersion:
        return self.state.version

    # ------------------------------------------------------------------ entry points
    def outcomes(self, domid: int, word_size: int, op: bytes, memory: bytes) -> Outcomes:
        lay = layout(self.version, word_size)
        cmd = int.from_bytes(op[:4], "little") if len(op) >= 4 else None
        if cmd is None or len(op) < lay.needed(cmd):
            return Outcomes(f"a {len(op)}-byte op buffer from dom{domid}", "TMEM-HC-001",
                            [Outcome.ret(neg(Errno.EFAULT), "TMEM-HC-001", "op cannot be copied")])
        decoded = codec.unpack(bytes(op[:lay.size]).ljust(lay.size, b"\0"), self.version, word_size)
        return self.outcomes_for(domid, decoded, memory)

    def observe(self, domid: int, word_size: int, op: bytes, before: bytes, ret: int,
                after: bytes) -> Outcome:
        """Check one observed hypercall; raises errors.Violation naming the rule it breaks."""
        return self.outcomes(domid, word_size, op, before).observe(ret, before, after)

    def destroy_domain(self, domid: int) -> None:
        client = self.state.clients.pop(domid, None)
        if client is not None:
            for slot in client.used_slots():
                self._leave(client, slot)

    # ------------------------------------------------------------------ dispatch
    def outcomes_for(self, domid: int, op: codec.TmemOp, memory: bytes) -> Outcomes:
        what = f"{describe(op)} from dom{domid}"
        if op.cmd in PRIVILEGED and domid != DOMID_TOOLSTACK:
            return Outcomes(what, "TMEM-HC-004", [Outcome.ret(neg(Errno.EPERM), "TMEM-HC-004",
                                                             "privileged op from a guest")])
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
            client = Client(domid)
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
            return Outcomes(what, "TMEM-HC-002", [Outcome.ret(neg(Errno.ENODEV), "TMEM-HC-002",
                                                             "no such pool")])
        assert isinstance(op.u, codec.Gen)
        g = op.u
        key: Key = (g.oid, g.index)
        if op.cmd in PUTS:
            return self.put_outcomes(what, client, op.pool_id, pool, key,
                                     self._put_source(op.cmd, g, client, memory))
        if op.cmd in GETS:
            return self._get(what, client, pool, key, op.cmd, g, memory)
        if op.cmd == Cmd.FLUSH_PAGE:
            return self.flush_outcomes(what, client, op.pool_id, pool, [key] if key in pool.pages else [])
        if op.cmd == Cmd.FLUSH_OBJECT:
            return self.flush_outcomes(what, client, op.pool_id, pool, pool.keys_of(g.oid))
        return Outcomes(what, "TMEM-HC-003", [Outcome(ANY_NEGATIVE, 0, "TMEM-HC-003",
                                                      "no-op command: 0 or an error, nothing changes")])

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
            return Outcomes(what, bad, [Outcome.ret(neg(Errno.EPERM), bad, "flags refused")])
        if slot is None:
            free = [i for i, p in enumerate(client.slots) if p is None]
            if not free:
                return Outcomes(what, "TMEM-POOL-006", [Outcome.ret(neg(Errno.EPERM), "TMEM-POOL-006",
                                                                   "all 16 slots used")])
            slot, rule = free[0], "TMEM-POOL-005"
        else:
            rule = "TMEM-RESTORE-002"
        persistent = bool(c.flags & PoolFlag.PERSIST)
        shared = bool(c.flags & PoolFlag.SHARED) and c.uuid != (U64_ALL_ONES, U64_ALL_ONES)
        if shared and c.uuid in self.state.shared:
            pool = self.state.shared[c.uuid]
            rule, meaning = "TMEM-SHARED-002", f"slot {slot}, joining the shared pool"
        elif shared and len(self.state.shared) >= MAX_GLOBAL_SHARED_POOLS:
            return Outcomes(what, "TMEM-SHARED-003", [Outcome.ret(neg(Errno.EPERM), "TMEM-SHARED-003",
                                                                 "16 shared pools exist")])
        else:
            pool = Pool(persistent, shared, c.uuid)
            meaning = f"slot {slot}, a new {'shared' if shared else 'private'} " \
                      f"{'persistent' if persistent else 'ephemeral'} pool"

        def create(_: bytes, slot: int = slot, pool: Pool = pool) -> None:
            client.slots[slot] = pool
            pool.users.setdefault(client.domid, set()).add(slot)
            if pool.shared:
                self.state.shared[pool.uuid] = pool
        return Outcomes(what, rule, [Outcome.ret(slot, rule, meaning, create)])

    def _restore_new(self, what: str, pool_id: int, c: codec.Creat) -> Outcomes:
        client = self.state.clients.get(c.arg1 & CLI_ID_NULL)
        if client is None or not 0 <= pool_id < MAX_POOLS_PER_DOMAIN or client.slots[pool_id] is not None:
            return Outcomes(what, "TMEM-RESTORE-002", [Outcome.ret(
                neg(Errno.EPERM), "TMEM-RESTORE-002", "no such client, or the slot is not free")])
        return self._new_pool(what, client, c, slot=pool_id)

    def _destroy_pool(self, what: str, client: Client, pool_id: int) -> Outcomes:
        if not 0 <= pool_id < MAX_POOLS_PER_DOMAIN:
            return Outcomes(what, "TMEM-DESTROY-002", [Outcome.ret(0, "TMEM-DESTROY-002",
                                                                  "pool id out of range: nothing")])
        if client.slots[pool_id] is None:
            return Outcomes(what, "TMEM-DESTROY-001", [Outcome.ret(0, "TMEM-DESTROY-001", "free slot")])
        return Outcomes(what, "TMEM-DESTROY-001", [Outcome.ret(
            1, "TMEM-DESTROY-001", "pool destroyed", lambda _m: self._leave(client, pool_id))])

    def _leave(self, client: Client, slot: int) -> None:
        """Clear a slot; a pool's last user frees it, others keep it (TMEM-SHARED-004)."""
        pool = client.slots[slot]
        client.slots[slot] = None
        client.reported.pop(slot, None)
        if pool is None:
            return
        mine = pool.users.get(client.domid, set())
        mine.discard(slot)
        if mine:
            return
        pool.users.pop(client.domid, None)
        if not pool.users:
            pool.pages.clear()
            if pool.shared and self.state.shared.get(pool.uuid) is pool:
                del self.state.shared[pool.uuid]
            return
        # The host may destroy the objects this client used last: those become uncertain.
        for oid, users in list(pool.touched.items()):
            if client.domid in users:
                for k in pool.keys_of(oid):
                    pool.pages[k] = pool.pages[k].maybe()

    # ------------------------------------------------------------------ puts
    def _put_source(self, cmd: int, g: codec.Gen, client: Client, memory: bytes) -> Page | None:
        """The page a put stores, or None if it must read a cmfn that is not there."""
        if cmd == Cmd.NEW_PAGE:
            return Page(ZERO_PAGE)
        if not 0 <= g.cmfn < len(memory) // PAGE_SIZE:
            return None
        src = memory[g.cmfn * PAGE_SIZE:(g.cmfn + 1) * PAGE_SIZE]
        if cmd == Cmd.PUT_PAGE:
            return Page(bytes(src))
        return window_page(src, g.tmem_offset, g.pfn_offset, g.len, client.compress)

    def put_outcomes(self, what: str, client: Client, slot: int, pool: Pool, key: Key,
                     page: Page | None) -> Outcomes:
        """Allowed results of a put of `page` (None: a bad source, -EFAULT) to `key`."""
        room = self.state.pages_at_most() < self.state.capacity
        full = self.state.pages_at_least() >= self.state.capacity
        old = pool.pages.get(key)
        stored = page if page is None else Page(page.data, page.known, page.whole, pool.persistent)
        # Each path maps a return value to the handle's fate: a Page, "gone" or "maybe".
        paths: list[dict[int, object]] = []
        if old is not None:
            present: dict[int, object] = {}
            if client.live_migrating:
                present[neg(Errno.ENOSPC)] = "gone"
            elif stored is None:
                present[neg(Errno.EFAULT)] = "maybe"
            else:
                present[1] = stored
                if not room:
                    present[neg(Errno.ENOSPC)] = "gone"
            paths.append(present)
        if old is None or not old.sure:
            absent: dict[int, object] = {}
            if client.frozen:
                absent[neg(Errno.EFROZEN)] = "gone"
            else:
                if not room:
                    absent[neg(Errno.ENOMEM)] = "gone"
                if stored is None:
                    absent[neg(Errno.EFAULT)] = "gone"
                elif not full:
                    absent[1] = stored
            paths.append(absent)
        merged: dict[int, object] = {}
        for path in paths:
            for ret, fate in path.items():
                merged[ret] = fate if merged.get(ret, fate) == fate else "maybe"
        rule = "TMEM-PUT-002" if old is not None else "TMEM-PUT-001"
        if old is not None and room and not client.live_migrating and stored is not None:
            rule = "TMEM-PUT-006"
        elif client.frozen and old is None:
            rule = "TMEM-PUT-003"
        elif (room or full) and old is None:
            rule = "TMEM-PUT-006"
        options = [Outcome.ret(ret, rule, _PUT_MEANING.get(ret, "put"),
                               self._fate_effect(client, slot, pool, key, fate))
                   for ret, fate in sorted(merged.items(), reverse=True)]
        return Outcomes(what, rule, options)

    def _fate_effect(self, client: Client, slot: int, pool: Pool, key: Key,
                     fate: object) -> Callable[[bytes], None]:
        def effect(_: bytes) -> None:
            old = pool.pages.get(key)
            if isinstance(fate, Page):
                pool.pages[key] = fate
                pool.touched.setdefault(key[0], set()).add(client.domid)
            elif fate == "gone":
                self._delete(client, slot, pool, key)
            elif old is not None:
                pool.pages[key] = old.maybe()
        return effect

    def _delete(self, client: Client, slot: int, pool: Pool, key: Key) -> None:
        old = pool.pages.pop(key, None)
        if old is not None and pool.persistent and client.live_migrating:
            client.invalidated.append((slot, key[0], key[1], old.sure))
        if not pool.keys_of(key[0]):
            pool.touched.pop(key[0], None)

    # ------------------------------------------------------------------ gets
    def _get(self, what: str, client: Client, pool: Pool, key: Key, cmd: int, g: codec.Gen,
             memory: bytes) -> Outcomes:
        page = pool.pages.get(key)
        if not pool.pages:
            return Outcomes(what, "TMEM-GET-001", [Outcome.ret(neg(Errno.EEMPTY), "TMEM-GET-001",
                                                              "the pool holds no pages")])
        options: list[Outcome] = []
        if pool.sure_pages() == 0:
            options.append(Outcome.ret(neg(Errno.EEMPTY), "TMEM-EPH-001", "every page of the pool dropped",
                                       lambda _m: pool.pages.clear()))
        if page is None or not page.sure:
            def gone(_: bytes) -> None:
                pool.pages.pop(key, None)
            options.append(Outcome.ret(0, "TMEM-GET-002", "miss", gone))
        if page is not None:
            exclusive = pool.ephemeral and not pool.shared
            cmfn_ok = 0 <= g.cmfn < len(memory) // PAGE_SIZE
            if not cmfn_ok:
                options.append(Outcome.ret(neg(Errno.EFAULT), "TMEM-HC-005", "hit, but cmfn is not there"))
            else:
                writes = read_writes(page, cmd, g)
                whole = cmd == Cmd.GET_PAGE or page.whole

                def hit(after: bytes) -> None:
                    if exclusive:
                        pool.pages.pop(key, None)
                    elif whole:
                        start = g.cmfn * PAGE_SIZE
                        pool.pages[key] = page.learn(after[start:start + PAGE_SIZE], page.sure)
                    pool.touched.setdefault(key[0], set()).add(client.domid)
                rule = "TMEM-GET-003" if cmd == Cmd.GET_PAGE else "TMEM-GET-004"
                options.append(Outcome.ret(1, rule, "hit with the last data put" +
                                           (", removing it (exclusive get)" if exclusive else ""),
                                           hit, writes))
        if page is not None and page.sure:
            rule = "TMEM-EPH-002"
        elif page is not None:
            rule = "TMEM-EPH-001"
        else:
            rule = "TMEM-GET-002"
        return Outcomes(what, rule, options)

    # ------------------------------------------------------------------ flushes
    def flush_outcomes(self, what: str, client: Client, slot: int, pool: Pool, keys: list[Key]) -> Outcomes:
        def effect(_: bytes) -> None:
            for k in keys:
                self._delete(client, slot, pool, k)
        if client.frozen:
            return Outcomes(what, "TMEM-FLUSH-003", [Outcome.ret(neg(Errno.EFROZEN), "TMEM-FLUSH-003",
                                                                "frozen: flushed anyway", effect)])
        return Outcomes(what, "TMEM-FLUSH-001", [Outcome.ret(1, "TMEM-FLUSH-001", "flushed", effect)])

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
}


def _then(o: Outcome, extra: Callable[[bytes], None]) -> Outcome:
    def effect(after: bytes) -> None:
        extra(after)
        o.effect(after)
    return Outcome(o.lo, o.hi, o.rule, o.meaning, o.writes, o.regions, effect)


def window_ok(tmem_offset: int, pfn_offset: int, length: int) -> bool:
    return tmem_offset + length <= PAGE_SIZE and pfn_offset + length <= PAGE_SIZE


def window_page(src: bytes, tmem_offset: int, pfn_offset: int, length: int, compress: bool) -> Page:
    """What WRITE (and RESTORE_PUT_PAGE) stores: TMEM-PUT-005."""
    if tmem_offset == pfn_offset == length == 0:
        return Page(ZERO_PAGE)
    if compress:
        return Page(bytes(src[:PAGE_SIZE].ljust(PAGE_SIZE, b"\0")), whole=True)
    if not window_ok(tmem_offset, pfn_offset, length) or pfn_offset + length > len(src):
        return Page(ZERO_PAGE, known=ZERO_PAGE)
    data = bytearray(PAGE_SIZE)
    data[tmem_offset:tmem_offset + length] = src[pfn_offset:pfn_offset + length]
    known = bytearray(PAGE_SIZE)
    known[tmem_offset:tmem_offset + length] = b"\1" * length
    return Page(bytes(data), bytes(known))


def read_writes(page: Page, cmd: int, g: codec.Gen) -> tuple[Write, ...]:
    """What a hit copies into the caller's memory: TMEM-GET-003, TMEM-GET-004."""
    base = g.cmfn * PAGE_SIZE
    if cmd == Cmd.GET_PAGE or page.whole:
        return (Write(base, page.data, page.known),)
    if g.len == 0 or not window_ok(g.tmem_offset, g.pfn_offset, g.len):
        return ()
    sl = slice(g.tmem_offset, g.tmem_offset + g.len)
    return (Write(base + g.pfn_offset, page.data[sl], None if page.known is None else page.known[sl]),)


def describe(op: codec.TmemOp) -> str:
    """A one-line reading of an op, for violation messages and step lists."""
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


__all__ = ["ReferenceHost", "describe", "window_page", "read_writes", "MAX_POOLS_PER_DOMAIN"]
