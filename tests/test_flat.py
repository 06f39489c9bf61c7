"""strategies/flat.py: a flat strategy makes the choices hypothesis' own drawing of it makes, in one span."""

from __future__ import annotations

from random import Random

import pytest
from hypothesis import strategies as st
from hypothesis.control import BuildContext
from hypothesis.internal.conjecture.data import ConjectureData

from tmem_conformance import strategies as S
from tmem_conformance.models.versions import VERSIONS
from tmem_conformance.strategies.flat import Flat, flat

#: Every flat strategy the machines draw from, and composed ones that reach each compiled kind.
CASES = {
    "PAGES": S.PAGES.strategy, "WINDOWS": S.WINDOWS.strategy, "INDICES": S.INDICES.strategy,
    "UUIDS": S.UUIDS.strategy, "CMFNS": S.CMFNS.strategy, "OPTIONAL_TARGETS": S.OPTIONAL_TARGETS.strategy,
    "SWAP_OFFSETS": S.SWAP_OFFSETS.strategy,
    **{f"oids({w})": S.oids(w).strategy for w in (1, 3)},
    "oids(3, no all-ones)": S.oids(3, allow_all_ones=False).strategy,
    **{f"any_flags({v})": S.any_flags(VERSIONS[v]).strategy for v in VERSIONS},
    **{f"malformed_ops({v})": S.malformed_ops(VERSIONS[v], 32, 4).strategy for v in VERSIONS},
    "mapped sampled_from": st.sampled_from([1, 2, 3]).map(lambda x: x * 10),
    "nested": st.tuples(st.builds(dict, a=st.booleans(), b=st.just(7)), st.integers(0, 1000).map(str)),
}

#: Drawn by hypothesis in one span already (a sampled_from's maps run in its own draw).
ONE_SPAN_ALREADY = {"mapped sampled_from"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_flat_makes_hypothesis_choices(name: str) -> None:
    """Drawn at random through flat(), then replayed through the composed strategy from the same
    choices: the same value, every choice consumed, and fewer spans."""
    strategy = CASES[name]
    fewer = 0
    for seed in range(60):
        ours = ConjectureData(random=Random(seed))
        with BuildContext(ours, wrapped_test=test_flat_makes_hypothesis_choices):
            value = ours.draw(flat(strategy))
        theirs = ConjectureData.for_choices(ours.choices)
        with BuildContext(theirs, wrapped_test=test_flat_makes_hypothesis_choices):  # as in a test
            assert theirs.draw(strategy) == value, (name, seed, ours.choices)
        assert theirs.choices == ours.choices and theirs.index == len(ours.choices)
        ours.freeze()
        theirs.freeze()
        assert len(ours.spans) <= len(theirs.spans)
        fewer += len(ours.spans) < len(theirs.spans)
    assert fewer or name in ONE_SPAN_ALREADY, f"{name}: flat() never saved a span"


def test_flat_of_flat_is_its_draw() -> None:
    inner = flat(st.tuples(st.booleans(), st.integers(0, 3)), "inner")
    data = ConjectureData(random=Random(1))
    assert isinstance(inner, Flat) and repr(inner) == "inner"
    value = data.draw(flat(st.tuples(inner, st.booleans())))
    assert isinstance(value[0], tuple) and len(data.choices) == 3


def test_flat_compiles_at_first_draw_only() -> None:
    """Made at import, compiled when drawn: hypothesis' lazy strategies are not evaluated at import."""
    made = flat(st.integers(0, 3), "late")
    assert made._draw is None  # type: ignore[attr-defined]
    ConjectureData(random=Random(0)).draw(made)
    assert made._draw is not None  # type: ignore[attr-defined]
