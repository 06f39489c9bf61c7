"""The numbered rules: every checkable statement of the specification.

Each rule is one sentence and its source. Sources name the Xen tag (4.0.0
is v0, 4.1.0 is v1) and file, or the section of tmem-abi.md where the
suite takes a later fix as the specification (section 9). Every check in
the suite names one of these ids; CONFORMANCE.md is generated from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .errors import ModelError

TMEM_C = "xen/common/tmem.c @ RELEASE-4.0.0, RELEASE-4.1.0"
TMEM_H = "xen/include/public/tmem.h @ RELEASE-4.0.0, RELEASE-4.1.0"
XC_TMEM = "tools/libxc/xc_tmem.c @ RELEASE-4.0.0, RELEASE-4.1.0"
SPEC = "tmem-abi.md section 9 (the fixed behaviour is the specification)"
SUITE = "the suite's backend interface (DESIGN.md)"
REVISIONS = "a revision's row (retire_commands, retire_subops: models/revisions.py); tmem-abi.md section 1"
CHOICES = "tmem-abi.md section 10 (where hosts may differ)"
LINUX = "drivers/xen/tmem.c (Linux cleancache/frontswap front-end)"


@dataclass(frozen=True)
class Rule:
    id: str
    area: str
    text: str
    source: str


_AREAS = {
    "HC": "Hypercall dispatch",
    "POOL": "Pool creation and version negotiation",
    "PUT": "Puts",
    "GET": "Gets",
    "EPH": "Ephemeral and persistent pages",
    "FLUSH": "Flushes",
    "DESTROY": "Pool and client destruction",
    "SHARED": "Shared pools and authorisation",
    "CTRL": "Control sub-ops",
    "SAVE": "Save sub-ops",
    "RESTORE": "Restore sub-ops",
    "STREAM": "Toolstack save/restore stream",
    "MIG": "Migration and save/restore between hosts",
    "PAIR": "Guest/host pairings",
    "GUEST": "Guest-visible guarantees",
    "LAYOUT": "Struct layouts",
    "ABI": "ABI evolution",
}

_RULES = (
    # --- dispatch
    Rule("TMEM-HC-001", "HC", "An op buffer too short to hold cmd, pool_id and the union member its command "
         "uses (in the host's layout for the caller's word size), a 0-byte one included, returns -EFAULT and "
         "changes nothing. One that holds those but is shorter than the host's whole struct may be refused the "
         "same way or answered from what is there; bytes past the host's struct are never read.",
         TMEM_C + "; " + CHOICES),
    Rule("TMEM-HC-002", "HC", "For every command but CONTROL, NEW_POOL, DESTROY_POOL, AUTH and RESTORE_NEW, a "
         "pool_id that is outside 0-15 or names no pool of the caller returns -ENODEV and changes nothing.",
         TMEM_C + "; " + SPEC),
    Rule("TMEM-HC-003", "HC", "XCHG and unknown commands on an existing pool return 0 or a negative error and "
         "change nothing.", TMEM_C + "; " + SPEC),
    Rule("TMEM-HC-004", "HC", "Only domain 0 may issue CONTROL, AUTH or RESTORE_NEW; any other domain gets "
         "-EPERM and nothing changes.", SPEC),
    Rule("TMEM-HC-005", "HC", "A cmfn that names no page of the caller's memory, or a control buffer that does "
         "not lie inside it, returns -EFAULT where data would be copied, and nothing is stored.",
         "xen/common/tmem_xen.c @ RELEASE-4.1.0"),
    Rule("TMEM-HC-006", "HC", "A hypercall writes the caller's memory only where its op says: a get's cmfn "
         "page (or window), a control sub-op's buffer.", TMEM_C),
    Rule("TMEM-HC-007", "HC", "Any command other than CONTROL, AUTH and RESTORE_NEW gives a domain without "
         "a client a new one: weight 0, cap 0, not frozen.", TMEM_C),
    # --- pools
    Rule("TMEM-POOL-001", "POOL", "NEW_POOL whose spec-version field (bits 24-31) is not one the host "
         "accepts returns -EPERM and creates nothing: this is the v0/v1 gate.", TMEM_C),
    Rule("TMEM-POOL-002", "POOL", "NEW_POOL whose page-size field (bits 4-7) is not PAGE_SHIFT-12 (0 on x86) "
         "returns -EPERM.", TMEM_C),
    Rule("TMEM-POOL-003", "POOL", "A v1 host rejects NEW_POOL with the PRECOMPRESSED bit (bit 2) set: -EPERM; "
         "a v0 host ignores it.", "xen/common/tmem.c @ RELEASE-4.1.0"),
    Rule("TMEM-POOL-004", "POOL", "A v1 host rejects NEW_POOL with any of the reserved bits 0x00ffff00 set: "
         "-EPERM; a v0 host ignores them.", "xen/common/tmem.c @ RELEASE-4.1.0"),
    Rule("TMEM-POOL-005", "POOL", "NEW_POOL returns the lowest free slot (0-15) of the caller, ignoring the "
         "op's pool_id and arg1; that slot is the pool id of later ops.", TMEM_C),
    Rule("TMEM-POOL-006", "POOL", "A client with all 16 slots in use gets -EPERM from NEW_POOL.", TMEM_C),
    Rule("TMEM-POOL-007", "POOL", "The checks run in the order version, page size, precompressed, reserved "
         "bits, free slot; the first failing one decides, and the result is -EPERM.", TMEM_C),
    # --- puts
    Rule("TMEM-PUT-001", "PUT", "A put to a handle not present returns 1 and stores the page, or -ENOMEM and "
         "stores nothing.", TMEM_C),
    Rule("TMEM-PUT-002", "PUT", "A put to a handle already present (a dup put) returns 1 and replaces the "
         "data, or -ENOSPC and deletes the old copy; a live-migrating client always gets -ENOSPC.", TMEM_C),
    Rule("TMEM-PUT-003", "PUT", "A frozen client's put of a new page returns -EFROZEN and stores nothing; its "
         "dup puts still replace data.", TMEM_C),
    Rule("TMEM-PUT-004", "PUT", "PUT_PAGE stores the whole guest page at cmfn; NEW_PAGE stores a zero page and "
         "does not read cmfn.", TMEM_C),
    Rule("TMEM-PUT-005", "PUT", "WRITE copies len bytes from guest offset pfn_offset to stored offset "
         "tmem_offset; stored bytes outside the window are zero (or, on a dup put, the page's previous "
         "bytes), never another page's. A window past the page end (offset+len wrapping 32 bits included) "
         "copies nothing and returns 1, or returns -EINVAL and stores nothing. Offsets and len all 0 store a "
         "zero page without looking at cmfn. With client compression on and len not 0 the whole guest page "
         "is stored, or the window as without compression.",
         "xen/common/tmem_xen.c @ RELEASE-4.0.0, RELEASE-4.1.0, RELEASE-4.2.1; " + CHOICES),
    Rule("TMEM-PUT-006", "PUT", "While the host holds fewer pages than its capacity, a put does not fail for "
         "lack of memory (-ENOMEM, or -ENOSPC on a dup put); a host full of pages it must keep refuses a new "
         "page rather than hold more than its capacity.", SUITE),
    # --- gets
    Rule("TMEM-GET-001", "GET", "A get from a pool that holds no pages at all returns -EEMPTY (checked before "
         "the lookup).", TMEM_C),
    Rule("TMEM-GET-002", "GET", "A get of a handle not present returns 0 and leaves guest memory untouched.",
         TMEM_C),
    Rule("TMEM-GET-003", "GET", "A get that hits returns 1 and copies exactly the data of the last successful "
         "put to that handle.", TMEM_C),
    Rule("TMEM-GET-004", "GET", "READ copies the stored window [tmem_offset, +len) to guest offset pfn_offset; "
         "a window past the page end copies nothing and returns 1, or -EINVAL (the XSA-15 fix); a page stored "
         "compressed is copied whole.", "xen/common/tmem_xen.c @ RELEASE-4.0.0, RELEASE-4.1.0, RELEASE-4.2.1; "
         + CHOICES),
    Rule("TMEM-GET-005", "GET", "A get from a private ephemeral pool is exclusive: a hit removes the page. "
         "Gets from shared ephemeral and from persistent pools keep it.", TMEM_C),
    # --- ephemeral / persistent
    Rule("TMEM-EPH-001", "EPH", "An ephemeral page is evicted only to make room (a put while the host holds "
         "its capacity) or by the toolstack's FLUSH: while the host holds fewer pages than its capacity a get "
         "of it hits. Any page may be chosen, but an evicted page is never replaced by other data.",
         TMEM_C + "; " + SPEC + "; " + CHOICES),
    Rule("TMEM-EPH-002", "EPH", "A persistent page stays until it is flushed or its pool or client is "
         "destroyed: a get of it hits.", TMEM_C),
    # --- flushes
    Rule("TMEM-FLUSH-001", "FLUSH", "FLUSH_PAGE removes the page if present and returns 1 whether or not it "
         "was found.", TMEM_C),
    Rule("TMEM-FLUSH-002", "FLUSH", "FLUSH_OBJECT removes every page of the object and returns 1 whether or "
         "not anything was found; other objects keep their pages, even those with the same low word.", TMEM_C),
    Rule("TMEM-FLUSH-003", "FLUSH", "A frozen client's flush returns -EFROZEN, and the flush has still been "
         "done.", TMEM_C),
    # --- destroy
    Rule("TMEM-DESTROY-001", "DESTROY", "DESTROY_POOL of a used slot frees it and returns 1; a private pool, "
         "or a shared pool's last user, loses all its pages. A free slot returns 0.", TMEM_C),
    Rule("TMEM-DESTROY-002", "DESTROY", "DESTROY_POOL with a pool id outside 0-15, negative ones included, "
         "returns 0 and changes nothing (XSA-15).", SPEC),
    Rule("TMEM-DESTROY-003", "DESTROY", "Destroying a domain frees its client, its pools and their pages; a "
         "later call from that domid starts a new client.", TMEM_C),
    # --- shared
    Rule("TMEM-SHARED-001", "SHARED", "NEW_POOL with SHARED set and a uuid no shared pool has creates a global "
         "shared pool; with uuid lo = hi = all-ones it creates a private pool.", TMEM_C),
    Rule("TMEM-SHARED-002", "SHARED", "NEW_POOL with SHARED set and the uuid of an existing shared pool joins "
         "it: the slot names the same pages, and the existing pool's persist flag wins.", TMEM_C),
    Rule("TMEM-SHARED-003", "SHARED", "At most 16 shared pools exist at once; creating a 17th returns -EPERM.",
         TMEM_C),
    Rule("TMEM-SHARED-004", "SHARED", "When a user of a shared pool with other users leaves (DESTROY_POOL or "
         "its domain destroyed), the others keep their slots and ownership passes on. If it owned the pool any "
         "object may go; if not, persistent objects all stay and only ephemeral objects it touched may go.",
         TMEM_C + "; " + CHOICES),
    Rule("TMEM-SHARED-005", "SHARED", "AUTH with client 0xFFFF sets the global switch and returns 1; an unknown "
         "client gives -EINVAL; grant returns 1 (-ENOMEM when 16 uuids are held); revoke returns 1 if the uuid "
         "was held, else 0.", TMEM_C),
    # --- control
    Rule("TMEM-CTRL-001", "CTRL", "THAW, FREEZE and DESTROY (which thaws) return 0 for an existing client or "
         "0xFFFF (all clients), and -1 for an unknown client; FREEZE makes new puts fail with -EFROZEN. On a "
         "shared pool the host may apply the caller's or the owner's frozen and live-migrating state; a "
         "private pool follows its own client.", TMEM_C + "; " + CHOICES),
    Rule("TMEM-CTRL-002", "CTRL", "SET_WEIGHT, SET_CAP and SET_COMPRESS return 0 for an existing client or "
         "0xFFFF, and -1 for an unknown one; LIST returns 0 and writes only its buffer.", TMEM_C),
    Rule("TMEM-CTRL-003", "CTRL", "FLUSH with client 0xFFFF returns the KB of ephemeral memory it released "
         "(0 or more) and may drop ephemeral pages only; with a specific client it returns -1.", TMEM_C),
    Rule("TMEM-CTRL-004", "CTRL", "QUERY_FREEABLE_MB returns 0 or more; an unassigned sub-op returns -1; "
         "neither changes anything.", TMEM_C),
    # --- save
    Rule("TMEM-SAVE-001", "SAVE", "SAVE_BEGIN returns 0 for a client with no pools or no client; otherwise it "
         "records was_frozen, freezes, marks live migration if arg1 is not 0 (arg1 = 0 never clears it: only "
         "SAVE_END does), and returns 1.", TMEM_C + "; " + CHOICES),
    Rule("TMEM-SAVE-002", "SAVE", "SAVE_GET_VERSION returns the host's spec version and SAVE_GET_MAXPOOLS "
         "returns 16, for any client id.", TMEM_C),
    Rule("TMEM-SAVE-003", "SAVE", "SAVE_GET_CLIENT_WEIGHT and _CAP return what SET_WEIGHT and SET_CAP stored "
         "(-1 reported as -2); SAVE_GET_CLIENT_FLAGS returns COMPRESS | FROZEN-if-was-frozen; each -1 with no "
         "client.", TMEM_C),
    Rule("TMEM-SAVE-004", "SAVE", "SAVE_GET_POOL_FLAGS returns PERSIST, SHARED, the page-size field and the "
         "host's spec version (367f6be33c); -1 for an empty slot or a pool id outside 0-15.", SPEC),
    Rule("TMEM-SAVE-005", "SAVE", "SAVE_GET_POOL_NPAGES returns the pool's page count, -1 if no pool.", TMEM_C),
    Rule("TMEM-SAVE-006", "SAVE", "SAVE_GET_POOL_UUID writes the uuid (lo, hi) to the buffer, returns 0 and "
         "changes nothing else (9a2982ce85); -1 if no pool.", SPEC),
    Rule("TMEM-SAVE-007", "SAVE", "Each save (from SAVE_BEGIN) gets from SAVE_GET_NEXT_PAGE every page of a "
         "persistent pool exactly once, in any order, as a tmem_handle followed by the page data, returning 1, "
         "then -1; an ephemeral pool or no pool gives -1, and a buffer shorter than page + handle gives "
         "-ENOMEM.", SPEC + "; " + CHOICES),
    Rule("TMEM-SAVE-008", "SAVE", "While live migration is marked, every deleted persistent page is recorded; "
         "SAVE_GET_NEXT_INV returns each record once (1, handle written), then 0. With no such client, or a "
         "buffer too small for a handle, it returns 0, -1 or -ENOMEM and writes nothing.",
         TMEM_C + "; " + CHOICES),
    Rule("TMEM-SAVE-009", "SAVE", "SAVE_END ends live migration, drops the invalidated list, restores the "
         "frozen state from before SAVE_BEGIN and returns 0 (-1 with no client).", TMEM_C),
    # --- restore
    Rule("TMEM-RESTORE-001", "RESTORE", "RESTORE_BEGIN creates the named client and returns 1; -1 if it "
         "already exists.", TMEM_C),
    Rule("TMEM-RESTORE-002", "RESTORE", "RESTORE_NEW creates a pool in exactly the slot named by pool_id for "
         "client creat.arg1, with NEW_POOL's flag checks; no such client, a slot outside 0-15 or a taken slot "
         "gives -EPERM.", TMEM_C),
    Rule("TMEM-RESTORE-003", "RESTORE", "RESTORE_PUT_PAGE puts arg1 bytes from the buffer at (pool_id, oid, "
         "index arg2) with a put's results; RESTORE_FLUSH_PAGE flushes that handle (1, or -EFROZEN with the "
         "flush done); both -1 if no pool.", TMEM_C),
    # --- stream
    Rule("TMEM-STREAM-001", "STREAM", "The save stream is libxc's: marker -5, version, max_pools, client "
         "flags, weight, cap, pool records with their pages, terminators; a live save adds the extra block "
         "(marker -6) of invalidated handles.", XC_TMEM),
    Rule("TMEM-STREAM-002", "STREAM", "Restoring a stream of one tmem version on a host of another is refused "
         "before anything on the destination changes.", "commit 4678d349a1; DESIGN.md"),
    Rule("TMEM-STREAM-003", "STREAM", "A truncated or corrupt stream is refused, naming the offending field, "
         "and the destination is left as it was.", "DESIGN.md"),
    Rule("TMEM-STREAM-004", "STREAM", "Restore re-applies the saved weight, cap, compression and frozen "
         "state.", SPEC),
    # --- migration
    Rule("TMEM-MIG-001", "MIG", "Between hosts of the same tmem version, every persistent page of the guest "
         "arrives intact, in the same pool slot, object and index.", XC_TMEM + "; " + SPEC),
    Rule("TMEM-MIG-002", "MIG", "Between hosts of different tmem versions, the move is refused and the "
         "destination is untouched.", "commit 4678d349a1; DESIGN.md"),
    Rule("TMEM-MIG-003", "MIG", "Whatever the outcome, the source keeps every persistent page and thaws once "
         "the save ends.", "DESIGN.md; " + SPEC),
    # --- pairings
    Rule("TMEM-PAIR-001", "PAIR", "A guest whose version the host accepts gets its pools (native).",
         "DESIGN.md"),
    Rule("TMEM-PAIR-002", "PAIR", "A guest whose version the host does not accept gets a negative result from "
         "NEW_POOL (-EPERM from the version check, or -EFAULT for an op shorter than the host's struct) and "
         "runs with tmem off (graceful failure).", "tmem-abi.md sections 7 and 10"),
    Rule("TMEM-PAIR-003", "PAIR", "A v1 guest with the shim, on a host that refuses v1, retries with v0 and "
         "gets its pools (works via shim).", "tmem-abi.md section 7"),
    Rule("TMEM-PAIR-004", "PAIR", "Once negotiated at v0, the shim never sends an object id that does not fit "
         "in 64 bits: such ids are neither truncated nor aliased, the guest keeps those pages itself.",
         "tmem-abi.md section 7"),
    # --- guest
    Rule("TMEM-GUEST-001", "GUEST", "A guest never loses a page it swapped out: a frontswap load returns the "
         "data stored, from tmem or from the guest's own swap device.", LINUX),
    Rule("TMEM-GUEST-002", "GUEST", "A cleancache get returns the data last put for that file page, or "
         "misses; never other data.", LINUX),
    # --- layouts
    Rule("TMEM-LAYOUT-001", "LAYOUT", "struct tmem_op and struct tmem_handle have, per version and word size, "
         "the sizes and offsets computed from tmem.h's declarations under the x86-64 and i386 ABIs.", TMEM_H),
    # --- ABI evolution
    Rule("TMEM-ABI-001", "ABI", "A command or CONTROL sub-op number the host's revision retired is answered as an "
         "unknown one, never with another meaning: a command on an existing pool returns 0 or a negative error, a "
         "sub-op -1, and nothing changes. No later revision may give the number a meaning again (a revision file "
         "that does is refused).", REVISIONS),
)

RULES: Mapping[str, Rule] = MappingProxyType({r.id: r for r in _RULES})
AREAS: Mapping[str, str] = MappingProxyType(_AREAS)


def rule(rule_id: str) -> Rule:
    try:
        return RULES[rule_id]
    except KeyError:
        raise ModelError(f"unknown rule id {rule_id!r}") from None


def anchor(rule_id: str) -> str:
    """The Markdown anchor of a rule in CONFORMANCE.md."""
    return rule_id.lower()
