"""The suite's power as last measured by `tmem-conformance selftest`, shipped with the package.

`selftest --save-power` writes power.json beside this module (selftest.run computes the figures and
imports this module, never the other way round); the HTML report's footer and the README quote it. A
test keeps its catalogue sizes equal to the catalogues', so it cannot go stale without the suite's own
tests noticing.
"""

from __future__ import annotations

import json
import os
from typing import Any

PATH = os.path.join(os.path.dirname(__file__), "power.json")


def measured_power() -> dict[str, Any] | None:
    try:
        with open(PATH, encoding="utf-8") as f:
            doc: dict[str, Any] = json.load(f)
    except FileNotFoundError:
        return None
    return doc


def save_power(figures: dict[str, Any]) -> None:
    """Record a selftest's figures (selftest.run.power_of) as the measured power."""
    with open(PATH, "w", encoding="utf-8") as f:
        json.dump(figures, f, indent=2)
        f.write("\n")
