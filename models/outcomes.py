"""Allowed outcomes of one hypercall, and matching an observation to them.

The reference host answers each op with a set of outcomes: a return value
(or a range of them), what the op may write into the caller's memory, and
the narrowing of the model's state that follows once a backend is seen to
choose that outcome. Outcomes with the same return value and the same
writes never carry different effects: the host merges them first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .errors import Violation
from .frozen import construct, evolve

Effect = Callable[[bytes], None]


def _noop(_: bytes) -> None:
    return None


@dataclass(frozen=True)
class Write:
    """Bytes the op must leave at `offset` in the caller's memory; `known` masks the ones that matter."""

    offset: int
    data: bytes
    known: bytes | None = None

    @property
    def end(self) -> int:
        return self.offset + len(self.data)

    def mismatch(self, after: bytes) -> int | None:
        """The first offset where `after` disagrees with a known byte, or None."""
        got = after[self.offset:self.end]
        if self.known is None:
            if got == self.data:
                return None
            return self.offset + next(i for i, (a, b) in enumerate(zip(got, self.data)) if a != b)
        for i, (a, b, k) in enumerate(zip(got, self.data, self.known)):
            if k and a != b:
                return self.offset + i
        return None


@dataclass(frozen=True)
class Region:
    """A span of the caller's memory the op may change arbitrarily (e.g. LIST's text buffer)."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class Outcome:
    """One allowed result: return value in [lo, hi], memory writes, and the model's narrowing."""

    lo: int
    hi: int
    rule: str
    meaning: str
    writes: tuple[Write, ...] = ()
    regions: tuple[Region, ...] = ()
    effect: Effect = field(default=_noop, compare=False, repr=False)
    #: the id of the historical deviation (models/history.py) this outcome is, "" for the specification's
    deviation: str = ""

    @classmethod
    def ret(cls, value: int, rule: str, meaning: str, effect: Effect = _noop,
            writes: Sequence[Write] = (), regions: Sequence[Region] = ()) -> Outcome:
        return construct(cls, lo=value, hi=value, rule=rule, meaning=meaning, writes=tuple(writes),
                         regions=tuple(regions), effect=effect, deviation="")  # an outcome or more per hypercall

    def admits(self, ret: int) -> bool:
        return self.lo <= ret <= self.hi

    def as_deviation(self, deviation: str, meaning: str | None = None) -> Outcome:
        """This outcome as a historical release's, accepted only at a level that tolerates `deviation`."""
        return evolve(self, deviation=deviation, meaning=meaning or self.meaning)

    def describe_ret(self) -> str:
        if self.lo == self.hi:
            return str(self.lo)
        if self.lo <= -(1 << 62):
            return f"<= {self.hi}"
        if self.hi >= 1 << 62:
            return f">= {self.lo}"
        return f"{self.lo}..{self.hi}"

    def memory_mismatch(self, before: bytes, after: bytes) -> str | None:
        """Why `after` is not `before` with this outcome's writes, or None if it is."""
        if len(after) != len(before):
            return f"the caller's memory changed size from {len(before)} to {len(after)} bytes"
        if not self.writes and not self.regions and before == after:  # most ops write nothing
            return None
        for w in self.writes:
            at = w.mismatch(after)
            if at is not None:
                return (f"byte {at} (page {at // 4096}, offset {at % 4096}) is {after[at]:#04x}, "
                        f"expected {w.data[at - w.offset]:#04x}")
        spans = sorted([(w.offset, w.end) for w in self.writes] + [(r.offset, r.end) for r in self.regions])
        pos = 0
        for start, end in spans + [(len(before), len(before))]:
            if before[pos:start] != after[pos:start]:
                at = pos + next(i for i, (a, b) in enumerate(zip(before[pos:start], after[pos:start]))
                                if a != b)
                return (f"byte {at} (page {at // 4096}, offset {at % 4096}) changed from "
                        f"{before[at]:#04x} to {after[at]:#04x}, outside anything the op may write")
            pos = max(pos, end)
        return None


ANY_NEGATIVE = -(1 << 63)
ANY_POSITIVE = (1 << 63) - 1


@dataclass
class Outcomes:
    """The allowed set for one op. `rule` is the one to name when the return value is not allowed."""

    what: str
    rule: str
    options: list[Outcome]
    #: the rule to name instead of `rule` when the backend returned this value (e.g. a hit on a
    #: handle a flush removed names the flush's rule)
    by_ret: dict[int, str] = field(default_factory=dict)
    #: outcomes a specific fault would give, each with the rule to name and why, tried only once the
    #: observation is refused (e.g. a handle written in the other version's layout: TMEM-LAYOUT-001)
    diagnoses: list[tuple[str, str, list[Outcome] | Callable[[], list[Outcome]]]] = field(default_factory=list)
    #: for a refused observation returning `ret`: (ret, op, {probe's return value: rule}, why), see
    #: errors.Violation.probe
    probe: tuple[int, object, dict[int, str], str] | None = None

    def admitting(self, ret: int, before: bytes, after: bytes) -> Outcome | None:
        """The outcome that allows this observation, or None; changes nothing."""
        return next((o for o in self.options if o.admits(ret) and o.memory_mismatch(before, after) is None),
                    None)

    def forks(self, ret: int, before: bytes, after: bytes) -> list[str]:
        """The deviations that fit this observation as well as an outcome of the specification does (the
        call alone cannot tell them apart: the model follows both until a later call does)."""
        fits = [o for o in self.options if o.admits(ret) and o.memory_mismatch(before, after) is None]
        if not any(not o.deviation for o in fits):
            return []
        return list(dict.fromkeys(o.deviation for o in fits if o.deviation))

    def observe_deviation(self, deviation: str, ret: int, before: bytes, after: bytes) -> Outcome:
        """Apply the narrowing of `deviation`'s outcome that fits this observation (see forks)."""
        o = next(o for o in self.options if o.deviation == deviation and o.admits(ret)
                 and o.memory_mismatch(before, after) is None)
        o.effect(after)
        return o

    def expected(self) -> str:
        return " or ".join(f"{o.describe_ret()} ({o.meaning})" for o in self.options)

    def observe(self, ret: int, before: bytes, after: bytes) -> Outcome:
        """Pick the outcome the backend chose and apply its narrowing; raise Violation if none fits."""
        try:
            return self._observe(ret, before, after)
        except Violation as v:
            if self.probe is not None and self.probe[0] == ret:
                v.probe = self.probe[1:]
            for rule, why, given in self.diagnoses:
                options = given() if callable(given) else given  # built only once an observation is refused
                if any(o.admits(ret) and o.memory_mismatch(before, after) is None for o in options):
                    diagnosed = Violation(rule, self.what, v.expected, f"{v.observed}: {why}")
                    diagnosed.diagnosed = True
                    raise diagnosed from None
            raise

    def _observe(self, ret: int, before: bytes, after: bytes) -> Outcome:
        by_ret = [o for o in self.options if o.admits(ret)]
        if not by_ret:
            raise Violation(self.by_ret.get(ret, self.rule), self.what, self.expected(), f"returned {ret}")
        reasons = []
        for o in by_ret:
            why = o.memory_mismatch(before, after)
            if why is None:
                o.effect(after)
                return o
            reasons.append((o, why))
        # An outcome that copies is the one the copy got wrong; with none, the op wrote where it may not.
        o, why = next(((o, w) for o, w in reasons if o.writes or o.regions), reasons[0])
        rule = o.rule if o.writes or o.regions else "TMEM-HC-006"
        raise Violation(rule, self.what, f"{o.describe_ret()} ({o.meaning}) with memory to match",
                        f"returned {ret}, but {why}")
