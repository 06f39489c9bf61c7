"""Object ids, indices and uuids, biased toward the cases that break hosts."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from ..models.abi import U64_ALL_ONES
from .flat import flat

U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, U64_ALL_ONES)
LOW_WORDS = st.sampled_from([0, 1, 2, 7, 0x10, 2**32, 2**63, U64_ALL_ONES - 1])


@cache
def oids(words: int, *, allow_all_ones: bool = True) -> st.SearchStrategy[tuple[int, ...]]:
    """Small ids, full-width ids, and families that share their low word and differ only above it."""
    word = st.one_of(st.integers(0, 3), LOW_WORDS, U64)
    if not allow_all_ones:
        word = word.filter(lambda w: w != U64_ALL_ONES)
    small = st.tuples(st.integers(0, 5), *[st.just(0)] * (words - 1))
    full = st.tuples(*[word] * words)
    if words == 1:
        return flat(st.one_of(small, full), f"oids({words})")
    sharing_low = st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 2))
    return flat(st.one_of(small, sharing_low, full), f"oids({words})")


def wide_filekeys() -> st.SearchStrategy[tuple[int, int, int]]:
    """192-bit inode keys as a v1 filesystem hands them to cleancache: many fit 64 bits, some do not."""
    return st.one_of(st.tuples(INODES, st.just(0), st.just(0)),
                     st.tuples(st.integers(0, 6), st.integers(1, 3), st.integers(0, 2)))


@cache
def filekeys(words: int) -> st.SearchStrategy[tuple[int, ...]]:
    """The inode keys a guest whose ids have `words` 64-bit words hands to cleancache."""
    return wide_filekeys() if words > 1 else st.tuples(INODES)


#: 64-bit inode numbers: small ones, and the same ones above 4G (a 64-bit filesystem's), which share
#: their low 32 bits with the small ones.
INODES = st.sampled_from([0, 1, 2, 1 << 32, 1 << 32 | 1])


INDICES = flat(st.one_of(st.integers(0, 4), st.sampled_from([2**31, 2**32 - 1])), "INDICES")

PRIVATE_UUID = st.just((0, 0))
ALL_ONES_UUID = st.just((U64_ALL_ONES, U64_ALL_ONES))
SHARED_UUIDS = st.sampled_from([(1, 1), (1, 2), (0xDEAD, 0xBEEF)])
UUIDS = flat(st.one_of(PRIVATE_UUID, SHARED_UUIDS, ALL_ONES_UUID, st.tuples(U64, U64)), "UUIDS")
