"""Guest workloads: what a Linux guest's cleancache and frontswap ask of tmem."""

from __future__ import annotations

from hypothesis import strategies as st

SWAP_TYPES = st.integers(0, 2)
#: Swap offsets: within one object (offset & 0xF), across objects, and at the 32-bit edge.
SWAP_OFFSETS = st.one_of(st.integers(0, 40), st.sampled_from([0xF, 0x10, 0x11, 2**32 - 1]))
FILESYSTEMS = st.sampled_from(["root", "home", "shared"])
