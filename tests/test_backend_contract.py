"""The backend error contract (tmem_conformance.backend), once for every candidate.

Misuse of the interface is an exception of the contract's family, the
same for the simulator, ctmem, ctmem built standalone and cytmem: a closed
host, a guest word size other than 64 or 32, a capacity or an ABI version
make() cannot build. The bad values are data; the expected classes and
messages are literals, never read from a candidate. The family itself is
checked once, in test_backend_errors.py.
"""

from __future__ import annotations

import pytest

from tmem_conformance.backend import BackendClosedError, CapacityError, UnknownVersionError, WordSizeError
from tmem_conformance.models.codec import Creat

from .abi_literals import NEW_POOL, PAGE
from .abi_literals import op as _op
from .candidates import candidate, make  # noqa: F401 - the parametrizing fixture and its factory


def test_a_closed_host_refuses_every_call_and_close_stays_idempotent() -> None:
    host = make("v0", 4)
    host.close()
    host.close()
    with pytest.raises(BackendClosedError, match=r"^hypercall on .* after close\(\)$"):
        host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), 0, 0), "v0"), bytearray(PAGE))
    with pytest.raises(BackendClosedError, match=r"^destroy_domain on .* after close\(\)$"):
        host.destroy_domain(1)


@pytest.mark.parametrize("word_size", [16, 0, 63, 128, -64])
def test_a_word_size_other_than_64_or_32_is_a_word_size_error(word_size: int) -> None:
    host = make(1, 4)
    with pytest.raises(WordSizeError, match=rf"^guest word size must be 64 or 32, not {word_size}$"):
        host.hypercall(1, word_size, b"\0" * 56, bytearray(PAGE))
    host.close()


# Each backend's upper limit is its own: test_ctmem.py and test_cytmem.py check theirs.
@pytest.mark.parametrize("capacity", [-1, 2.0, True, "8", None])
def test_a_capacity_that_is_no_page_count_is_a_capacity_error(capacity: object) -> None:
    with pytest.raises(CapacityError, match=r"^capacity_pages must be an integer .*, not "):
        make(1, capacity)  # type: ignore[arg-type]


@pytest.mark.parametrize("abi_version", ["v7", 7, -1, "1"])
def test_a_version_the_backend_does_not_implement_is_an_unknown_version_error(abi_version: object) -> None:
    with pytest.raises(UnknownVersionError):
        make(abi_version, 4)  # type: ignore[arg-type]
