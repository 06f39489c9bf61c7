"""Guest workloads: what a Linux guest's cleancache and frontswap ask of tmem."""

from __future__ import annotations

from hypothesis import strategies as st

from .flat import flat
from .pages import PAGES

SWAP_TYPES = st.integers(0, 2)
#: Swap offsets: within one object (offset & 0xF), across objects, and at the 32-bit edge.
SWAP_OFFSETS = flat(st.one_of(st.integers(0, 40), st.sampled_from([0xF, 0x10, 0x11, 2**32 - 1])), "SWAP_OFFSETS")
FILESYSTEMS = st.sampled_from(["root", "home", "shared"])
#: The offsets a migrating guest swaps out to (RESUME_PAGE's, 41, is past them).
SWAP_SLOTS = st.integers(0, 40)
#: What a guest does while a live save runs: (type, offset, page) swapped out, or invalidated if it is out.
CHURN = st.lists(st.tuples(SWAP_TYPES, SWAP_SLOTS, PAGES), max_size=3)
