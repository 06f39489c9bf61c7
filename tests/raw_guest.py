"""A domain as the tests that must not trust models/ drive a host: raw ops, its own memory.

Ops are packed with models.codec.pack (the layouts are checked on their own in
tests/test_layouts.py), never decided by the model; values the tests expect
are literals from tmem-abi.md in each test module.
"""

from __future__ import annotations

import struct
from typing import Any

from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, Ctrl, Gen, TmemOp

from .abi_literals import CONTROL, NEW_POOL, PAGE, V0_SPEC, V1_SPEC


def pattern(seed: int) -> bytes:
    """A page no other seed below 251 gives."""
    return bytes((seed + i) % 251 for i in range(PAGE))


class Guest:
    """One domain: its memory, and ops packed in the host's layout for its word size."""

    def __init__(self, host: Any, domid: int, v: str, ws: int = 64, pages: int = 8) -> None:
        self.host, self.domid, self.v, self.ws = host, domid, v, ws
        self.words = 1 if v == "v0" else 3
        self.spec = V0_SPEC if v == "v0" else V1_SPEC
        self.memory = bytearray(pages * PAGE)

    def call(self, op: TmemOp) -> int:
        return self.host.hypercall(self.domid, self.ws, codec.pack(op, self.v, self.ws), self.memory)

    def oid(self, low: int) -> tuple[int, ...]:
        return (low,) + (0,) * (self.words - 1)

    def new_pool(self, flags: int, uuid: tuple[int, int] = (0, 0)) -> int:
        """NEW_POOL with exactly these flags (the spec version bits included)."""
        return self.call(TmemOp(NEW_POOL, 0, Creat(uuid, flags, 0)))

    def new_own_pool(self, flags: int, uuid: tuple[int, int] = (0, 0)) -> int:
        """NEW_POOL with the guest's own spec version added to the flags."""
        return self.new_pool(self.spec | flags, uuid)

    def gen(self, cmd: int, pool: int, low: int, index: int = 0, cmfn: int = 0,
            toff: int = 0, poff: int = 0, length: int = 0) -> int:
        return self.call(TmemOp(cmd, pool, Gen(self.oid(low), index, toff, poff, length, cmfn)))

    def page(self, cmfn: int) -> bytes:
        return bytes(self.memory[cmfn * PAGE:(cmfn + 1) * PAGE])

    def fill(self, cmfn: int, data: bytes) -> None:
        self.memory[cmfn * PAGE:(cmfn + 1) * PAGE] = data


class Toolstack(Guest):
    """Domain 0 issuing control sub-ops."""

    def __init__(self, host: Any, v: str, ws: int = 64, pages: int = 4) -> None:
        super().__init__(host, 0, v, ws, pages=pages)

    def ctrl(self, subop: int, cli_id: int, pool_id: int = 0, arg1: int = 0, arg2: int = 0,
             oid: tuple[int, ...] | None = None, buf: int = 0) -> int:
        oid = oid if oid is not None else (0,) * self.words
        return self.call(TmemOp(CONTROL, pool_id, Ctrl(subop, cli_id, arg1, arg2, oid, buf)))

    def handle(self, at: int = 0) -> tuple[int, int, int]:
        """(pool_id, index, oid low word) of a struct tmem_handle written at `at`."""
        pool_id, index = struct.unpack_from("<II", self.memory, at)
        oid = struct.unpack_from(f"<{self.words}Q", self.memory, at + 8)
        assert oid[1:] == (0,) * (self.words - 1)
        return pool_id, index, oid[0]
