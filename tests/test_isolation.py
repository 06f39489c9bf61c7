"""conformance/isolation.py: each result kind from a tiny callable in a forked child."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tmem_conformance.isolation import (
    TRAIL_BYTES,
    TRAIL_LINES,
    ChildException,
    IsolatedResult,
    IsolationError,
    note,
    run_isolated,
    tracing,
)


def _segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _exit_quietly() -> None:
    os._exit(7)


class _Unpicklable(Exception):
    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise TypeError("this exception refuses to be pickled")


def _raise_unpicklable() -> None:
    raise _Unpicklable("the backend said no")


def test_ok_returns_the_childs_value() -> None:
    result = run_isolated(lambda: {"pid": os.getpid(), "data": b"x" * 200_000}, timeout=10)
    assert result.kind == "ok"
    assert result.value["pid"] != os.getpid()  # it ran in another process
    assert result.value["data"] == b"x" * 200_000  # larger than a pipe buffer
    assert result.unwrap() == result.value


def test_raised_carries_the_exception() -> None:
    def fail() -> None:
        raise KeyError("pool 3")

    result = run_isolated(fail, timeout=10)
    assert result.kind == "raised"
    assert isinstance(result.exception, KeyError)
    with pytest.raises(KeyError, match="pool 3"):
        result.unwrap()


def test_unpicklable_exception_arrives_as_type_message_and_traceback() -> None:
    result = run_isolated(_raise_unpicklable, timeout=10)
    assert result.kind == "raised"
    exc = result.exception
    assert isinstance(exc, ChildException)
    assert exc.type_name == "_Unpicklable"
    assert exc.message == "the backend said no"
    assert "_raise_unpicklable" in exc.traceback


@pytest.mark.parametrize("fn,signame", [(os.abort, "SIGABRT"), (_segfault, "SIGSEGV")])
def test_crash_by_signal_is_named(fn: object, signame: str) -> None:
    result = run_isolated(fn, timeout=10)  # type: ignore[arg-type]
    assert result.kind == "crash"
    assert result.signal_name == signame
    assert signame in result.describe()
    with pytest.raises(IsolationError, match=signame):
        result.unwrap()


def test_exit_without_a_result_is_a_crash_with_its_status() -> None:
    result = run_isolated(_exit_quietly, timeout=10)
    assert result == IsolatedResult("crash", exit_status=7, pid=result.pid)
    assert "status 7" in result.describe()


def test_hang_is_killed_at_the_limit() -> None:
    start = time.monotonic()
    result = run_isolated(lambda: time.sleep(60), timeout=0.5)
    elapsed = time.monotonic() - start
    assert result.kind == "hang"
    assert result.timeout == 0.5
    assert elapsed < 10
    assert result.pid is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(result.pid, os.WNOHANG)  # reaped: no zombie left
    with pytest.raises(IsolationError, match="0.5 s"):
        result.unwrap()


def _alive(pid: int) -> bool:
    """Running (not a zombie waiting for whoever inherited it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_hang_kills_the_childs_own_children_too(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild.pid"

    def spawn_and_wait() -> None:
        grandchild = os.fork()
        if grandchild == 0:
            time.sleep(60)
            os._exit(0)
        marker.write_text(str(grandchild))
        time.sleep(60)

    result = run_isolated(spawn_and_wait, timeout=1)
    assert result.kind == "hang"
    grandchild = int(marker.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(grandchild), "the child's own child outlived the kill of its process group"


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout"):
        run_isolated(lambda: None, timeout=0)


def _steps_then(end: object, examples: int, steps: int) -> object:
    def run() -> None:
        for e in range(examples):
            note(None)
            for s in range(steps):
                note(f"example {e} step {s}\nwith a newline")
        end()  # type: ignore[operator]
    return run


def test_a_crash_keeps_the_steps_of_its_example_only() -> None:
    result = run_isolated(_steps_then(_segfault, 3, 5), timeout=10, trail=True)
    assert result.kind == "crash"
    assert result.trail == tuple(f"example 2 step {s} with a newline" for s in range(5))


def test_a_hang_keeps_the_last_steps_after_the_ring_wraps() -> None:
    # Far more than the ring holds: the lines kept are the last ones, whole, and at most TRAIL_LINES.
    steps = 3 * TRAIL_BYTES // len("example 0 step 0 with a newline")
    result = run_isolated(_steps_then(lambda: time.sleep(60), 1, steps), timeout=3, trail=True)
    assert result.kind == "hang"
    assert len(result.trail) == TRAIL_LINES
    assert result.trail[-1] == f"example 0 step {steps - 1} with a newline"
    assert result.trail[0] == f"example 0 step {steps - TRAIL_LINES} with a newline"


def test_no_trail_unless_asked_and_none_for_a_result() -> None:
    assert run_isolated(_steps_then(_segfault, 1, 3), timeout=10).trail == ()
    assert run_isolated(_steps_then(lambda: None, 1, 3), timeout=10, trail=True).trail == ()
    assert not tracing()
