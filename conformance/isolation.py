"""Run a callable in a forked child with a time limit, so a native backend cannot take the run down.

`run_isolated(fn, timeout)` forks; the child runs `fn()` and sends back
its return value, or the exception it raised (pickled; if it will not
pickle, its type name, message and traceback). The parent answers with an
IsolatedResult of kind

- "ok": `value` is what fn returned;
- "raised": `exception` is the exception, re-raisable with `unwrap()`;
- "crash": the child died by a signal (`signal_name`, e.g. SIGSEGV) or
  exited without sending a result (`exit_status`);
- "hang": the time limit passed; the child's process group was killed.

With `trail=True` the child also records a line per step as it goes
(`note()`) in memory it shares with the parent (a ring of TRAIL_BYTES:
no system call per step, and nothing for the parent to do until the
child is gone); the parent then keeps the lines since the last
`note(None)` (a new example): a crash or a hang still tells which op was
in flight and which steps came before it (`IsolatedResult.trail`).

POSIX only (os.fork). The child leaves with os._exit, never running the
parent's atexit handlers or pytest's teardown.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .models.errors import TmemConformanceError

Kind = Literal["ok", "raised", "crash", "hang"]
_EXIT_SENT, _EXIT_UNSENDABLE = 0, 3
#: Most steps kept for one example (a crash report shows the last of them).
TRAIL_LINES = 2000
#: Bytes of the shared step ring: the last lines before a crash, however many steps came first.
TRAIL_BYTES = 1 << 18
#: Most bytes of a crashed child's faulthandler frames kept.
_FRAMES_BYTES = 16384
_END = b"\x00"  # a line of its own: a new example begins
_COUNT = struct.Struct("<Q")  # the ring's header: how many bytes were ever written to it


class _Ring:
    """Lines in memory shared across fork(): the child appends, the parent reads once the child is gone.

    A header counts the bytes ever written; the lines wrap round a buffer of `size` bytes, and the
    count is raised only after a line is in, so a child dying mid-line loses that line alone.
    """

    def __init__(self, size: int = TRAIL_BYTES) -> None:
        self.size = size
        self.mem = mmap.mmap(-1, _COUNT.size + size)  # anonymous and MAP_SHARED: the forked child's too
        self.written = 0

    def append(self, data: bytes) -> None:
        at, n = self.written % self.size, len(data)
        if n <= self.size - at:  # the common case: the line fits before the buffer's end
            self.mem[_COUNT.size + at:_COUNT.size + at + n] = data
            self.written += n
            _COUNT.pack_into(self.mem, 0, self.written)
            return
        base = _COUNT.size
        if n >= self.size:
            data, n = data[-(self.size - 1):], self.size - 1
        first = min(n, self.size - at)
        self.mem[base + at:base + at + first] = data[:first]
        if first < n:
            self.mem[base:base + n - first] = data[first:]
        self.written += n
        _COUNT.pack_into(self.mem, 0, self.written)

    def lines(self) -> list[str]:
        """The lines since the last new-example mark (at most TRAIL_LINES, the last ones)."""
        count = _COUNT.unpack_from(self.mem, 0)[0]
        base, at = _COUNT.size, count % self.size
        if count <= self.size:
            data = self.mem[base:base + count]
        else:  # wrapped: the oldest bytes start at the write position, its first line is cut
            data = self.mem[base + at:base + self.size] + self.mem[base:base + at]
            data = data[data.find(b"\n") + 1:]
        lines = data.split(b"\n")[:-1]  # the last piece is an unfinished line, or empty
        if _END in lines:
            lines = lines[len(lines) - lines[::-1].index(_END):]
        return [line.decode("utf-8", "replace") for line in lines[-TRAIL_LINES:]]

    def close(self) -> None:
        self.mem.close()


#: In a child started with trail=True: the ring its steps go to.
_TRAIL: _Ring | None = None


def tracing() -> bool:
    """Whether this process is an isolated child that reports its steps as it goes."""
    return _TRAIL is not None


def note(line: str | None) -> None:
    """In an isolated child with a trail: record one step (None: a new example begins)."""
    if _TRAIL is None:
        return
    _TRAIL.append(_END + b"\n" if line is None else line.replace("\n", " ").encode("utf-8", "replace") + b"\n")


def note_ascii(line: bytes) -> None:
    """note() for a line the caller built as ASCII bytes with no newline (a hypercall's, twice per call)."""
    if _TRAIL is not None:
        _TRAIL.append(line + b"\n")


class ChildException(TmemConformanceError):
    """An exception from the child that could not be pickled: its type name, message and traceback."""

    def __init__(self, type_name: str, message: str, tb: str) -> None:
        self.type_name, self.message, self.traceback = type_name, message, tb
        super().__init__(f"{type_name}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return (ChildException, (self.type_name, self.message, self.traceback))


class IsolationError(TmemConformanceError):
    """The child crashed or hung: raised by IsolatedResult.unwrap()."""

    def __init__(self, result: IsolatedResult) -> None:
        self.result = result
        super().__init__(result.describe())


@dataclass(frozen=True)
class IsolatedResult:
    kind: Kind
    value: Any = None
    exception: BaseException | None = None
    signal_name: str | None = None
    exit_status: int | None = None
    timeout: float | None = None
    pid: int | None = None
    trail: tuple[str, ...] = ()  # with trail=True: the current example's steps, the last one in flight
    frames: str = ""  # a crash: the Python frames faulthandler wrote as the child died (innermost first)

    def describe(self) -> str:
        if self.kind == "ok":
            return f"returned {self.value!r}"
        if self.kind == "raised":
            return f"raised {type(self.exception).__name__}: {self.exception}"
        if self.kind == "hang":
            return f"did not finish within {self.timeout:g} s; its process group was killed"
        if self.signal_name is not None:
            return f"crashed: killed by {self.signal_name}"
        return f"crashed: exited with status {self.exit_status} without a result"

    def unwrap(self) -> Any:
        """The value; re-raise the child's exception; IsolationError for a crash or hang."""
        if self.kind == "ok":
            return self.value
        if self.kind == "raised":
            assert self.exception is not None
            raise self.exception
        raise IsolationError(self)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _payload(fn: Callable[[], object]) -> bytes:
    """What the child sends: ("ok", value) or ("raised", exception), pickled; a stand-in if that fails."""
    try:
        message: tuple[str, object] = ("ok", fn())
    except BaseException as e:  # noqa: B036 - the child reports everything, KeyboardInterrupt included
        message = ("raised", e)
    try:
        data = pickle.dumps(message)
        pickle.loads(data)  # an exception that pickles but cannot be rebuilt is unsendable too
        return data
    except Exception as e:
        if message[0] == "ok":
            stand_in: BaseException = ChildException(
                "UnpicklableResult", f"fn returned {type(message[1]).__name__}, which cannot be pickled: {e}", "")
        else:
            exc = message[1]
            assert isinstance(exc, BaseException)
            stand_in = ChildException(type(exc).__name__, str(exc),
                                      "".join(traceback.format_exception(exc)))
        return pickle.dumps(("raised", stand_in))


def die_with_parent(parent: int) -> None:
    """Linux: the child is killed when the process that forked it dies, however that dies."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(_EXIT_UNSENDABLE)


def _child(fn: Callable[[], object], w: int, ring: _Ring | None, parent: int, frames: int) -> None:
    global _TRAIL
    code = _EXIT_UNSENDABLE
    _TRAIL = ring
    try:
        os.setpgid(0, 0)
        die_with_parent(parent)
        faulthandler.enable(file=frames, all_threads=False)  # SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL
        data = _payload(fn)
        view = memoryview(data)
        while view:
            view = view[os.write(w, view):]
        code = _EXIT_SENT
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def run_isolated(fn: Callable[[], object], timeout: float, trail: bool = False) -> IsolatedResult:
    """Run fn() in a forked child; see the module docstring for the result kinds."""
    if timeout <= 0:
        raise ValueError(f"timeout must be more than 0 seconds, not {timeout!r}")
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    ring = _Ring() if trail else None
    frames = tempfile.TemporaryFile()  # where the child's faulthandler writes if it dies by a signal
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(r)
        _child(fn, w, ring, parent, frames.fileno())
    os.close(w)
    try:
        result = _collect(pid, r, timeout)
        if ring is not None and result.kind in ("crash", "hang"):
            result = dataclasses.replace(result, trail=tuple(ring.lines()))
        if result.kind == "crash":
            frames.seek(0)
            text = frames.read(_FRAMES_BYTES).decode("utf-8", "replace").strip()
            result = dataclasses.replace(result, frames=text)
        return result
    except BaseException:  # interrupted (Ctrl-C, SIGTERM): the child must not outlive us
        _kill_group(pid)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        raise
    finally:
        if ring is not None:
            ring.close()
        frames.close()


def _collect(pid: int, r: int, timeout: float) -> IsolatedResult:
    try:
        os.setpgid(pid, pid)  # also done by the child: whichever runs first
    except OSError:
        pass
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                _kill_group(pid)
                os.waitpid(pid, 0)
                return IsolatedResult("hang", timeout=timeout, pid=pid)
            ready, _, _ = select.select([r], [], [], left)
            if r not in ready:
                continue
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(r)
    status = _wait(pid, deadline)
    if status is None:
        return IsolatedResult("hang", timeout=timeout, pid=pid)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return IsolatedResult("crash", signal_name=_signal_name(sig), pid=pid)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    data = b"".join(chunks)
    if code != _EXIT_SENT or not data:
        return IsolatedResult("crash", exit_status=code, pid=pid)
    try:
        kind, obj = pickle.loads(data)
    except Exception as e:
        return IsolatedResult("raised", exception=ChildException(type(e).__name__,
                                                                 f"the child's result cannot be read: {e}", ""),
                              pid=pid)
    if kind == "ok":
        return IsolatedResult("ok", value=obj, pid=pid)
    return IsolatedResult("raised", exception=obj, pid=pid)


def _kill_group(pid: int) -> None:
    """SIGKILL the child's process group (anything it started too), or the child alone."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _wait(pid: int, deadline: float) -> int | None:
    """The child's wait status once it has closed its pipe; None (and killed) if it outlives the deadline."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            _kill_group(pid)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.001)
