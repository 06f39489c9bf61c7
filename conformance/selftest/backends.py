"""Every catalogue entry as a backend spec: `tmem_conformance.selftest.backends:variant_NAME`.

The selftest certifies each fault and each legal variant through `certify`, which takes a backend
as module:attr; this module turns those attribute names into the catalogues' factories.
"""

from __future__ import annotations

from typing import Any

PREFIX = "variant_"
MODULE = __name__


def spec(variant: str) -> str:
    """The backend spec that names a legal variant."""
    return f"{MODULE}:{PREFIX}{variant.replace('-', '_')}"


def __getattr__(name: str) -> Any:
    if name.startswith(PREFIX):
        from .variants import VARIANTS
        wanted = name[len(PREFIX):].replace("_", "-")
        if wanted in VARIANTS:
            return VARIANTS[wanted].factory()
    raise AttributeError(f"module {MODULE!r} has no attribute {name!r}")
