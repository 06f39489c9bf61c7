"""The suite's one error family.

Every error names the offending value and what was expected, so a user
who passed a short op buffer, a corrupt save stream or an unknown backend
reads what to fix, not a traceback.
"""

from __future__ import annotations


class TmemConformanceError(Exception):
    """Base of every error the suite raises on purpose."""


class LayoutError(TmemConformanceError, ValueError):
    """A buffer or field value does not fit the struct layout it was packed or unpacked with."""


class StreamError(TmemConformanceError, ValueError):
    """A toolstack save/restore stream is truncated, corrupt, or of another tmem version."""


class ModelError(TmemConformanceError):
    """The reference model was asked something that has no meaning (an unknown version, say)."""


class UsageError(TmemConformanceError):
    """A user's request cannot be carried out; the message says how to fix it."""


class Violation(TmemConformanceError, AssertionError):
    """A backend did something the specification does not allow.

    `rule` is the id of the rule broken (see CONFORMANCE.md); `expected`
    and `observed` say what was allowed and what happened.
    """

    steps: list[str]
    events: list[dict[str, object]]
    #: the observation matched a specific fault's outcome (Outcomes.diagnoses): no other reading applies
    diagnosed: bool = False
    #: (op, {return value: rule}, why): a hypercall whose answer tells two readings of the observation
    #: apart; the checker issues it to the backend after the violation and renames the rule by it
    probe: tuple[object, dict[int, str], str] | None = None
    #: False when shrinking stopped at the time budget before the steps were as short as it could make them
    fully_shrunk: bool = True
    #: how long its case could shrink it (--shrink-seconds times the machine's weight), if it could
    shrink_seconds: float | None = None
    #: the case of the same family that shrank these very steps first (this one replayed them)
    same_as: str | None = None

    def __init__(self, rule: str, what: str, expected: str, observed: str) -> None:
        self.rule, self.what, self.expected, self.observed = rule, what, expected, observed
        self.steps, self.events = [], []
        super().__init__(f"rule {rule} violated: {what}: expected {expected}; observed {observed}")

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle with the steps attached, so a violation crosses from an isolated child intact."""
        return (type(self), (self.rule, self.what, self.expected, self.observed), self.__dict__)
