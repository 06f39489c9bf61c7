"""The checked host's step log: a call kept raw, its line and replay event made only when asked.

A replay event carries the pages of the caller's memory that changed since that caller's last call
(replay.py writes them into its own copy of the memory before sending the op), so a replay sends
each op with the memory the recorded run had.
"""

from __future__ import annotations

import base64

import pytest

from tmem_conformance import checked
from tmem_conformance.checked import BackendError, CheckedHost, StepLog
from tmem_conformance.models.abi import PAGE_SIZE
from tmem_conformance.models.guests import GuestKernel
from tmem_conformance.models.versions import version
from tmem_conformance.registry import load


def _host(log: StepLog) -> CheckedHost:
    return CheckedHost(load("simulator").factory, version("v1"), 8, log)


def _pages(event: dict[str, object]) -> dict[int, bytes]:
    pages = event["pages"]
    assert isinstance(pages, dict)
    return {int(i): base64.b64decode(data) for i, data in pages.items()}


def test_a_calls_event_carries_the_pages_changed_since_that_callers_last_call() -> None:
    log = StepLog()
    guest = GuestKernel.of("v1", 64, 1, _host(log))
    guest.frontswap_init()  # NEW_POOL: the guest's memory all zeros, never sent before
    guest.swap_out(0, 3, b"\x11" * PAGE_SIZE)  # page 0 now holds the data put
    guest.swap_out(0, 4, b"\x11" * PAGE_SIZE)  # the same data: nothing changed since the last call
    assert guest.swap_in(0, 3) == b"\x11" * PAGE_SIZE  # the get writes page 1, after the call
    guest.swap_out(0, 3, b"\x22" * PAGE_SIZE)  # page 0 changed again (page 1 as the get left it)
    calls = [e for e in log.replay_events() if e["event"] == "hypercall"]
    assert [_pages(e) for e in calls] == [
        {0: bytes(PAGE_SIZE), 1: bytes(PAGE_SIZE)},
        {0: b"\x11" * PAGE_SIZE},
        {},
        {},
        {0: b"\x22" * PAGE_SIZE},
    ]
    assert [e["ret"] for e in calls] == [0, 1, 1, 1, 1]
    assert {e["memory_size"] for e in calls} == {len(guest.memory)}


def test_a_calls_line_is_formatted_only_when_the_lines_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    log = StepLog()
    guest = GuestKernel.of("v1", 64, 1, _host(log))
    described: list[bytes] = []
    real = checked.describe_bytes

    def counting(op: bytes, *args: object) -> str:
        described.append(op)
        return real(op, *args)  # type: ignore[arg-type]
    monkeypatch.setattr(checked, "describe_bytes", counting)
    guest.frontswap_init()
    guest.swap_out(0, 3, b"\x11" * PAGE_SIZE)
    assert described == []
    lines = log.lines
    assert len(described) == 2
    assert lines[0].startswith("host (v1): dom1/64-bit NEW_POOL") and lines[0].endswith("-> 0")
    assert lines[1].startswith("host (v1): dom1/64-bit PUT_PAGE") and lines[1].endswith("-> 1")


def test_a_call_the_backend_raised_on_is_an_event_without_a_return_value() -> None:
    class Raising:
        def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
            raise RuntimeError("boom")

        def destroy_domain(self, domid: int) -> None: ...

        def close(self) -> None: ...

    log = StepLog()
    host = CheckedHost(lambda spec, capacity: Raising(), version("v1"), 8, log)  # type: ignore[arg-type, return-value]
    guest = GuestKernel.of("v1", 64, 1, host)
    with pytest.raises(BackendError, match="raised RuntimeError: boom on host") as e:
        guest.frontswap_init()
    (event,) = [ev for ev in e.value.events if ev["event"] == "hypercall"]
    assert "ret" not in event and _pages(event) == {0: bytes(PAGE_SIZE), 1: bytes(PAGE_SIZE)}
    assert e.value.steps[-1].endswith("-> raised RuntimeError: boom")
