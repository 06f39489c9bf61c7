"""A frozen dataclass built or changed without dataclasses' per-field machinery.

The model makes several changed copies of a page or an outcome per hypercall (a hit narrows a page's
candidates, a put marks who stored it); dataclasses.replace looks every field up again each time and
calls __init__, a third of the model's time on a hit. The classes this is used for have no
__post_init__, no InitVar and no __slots__, so copying the instance dictionary gives the same object;
and a frozen dataclass' __init__ sets each field through object.__setattr__, so one the model makes
per hypercall (an outcome) is built by filling its dictionary at once.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def evolve(obj: T, **changes: Any) -> T:
    """`obj` with `changes`, as dataclasses.replace(obj, **changes) returns it."""
    fields = obj.__dataclass_fields__  # type: ignore[attr-defined]
    for name in changes:
        if name not in fields:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
    new = object.__new__(type(obj))
    d = new.__dict__
    d.update(obj.__dict__)
    d.update(changes)
    return new


def construct(cls: type[T], **fields: Any) -> T:
    """cls(**fields) for such a class, given every field: the instance dictionary filled at once."""
    new = object.__new__(cls)
    new.__dict__.update(fields)
    return new
