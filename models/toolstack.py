"""The toolstack (libxc's role): save a client's tmem state to a stream and restore it, by hypercalls only.

It reaches a host only through `HostPort`, the same interface every
backend implements, so the stream format is this one piece of code and
every backend is tested through it. Restore checks the whole stream and
the destination's version before it changes anything, and on a later
failure destroys the half-restored client, so a refused restore leaves
the destination as it was (TMEM-STREAM-002, TMEM-STREAM-003).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from . import codec
from .abi import (
    DOMID_TOOLSTACK,
    MAX_POOLS_PER_DOMAIN,
    PAGE_SIZE,
    ClientFlag,
    Cmd,
    PoolFlag,
    Subop,
)
from .errors import StreamError
from .layouts import layout
from .stream import SavedClient, SavedPage, SavedPool, decode, encode_extra, encode_main
from .versions import AbiVersion, version

TOOLSTACK_WORD = 64
BUF = 0  # the toolstack's buffer starts at byte 0 of its own memory


class HostPort(Protocol):
    """What the toolstack needs of a host: the backend interface."""

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int: ...

    def destroy_domain(self, domid: int) -> None: ...


@dataclass
class Toolstack:
    """Domain 0's tmem tools for one host of a known version (libxc is built against its headers)."""

    host: HostPort
    abi_version: AbiVersion

    def __init__(self, host: HostPort, abi_version: int | str | AbiVersion) -> None:
        self.host = host
        self.abi_version = version(abi_version)
        self.hsize = layout(self.abi_version, TOOLSTACK_WORD).handle.size
        self.memory = bytearray(2 * PAGE_SIZE)
        #: the control ops packed so far (a save asks the same few questions of every client and pool)
        self._packed = codec.packed_ops(self.abi_version, TOOLSTACK_WORD)

    # ------------------------------------------------------------------ hypercalls
    def control(self, subop: int, cli_id: int, *, pool_id: int = 0, arg1: int = 0, arg2: int = 0,
                oid: tuple[int, ...] = (), buf: int = BUF) -> int:
        raw = self._packed.get((subop, cli_id, pool_id, arg1, arg2, oid, buf), lambda: codec.TmemOp(
            Cmd.CONTROL, pool_id, codec.Ctrl(subop, cli_id, arg1, arg2, oid, buf)))
        return self.host.hypercall(DOMID_TOOLSTACK, TOOLSTACK_WORD, raw, self.memory)

    def restore_new(self, domid: int, pool: SavedPool) -> int:
        op = codec.TmemOp(Cmd.RESTORE_NEW, pool.pool_id, codec.Creat(pool.uuid, pool.flags, domid))
        return self.host.hypercall(DOMID_TOOLSTACK, TOOLSTACK_WORD,
                                   codec.pack(op, self.abi_version, TOOLSTACK_WORD), self.memory)

    # ------------------------------------------------------------------ save
    def save_begin(self, domid: int, live: bool) -> bool:
        return self.control(Subop.SAVE_BEGIN, domid, arg1=int(live)) > 0

    def save_main(self, domid: int) -> SavedClient:
        """Read the client's state after a successful SAVE_BEGIN (xc_tmem_save)."""
        ver = self.control(Subop.SAVE_GET_VERSION, domid)
        max_pools = self.control(Subop.SAVE_GET_MAXPOOLS, domid)
        if ver < 0 or not 0 < max_pools <= MAX_POOLS_PER_DOMAIN:
            raise StreamError(f"source host answered version {ver} and max_pools {max_pools}")
        flags = self.control(Subop.SAVE_GET_CLIENT_FLAGS, domid)
        weight = self.control(Subop.SAVE_GET_CLIENT_WEIGHT, domid)
        cap = self.control(Subop.SAVE_GET_CLIENT_CAP, domid)
        pools = []
        for slot in range(max_pools):
            pflags = self.control(Subop.SAVE_GET_POOL_FLAGS, domid, pool_id=slot)
            if pflags == -1:
                continue
            n_pages = self.control(Subop.SAVE_GET_POOL_NPAGES, domid, pool_id=slot) \
                if pflags & PoolFlag.PERSIST else 0
            self.control(Subop.SAVE_GET_POOL_UUID, domid, pool_id=slot, arg1=16)
            uuid = struct.unpack_from("<QQ", self.memory, BUF)
            pages = []
            for _ in range(max(0, n_pages)):
                got = self.control(Subop.SAVE_GET_NEXT_PAGE, domid, pool_id=slot,
                                   arg1=len(self.memory))
                if got < 0:
                    break
                if got > 0:
                    h = codec.unpack_handle(self.memory[BUF:BUF + self.hsize], self.abi_version)
                    data = bytes(self.memory[BUF + self.hsize:BUF + self.hsize + PAGE_SIZE])
                    pages.append(SavedPage(h.oid, h.index, data))
            pools.append(SavedPool(slot, pflags, max(0, n_pages), (uuid[0], uuid[1]), tuple(pages)))
        return SavedClient(ver, max_pools, flags, weight, cap, tuple(pools))

    def save_extra(self, domid: int) -> tuple[tuple[int, tuple[int, ...], int], ...]:
        """The pages deleted during a live save (xc_tmem_save_extra)."""
        out = []
        while self.control(Subop.SAVE_GET_NEXT_INV, domid, arg1=self.hsize) > 0:
            h = codec.unpack_handle(self.memory[BUF:BUF + self.hsize], self.abi_version)
            out.append((h.pool_id, h.oid, h.index))
        return tuple(out)

    def save_done(self, domid: int) -> None:
        self.control(Subop.SAVE_END, domid)

    def save(self, domid: int, live: bool = False, meanwhile: Callable[[], None] | None = None,
             begun: Callable[[], None] | None = None) -> bytes:
        """The whole tmem part of a save image: b"" when the client has nothing to save.

        `begun` runs right after a successful SAVE_BEGIN (the guest still running, now frozen);
        `meanwhile` runs between the main block and the extra block: in a live migration the
        guest keeps running there, and the pages it deletes go into the extra block.
        """
        if not self.save_begin(domid, live):
            return b""
        try:
            if begun is not None:
                begun()
            saved = self.save_main(domid)
            data = encode_main(saved)
            if meanwhile is not None:
                meanwhile()
            if live:
                data += encode_extra(SavedClient(saved.version, saved.max_pools, 0, 0, 0,
                                                 invalidated=self.save_extra(domid)))
        finally:
            self.save_done(domid)
        return data

    # ------------------------------------------------------------------ restore
    def restore(self, domid: int, data: bytes) -> SavedClient | None:
        """Restore a stream into a domain of this host, or raise StreamError leaving it as it was.

        An empty stream is a client that had nothing to save: there is nothing to restore.
        """
        if not data:
            return None
        saved = decode(data)
        here = self.control(Subop.SAVE_GET_VERSION, domid)
        if here != saved.version:
            raise StreamError(f"refused: the stream is tmem version {saved.version}, the destination host "
                              f"is version {here}; migration between tmem versions is not supported")
        max_pools = self.control(Subop.SAVE_GET_MAXPOOLS, domid)
        if max_pools != saved.max_pools:
            raise StreamError(f"refused: the stream has {saved.max_pools} pool slots, the destination "
                              f"{max_pools}")
        if self.control(Subop.RESTORE_BEGIN, domid) < 0:
            raise StreamError(f"refused: domain {domid} already has a tmem client on the destination")
        try:
            self._replay(domid, saved)
        except StreamError:
            self.host.destroy_domain(domid)
            raise
        return saved

    def _replay(self, domid: int, saved: SavedClient) -> None:
        if saved.client_flags & ClientFlag.COMPRESS:
            self._expect(self.control(Subop.SET_COMPRESS, domid, arg1=1) == 0, "SET_COMPRESS")
        for pool in saved.pools:
            got = self.restore_new(domid, pool)
            self._expect(got == pool.pool_id, f"RESTORE_NEW of pool {pool.pool_id} (returned {got})")
            for page in pool.pages:
                self.memory[BUF:BUF + PAGE_SIZE] = page.data
                got = self.control(Subop.RESTORE_PUT_PAGE, domid, pool_id=pool.pool_id, arg1=PAGE_SIZE,
                                   arg2=page.index, oid=page.oid)
                self._expect(got > 0, f"RESTORE_PUT_PAGE of pool {pool.pool_id} oid {page.oid} index "
                                      f"{page.index} (returned {got})")
        for pool_id, oid, index in saved.invalidated or ():
            got = self.control(Subop.RESTORE_FLUSH_PAGE, domid, pool_id=pool_id, arg2=index, oid=oid)
            self._expect(got > 0, f"RESTORE_FLUSH_PAGE of pool {pool_id} (returned {got})")
        # Section 9: the saved weight and cap are re-applied; freezing comes last so pages replay.
        self._expect(self.control(Subop.SET_WEIGHT, domid, arg1=_as_u32(saved.weight)) == 0, "SET_WEIGHT")
        self._expect(self.control(Subop.SET_CAP, domid, arg1=_as_u32(saved.cap)) == 0, "SET_CAP")
        if saved.client_flags & ClientFlag.FROZEN:
            self._expect(self.control(Subop.FREEZE, domid) == 0, "FREEZE")

    @staticmethod
    def _expect(ok: bool, what: str) -> None:
        if not ok:
            raise StreamError(f"restore aborted: the destination refused {what}")


def _as_u32(v: int) -> int:
    """Weight and cap are reported with -1 as -2 (tmem.c); put back what was set."""
    return (-1 if v == -2 else v) & 0xFFFFFFFF
