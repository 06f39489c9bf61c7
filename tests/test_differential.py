"""The three candidates against each other, differentially: the same random ops, the same results and bytes.

As msgpack's property tests compare its extension with its fallback, each
example sends one random sequence of raw ops (well-formed, short, from any
domain and word size, with good and bad cmfns and buffers) to a simulator,
a ctmem and a cytmem host, and after every op compares the return values
and every domain's memory. Only what all must do identically is drawn:
persistent pools (an existing shared pool's flag wins, so shared ones are
persistent too) on hosts that never reach their capacity, where no page may
go (TMEM-EPH-002), plus control, save and restore sub-ops and domain
destruction. The page order of SAVE_GET_NEXT_PAGE is each host's own choice
(tmem-abi.md section 10): a drawn SAVE_GET_NEXT_PAGE is repeated until it
stops returning 1, and what each host answered (the results and the records
written) is compared as a multiset; the caller's memory is then set back to
what it was before, the same on every host.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from tmem_conformance.candidates import ctmem, cytmem, simulator
from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, Ctrl, Gen, TmemOp

from .abi_literals import AUTH, CONTROL, DESTROY_POOL, NEW_POOL, PAGE, PERSIST, RESTORE_NEW, SAVE_GET_NEXT_PAGE, SHARED

CAPACITY = 10_000  # far more than any example stores: no eviction, no -ENOMEM
DOMIDS = (0, 1, 2)
MEMORY_PAGES = {0: 3, 1: 4, 2: 3}
U64 = (1 << 64) - 1
GEN_CMDS = (3, 4, 5, 6, 7, 8, 9, 10, 77)  # NEW_PAGE .. XCHG, and an unknown command
SUBOPS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 30, 31, 32, 33, 99)
SAVE_AND_RESTORE = (10, 16, 17, 18, 19, 19, 19, 20, 20, 21, 32, 33)  # drawn more often
#: The hosts compared, each built by its own make(spec or name, capacity).
HOSTS = {"simulator": simulator.make, "ctmem": ctmem.make, "cytmem": cytmem.make}
#: More SAVE_GET_NEXT_PAGE answers of 1 in a row than any example stores pages: a host that never ends.
MAX_NEXT_PAGES = 200


@dataclass(frozen=True)
class Call:
    """One step: a hypercall (op bytes, cut to `cut` bytes if not None), or a domain's destruction."""

    domid: int
    word_size: int
    op: TmemOp | None
    cut: int | None = None
    tail: bytes = b""

    def __repr__(self) -> str:
        if self.op is None:
            return f"destroy_domain({self.domid})"
        shape = "" if self.cut is None else f", cut to {self.cut} bytes"
        return f"hypercall(dom {self.domid}, {self.word_size}-bit, {self.op}{shape}{', tail ' if self.tail else ''})"


def _oids(words: int) -> st.SearchStrategy[tuple[int, ...]]:
    """A few object ids, so that gets and flushes often meet a put; v1 ids differ in upper words too."""
    if words == 1:
        return st.sampled_from([(0,), (1,), (2,), (U64,)])
    return st.sampled_from([(0, 0, 0), (1, 0, 0), (2, 0, 0), (1, 0, 7), (1, U64, 0)])


def _calls(v: str) -> st.SearchStrategy[Call]:
    """One hypercall: half from a well-formed family that mostly succeeds (pages stored, read back,
    saved and restored), half from anything-goes (bad pools, cmfns, buffers, flags, short ops)."""
    words, spec = (1, 0) if v == "v0" else (3, 1)
    oids = _oids(words)
    index = st.sampled_from([0, 1, 0xFFFFFFFF])
    window = st.sampled_from([0, 1, 10, 100, 4090, 4096, 4097])
    ws = st.sampled_from([64, 32])
    good_flags = st.builds(lambda shared: PERSIST | (SHARED if shared else 0) | spec << 24, st.booleans())
    bad_flags = st.sampled_from([(1 - spec) << 24 | PERSIST, spec << 24 | PERSIST | 0x10,
                                 spec << 24 | PERSIST | 0x4, spec << 24 | PERSIST | 0x100])
    uuid = st.sampled_from([(0, 0), (5, 6), (7, 7), (U64, U64)])

    Ints = st.SearchStrategy[int]

    def gen(cmds: Ints, pool_id: Ints, cmfn: Ints) -> st.SearchStrategy[TmemOp]:
        return st.builds(lambda c, p, o, i, t, f, n, m: TmemOp(c, p, Gen(o, i, t, f, n, m)),
                         cmds, pool_id, oids, index, window, window, window, cmfn)

    def ctrl(subops: Ints, pool_id: Ints, cli_id: Ints, arg1: Ints, buf: Ints) -> st.SearchStrategy[TmemOp]:
        return st.builds(lambda s, p, c, a1, a2, o, b: TmemOp(CONTROL, p, Ctrl(s, c, a1, a2, o, b)),
                         subops, pool_id, cli_id, arg1, index, oids, buf)

    def creat(cmds: Ints, pool_id: Ints, flags: Ints, arg1: Ints) -> st.SearchStrategy[TmemOp]:
        return st.builds(lambda c, p, u, fl, a: TmemOp(c, p, Creat(u, fl, a)), cmds, pool_id, uuid, flags, arg1)

    # Well formed: a guest's page ops on its pools, the toolstack's save and restore of clients 1 and 2.
    good_pool = st.sampled_from([0, 1])
    good = st.one_of(
        st.builds(Call, st.sampled_from([1, 2]), ws, gen(st.sampled_from([3, 4, 4, 5, 5, 6, 7, 8, 9]), good_pool,
                                                         st.integers(0, 1))),
        st.builds(Call, st.just(0), ws, ctrl(st.sampled_from(SAVE_AND_RESTORE), good_pool, st.sampled_from([1, 2]),
                                             st.sampled_from([4096, 4096 + 16, 4096 + 32, 0xFFFFFFFF]),
                                             st.sampled_from([0, 8, PAGE - 8]))),
        st.builds(Call, st.sampled_from([1, 2]), ws, creat(st.just(NEW_POOL), st.just(0), good_flags, st.just(0))),
    )
    # Anything goes.
    pool_id = st.sampled_from([0, 1, 2, 15, 16, -1])
    cmfn = st.sampled_from([0, 1, 2, 3, 4, 2**32 - 1])
    cli_id = st.sampled_from([0, 1, 2, 3, 0xFFFF, 0x10001])
    arg1 = st.sampled_from([0, 1, 4, 8, 16, 32, 4096, 4096 + 16, 4096 + 32, 0xFFFFFFFF])
    buf = st.sampled_from([0, 8, PAGE - 8, 2 * PAGE, 3 * PAGE - 16, 3 * PAGE, U64 - 4])
    op = st.one_of(gen(st.sampled_from(GEN_CMDS), pool_id, cmfn),
                   creat(st.sampled_from([NEW_POOL, AUTH, RESTORE_NEW]), pool_id, st.one_of(good_flags, bad_flags),
                         st.sampled_from([0, 1, 2, 0xFFFF])),
                   st.builds(lambda p: TmemOp(DESTROY_POOL, p, Gen((0,) * words)), pool_id),
                   ctrl(st.sampled_from(SUBOPS), pool_id, cli_id, arg1, buf))
    cut = st.one_of(st.none(), st.integers(0, 56))
    tail = st.sampled_from([b"", b"\xaa" * 8])
    anything = st.builds(Call, st.sampled_from(DOMIDS), ws, op, cut, tail)
    return st.one_of(good, anything)


def _script(v: str) -> st.SearchStrategy[list[Call]]:
    """Hypercalls that fit their fields, with at most two domain deaths among them."""
    deaths = st.lists(st.tuples(st.integers(0, 80), st.sampled_from([1, 2])), max_size=2)

    def build(calls: list[Call], died: list[tuple[int, int]]) -> list[Call]:
        out = [c for c in calls if _fits(c)]
        for at, domid in sorted(died, reverse=True):
            out.insert(at, Call(domid, 64, None))
        return out
    return st.builds(build, st.lists(_calls(v), min_size=20, max_size=80), deaths)


def _fits(call: Call) -> bool:
    """The op's values fit its fields at this word size (a cmfn or buf of 2**64-5 does not at 32-bit)."""
    u = call.op.u if call.op is not None else None
    limit = 1 << call.word_size
    return not (isinstance(u, Gen) and u.cmfn >= limit or isinstance(u, Ctrl) and u.buf >= limit)


def _prologue(v: str) -> list[Call]:
    """Pools to work on: dom 1 a private and a shared pool, dom 2 joins the shared one."""
    flags = PERSIST | (0 if v == "v0" else 1) << 24
    return [Call(1, 64, TmemOp(NEW_POOL, 0, Creat((0, 0), flags, 0))),
            Call(1, 64, TmemOp(NEW_POOL, 0, Creat((5, 6), flags | SHARED, 0))),
            Call(2, 32, TmemOp(NEW_POOL, 0, Creat((5, 6), flags | SHARED, 0)))]


def _next_pages(host: object, call: Call, raw: bytes, memory: bytearray) -> list[tuple[int, bytes]]:
    """SAVE_GET_NEXT_PAGE until it stops returning 1: each answer, and the caller's memory after it
    (each call starts from the memory as it was before the first, so a record shows only its own bytes)."""
    before, out = bytes(memory), []
    while len(out) < MAX_NEXT_PAGES:
        memory[:] = before
        ret = host.hypercall(call.domid, call.word_size, raw, memory)  # type: ignore[attr-defined]
        out.append((ret, bytes(memory)))
        if ret != 1:
            break
    memory[:] = before
    return out


def _is_next_page(call: Call) -> bool:
    return call.op is not None and isinstance(call.op.u, Ctrl) and call.op.cmd == CONTROL and \
        call.op.u.subop == SAVE_GET_NEXT_PAGE


def _differs(step: int, call: Call, name: str, seen: object, want: object) -> str:
    return f"step {step}: {call!r}: {name} answered {seen}, the simulator {want}"


def _run(v: str, calls: list[Call]) -> None:
    calls = _prologue(v) + calls
    hosts = {name: make(v, CAPACITY) for name, make in HOSTS.items()}
    seed = {d: bytes((d * 31 + i * 7) % 256 for i in range(MEMORY_PAGES[d] * PAGE)) for d in DOMIDS}
    memory = {name: {d: bytearray(seed[d]) for d in DOMIDS} for name in hosts}
    try:
        for step, call in enumerate(calls):
            if call.op is None:
                for host in hosts.values():
                    host.destroy_domain(call.domid)
                continue
            raw = codec.pack(call.op, v, call.word_size)
            raw = (raw if call.cut is None else raw[:call.cut]) + call.tail
            if _is_next_page(call):  # any order conforms: the same answers, as a multiset
                got = {name: sorted(_next_pages(h, call, raw, memory[name][call.domid])) for name, h in hosts.items()}
            else:
                got = {name: h.hypercall(call.domid, call.word_size, raw, memory[name][call.domid])
                       for name, h in hosts.items()}
            for name in hosts:
                if got[name] != got["simulator"]:
                    rets = {n: [r for r, _ in g] if isinstance(g, list) else g for n, g in got.items()}
                    raise AssertionError(_differs(step, call, name, rets[name], rets["simulator"]) +
                                         ("" if rets[name] != rets["simulator"] else " (same results, other bytes)"))
                for d in DOMIDS:
                    mine, want = memory[name][d], memory["simulator"][d]
                    if mine != want:
                        at = next(i for i, (a, b) in enumerate(zip(mine, want)) if a != b)
                        raise AssertionError(f"step {step}: {call!r}: memory of domain {d} differs between {name} "
                                             f"and the simulator first at byte {at} (page {at // PAGE}, "
                                             f"offset {at % PAGE})")
    finally:
        for host in hosts.values():
            host.close()


@given(_script("v0"))
def test_candidates_agree_v0(calls: list[Call]) -> None:
    _run("v0", calls)


@given(_script("v1"))
def test_candidates_agree_v1(calls: list[Call]) -> None:
    _run("v1", calls)
