"""A backend run in a process of its own, so that hypothesis can shrink a crash like any other failure.

A backend that segfaults or aborts takes its process down, and hypothesis
with it: the case reports `crash` with the example's steps, unshrunk. To
shrink it, the case runs again with each backend behind `OutOfProcess`: the
real host lives in a forked helper process, every call crosses a socket
pair (op, caller's memory, result and the memory after), and when the
helper dies the call raises `BackendCrashed` instead. That is an ordinary
exception to hypothesis, which shrinks it, starting a fresh helper for each
example it tries (each example builds its hosts through the factory).
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import struct
from typing import Any

from .backend import Backend, BackendFactory
from .models.errors import TmemConformanceError

_LEN = struct.Struct("<I")


class BackendCrashed(TmemConformanceError):
    """The helper process running the backend died during a call."""

    def __init__(self, how: str) -> None:
        super().__init__(f"the backend's process {how}")
        self.how = how


def _send(sock: socket.socket, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LEN.pack(len(data)) + data)


def _recv(sock: socket.socket) -> Any:
    head = _exactly(sock, _LEN.size)
    return pickle.loads(_exactly(sock, _LEN.unpack(head)[0]))


def _exactly(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _serve(sock: socket.socket, factory: BackendFactory, abi_version: int, capacity: int) -> None:
    from .isolation import die_with_parent
    die_with_parent(os.getppid())
    host = factory(abi_version, capacity)
    while True:
        try:
            method, args = _recv(sock)
        except EOFError:
            return
        try:
            if method == "hypercall":
                domid, word_size, op, memory = args
                buf = bytearray(memory)
                ret = host.hypercall(domid, word_size, op, buf)
                reply: tuple[str, object] = ("ok", (ret, bytes(buf)))
            else:
                reply = ("ok", getattr(host, method)(*args))
        except Exception as e:  # the backend raised: the caller raises it again, as an in-process one would
            reply = ("raised", e if _picklable(e) else RuntimeError(f"{type(e).__name__}: {e}"))
        _send(sock, reply)
        if method == "close":
            return


def _picklable(e: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(e))
        return True
    except Exception:
        return False


class OutOfProcess:
    """A Backend whose host runs in a forked helper process (see the module docstring)."""

    def __init__(self, factory: BackendFactory, abi_version: int, capacity_pages: int) -> None:
        mine, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the helper
            code = 0
            try:
                mine.close()
                _serve(theirs, factory, abi_version, capacity_pages)
            except BaseException:  # noqa: B036 - the helper never returns into the caller's code
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        self.sock, self.pid, self.dead = mine, pid, False

    def _call(self, method: str, *args: object) -> Any:
        if self.dead:
            raise BackendCrashed("had already died")
        try:
            _send(self.sock, (method, args))
            kind, value = _recv(self.sock)
        except (EOFError, OSError):
            raise BackendCrashed(self._death()) from None
        if kind == "raised":
            raise value
        return value

    def _death(self) -> str:
        self.dead = True
        self.sock.close()
        _, status = os.waitpid(self.pid, 0)
        if os.WIFSIGNALED(status):
            try:
                return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
            except ValueError:
                return f"was killed by signal {os.WTERMSIG(status)}"
        return f"exited with status {os.WEXITSTATUS(status)}"

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        ret, after = self._call("hypercall", domid, word_size, bytes(op), bytes(memory))
        memory[:] = after
        return int(ret)

    def destroy_domain(self, domid: int) -> None:
        self._call("destroy_domain", domid)

    def close(self) -> None:
        if self.dead:
            return
        try:
            self._call("close")
        finally:
            if not self.dead:
                self.dead = True
                self.sock.close()
                os.waitpid(self.pid, 0)


def out_of_process(factory: BackendFactory) -> BackendFactory:
    """The factory whose hosts each run in a helper process of their own."""
    def make(abi_version: int, capacity_pages: int) -> Backend:
        return OutOfProcess(factory, abi_version, capacity_pages)
    return make
