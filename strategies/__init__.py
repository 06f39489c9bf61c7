"""Hypothesis strategies for everything a guest can send to a tmem host."""

from .flags import any_flags, invalid_flags, valid_flags
from .ids import INDICES, INODES, SHARED_UUIDS, U32, U64, UUIDS, oids, wide_filekeys
from .pages import PAGES, WINDOWS
from .raw import BAD_POOL_IDS, UNKNOWN_CMDS, malformed_ops
from .workloads import FILESYSTEMS, SWAP_OFFSETS, SWAP_TYPES

__all__ = [
    "any_flags", "invalid_flags", "valid_flags", "INDICES", "INODES", "SHARED_UUIDS", "U32", "U64", "UUIDS", "oids",
    "wide_filekeys", "PAGES", "WINDOWS", "BAD_POOL_IDS", "UNKNOWN_CMDS", "malformed_ops", "FILESYSTEMS",
    "SWAP_OFFSETS", "SWAP_TYPES",
]
