"""SimulatorHost: hypercall dispatch, in the order of the specification.

1. An op buffer too short for cmd, pool_id and its member: -EFAULT (TMEM-HC-001).
2. CONTROL, AUTH, RESTORE_NEW from a domain other than 0: -EPERM (TMEM-HC-004);
   from domain 0 they are dispatched without creating a client for the caller.
3. Otherwise the caller gets a client if it has none (TMEM-HC-007).
4. Every command but NEW_POOL and DESTROY_POOL needs pool_id in 0-15 naming a
   used slot, else -ENODEV (TMEM-HC-002); XCHG and unknown commands return 0
   on a good pool (TMEM-HC-003).
"""

from __future__ import annotations

from .client import HostState
from .control import control
from .guest import frame_ok, read_frame, window_page
from .opcodec import Creat, Ctrl, Gen, OpCodec
from .pageops import flush, get, put
from .pool import PAGE_SIZE, ZERO_PAGE, Page
from .pools import auth, destroy_client, destroy_pool, new_pool, restore_new
from .retvals import EFAULT, ENODEV, EPERM

CONTROL, NEW_POOL, DESTROY_POOL, NEW_PAGE, PUT_PAGE, GET_PAGE = 0, 1, 2, 3, 4, 5
FLUSH_PAGE, FLUSH_OBJECT, READ, WRITE, AUTH, RESTORE_NEW = 6, 7, 8, 9, 101, 102
PRIVILEGED = frozenset({CONTROL, AUTH, RESTORE_NEW})
TOOLSTACK_DOMID = 0


class SimulatorHost:
    """One tmem host of a fixed spec version and page capacity."""

    def __init__(self, spec: int, reject_flag_bits: int, codecs: dict[int, OpCodec], capacity: int) -> None:
        self.state = HostState(spec, reject_flag_bits, capacity)
        self._codecs = codecs
        self._closed = False

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        """Carry out one tmem hypercall from `domid`; the hypercall's return value."""
        if self._closed:
            raise RuntimeError("hypercall on a closed SimulatorHost")
        codec = self._codecs.get(word_size)
        if codec is None:
            raise ValueError(f"guest word size must be one of {sorted(self._codecs)}, not {word_size!r}")
        decoded = codec.decode(op)
        if decoded is None:
            return -EFAULT
        cmd, pool_id, u = decoded
        state = self.state
        if cmd in PRIVILEGED:
            if domid != TOOLSTACK_DOMID:
                return -EPERM
            if cmd == CONTROL:
                assert isinstance(u, Ctrl)
                return control(state, pool_id, u, memory, codec.handle)
            assert isinstance(u, Creat)
            return auth(state, u) if cmd == AUTH else restore_new(state, pool_id, u)
        client = state.client_or_new(domid)
        if cmd == NEW_POOL:
            assert isinstance(u, Creat)
            return new_pool(state, client, u, None)
        if cmd == DESTROY_POOL:
            return destroy_pool(state, client, pool_id)
        pool = client.pool(pool_id)
        if pool is None:
            return -ENODEV
        assert isinstance(u, Gen)
        if cmd == PUT_PAGE or cmd == WRITE or cmd == NEW_PAGE:
            page = self._source(cmd, u, client.compress, memory)
            return put(state.store, client, pool_id, pool, u.oid, u.index, page)
        if cmd == GET_PAGE:
            return get(state.store, pool, u.oid, u.index, memory, u.cmfn, None)
        if cmd == READ:
            window = (u.tmem_offset, u.pfn_offset, u.len)
            return get(state.store, pool, u.oid, u.index, memory, u.cmfn, window)
        if cmd == FLUSH_PAGE:
            return flush(state.store, client, pool_id, pool, u.oid, u.index)
        if cmd == FLUSH_OBJECT:
            return flush(state.store, client, pool_id, pool, u.oid, None)
        return 0  # XCHG and unknown commands

    @staticmethod
    def _source(cmd: int, u: Gen, compress: bool, memory: bytearray) -> Page | None:
        """The page a put stores, or None if its cmfn is not in memory (TMEM-PUT-004/005)."""
        if cmd == NEW_PAGE:
            return Page(ZERO_PAGE)  # cmfn is never read
        if not frame_ok(memory, u.cmfn):
            return None
        if cmd == PUT_PAGE:
            return Page(read_frame(memory, u.cmfn))
        start = u.cmfn * PAGE_SIZE
        return window_page(memoryview(memory)[start:start + PAGE_SIZE], u.tmem_offset, u.pfn_offset, u.len,
                           compress)

    def destroy_domain(self, domid: int) -> None:
        """The domain died: free its client, pools and pages (TMEM-DESTROY-003)."""
        destroy_client(self.state, domid)

    def close(self) -> None:
        """Release the host; no call follows."""
        for domid in list(self.state.clients):
            destroy_client(self.state, domid)
        self._closed = True
