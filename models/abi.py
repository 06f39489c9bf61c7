"""tmem ABI constants: commands, control sub-ops, errors, pool flags.

Source: xen/include/public/tmem.h and xen/common/tmem.c at RELEASE-4.0.0
(v0) and RELEASE-4.1.0 (v1). The numbers are the same in both versions;
what a version adds or rejects is a column of `versions.VERSIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType

HYPERCALL_NR = 38  # __HYPERVISOR_tmem_op
PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
MAX_POOLS_PER_DOMAIN = 16
MAX_GLOBAL_SHARED_POOLS = 16
MAX_AUTH_UUIDS = 16
CLI_ID_NULL = 0xFFFF
DOMID_TOOLSTACK = 0
U32_ALL_ONES = 0xFFFFFFFF
U64_ALL_ONES = (1 << 64) - 1


class Cmd(IntEnum):
    CONTROL = 0
    NEW_POOL = 1
    DESTROY_POOL = 2
    NEW_PAGE = 3
    PUT_PAGE = 4
    GET_PAGE = 5
    FLUSH_PAGE = 6
    FLUSH_OBJECT = 7
    READ = 8
    WRITE = 9
    XCHG = 10
    AUTH = 101
    RESTORE_NEW = 102


class Subop(IntEnum):
    THAW = 0
    FREEZE = 1
    FLUSH = 2
    DESTROY = 3
    LIST = 4
    SET_WEIGHT = 5
    SET_CAP = 6
    SET_COMPRESS = 7
    QUERY_FREEABLE_MB = 8
    SAVE_BEGIN = 10
    SAVE_GET_VERSION = 11
    SAVE_GET_MAXPOOLS = 12
    SAVE_GET_CLIENT_WEIGHT = 13
    SAVE_GET_CLIENT_CAP = 14
    SAVE_GET_CLIENT_FLAGS = 15
    SAVE_GET_POOL_FLAGS = 16
    SAVE_GET_POOL_NPAGES = 17
    SAVE_GET_POOL_UUID = 18
    SAVE_GET_NEXT_PAGE = 19
    SAVE_GET_NEXT_INV = 20
    SAVE_END = 21
    RESTORE_BEGIN = 30
    RESTORE_PUT_PAGE = 32
    RESTORE_FLUSH_PAGE = 33


class Errno(IntEnum):
    """Return values are these, negated. EFROZEN and EEMPTY are tmem's own."""

    EPERM = 1
    EFAULT = 14
    ENOMEM = 12
    ENODEV = 19
    EINVAL = 22
    ENOSPC = 28
    EFROZEN = 1000
    EEMPTY = 1001


class PoolFlag:
    """Bits of the NEW_POOL flags word (tmem.h)."""

    PERSIST = 0x1
    SHARED = 0x2
    PRECOMPRESSED = 0x4  # v1 header only; must be 0
    PAGESIZE_SHIFT = 4
    PAGESIZE_MASK = 0xF
    VERSION_SHIFT = 24
    VERSION_MASK = 0xFF
    RESERVED_BITS = 0x00FFFF00  # v1 header only; must be 0


class ClientFlag:
    """Bits of SAVE_GET_CLIENT_FLAGS."""

    COMPRESS = 0x1
    FROZEN = 0x2


#: struct tmem_op union member used for each command; anything else uses "gen".
#: Same rule as the compat translation in xen/include/xen/tmem_xen.h.
MEMBER_FOR_CMD: Mapping[int, str] = MappingProxyType({
    Cmd.NEW_POOL: "creat", Cmd.AUTH: "creat", Cmd.RESTORE_NEW: "creat", Cmd.CONTROL: "ctrl",
})

#: libxc stream markers (XC_SAVE_ID_TMEM, XC_SAVE_ID_TMEM_EXTRA).
SAVE_ID_TMEM = -5
SAVE_ID_TMEM_EXTRA = -6


def member_for(cmd: int) -> str:
    return MEMBER_FOR_CMD.get(cmd, "gen")


def pool_flags(*, persist: bool = False, shared: bool = False, spec: int = 0,
               pageshift: int = PAGE_SHIFT) -> int:
    """A correct flags word: persist | shared<<1 | (pageshift-12)<<4 | spec<<24."""
    return ((PoolFlag.PERSIST if persist else 0) | (PoolFlag.SHARED if shared else 0)
            | ((pageshift - 12) & PoolFlag.PAGESIZE_MASK) << PoolFlag.PAGESIZE_SHIFT
            | (spec & PoolFlag.VERSION_MASK) << PoolFlag.VERSION_SHIFT)


def flags_spec(flags: int) -> int:
    return (flags >> PoolFlag.VERSION_SHIFT) & PoolFlag.VERSION_MASK


def flags_pageshift_field(flags: int) -> int:
    return (flags >> PoolFlag.PAGESIZE_SHIFT) & PoolFlag.PAGESIZE_MASK
