"""Where hosts may differ: tmem-abi.md section 10 as data, one row per situation.

Each row lists outcomes that all conform (a host taking any one of them
must pass every cell), what stays pinned down, and the rules whose allowed
sets carry the choice. CONFORMANCE.md prints this table; the selftest's
legal variants (tmem_conformance.selftest.variants) take at least one
other choice per row, and the fault catalogue breaks what stays required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

SOURCE = "xen/common/tmem.c, tmem_xen.c @ RELEASE-4.0.0, RELEASE-4.1.0, RELEASE-4.2.1; tmem-abi.md section 10"


@dataclass(frozen=True)
class Choice:
    id: str
    situation: str
    allowed: tuple[str, ...]
    required: str
    rules: tuple[str, ...]
    source: str = SOURCE


_CHOICES = (
    Choice("short-op", "op bytes shorter than the host's struct tmem_op for the caller's word size",
           ("-EFAULT: the host copies its whole struct (Xen)",
            "decode what is there and answer as the command would (a v0 NEW_POOL on a v1 host: -EPERM)"),
           "nothing changes on -EFAULT; a 0-byte op is always -EFAULT; bytes past the host's struct are never "
           "read; the guest sees a negative result either way (graceful failure)",
           ("TMEM-HC-001", "TMEM-PAIR-002")),
    Choice("window", "WRITE or READ whose window passes the page end, offset+len wrapping 32 bits included",
           ("1 with nothing copied (4.0, 4.1)", "-EINVAL with nothing stored or copied (XSA-15 fix, 4.2.1)"),
           "no byte outside the page or outside the caller's window is ever read or written",
           ("TMEM-PUT-005", "TMEM-GET-004")),
    Choice("write-outside-window", "WRITE that creates a page, or replaces one (a duplicate)",
           ("stored bytes outside the window are zero", "on a duplicate, the page's previous bytes"),
           "never bytes of another page, pool or domain", ("TMEM-PUT-005",)),
    Choice("write-zero", "WRITE with tmem_offset, pfn_offset and len all 0",
           ("a zero page, whatever cmfn says (cmfn is not looked up); on a duplicate it replaces the data",),
           "-", ("TMEM-PUT-005",)),
    Choice("write-compress", "WRITE with client compression on",
           ("the whole guest page (READ then copies it whole)",
            "the window as without compression (Xen's fallback when the data does not compress)"),
           "the window's bytes are the caller's", ("TMEM-PUT-005", "TMEM-GET-004")),
    Choice("shared-state", "a frozen or live-migrating client and a shared pool",
           ("the caller's state applies", "the pool owner's state applies (Xen)"),
           "a private pool always follows its own client", ("TMEM-PUT-003", "TMEM-PUT-002", "TMEM-FLUSH-003",
                                                             "TMEM-SAVE-008", "TMEM-CTRL-001")),
    Choice("shared-leave", "a client leaves a shared pool (DESTROY_POOL, domain destroyed) while others use it",
           ("if it owned the pool, any object of the pool may go (Xen attributes every put to the owner)",
            "if not, ephemeral objects it touched last may go"),
           "persistent objects stay when a non-owner leaves; ownership passes on; the others keep their slots",
           ("TMEM-SHARED-004", "TMEM-DESTROY-001")),
    Choice("next-inv", "SAVE_GET_NEXT_INV with no client, or with a buffer too small for the record",
           ("0 (Xen)", "-1 (no client) or -ENOMEM (buffer too small)"),
           "nothing is written outside the buffer", ("TMEM-SAVE-008",)),
    Choice("save-begin", "SAVE_BEGIN with arg1 = 0 while a live save is in progress",
           ("live_migrating stays set (only SAVE_END clears it)",), "-", ("TMEM-SAVE-001",)),
    Choice("save-order", "the order of pages from SAVE_GET_NEXT_PAGE", ("any order",),
           "each page of the pool exactly once per save", ("TMEM-SAVE-007",)),
    Choice("eviction", "eviction of ephemeral pages", ("any ephemeral page, chosen by any policy",),
           "only to make room (a put while the host holds its capacity) or on the toolstack's FLUSH: below "
           "capacity no ephemeral page goes away, an evicted page is never replaced by other data, and gets "
           "from a shared ephemeral pool are not exclusive", ("TMEM-EPH-001", "TMEM-GET-005", "TMEM-CTRL-003")),
    Choice("retired", "a command number the host's revision retired (a revision file's retire_commands), on an "
           "existing pool", ("0, as an unknown command at the tags", "a negative error (-ENOSYS, say)"),
           "nothing changes, and the number never has another meaning", ("TMEM-ABI-001",),
           "models/revisions.py; tmem-abi.md section 1 (unknown commands)"),
)

CHOICES: Mapping[str, Choice] = MappingProxyType({c.id: c for c in _CHOICES})
