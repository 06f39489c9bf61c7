"""Proposed tmem ABI revisions described as data, shipped with the package (`--abi-file`).

`path("v2-feature-flags")` is the installed file's path, for the selftest entries certified
against it and for anyone who wants the worked example without a checkout.
"""

from __future__ import annotations

from pathlib import Path


def path(name: str) -> str:
    """The shipped revision file `name`.toml."""
    found = Path(__file__).with_name(f"{name}.toml")
    if not found.is_file():
        known = ", ".join(sorted(p.stem for p in Path(__file__).parent.glob("*.toml")))
        raise FileNotFoundError(f"no shipped revision {name!r}; shipped: {known}")
    return str(found)


#: The worked example: v2 negotiates optional features through NEW_POOL flag bits and retires XCHG.
V2_FEATURE_FLAGS = "v2-feature-flags"
