"""The backend error family (tmem_conformance.backend): its classes, once, not per candidate.

Each candidate raising them is tests/test_backend_contract.py.
"""

from __future__ import annotations

import pickle

import pytest

from tmem_conformance.backend import (
    BackendArgumentError,
    BackendClosedError,
    BackendError,
    CapacityError,
    UnknownVersionError,
    WordSizeError,
    check_capacity,
)
from tmem_conformance.models.errors import TmemConformanceError
from tmem_conformance.native.library import NativeBackendError


@pytest.mark.parametrize("error,bases", [
    (BackendClosedError, (BackendError, RuntimeError)),
    (WordSizeError, (BackendArgumentError, BackendError, ValueError)),
    (CapacityError, (BackendArgumentError, BackendError, ValueError)),
    (UnknownVersionError, (BackendArgumentError, BackendError, ValueError)),
    (NativeBackendError, (UnknownVersionError,)),
    (BackendError, (TmemConformanceError,)),
])
def test_the_family(error: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    assert all(issubclass(error, base) for base in bases)


def test_contract_errors_cross_a_process_boundary_intact() -> None:
    for e in (BackendClosedError("hypercall", "a host"), WordSizeError(16), CapacityError("c")):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e)


@pytest.mark.parametrize("capacity,limit", [(0, None), (1 << 70, None), (4, 4), (0, 0)])
def test_check_capacity_passes_a_page_count_within_the_limit(capacity: int, limit: int | None) -> None:
    assert check_capacity(capacity, limit) == capacity


def test_check_capacity_names_the_limit() -> None:
    with pytest.raises(CapacityError, match=r"^capacity_pages must be an integer in \[0, 4\], not 5$"):
        check_capacity(5, 4)
