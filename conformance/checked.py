"""A backend under check: every hypercall is compared with the reference model as it happens.

`CheckedHost` is a HostPort/GuestPort, so the toolstack and the reference
guests drive a backend through it and every call they make is checked.
It keeps the step list of the current example; a violation carries it,
so the shrunk counterexample reads on its own.
"""

from __future__ import annotations

import base64
import contextlib
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from . import isolation
from .backend import Backend, BackendFactory
from .models import codec
from .models.abi import PAGE_SIZE
from .models.errors import LayoutError, TmemConformanceError, Violation
from .models.host import ReferenceHost, describe
from .models.layouts import layout
from .models.versions import AbiVersion, version


class BackendError(TmemConformanceError):
    """The backend raised or returned something that is not a return value: verdict "error"."""

    def __init__(self, message: str, steps: list[str], tb: str = "",
                 events: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.steps, self.traceback, self.events = steps, tb, list(events or [])

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.steps, self.traceback, self.events))


class BackendDied(TmemConformanceError):
    """The backend crashed the process running a cell (verdict "crash") or never returned ("hang").

    `steps` are the steps of the example that died, the last one the op in flight.
    """

    def __init__(self, verdict: str, message: str, steps: list[str] | None = None, frames: str = "",
                 events: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.verdict, self.steps = verdict, list(steps or [])
        self.traceback = frames  # a crash: the Python frames faulthandler wrote as the process died
        self.events = list(events or [])  # a shrunk crash: its steps exactly enough to replay them

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.verdict, str(self), self.steps, self.traceback, self.events))


def steps_from_trail(trail: tuple[str, ...] | list[str]) -> list[str]:
    """Readable steps from an isolated child's trail; a call with no result is marked in flight."""
    out: list[str] = []
    pending: str | None = None
    for line in trail:
        kind, _, rest = line.partition("|")
        if kind == "call":
            if pending is not None:
                out.append(pending + " -> (no result)")
            label, vname, domid, ws, hexop = rest.split("|")
            try:
                text = describe_bytes(bytes.fromhex(hexop), version(vname), int(ws))
            except Exception:  # a step line must never hide the crash it explains
                text = f"op {hexop}"
            pending = f"{label} ({vname}): dom{domid}/{ws}-bit {text}"
        elif kind == "ret" and pending is not None:
            out.append(f"{pending} -> {rest}")
            pending = None
    if pending is not None:
        out.append(f"{pending} -> never returned (the op in flight)")
    return out


#: How a machine step's line begins in a violation's steps (the hypercalls it made follow it).
STEP_PREFIX = "step "


def short(value: object) -> str:
    """An argument as a step line shows it: a page as its length and first bytes, not 4096 of them."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex() if len(value) <= 8 else f"<{len(value)} bytes {bytes(value[:4]).hex()}...>"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(short(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    return repr(value)


def machine_steps(lines: list[str]) -> int:
    """How many machine steps a violation's lines hold (the rest are hypercalls and checks)."""
    return sum(1 for line in lines if line.startswith(STEP_PREFIX))


def abridged(lines: list[str], tail: int = 8) -> list[str]:
    """A violation's lines for a terminal: every machine step and the last `tail` lines, "..." between."""
    keep = [i for i, line in enumerate(lines) if line.startswith(STEP_PREFIX) or i >= len(lines) - tail]
    out: list[str] = []
    for prev, i in zip([-1] + keep, keep):
        if i != prev + 1:
            out.append("...")
        out.append(lines[i])
    return out


#: A hypercall as the step log keeps it: (host, domid, word size, op, the caller's memory before the
#: call, after it or None if it never returned, the return value or None). Formatting it as a line
#: and as a replay event waits until a violation or a replay asks: most examples pass.
Call = tuple["CheckedHost", int, int, bytes, bytes, "bytes | None", "int | None"]


@dataclass
class StepLog:
    """The steps of one example: readable lines, and events exact enough to replay them.

    A line may be given as a function that formats it, and a hypercall is kept as its `Call`: most
    examples pass, and their lines are never read, so formatting waits until a violation or a replay
    asks for them.
    """

    entries: list[str | Callable[[], str] | Call] = field(default_factory=list)
    events: list[dict[str, object] | Call] = field(default_factory=list)
    #: machine steps (rules) so far
    rules: int = 0

    def add(self, line: str | Callable[[], str]) -> None:
        self.entries.append(line)

    def rule(self, name: str, kwargs: Mapping[str, object]) -> None:
        """A machine step begins: its rule and arguments head the hypercalls it makes."""
        self.rules += 1
        n = self.rules
        self.entries.append(lambda: f"{STEP_PREFIX}{n}: {name}("
                                    f"{', '.join(f'{k}={short(v)}' for k, v in kwargs.items())})")

    @property
    def lines(self) -> list[str]:
        return [e if isinstance(e, str) else _call_line(e) if isinstance(e, tuple) else e() for e in self.entries]

    def replay_events(self) -> list[dict[str, object]]:
        """The events as `replay` and the report read them: a hypercall's op in hex, and the pages of
        the caller's memory that changed since its last call (by page number, in base64)."""
        out: list[dict[str, object]] = []
        seen: dict[tuple[str, int], bytes] = {}  # each caller's memory as its last call left it
        for e in self.events:
            if isinstance(e, dict):
                out.append(e)
                continue
            host, domid, word_size, op, before, after, ret = e
            key = (host.label, domid)
            pages = _changed_pages(seen.get(key, b""), before)
            seen[key] = before if after is None else after
            event: dict[str, object] = {
                "event": "hypercall", "host": host.label, "domid": domid, "word_size": word_size,
                "op": op.hex(), "memory_size": len(before),
                "pages": {str(i): base64.b64encode(page).decode("ascii") for i, page in pages.items()}}
            if ret is not None:
                event["ret"] = ret
            out.append(event)
        return out


def _changed_pages(old: bytes, memory: bytes) -> dict[int, bytes]:
    """The pages of `memory` that differ from `old` (all of them where `old` is shorter), by page number."""
    if old == memory:
        return {}
    return {i // PAGE_SIZE: memory[i:i + PAGE_SIZE] for i in range(0, len(memory), PAGE_SIZE)
            if memory[i:i + PAGE_SIZE] != old[i:i + PAGE_SIZE]}


def _call_line(call: Call) -> str:
    host, domid, word_size, op, *_, ret = call
    return f"{host.what(domid, word_size, op)} -> {ret}"


def describe_bytes(op: bytes, v: AbiVersion, word_size: int) -> str:
    lay = layout(v, word_size)
    cmd = int.from_bytes(op[:4], "little") if len(op) >= 4 else None
    if cmd is None or len(op) < lay.needed(cmd):
        return f"{len(op)}-byte op {op.hex()}"
    try:
        text = describe(codec.unpack(bytes(op[:lay.size]).ljust(lay.size, b"\0"), v, word_size))
    except LayoutError:
        return f"op {op.hex()}"
    return text if len(op) == lay.size else f"{text} ({len(op)}-byte buffer)"


#: The rules a host breaks when it loses or changes a page it must keep. While a machine drives a
#: guest or the toolstack through a host, such a violation is named by what that guest or toolstack
#: was promised (a frontswap page is TMEM-GUEST-001, a migrated one TMEM-MIG-001).
PAGE_RULES = frozenset({"TMEM-EPH-001", "TMEM-EPH-002", "TMEM-GET-002", "TMEM-GET-003", "TMEM-GET-001",
                        "TMEM-SHARED-002", "TMEM-PUT-001", "TMEM-PUT-006", "TMEM-DESTROY-001"})


class CheckedHost:
    """One backend host and its model, in lock step."""

    def __init__(self, factory: BackendFactory, v: AbiVersion, capacity: int, log: StepLog,
                 label: str = "host", tolerated: frozenset[str] = frozenset()) -> None:
        self.version, self.label, self.log = v, label, log
        self.model = ReferenceHost(v, capacity, tolerated)
        log.events.append({"event": "create", "host": label, "version": v.name, "capacity": capacity})
        try:
            self.backend: Backend = factory(v.spec, capacity)
        except Exception as e:
            raise BackendError(f"the backend factory failed for {v.name} with capacity {capacity}: "
                               f"{type(e).__name__}: {e}", list(log.lines), traceback.format_exc()) from e
        self.calls = 0
        #: each caller's memory as its last call left it (by domid)
        self._memory: dict[int, bytes] = {}
        self.context: Mapping[str, str] = {}
        #: how this host's calls begin in an isolated child's trail (steps_from_trail reads them)
        self._trail_prefix = f"call|{label}|{v.name}|".encode("utf-8", "replace").replace(b"\n", b" ")

    @contextlib.contextmanager
    def promised(self, renames: Mapping[str, str]) -> Iterator[None]:
        """Name violations of the rules in `renames` by the guest- or toolstack-level rule they break."""
        outer, self.context = self.context, {**self.context, **renames}
        try:
            yield
        finally:
            self.context = outer

    def what(self, domid: int, word_size: int, op: bytes) -> str:
        """A call as a step line shows it."""
        return f"{self.label} ({self.version.name}): dom{domid}/{word_size}-bit " \
               f"{describe_bytes(op, self.version, word_size)}"

    def hypercall(self, domid: int, word_size: int, op: bytes, memory: bytearray) -> int:
        last = self._memory.get(domid)
        # The caller's memory as this call finds it: most often as the last call left it, so the log
        # keeps that copy once (a log holds its example's every call).
        before = last if last is not None and memory == last else bytes(memory)
        raw = op if type(op) is bytes else bytes(op)  # immutable, so the backend, log and model share it
        log = self.log
        tracing = isolation.tracing()
        if tracing:  # a crash or hang of the backend still shows this op
            isolation.note_ascii(b"%s%d|%d|%s" % (self._trail_prefix, domid, word_size, raw.hex().encode()))
        try:
            ret = self.backend.hypercall(domid, word_size, raw, memory)
        except Exception as e:
            log.events.append((self, domid, word_size, raw, before, None, None))
            log.add(f"{self.what(domid, word_size, raw)} -> raised {type(e).__name__}: {e}")
            raise BackendError(f"the backend raised {type(e).__name__}: {e} on {self.what(domid, word_size, raw)}",
                               list(log.lines), traceback.format_exc(), log.replay_events()) from e
        if isinstance(ret, bool) or not isinstance(ret, int):
            log.events.append((self, domid, word_size, raw, before, None, None))
            log.add(f"{self.what(domid, word_size, raw)} -> {ret!r}")
            raise BackendError(f"the backend returned {ret!r} ({type(ret).__name__}), not an int, on "
                               f"{self.what(domid, word_size, raw)}", list(log.lines))
        self.calls += 1
        if tracing:
            isolation.note_ascii(b"ret|%d" % ret)
        after = before if memory == before else bytes(memory)  # most calls write nothing
        self._memory[domid] = after
        call = (self, domid, word_size, raw, before, after, ret)
        log.events.append(call)
        log.entries.append(call)
        try:
            self.model.observe(domid, word_size, raw, before, ret, after)
        except Violation as v:
            v = self._probed(v, domid, word_size, memory)
            named = self.context.get(v.rule)
            if named is not None:
                v = Violation(named, v.what, v.expected, f"{v.observed} (at the hypercall: {v.rule})")
            v.steps = list(log.lines)
            v.events = log.replay_events()
            raise v from None
        return ret

    def _probed(self, v: Violation, domid: int, word_size: int, memory: bytearray) -> Violation:
        """The violation renamed by its probe's answer (the model asked one more call to tell readings apart)."""
        if v.probe is None:
            return v
        op, rules, why = v.probe
        assert isinstance(op, codec.TmemOp)
        raw = codec.pack(op, self.version, word_size)
        try:
            got: object = self.backend.hypercall(domid, word_size, raw, bytearray(memory))
        except Exception as e:  # the probe only renames: a backend failing it keeps the first reading
            got = f"raised {type(e).__name__}"
        self.log.add(f"{self.label} ({self.version.name}): probe dom{domid}/{word_size}-bit "
                     f"{describe_bytes(raw, self.version, word_size)} -> {got}")
        if not isinstance(got, int) or got not in rules:
            return v
        return Violation(rules[got], v.what, v.expected, f"{v.observed}; {why} (probe returned {got}, "
                         f"otherwise {v.rule})")

    def destroy_domain(self, domid: int) -> None:
        self.log.add(f"{self.label} ({self.version.name}): destroy dom{domid}")
        self.log.events.append({"event": "destroy_domain", "host": self.label, "domid": domid})
        try:
            self.backend.destroy_domain(domid)
        except Exception as e:
            raise BackendError(f"the backend raised {type(e).__name__}: {e} destroying dom{domid}",
                               list(self.log.lines), traceback.format_exc()) from e
        self.model.destroy_domain(domid)

    def close(self) -> None:
        try:
            self.backend.close()
        except Exception as e:
            raise BackendError(f"the backend raised {type(e).__name__}: {e} on close", list(self.log.lines),
                               traceback.format_exc()) from e


def find_exception(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`exc` or the first exception of `kind` inside it (hypothesis may wrap several in a group)."""
    if isinstance(exc, kind):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = find_exception(inner, kind)
        if found is not None:
            return found
    return None


def find_violation(exc: BaseException) -> Violation | None:
    found = find_exception(exc, Violation)
    return found if isinstance(found, Violation) else None


def violation(rule: str, what: str, expected: str, observed: str, log: StepLog) -> Violation:
    """A machine-level violation (not from one hypercall), carrying the steps so far."""
    v = Violation(rule, what, expected, observed)
    v.steps = list(log.lines)
    v.events = log.replay_events()
    return v
