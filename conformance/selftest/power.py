"""The suite's power as last measured by `tmem-conformance selftest`, shipped with the package.

`selftest --save-power` writes power.json beside this module; the HTML report's footer and the
README quote it. A test keeps its catalogue sizes equal to the catalogues', so it cannot go stale
without the suite's own tests noticing.
"""

from __future__ import annotations

import json
import os
from typing import Any

PATH = os.path.join(os.path.dirname(__file__), "power.json")


def summary(doc: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(achieved, possible) of each figure of one selftest result: faults killed, variants passed, rules covered."""
    faults, variants, rules = doc["faults"], doc["variants"], doc["rules"]
    return {"faults killed": (sum(f["verdict"] == "killed" and f["named_expected"] for f in faults), len(faults)),
            "variants passed": (sum(v["verdict"] == "pass" for v in variants), len(variants)),
            "rules covered": (sum(bool(v) for v in rules.values()), len(rules))}


def power_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The figures of one selftest result."""
    s = summary(doc)
    return {"profile": doc["profile"], "seconds": doc["seconds"],
            "faults_killed": s["faults killed"][0], "faults": s["faults killed"][1],
            "variants_passed": s["variants passed"][0], "variants": s["variants passed"][1],
            "rules_covered": s["rules covered"][0], "rules": s["rules covered"][1]}


def measured_power() -> dict[str, Any] | None:
    try:
        with open(PATH, encoding="utf-8") as f:
            doc: dict[str, Any] = json.load(f)
    except FileNotFoundError:
        return None
    return doc


def save_power(doc: dict[str, Any]) -> None:
    with open(PATH, "w", encoding="utf-8") as f:
        json.dump(power_of(doc), f, indent=2)
        f.write("\n")
