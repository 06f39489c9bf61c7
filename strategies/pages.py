"""Page contents and partial-page windows."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from ..models.abi import PAGE_SIZE
from .flat import flat


@cache
def _fill(b: int) -> bytes:
    return bytes([b]) * PAGE_SIZE


@cache
def _pattern(seed: int) -> bytes:
    """(seed * 31 + i * 7) mod 256 at byte i: it repeats every 256 bytes, so one period is built."""
    return bytes((seed * 31 + i * 7) & 0xFF for i in range(256)) * (PAGE_SIZE // 256)


#: A few distinct pages, so that a host returning the wrong page is caught by its bytes.
PAGES = flat(st.one_of(st.builds(_fill, st.integers(0, 255)), st.builds(_pattern, st.integers(0, 255))), "PAGES")

#: (tmem_offset, pfn_offset, len): inside the page, at its edges, all zero, and past its end.
WINDOWS = flat(st.one_of(
    st.tuples(st.integers(0, PAGE_SIZE), st.integers(0, PAGE_SIZE), st.integers(0, PAGE_SIZE)).map(
        lambda t: (min(t[0], PAGE_SIZE - 1), min(t[1], PAGE_SIZE - 1), min(t[2], PAGE_SIZE - max(t[0], t[1])))),
    st.just((0, 0, 0)),
    st.just((0, 0, PAGE_SIZE)),
    st.tuples(st.integers(1, PAGE_SIZE), st.integers(0, PAGE_SIZE), st.just(PAGE_SIZE)),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
), "WINDOWS")
