"""SimulatorHost: hypercall dispatch, in the order of the specification.

1. An op buffer too short for cmd, pool_id and its member: -EFAULT (TMEM-HC-001);
   a host that copies the whole struct (choice short-op-efault) refuses any buffer
   shorter than its struct tmem_op for the caller's word size.
2. CONTROL, AUTH, RESTORE_NEW from a domain other than 0: -EPERM (TMEM-HC-004);
   from domain 0 they are dispatched without creating a client for the caller.
3. Otherwise the caller gets a client if it has none (TMEM-HC-007).
4. Every command but NEW_POOL and DESTROY_POOL needs pool_id in 0-15 naming a
   used slot, else -ENODEV (TMEM-HC-002); XCHG and unknown commands return 0
   on a good pool (TMEM-HC-003), and so do numbers the revision retired
   (TMEM-ABI-001; -ENOSYS with choice retired-enosys).
"""

from __future__ import annotations

from tmem_conformance.backend import BackendClosedError, WordSizeError

from .choices import Choices
from .client import Client, HostState
from .control import control
from .memory import frame_ok, read_frame, write_source
from .opcodec import Creat, Ctrl, Gen, OpCodec
from .pageops import Source, flush, get, put
from .pool import ZERO_PAGE, Page
from .pools import auth, destroy_client, destroy_pool, new_pool, restore_new
from .retvals import EFAULT, ENODEV, ENOSYS, EPERM

CONTROL, NEW_POOL, DESTROY_POOL, NEW_PAGE, PUT_PAGE, GET_PAGE = 0, 1, 2, 3, 4, 5
FLUSH_PAGE, FLUSH_OBJECT, READ, WRITE, AUTH, RESTORE_NEW = 6, 7, 8, 9, 101, 102
PRIVILEGED = frozenset({CONTROL, AUTH, RESTORE_NEW})
TOOLSTACK_DOMID = 0


class SimulatorHost:
    """One tmem host of a fixed spec version and page capacity."""

    def __init__(self, spec: int, reject_flag_bits: int, codecs: dict[int, OpCodec], capacity: int,
                 choices: Choices, retired: frozenset[int] = frozenset(),
                 accepts: frozenset[int] | None = None) -> None:
        self.state = HostState(spec, reject_flag_bits, capacity, choices, accepts)
        self._codecs = codecs
        self._retired = retired  # command numbers the host's revision retired (TMEM-ABI-001)
        self._choices = choices
        self._closed = False

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        """Carry out one tmem hypercall from `domid`; the hypercall's return value."""
        if self._closed:
            raise BackendClosedError("hypercall", "a SimulatorHost")
        codec = self._codecs.get(word_size)
        if codec is None:
            raise WordSizeError(word_size)
        decoded = codec.decode(op)
        if decoded is None or (self._choices.short_op_efault and len(op) < codec.size):
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
        if cmd == WRITE and self._choices.zero_write_as_new_page and u.tmem_offset == u.pfn_offset == u.len == 0:
            cmd = NEW_PAGE  # the same zero page by NEW_PAGE's code path (TMEM-PUT-005)
        if cmd == PUT_PAGE or cmd == WRITE or cmd == NEW_PAGE:
            return put(state, client, pool_id, pool, u.oid, u.index, self._source(cmd, u, client, memory))
        if cmd == GET_PAGE:
            return get(state, pool, u.oid, u.index, memory, u.cmfn, None)
        if cmd == READ:
            window = (u.tmem_offset, u.pfn_offset, u.len)
            return get(state, pool, u.oid, u.index, memory, u.cmfn, window)
        if cmd == FLUSH_PAGE:
            return flush(state, client, pool_id, pool, u.oid, u.index)
        if cmd == FLUSH_OBJECT:
            return flush(state, client, pool_id, pool, u.oid, None)
        if cmd in self._retired and self._choices.retired_enosys:
            return -ENOSYS  # an error is as unknown as 0 (TMEM-ABI-001)
        return 0  # XCHG, retired and unknown commands

    def _source(self, cmd: int, u: Gen, client: Client, memory: bytearray) -> Source:
        """What a put stores, or -EFAULT if it must read a cmfn not in memory (TMEM-PUT-004/005)."""
        if cmd == NEW_PAGE:
            return Page(ZERO_PAGE)  # cmfn is never read
        if cmd == PUT_PAGE:
            return Page(read_frame(memory, u.cmfn)) if frame_ok(memory, u.cmfn) else -EFAULT
        whole = client.compress and not self._choices.compress_window_fallback
        return write_source(memory, u.cmfn, (u.tmem_offset, u.pfn_offset, u.len), whole,
                            self._choices.window_einval)

    def destroy_domain(self, domid: int) -> None:
        """The domain died: free its client, pools and pages (TMEM-DESTROY-003)."""
        if self._closed:
            raise BackendClosedError("destroy_domain", "a SimulatorHost")
        destroy_client(self.state, domid)

    def close(self) -> None:
        """Release the host; no call follows."""
        for domid in list(self.state.clients):
            destroy_client(self.state, domid)
        self._closed = True
