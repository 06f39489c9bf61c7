"""cytmem against the simulator, differentially: the same random ops, the same results and bytes.

As msgpack's property tests compare its extension with its fallback, each
example sends one random sequence of raw ops (well-formed, short, from any
domain and word size, with good and bad cmfns and buffers) to a cytmem
host and to a simulator host, and after every op compares the return
values and every domain's memory. Only what both must do identically is
drawn: persistent pools (an existing shared pool's flag wins, so shared
ones are persistent too) on hosts that never reach their capacity, where
no page may go (TMEM-EPH-002), plus control, save and restore sub-ops and
domain destruction. The page order of SAVE_GET_NEXT_PAGE is each host's
own choice; both report pages in first-put order, so the bytes match.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from tmem_conformance.candidates import cytmem, simulator
from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, Ctrl, Gen, TmemOp

from .abi_literals import AUTH, CONTROL, DESTROY_POOL, NEW_POOL, PAGE, PERSIST, RESTORE_NEW, SHARED

CAPACITY = 10_000  # far more than any example stores: no eviction, no -ENOMEM
DOMIDS = (0, 1, 2)
MEMORY_PAGES = {0: 3, 1: 4, 2: 3}
U64 = (1 << 64) - 1
GEN_CMDS = (3, 4, 5, 6, 7, 8, 9, 10, 77)  # NEW_PAGE .. XCHG, and an unknown command
SUBOPS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 30, 31, 32, 33, 99)
SAVE_AND_RESTORE = (10, 16, 17, 18, 19, 19, 19, 20, 20, 21, 32, 33)  # drawn more often


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


def _run(v: str, calls: list[Call]) -> None:
    calls = _prologue(v) + calls
    cyt, sim = cytmem.make(v, CAPACITY), simulator.make(v, CAPACITY)
    seed = {d: bytes((d * 31 + i * 7) % 256 for i in range(MEMORY_PAGES[d] * PAGE)) for d in DOMIDS}
    mem_cyt = {d: bytearray(seed[d]) for d in DOMIDS}
    mem_sim = {d: bytearray(seed[d]) for d in DOMIDS}
    try:
        for step, call in enumerate(calls):
            if call.op is None:
                cyt.destroy_domain(call.domid)
                sim.destroy_domain(call.domid)
                continue
            raw = codec.pack(call.op, v, call.word_size)
            raw = (raw if call.cut is None else raw[:call.cut]) + call.tail
            got = cyt.hypercall(call.domid, call.word_size, raw, mem_cyt[call.domid])
            want = sim.hypercall(call.domid, call.word_size, raw, mem_sim[call.domid])
            assert got == want, f"step {step}: {call!r}: cytmem returned {got}, the simulator {want}"
            for d in DOMIDS:
                if mem_cyt[d] != mem_sim[d]:
                    at = next(i for i, (a, b) in enumerate(zip(mem_cyt[d], mem_sim[d])) if a != b)
                    raise AssertionError(f"step {step}: {call!r}: memory of domain {d} differs first at "
                                         f"byte {at} (page {at // PAGE}, offset {at % PAGE})")
    finally:
        cyt.close()
        sim.close()


@given(_script("v0"))
def test_cytmem_matches_the_simulator_v0(calls: list[Call]) -> None:
    _run("v0", calls)


@given(_script("v1"))
def test_cytmem_matches_the_simulator_v1(calls: list[Call]) -> None:
    _run("v1", calls)
