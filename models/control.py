"""TMEM_CONTROL sub-ops of the reference host: tmem-abi.md section 5, with section 9's fixes
and section 10's choices (SAVE_GET_NEXT_INV's degenerate cases, the order of saved pages).

Every sub-op names its target client in `cli_id` (a domid; 0xFFFF means
all clients where the sub-op supports it) and, for pool sub-ops, the slot
in the op's `pool_id`.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import Protocol

from . import codec
from .abi import CLI_ID_NULL, MAX_POOLS_PER_DOMAIN, PAGE_SIZE, ClientFlag, Errno, Subop
from .host_state import Client, HostState, Key, Oid, Page, Pool
from .layouts import layout
from .outcomes import ANY_NEGATIVE, ANY_POSITIVE, Outcome, Outcomes, Region, Write
from .pages import RESTORED, Stored, consistent, window_store
from .versions import VERSIONS, AbiVersion


class ControlledHost(Protocol):
    """What the sub-ops read and change of the reference host (models/host.py's ReferenceHost calls them):
    its state, its version, and its own put and flush (RESTORE_PUT_PAGE and RESTORE_FLUSH_PAGE)."""

    state: HostState

    @property
    def version(self) -> AbiVersion: ...

    def put_outcomes(self, what: str, client: Client, slot: int, pool: Pool, key: Key,
                     stored: Stored) -> Outcomes: ...

    def flush_outcomes(self, what: str, client: Client, slot: int, pool: Pool, keys: list[Key], rule: str,
                       neighbours_of: Oid | None = None, index: int | None = None) -> Outcomes: ...


Handler = Callable[[ControlledHost, str, int, codec.Ctrl, bytes], Outcomes]


def _one(what: str, rule: str, ret: int, meaning: str,
         effect: Callable[[bytes], None] | None = None, writes: tuple[Write, ...] = ()) -> Outcomes:
    o = Outcome.ret(ret, rule, meaning, effect, writes) if effect else Outcome.ret(ret, rule, meaning,
                                                                                   writes=writes)
    return Outcomes(what, rule, [o])


def _targets(host: ControlledHost, c: codec.Ctrl) -> list[Client] | None:
    """The clients a sub-op acts on: all for 0xFFFF, the named one, or None if it does not exist."""
    cli = c.cli_id & CLI_ID_NULL
    if cli == CLI_ID_NULL:
        return list(host.state.clients.values())
    client = host.state.clients.get(cli)
    return None if client is None else [client]


def _client(host: ControlledHost, c: codec.Ctrl) -> Client | None:
    return host.state.clients.get(c.cli_id & CLI_ID_NULL)


def _no_client(host: ControlledHost, c: codec.Ctrl, rule: str) -> str:
    """The rule a "no such client" answer checks: a destroyed domain's client is gone (TMEM-DESTROY-003);
    a domain the toolstack only probed before a restore must still have none (TMEM-MIG-002)."""
    cli = c.cli_id & CLI_ID_NULL
    if cli in host.state.destroyed:
        return "TMEM-DESTROY-003"
    return "TMEM-MIG-002" if cli in host.state.probed else rule


def _missing(client: Client | None) -> dict[int, str]:
    """A "no such client" answer (-1) for a client that exists only by its first call breaks TMEM-HC-007."""
    return {-1: "TMEM-HC-007"} if client is not None and client.implicit and not client.used_slots() else {}


def _in_memory(memory: bytes, offset: int, length: int) -> bool:
    return 0 <= offset and offset + length <= len(memory)


def _for_each(rule: str, meaning: str, apply: Callable[[Client, codec.Ctrl], None]) -> Handler:
    def handler(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
        targets = _targets(host, c)
        if targets is None:
            return _one(what, _no_client(host, c, rule), -1, "no such client")

        def effect(_: bytes) -> None:
            for t in targets:
                apply(t, c)
        result = _one(what, rule, 0, meaning, effect)
        result.by_ret.update(_missing(_client(host, c)))
        return result
    return handler


def _set(attr: str, value: Callable[[codec.Ctrl], object]) -> Callable[[Client, codec.Ctrl], None]:
    def apply(client: Client, c: codec.Ctrl) -> None:
        setattr(client, attr, value(c))
    return apply


def _freeze(client: Client, c: codec.Ctrl) -> None:
    client.frozen, client.thawed_by_save_end, client.frozen_by = True, False, ""


def _thaw(client: Client, c: codec.Ctrl) -> None:
    client.frozen, client.frozen_by = False, ""


def _int32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _flush(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    if c.cli_id & CLI_ID_NULL != CLI_ID_NULL:
        return _one(what, "TMEM-CTRL-003", -1, "FLUSH names one client")
    return Outcomes(what, "TMEM-CTRL-003", [Outcome(0, ANY_POSITIVE, "TMEM-CTRL-003", "KB flushed",
                                                    effect=lambda _m: host.state.may_evict())])


def _list(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    rule = "TMEM-CTRL-002"
    start, end = max(0, c.buf), min(len(memory), c.buf + c.arg1)
    options = [Outcome(0, 0, rule, "statistics written", regions=(Region(start, max(0, end - start)),))]
    if _targets(host, c) is None:
        options.append(Outcome.ret(-1, rule, "no such client"))
    if not _in_memory(memory, c.buf, c.arg1):
        options.append(Outcome.ret(-int(Errno.EFAULT), "TMEM-HC-005", "buffer outside memory"))
    return Outcomes(what, rule, options)


def _freeable(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    return Outcomes(what, "TMEM-CTRL-004", [Outcome(0, ANY_POSITIVE, "TMEM-CTRL-004", "freeable MB")])


def _save_begin(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    client = _client(host, c)
    if client is None or not client.used_slots():
        return _one(what, "TMEM-SAVE-001", 0, "nothing to save")

    def begin(_: bytes) -> None:
        if not client.frozen:
            client.frozen_by = "TMEM-SAVE-001"  # a put or flush that is not refused names SAVE_BEGIN
        client.was_frozen, client.frozen = client.frozen, True
        client.live_migrating = client.live_migrating or c.arg1 != 0  # only SAVE_END clears it
        client.thawed_by_save_end = False
        client.reported.clear()
    return _one(what, "TMEM-SAVE-001", 1, "save begun: client frozen", begin)


def _constant(rule: str, value: Callable[[ControlledHost], int], meaning: str) -> Handler:
    """A host-wide number, for any cli_id. Asked for a domain with no client it is a restore's probe:
    a wrong answer refuses or admits a stream of the wrong version (TMEM-STREAM-002)."""
    def handler(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
        cli = c.cli_id & CLI_ID_NULL
        if cli == CLI_ID_NULL or cli in host.state.clients:
            return _one(what, rule, value(host), meaning)
        return _one(what, "TMEM-STREAM-002", value(host), meaning, lambda _m: host.state.probed.add(cli))
    return handler


def _client_value(value: Callable[[Client], int], meaning: str) -> Handler:
    def handler(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
        client = _client(host, c)
        if client is None:
            return _one(what, _no_client(host, c, "TMEM-SAVE-003"), -1, "no such client")
        result = _one(what, "TMEM-STREAM-004" if client.restored else "TMEM-SAVE-003", value(client), meaning)
        result.by_ret.update(_missing(client))
        return result
    return handler


def _reported_as(v: int) -> int:
    return -2 if v == -1 else v


def _pool_of(host: ControlledHost, c: codec.Ctrl, pool_id: int) -> tuple[Client, Pool] | None:
    client = _client(host, c)
    if client is None or not 0 <= pool_id < MAX_POOLS_PER_DOMAIN:
        return None
    pool = client.slots[pool_id]
    return None if pool is None else (client, pool)


def _pool_value(rule: str, value: Callable[[ControlledHost, Pool], int], meaning: str) -> Handler:
    def handler(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
        found = _pool_of(host, c, pool_id)
        if found is None:
            return _one(what, rule, -1, "no such pool")
        pool = found[1]
        options = [Outcome.ret(value(host, pool), rule, meaning)]
        if rule == "TMEM-SAVE-005":
            # An uncertain page may or may not still be counted.
            options = [Outcome(pool.sure_pages(), len(pool.pages), rule, meaning)]
        if rule == "TMEM-SAVE-004" and "pool-flags-without-version" in host.state.tolerated:
            bare = value(host, pool) & ~(0xFF << 24)
            if bare != options[0].lo:
                options.append(Outcome.ret(bare, rule, "pool flags without the spec version")
                               .as_deviation("pool-flags-without-version"))
        return Outcomes(what, rule, options)
    return handler


def _pool_uuid(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    found = _pool_of(host, c, pool_id)
    if found is None:
        return _one(what, "TMEM-SAVE-006", -1, "no such pool")
    if not _in_memory(memory, c.buf, 16):
        return _one(what, "TMEM-HC-005", -int(Errno.EFAULT), "buffer outside memory")
    data = struct.pack("<QQ", *found[1].uuid)
    result = _one(what, "TMEM-SAVE-006", 0, "uuid written", writes=(Write(c.buf, data),))
    if "uuid-falls-through" in host.state.tolerated:  # and on into SAVE_END's body (history.py)
        result.options.append(Outcome.ret(0, "TMEM-SAVE-006", "uuid written, then the save ended",
                                          _ended(found[0]), (Write(c.buf, data),)).as_deviation("uuid-falls-through"))
    return result


def _next_page(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    rule = "TMEM-SAVE-007"
    found = _pool_of(host, c, pool_id)
    if found is None or found[1].ephemeral:
        return _one(what, rule, -1, "no persistent pool there")
    client, pool = found
    hsize = layout(host.version, 64).handle.size
    if c.arg1 < PAGE_SIZE + hsize:
        return _one(what, rule, -int(Errno.ENOMEM), "buffer too small for a handle and a page")
    if not _in_memory(memory, c.buf, PAGE_SIZE + hsize):
        return _one(what, "TMEM-HC-005", -int(Errno.EFAULT), "buffer outside memory")
    reported = client.reported.setdefault(pool_id, set())
    left = [k for k in pool.pages if k not in reported]
    result = Outcomes(what, rule, _reports(host.version, c.buf, hsize, pool_id, pool, left, reported))
    if all(not pool.pages[k].sure for k in left):
        def end(_: bytes) -> None:
            for k in left:
                pool.pages.pop(k, None)
            client.reported.pop(pool_id, None)
            client.saved_slots.add(pool_id)
        result.options.append(Outcome.ret(-1, rule, "every page reported", end))
    elif "save-skips-first-page" in host.state.tolerated and (
            len(left) == 1 or (pool_id in client.saved_slots and not reported)):
        def skip(_: bytes) -> None:  # the stream goes without them: history.py
            client.reported.pop(pool_id, None)
            client.saved_slots.add(pool_id)
        # The skipped page may have been copied out before the iterator moved on: the buffer is the host's.
        result.options.append(Outcome.ret(-1, rule, "the end, with the pool's first page (or, saved before, "
                                          "every page) unreported", skip, regions=(Region(c.buf, hsize + PAGE_SIZE),))
                              .as_deviation("save-skips-first-page"))
    for row in VERSIONS.values():  # a handle in another version's layout
        if row.name != host.version.name and layout(row, 64).handle.size <= hsize + PAGE_SIZE:
            result.diagnoses.append(("TMEM-LAYOUT-001", f"the handle is in the {row.name} layout",
                                     functools.partial(_reports, row, c.buf, layout(row, 64).handle.size,
                                                       pool_id, pool, left, None)))
    result.diagnoses.append(("TMEM-STREAM-001", "the page is right but its handle is not, so the stream would "
                             "carry it under another pool, object or index",
                             lambda: _reports(host.version, c.buf, hsize, pool_id, pool, left, None,
                                              handle_known=False)))
    return result


def _reports(row: AbiVersion, buf: int, hsize: int, pool_id: int, pool: Pool, left: list[Key],
             reported: set[Key] | None, handle_known: bool = True) -> list[Outcome]:
    """One outcome per page not yet reported (any order is the host's choice; each page once, section 10)
    and per candidate of its bytes. `reported` None: outcomes for a diagnosis only, without effects."""
    options = []
    for key in left:
        page = pool.pages[key]
        oid = (tuple(key[0]) + (0,) * row.oid_words)[:row.oid_words]
        handle = codec.pack_handle(codec.TmemHandle(pool_id, key[1], oid), row)
        hmask = None if handle_known else bytes(len(handle))

        def writes_of(p: Page, handle: bytes = handle, hmask: bytes | None = hmask) -> tuple[Write, ...]:
            return (Write(buf, handle, hmask), Write(buf + hsize, p.data, p.known))

        def report(after: bytes, key: Key = key, page: Page = page, writes_of: object = writes_of) -> None:
            assert reported is not None
            reported.add(key)
            start = buf + hsize
            seen = consistent(page, writes_of, after)
            pool.pages[key] = seen.learn(after[start:start + PAGE_SIZE], True)
        shown: list[tuple[Write, ...]] = []
        for cand in page.candidates():
            writes = writes_of(cand)
            if writes not in shown:
                shown.append(writes)
                options.append(Outcome.ret(1, "TMEM-SAVE-007", f"page oid={key[0]} index={key[1]} reported",
                                           report if reported is not None else _nothing, writes))
    return options


def _nothing(_: bytes) -> None:
    return None


def _next_inv(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    rule = "TMEM-SAVE-008"
    client = _client(host, c)
    if client is None:  # section 10: 0 (Xen) or -1
        return Outcomes(what, rule, [Outcome.ret(-1, rule, "no such client"),
                                     Outcome.ret(0, rule, "no such client: nothing to report")])
    hsize = layout(host.version, 64).handle.size
    if c.arg1 < hsize:  # section 10: 0 (Xen) or -ENOMEM, nothing written
        return Outcomes(what, rule, [Outcome.ret(-int(Errno.ENOMEM), rule, "buffer too small for a handle"),
                                     Outcome.ret(0, rule, "buffer too small: nothing reported")])
    if not _in_memory(memory, c.buf, hsize):
        return _one(what, "TMEM-HC-005", -int(Errno.EFAULT), "buffer outside memory")
    options = []
    seen = set()
    for i, (slot, oid, index, _sure) in enumerate(client.invalidated):
        if (slot, oid, index) in seen:
            continue
        seen.add((slot, oid, index))
        handle = codec.pack_handle(codec.TmemHandle(slot, index, oid), host.version)
        def take(_: bytes, i: int = i) -> None:
            client.invalidated.pop(i)
        options.append(Outcome.ret(1, rule, f"invalidated pool {slot} oid={oid} index={index}", take,
                                   (Write(c.buf, handle),)))
    if not any(sure for *_, sure in client.invalidated):
        options.append(Outcome.ret(0, rule, "end of the invalidated list",
                                   lambda _m: client.invalidated.clear()))
    return Outcomes(what, rule, options)


def _save_end(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    client = _client(host, c)
    if client is None:
        return _one(what, _no_client(host, c, "TMEM-SAVE-009"), -1, "no such client")

    return _one(what, "TMEM-SAVE-009", 0, "save ended", _ended(client))


def _ended(client: Client) -> Callable[[bytes], None]:
    """SAVE_END's body: the live save stops, the client is as frozen as before SAVE_BEGIN."""
    def end(_: bytes) -> None:
        client.live_migrating = False
        client.invalidated.clear()
        client.frozen = client.was_frozen
        client.thawed_by_save_end = not client.frozen
        client.frozen_by = ""
        client.reported.clear()
    return end


def _restore_begin(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    cli = c.cli_id & CLI_ID_NULL
    if cli == CLI_ID_NULL or cli in host.state.clients:
        return _one(what, "TMEM-RESTORE-001", -1, "client exists")
    def create(_: bytes) -> None:
        host.state.clients.setdefault(cli, Client(cli, restored=True))
    result = _one(what, "TMEM-RESTORE-001", 1, "client created", create)
    if cli in host.state.destroyed:  # "exists": the destroyed domain's client was kept
        result.by_ret[-1] = "TMEM-DESTROY-003"
    return result


def _restore_put(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    """A WRITE of arg1 bytes from buf at offset 0 (TMEM-RESTORE-003)."""
    def put(client: Client, pool: Pool, key: Key) -> Outcomes:
        src = bytes(memory[c.buf:c.buf + c.arg1]) if _in_memory(memory, c.buf, c.arg1) else None
        stored = window_store(src, 0, 0, c.arg1, client.compress, pool.pages.get(key), RESTORED)
        return host.put_outcomes(what, client, pool_id, pool, key, stored)
    return _on_restored_page(host, what, pool_id, c, put)


def _restore_flush(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    def flush(client: Client, pool: Pool, key: Key) -> Outcomes:
        return host.flush_outcomes(what, client, pool_id, pool, [key] if key in pool.pages else [], RESTORED)
    return _on_restored_page(host, what, pool_id, c, flush)


def _on_restored_page(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl,
                      then: Callable[[Client, Pool, Key], Outcomes]) -> Outcomes:
    """A restore sub-op on the page (oid, arg2) of the named client's pool: -1 if there is no such pool."""
    found = _pool_of(host, c, pool_id)
    if found is None:
        return _one(what, "TMEM-RESTORE-003", -1, "no such pool")
    client, pool = found
    return then(client, pool, (c.oid, c.arg2))


HANDLERS: dict[int, Handler] = {
    Subop.THAW: _for_each("TMEM-CTRL-001", "thawed", _thaw),
    Subop.FREEZE: _for_each("TMEM-CTRL-001", "frozen", _freeze),
    Subop.FLUSH: _flush,
    Subop.DESTROY: _for_each("TMEM-CTRL-001", "thawed", _thaw),
    Subop.LIST: _list,
    Subop.SET_WEIGHT: _for_each("TMEM-CTRL-002", "weight set", _set("weight", lambda c: _int32(c.arg1))),
    Subop.SET_CAP: _for_each("TMEM-CTRL-002", "cap set", _set("cap", lambda c: _int32(c.arg1))),
    Subop.SET_COMPRESS: _for_each("TMEM-CTRL-002", "compression set", _set("compress", lambda c: c.arg1 != 0)),
    Subop.QUERY_FREEABLE_MB: _freeable,
    Subop.SAVE_BEGIN: _save_begin,
    Subop.SAVE_GET_VERSION: _constant("TMEM-SAVE-002", lambda h: h.version.spec, "the host's spec version"),
    Subop.SAVE_GET_MAXPOOLS: _constant("TMEM-SAVE-002", lambda h: MAX_POOLS_PER_DOMAIN, "16"),
    Subop.SAVE_GET_CLIENT_WEIGHT: _client_value(lambda cl: _reported_as(cl.weight), "weight"),
    Subop.SAVE_GET_CLIENT_CAP: _client_value(lambda cl: _reported_as(cl.cap), "cap"),
    Subop.SAVE_GET_CLIENT_FLAGS: _client_value(
        lambda cl: (ClientFlag.COMPRESS if cl.compress else 0) | (ClientFlag.FROZEN if cl.was_frozen else 0),
        "client flags"),
    Subop.SAVE_GET_POOL_FLAGS: _pool_value("TMEM-SAVE-004", lambda h, p: p.flags(h.version.spec),
                                           "pool flags with the spec version"),
    Subop.SAVE_GET_POOL_NPAGES: _pool_value("TMEM-SAVE-005", lambda h, p: len(p.pages), "page count"),
    Subop.SAVE_GET_POOL_UUID: _pool_uuid,
    Subop.SAVE_GET_NEXT_PAGE: _next_page,
    Subop.SAVE_GET_NEXT_INV: _next_inv,
    Subop.SAVE_END: _save_end,
    Subop.RESTORE_BEGIN: _restore_begin,
    Subop.RESTORE_PUT_PAGE: _restore_put,
    Subop.RESTORE_FLUSH_PAGE: _restore_flush,
}


def control_outcomes(host: ControlledHost, what: str, pool_id: int, c: codec.Ctrl, memory: bytes) -> Outcomes:
    handler = HANDLERS.get(c.subop)
    if c.subop in host.version.retired_subops:  # reserved for ever: an unassigned sub-op
        return Outcomes(what, "TMEM-ABI-001", [Outcome.ret(-1, "TMEM-ABI-001", f"sub-op {c.subop}, retired")])
    if handler is None:
        return Outcomes(what, "TMEM-CTRL-004", [Outcome.ret(-1, "TMEM-CTRL-004", "unassigned sub-op")])
    return handler(host, what, pool_id, c, memory)


__all__ = ["control_outcomes", "HANDLERS", "ANY_NEGATIVE"]
