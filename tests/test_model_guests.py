"""Reference guests over the model: negotiation per cell, nothing lost, the shim never truncates."""

from __future__ import annotations

import pytest

from tmem_conformance.models.errors import Violation
from tmem_conformance.models.guests import GuestKernel
from tmem_conformance.models.matrix import cells

from .model_oracle import ModelOracle


@pytest.mark.parametrize("cell", [c for c in cells() if c.kind == "pairing"], ids=lambda c: c.id)
def test_each_pairing_negotiates_as_documented(cell) -> None:
    host = ModelOracle(cell.host, 32)
    g = GuestKernel.of(cell.guest, cell.word_size, 4, host)
    g.frontswap_init()
    assert (g.negotiated.name if g.negotiated else None) == cell.negotiated
    tried = [got for _, got in g.tried]
    expected_tries = {"native": [0], "via-shim": [-1, 0], "graceful-failure": [-1]}[cell.expected]
    assert tried == expected_tries
    for off in range(20):
        g.swap_out(1, off, bytes([off]) * 4096)
    for off in range(20):
        assert g.swap_in(1, off) == bytes([off]) * 4096
    assert (len(g.in_tmem) == 20) == (cell.expected != "graceful-failure")


def test_shim_on_v0_keeps_wide_oids_to_itself() -> None:
    host = ModelOracle("v0", 16)
    g = GuestKernel.of("v1+shim", 64, 4, host)
    g.cleancache_init_fs("root")
    calls = host.calls
    g.cleancache_put("root", (5, 1, 0), 0, b"\1" * 4096)  # does not fit 64 bits: never sent
    assert host.calls == calls and g.kept_by_guest == 1
    g.cleancache_put("root", (5, 0, 0), 0, b"\2" * 4096)
    assert host.calls == calls + 1
    assert g.cleancache_get("root", (5, 1, 0), 0) is None
    assert g.cleancache_get("root", (5, 0, 0), 0) == b"\2" * 4096


class LosingHost(ModelOracle):
    """Answers every get with a miss: a persistent page is lost."""

    def hypercall(self, domid, word_size, op, memory):  # type: ignore[no-untyped-def]
        ret = super().hypercall(domid, word_size, op, memory)
        return 0 if op[0] == 5 else ret


def test_a_lost_swap_page_is_a_guest_violation() -> None:
    g = GuestKernel.of("v1", 64, 4, LosingHost("v1", 16))
    g.frontswap_init()
    assert g.swap_out(0, 3, b"\7" * 4096)
    with pytest.raises(Violation, match="TMEM-GUEST-001"):
        g.swap_in(0, 3)
