"""Replay a violation's recorded steps against a backend (the same one, or a fixed version of it).

Each step is sent exactly as recorded (the op bytes, and the caller's
memory pages as the machine had set them) to a fresh backend and a fresh
reference model, and printed with what the model allowed and what the
backend returned. The first step outside the allowed set reproduces the
violation.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .backend import Backend, BackendFactory
from .checked import describe_bytes
from .models.errors import UsageError, Violation
from .models.host import ReferenceHost
from .models.versions import AbiVersion, version


@dataclass
class _Host:
    backend: Backend
    model: ReferenceHost
    version: AbiVersion


def find_violation(doc: dict[str, Any], wanted: str) -> dict[str, Any]:
    """A violation by id or number; a crash or error whose steps were recorded counts as one too."""
    found = [v for c in doc["cells"] for v in c.get("violations", ())]
    found += [e for c in doc["cells"] for e in c.get("errors", ()) if e.get("replay")]
    for i, v in enumerate(found, 1):
        if wanted in (v.get("id"), str(i)):
            return v
    ids = ", ".join(f"{i} = {v.get('id')}" for i, v in enumerate(found, 1)) or "none: every cell passed"
    raise UsageError(f"no violation {wanted!r} in the report; it holds: {ids}")


def replay(violation: dict[str, Any], factory: BackendFactory, say: Callable[[str], None]) -> Violation | None:
    """Run the steps; return the violation they reproduce, or None if the backend now conforms."""
    events = violation.get("replay")
    if not events:
        raise UsageError(f"violation {violation.get('id')!r} carries no recorded steps to replay")
    hosts: dict[str, _Host] = {}
    memory: dict[tuple[str, int], bytearray] = {}
    try:
        for n, ev in enumerate(events, 1):
            label = ev["host"]
            if ev["event"] == "create":
                v = version(ev["version"])
                hosts[label] = _Host(factory(v.spec, ev["capacity"]), ReferenceHost(v, ev["capacity"]), v)
                say(f"{n:3}. create {label}: tmem {v.name}, capacity {ev['capacity']} pages")
            elif ev["event"] == "destroy_domain":
                hosts[label].backend.destroy_domain(ev["domid"])
                hosts[label].model.destroy_domain(ev["domid"])
                say(f"{n:3}. {label}: destroy dom{ev['domid']}")
            else:
                h = hosts[label]
                mem = memory.setdefault((label, ev["domid"]), bytearray(ev["memory_size"]))
                for page, data in ev["pages"].items():
                    mem[int(page) * 4096:(int(page) + 1) * 4096] = base64.b64decode(data)
                op = bytes.fromhex(ev["op"])
                before = bytes(mem)
                outcomes = h.model.outcomes(ev["domid"], ev["word_size"], op, before)
                ret = h.backend.hypercall(ev["domid"], ev["word_size"], op, mem)
                say(f"{n:3}. {label}: dom{ev['domid']}/{ev['word_size']}-bit "
                    f"{describe_bytes(op, h.version, ev['word_size'])}")
                say(f"       expected {outcomes.expected()}")
                say(f"       observed {ret}" + ("" if "ret" not in ev or ev["ret"] == ret
                                               else f" (the recorded run returned {ev['ret']})"))
                try:
                    outcomes.observe(ret, before, bytes(mem))
                except Violation as v:
                    say(f"       -> {v}")
                    return v
        return None
    finally:
        for h in hosts.values():
            h.backend.close()
