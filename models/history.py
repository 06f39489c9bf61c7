"""Certification levels: the ABI as fixed (spec), or as a historical Xen release shipped it.

Section 9 of tmem-abi.md lists the defects the hosts at the two tags had and
the fixes that came later; the suite's specification is the fixed behaviour.
At `--level historical=<release>` each defect that release had is accepted as
a known deviation: the reference host allows the release's outcome beside the
specification's, tagged with the deviation, and a backend seen to take it is
reported "deviation" with the fix it lacks, never "pass". Any other defect
still fails. Releases and deviations are rows: a release is one more entry.
Sources: tmem-abi.md sections 5, 6 and 9.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError


@dataclass(frozen=True)
class Deviation:
    """One row of section 9's table: a historical host's defect, the rule its fix restored."""

    id: str
    rule: str
    summary: str
    fix: str
    #: the releases whose host had it
    releases: frozenset[str]

    def record(self, what: str) -> dict[str, str]:
        """How a report names it: the deviation, its rule and fix, and the op that showed it."""
        return {"id": self.id, "rule": self.rule, "summary": self.summary, "fix": self.fix, "what": what}


_BOTH = frozenset({"4.0.0", "4.1.0"})

DEVIATIONS: dict[str, Deviation] = {d.id: d for d in (
    Deviation("privilege-check", "TMEM-HC-004",
              "the privilege check of CONTROL is compiled out (AUTH and RESTORE_NEW never had one): a guest's "
              "privileged op is answered as the toolstack's", "the check's return in 2012", _BOTH),
    Deviation("pool-id-unchecked", "TMEM-DESTROY-002",
              "DESTROY_POOL does not range-check pool_id: an id outside 0-15 reads past the pool array",
              "XSA-15 (CVE-2012-6035/6036)", _BOTH),
    Deviation("pool-flags-without-version", "TMEM-SAVE-004",
              "SAVE_GET_POOL_FLAGS omits the spec-version bits, so a v1 restore of the stream is refused",
              "367f6be33c", _BOTH),
    Deviation("uuid-falls-through", "TMEM-SAVE-006",
              "SAVE_GET_POOL_UUID falls through into SAVE_END: the save ends (the client thaws) at the uuid query",
              "9a2982ce85", _BOTH),
    Deviation("save-skips-first-page", "TMEM-SAVE-007",
              "SAVE_GET_NEXT_PAGE never reports the first page of a pool's list, and its cursor is never "
              "rewound, so a second save of the client reports nothing",
              "no release by 4.2.1 (the specification: each save reports every persistent page once)", _BOTH),
)}

#: The releases a historical level may name, each with the Xen tag its host is read from.
RELEASES = {"4.0.0": "RELEASE-4.0.0", "4.1.0": "RELEASE-4.1.0"}

SPEC = "spec"
HISTORICAL = "historical="


@dataclass(frozen=True)
class Level:
    """A certification level: its name as given and the deviations it accepts."""

    name: str
    tolerated: frozenset[str]

    @property
    def release(self) -> str | None:
        return self.name[len(HISTORICAL):] if self.name.startswith(HISTORICAL) else None


def level(text: str | None) -> Level:
    """`spec` (the default) or `historical=<release>`; a UsageError names the value and the choices."""
    if text is None or text == SPEC:
        return Level(SPEC, frozenset())
    choices = ", ".join([SPEC] + [HISTORICAL + r for r in RELEASES])
    if not text.startswith(HISTORICAL):
        raise UsageError(f"unknown certification level {text!r}: use one of {choices}")
    release = text[len(HISTORICAL):]
    if release not in RELEASES:
        raise UsageError(f"unknown release {release!r} in --level {text}: section 9 of tmem-abi.md knows "
                         f"{', '.join(RELEASES)} (use one of {choices})")
    return Level(text, frozenset(d.id for d in DEVIATIONS.values() if release in d.releases))


def deviations_of(release: str) -> list[Deviation]:
    return [d for d in DEVIATIONS.values() if release in d.releases]
