"""conformance/profiles.py: the constants hypothesis mixes into its draws are the ABI's, whatever is loaded."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers

from tmem_conformance import profiles
from tmem_conformance.models import abi

#: A literal no strategy of the suite would draw by itself.
ODD = 987_654_321_987


def test_the_pool_is_the_abis_numbers() -> None:
    pool = profiles.abi_constants()
    assert pool == sorted(set(pool))
    for n in (abi.PAGE_SIZE, abi.U64_ALL_ONES, abi.CLI_ID_NULL, int(abi.Cmd.RESTORE_NEW), int(abi.Subop.SAVE_END),
              -int(abi.Errno.EFROZEN), abi.PoolFlag.RESERVED_BITS, abi.SAVE_ID_TMEM):
        assert n in pool, n
    assert all(type(n) is int for n in pool)


def test_a_local_modules_literals_never_reach_the_draws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "odd_backend.py").write_text(f"MAGIC = {ODD}\nNAME = 'odd-backend-literal'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # a module under the working directory is "local" to hypothesis
    importlib.import_module("odd_backend")
    try:
        pool = providers._get_local_constants()
        assert ODD not in pool.integers and "odd-backend-literal" not in pool.strings
        assert list(pool.integers) == profiles.abi_constants()
        seen: set[int] = set()

        @settings(max_examples=3000, database=None, derandomize=True)
        @given(st.integers(0, 2**40))
        def draw(n: int) -> None:
            seen.add(n)

        draw()
        assert ODD not in seen
        assert abi.PAGE_SIZE in seen  # the ABI's numbers are drawn now and then, as hypothesis means them to be
    finally:
        sys.modules.pop("odd_backend", None)


def test_pinning_again_changes_nothing() -> None:
    before = list(providers._get_local_constants().integers)
    assert profiles.pin_constants()
    assert list(providers._get_local_constants().integers) == before == profiles.abi_constants()
