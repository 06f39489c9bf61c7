"""The ABI's numbers, written down here from ../shared/tmem-abi.md and Xen's public/tmem.h, not from models/.

Tests that must not trust the model (the candidates' own tests, raw examples, the model's
own tests) take their expected values from here, so that a wrong number in models/abi.py
shows as a failing test instead of agreeing with itself. tests/test_layouts.py checks
models/ against these same facts.
"""

from __future__ import annotations

from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, Ctrl, Gen, TmemOp

PAGE = 4096

# Commands (TMEM_* in tmem.h).
CONTROL, NEW_POOL, DESTROY_POOL, NEW_PAGE, PUT, GET, FLUSH_PAGE, FLUSH_OBJECT = 0, 1, 2, 3, 4, 5, 6, 7
READ, WRITE, XCHG, AUTH, RESTORE_NEW = 8, 9, 10, 101, 102

# CONTROL sub-ops (TMEMC_*).
THAW, FREEZE, FLUSH, SET_WEIGHT, SET_COMPRESS = 0, 1, 2, 5, 7
SAVE_BEGIN, SAVE_GET_VERSION, SAVE_GET_WEIGHT, SAVE_GET_CLIENT_FLAGS = 10, 11, 13, 15
SAVE_GET_POOL_FLAGS, SAVE_GET_POOL_NPAGES, SAVE_GET_POOL_UUID = 16, 17, 18
SAVE_GET_NEXT_PAGE, SAVE_GET_NEXT_INV, SAVE_END = 19, 20, 21
RESTORE_BEGIN, RESTORE_PUT_PAGE, RESTORE_FLUSH_PAGE = 30, 32, 33

#: CONTROL's cli_id for every client.
ALL = 0xFFFF

# NEW_POOL flags: pool kind bits, and the spec version in bits 24-31.
PERSIST, SHARED = 0x1, 0x2
V0_SPEC, V1_SPEC = 0x00000000, 0x01000000

# Return values: negated errno, and tmem's own two.
EPERM, EFAULT, ENOMEM, ENODEV, EINVAL, ENOSPC = -1, -14, -12, -19, -22, -28
EFROZEN, EEMPTY = -1000, -1001


def op(cmd: int, pool_id: int, u: Creat | Ctrl | Gen, v: str = "v1", ws: int = 64) -> bytes:
    """One op in the `v` layout for a `ws`-bit guest (the layouts are checked in tests/test_layouts.py)."""
    return codec.pack(TmemOp(cmd, pool_id, u), v, ws)  # type: ignore[arg-type]
