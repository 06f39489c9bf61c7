"""Pool flags: valid ones for a version, and each kind of invalid one."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from ..models.abi import PoolFlag, pool_flags
from ..models.versions import VERSIONS, AbiVersion
from .flat import flat


@cache
def valid_flags(v: AbiVersion) -> st.SearchStrategy[int]:
    return flat(st.builds(lambda p, s: pool_flags(persist=p, shared=s, spec=v.spec), st.booleans(), st.booleans()),
                f"valid_flags({v.name})")


@cache
def invalid_flags(v: AbiVersion) -> st.SearchStrategy[int]:
    """One fault each: another version's spec, a wrong page size, and the bits some versions reject."""
    others = sorted({r.spec for r in VERSIONS.values()} - {v.spec}) or [v.spec + 1]
    base = valid_flags(v)
    return flat(st.one_of(
        st.builds(lambda f, s: (f & ~(0xFF << 24)) | s << 24, base, st.sampled_from(others + [0x7F])),
        st.builds(lambda f, ps: f | ps << PoolFlag.PAGESIZE_SHIFT, base, st.integers(1, 15)),
        st.builds(lambda f: f | PoolFlag.PRECOMPRESSED, base),
        st.builds(lambda f, bit: f | 1 << bit, base, st.integers(8, 23)),
        st.builds(lambda f: f | 0x8, base),  # bit 3: ignored by every version
    ), f"invalid_flags({v.name})")


@cache
def any_flags(v: AbiVersion) -> st.SearchStrategy[int]:
    return flat(st.one_of(valid_flags(v), valid_flags(v), invalid_flags(v)), f"any_flags({v.name})")
