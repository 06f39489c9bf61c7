"""Hypothesis strategies for everything a guest can send to a tmem host."""

from .flags import any_flags, invalid_flags, valid_flags
from .flat import flat
from .ids import INDICES, INODES, SHARED_UUIDS, U32, U64, UUIDS, filekeys, oids, wide_filekeys
from .machines import (
    CELL_BAD_SHARED_FLAGS,
    CELL_FILEKEYS,
    CELL_FLAGS,
    CELL_OIDS,
    CELL_RAW_OPS,
    CMFNS,
    DOMS,
    FRAMES,
    OPTIONAL_TARGETS,
    TARGETS,
)
from .pages import PAGES, WINDOWS
from .raw import BAD_POOL_IDS, UNKNOWN_CMDS, malformed_ops
from .workloads import CHURN, FILESYSTEMS, SWAP_OFFSETS, SWAP_SLOTS, SWAP_TYPES

__all__ = [
    "any_flags", "invalid_flags", "valid_flags", "INDICES", "INODES", "SHARED_UUIDS", "U32", "U64", "UUIDS", "oids",
    "filekeys", "wide_filekeys", "CELL_BAD_SHARED_FLAGS", "CELL_FILEKEYS", "CELL_FLAGS", "CELL_OIDS", "CELL_RAW_OPS",
    "CMFNS", "DOMS", "FRAMES", "OPTIONAL_TARGETS", "TARGETS", "PAGES", "WINDOWS", "BAD_POOL_IDS", "UNKNOWN_CMDS",
    "malformed_ops", "flat", "FILESYSTEMS", "SWAP_OFFSETS", "SWAP_TYPES", "CHURN", "SWAP_SLOTS",
]
