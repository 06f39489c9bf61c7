"""One draw for a whole argument: the same choices a composed strategy makes, without its inner spans.

A rule's argument such as `PAGES` (one_of of builds of integers) makes two choices, but hypothesis
draws it through four nested `data.draw` calls, each with a span, a validation and, for builds and
tuples, a context manager per part: on the hypercall machine that nesting was about a third of the
time spent drawing arguments. `flat(strategy)` draws the same choices, with the same constraints and in
the same order, in one span: integers, booleans, sampled_from (with maps), just, one_of, tuples, builds
and map are walked directly; any other strategy (binary, filters, flatmap) is drawn through hypothesis
as usual. The values' distribution is hypothesis' own; the shrinker still shrinks every choice, it no
longer sees spans inside one argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.internal.conjecture.utils import calc_label_from_name
from hypothesis.strategies import SearchStrategy
from hypothesis.strategies._internal.collections import TupleStrategy
from hypothesis.strategies._internal.core import BuildsStrategy
from hypothesis.strategies._internal.lazy import unwrap_strategies
from hypothesis.strategies._internal.misc import BooleansStrategy, JustStrategy
from hypothesis.strategies._internal.numbers import IntegersStrategy
from hypothesis.strategies._internal.strategies import MappedStrategy, OneOfStrategy, SampledFromStrategy

T = TypeVar("T")
Draw = Callable[[ConjectureData], Any]


def _sampled(s: SampledFromStrategy[Any]) -> Draw | None:
    if any(name != "map" for name, _, _ in s._transformations):
        return None  # a filter needs hypothesis' rejection sampling
    if isinstance(s, JustStrategy):
        return lambda data: s._transform(s.value, data=data)
    elements, last = tuple(s.elements), len(s.elements) - 1
    if not s._transformations:
        return lambda data: elements[data.draw_integer(0, last)]
    return lambda data: s._transform(elements[data.draw_integer(0, last)], data=data)


def _one_of(s: OneOfStrategy[Any]) -> Draw | None:
    branches = s.element_strategies
    static = getattr(SearchStrategy, "is_currently_empty", None)
    if static is None or any(getattr(type(b), "is_currently_empty", None) is not static for b in branches):
        return None  # a branch that can become empty (a bundle) needs hypothesis' filtered choice
    draws, last = tuple(compile_draw(b) for b in branches), len(branches) - 1
    if len(draws) == 1:
        return draws[0]
    return lambda data: draws[data.draw_integer(0, last)](data)


def _tuple(s: TupleStrategy) -> Draw:
    parts = tuple(compile_draw(e) for e in s.element_strategies)
    return lambda data: tuple(p(data) for p in parts)


def _builds(s: BuildsStrategy[Any]) -> Draw:
    args = tuple(compile_draw(a) for a in s.args)
    kwargs = tuple((k, compile_draw(v)) for k, v in s.kwargs.items())
    target = s.target
    return lambda data: target(*[a(data) for a in args], **{k: v(data) for k, v in kwargs})


def _mapped(s: MappedStrategy[Any, Any]) -> Draw:
    inner, pack = compile_draw(s.mapped_strategy), s.pack
    return lambda data: pack(inner(data))


#: What each kind of strategy compiles to; None: drawn through hypothesis.
_COMPILERS: tuple[tuple[type, Callable[[Any], Draw | None]], ...] = (
    (IntegersStrategy, lambda s: s.do_draw if s.start is not None and s.end is not None else None),
    (BooleansStrategy, lambda s: s.do_draw),
    (SampledFromStrategy, _sampled),
    (OneOfStrategy, _one_of),
    (TupleStrategy, _tuple),
    (BuildsStrategy, _builds),
    (MappedStrategy, _mapped),
)


def compile_draw(strategy: SearchStrategy[Any]) -> Draw:
    """A function drawing what `strategy` draws, making its choices directly where it can."""
    s = unwrap_strategies(strategy)
    if isinstance(s, Flat):
        return s.do_draw
    for kind, compiler in _COMPILERS:
        if type(s) is kind or (kind is SampledFromStrategy and isinstance(s, kind)):
            fn = compiler(s)
            if fn is not None:
                return fn
            break
    return lambda data: data.draw(s)


class Flat(SearchStrategy[T]):
    """`strategy`'s values, drawn in one span (see the module's docstring). It is compiled at its first
    draw: compiling at import would evaluate hypothesis' lazy strategies before its pytest plugin loads."""

    def __init__(self, strategy: SearchStrategy[T], name: str | None) -> None:
        super().__init__()
        self.strategy, self.name = strategy, name
        self._draw: Draw | None = None

    def calc_label(self) -> int:
        return calc_label_from_name(f"tmem-conformance flat {self!r}")

    def __repr__(self) -> str:
        return self.name or f"flat({self.strategy!r})"

    def do_draw(self, data: ConjectureData) -> T:
        if self._draw is None:
            self._draw = compile_draw(self.strategy)
        return self._draw(data)  # type: ignore[no-any-return]


def flat(strategy: SearchStrategy[T], name: str | None = None) -> SearchStrategy[T]:
    """`strategy` drawn in one span, named `name` in hypothesis' messages (its own repr by default)."""
    return Flat(strategy, name)
