"""Raw and malformed op bytes: short, long, reserved bits, unknown commands, bad pool ids, bad cmfns."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from ..models import codec
from ..models.abi import Cmd
from ..models.layouts import layout
from ..models.versions import AbiVersion
from .flat import flat
from .ids import U32, oids

UNKNOWN_CMDS = st.sampled_from([11, 12, 100, 103, 0x7FFFFFFF, 0xFFFFFFFF])
GEN_CMDS = st.sampled_from([Cmd.PUT_PAGE, Cmd.GET_PAGE, Cmd.FLUSH_PAGE, Cmd.FLUSH_OBJECT, Cmd.READ,
                            Cmd.WRITE, Cmd.NEW_PAGE, Cmd.XCHG, Cmd.DESTROY_POOL])
BAD_POOL_IDS = st.sampled_from([-(2**31), -1, 16, 17, 255, 2**31 - 1])


@cache
def malformed_ops(v: AbiVersion, word_size: int, pages: int) -> st.SearchStrategy[bytes]:
    """Bytes a buggy or hostile guest could pass, in the host's layout for its word size."""
    lay = layout(v, word_size)
    word = st.integers(0, 2**word_size - 1)

    def gen(cmd: int, pool: int, oid: tuple[int, ...], index: int, cmfn: int) -> bytes:
        return codec.pack(codec.TmemOp(cmd, pool, codec.Gen(oid, index, 0, 0, 0, cmfn)), v, word_size)

    well_formed = st.builds(gen, st.one_of(GEN_CMDS, UNKNOWN_CMDS), st.integers(-1, 3), oids(v.oid_words),
                            st.integers(0, 3), st.one_of(st.integers(0, pages + 1), word))
    retired: tuple[st.SearchStrategy[bytes], ...] = ()
    if v.retired_commands:  # numbers the revision retired, on pools that exist, with frames that do (TMEM-ABI-001)
        retired = (st.builds(gen, st.sampled_from(sorted(v.retired_commands)), st.integers(0, 2), oids(v.oid_words),
                             st.integers(0, 3), st.integers(0, pages - 1)),)
    return flat(st.one_of(
        *retired,
        st.builds(gen, GEN_CMDS, BAD_POOL_IDS, oids(v.oid_words), st.integers(0, 3), st.integers(0, pages)),
        st.builds(gen, st.one_of(GEN_CMDS, UNKNOWN_CMDS), st.integers(0, 2), oids(v.oid_words),
                  st.integers(0, 3), st.sampled_from([pages, pages + 1, 2**word_size - 1])),
        well_formed.flatmap(lambda raw: st.integers(0, len(raw) - 1).map(lambda n: raw[:n])),  # short
        st.builds(lambda raw, tail: raw + tail, well_formed, st.binary(min_size=1, max_size=16)),  # long
        st.binary(min_size=lay.size, max_size=lay.size),
        st.builds(lambda cmd, rest: cmd.to_bytes(4, "little") + rest, U32, st.binary(max_size=lay.size)),
    ), f"malformed_ops({v.name}, {word_size})")
