"""A backend that does whatever the reference model allows first: for testing models/ on its own.

It never certifies anything (that would test the model against itself);
it lets the toolstack and guest tests run over the model alone, and lets
the model's own properties walk through its allowed outcomes.
"""

from __future__ import annotations

from tmem_conformance.models.host import ReferenceHost
from tmem_conformance.models.outcomes import Outcome


def apply_writes(o: Outcome, memory: bytearray) -> None:
    for w in o.writes:
        memory[w.offset:w.end] = w.data


class ModelOracle:
    """Carry out the allowed outcome with the highest return value (a host that keeps what it can)."""

    def __init__(self, abi_version: object, capacity_pages: int) -> None:
        self.model = ReferenceHost(abi_version, capacity_pages)
        self.calls = 0

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        self.calls += 1
        before = bytes(memory)
        outs = self.model.outcomes(domid, word_size, op, before)
        o = max(outs.options, key=lambda o: o.lo)
        apply_writes(o, memory)
        ret = o.lo if o.lo > -(1 << 62) else o.hi
        outs.observe(ret, before, bytes(memory))
        return ret

    def destroy_domain(self, domid: int) -> None:
        self.model.destroy_domain(domid)

    def close(self) -> None:
        return None
