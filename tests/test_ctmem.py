"""ctmem, the C host: its compiled module, its build, and its own data structures.

This file imports the compiled module directly, so a run without it fails
here instead of passing on another candidate (house rule 4). Worked
examples and the backend error contract, shared with every candidate, are
in test_candidate_examples.py and test_backend_contract.py; the engine's
loader that opens ctmem is tested in test_native.py.
"""

from __future__ import annotations

import importlib.machinery
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmem_conformance.backend import CapacityError
from tmem_conformance.candidates import ctmem
from tmem_conformance.candidates.ctmem import _ctmem
from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, Ctrl, Gen
from tmem_conformance.native.library import TMEM_BACKEND_ABI_VERSION, NativeHost

from .abi_literals import (
    CONTROL,
    EEMPTY,
    ENOMEM,
    FLUSH_OBJECT,
    FLUSH_PAGE,
    GET,
    NEW_POOL,
    PAGE,
    PERSIST,
    PUT,
    SAVE_GET_NEXT_PAGE,
    SAVE_GET_POOL_NPAGES,
    V1_SPEC,
)
from .abi_literals import op as _op

CTMEM = Path(__file__).resolve().parents[1] / "candidates" / "ctmem"
NATIVE = Path(__file__).resolve().parents[1] / "conformance" / "native"


def _pattern(seed: int) -> bytes:
    return bytes((seed * 7 + i) % 253 for i in range(PAGE))


# ---------------------------------------------------------------- the compiled module

def test_the_compiled_module_is_the_one_in_use() -> None:
    assert _ctmem.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert _ctmem.lib.tmem_backend_abi_version() == TMEM_BACKEND_ABI_VERSION == 1
    host = ctmem.make(1, 4)
    assert isinstance(host, ctmem.CtmemHost) and isinstance(host, NativeHost)
    assert host.name == "ctmem (spec 1)"
    host.close()


def test_the_compiled_module_exports_the_header_for_the_engines_loader() -> None:
    # make() opens _ctmem by path through tmem_conformance.native, as any third-party library.
    assert ctmem._CTMEM.name == "ctmem"
    assert ctmem._CTMEM.abi_version() == 1


def test_a_capacity_past_unsigned_long_is_a_capacity_error() -> None:
    with pytest.raises(CapacityError, match=r"in \[0, 18446744073709551615\], not 18446744073709551616$"):
        ctmem.make(1, 1 << 64)


def test_the_host_writes_the_callers_memory_in_place() -> None:
    host = ctmem.make(1, 4)
    memory = bytearray(2 * PAGE)
    memory[:PAGE] = _pattern(1)
    host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC | PERSIST, 0)), memory)
    host.hypercall(1, 64, _op(PUT, 0, Gen((1, 2, 3), 4, 0, 0, 0, 0)), memory)
    view = memoryview(memory)[PAGE:]  # the same buffer: a copy would not see the write
    assert host.hypercall(1, 64, _op(GET, 0, Gen((1, 2, 3), 4, 0, 0, 0, 1)), memory) == 1
    assert bytes(view) == _pattern(1)
    view.release()
    host.close()


# ---------------------------------------------------------------- the C sources

@pytest.mark.parametrize("std", ["-std=c11"])
def test_the_c_sources_compile_without_warnings(std: str, tmp_path: Path) -> None:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to check ctmem's C sources (apt-get install -y gcc)")
    sources = sorted((CTMEM / "host").glob("*.c"))
    assert len(sources) >= 6
    for src in sources:
        cmd = [gcc, std, "-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Wstrict-prototypes",
               "-Wmissing-prototypes", "-Werror", "-O2", f"-I{NATIVE}", f"-I{CTMEM}", "-c", str(src), "-o",
               str(tmp_path / (src.stem + ".o"))]
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, f"$ {' '.join(cmd)}\n{done.stderr}"


# ---------------------------------------------------------------- ctmem's own decisions and structures

def test_lru_eviction_drops_the_least_recently_used_ephemeral_page() -> None:
    # ctmem's decision (any choice is allowed, TMEM-EPH-001): a new page evicts the LRU ephemeral page.
    host = ctmem.make(1, 2)
    memory = bytearray(2 * PAGE)
    host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC, 0)), memory)  # private ephemeral
    for index in (1, 2, 3):
        memory[:PAGE] = _pattern(index)
        assert host.hypercall(1, 64, _op(PUT, 0, Gen((9, 0, 0), index, 0, 0, 0, 0)), memory) == 1
    assert host.hypercall(1, 64, _op(GET, 0, Gen((9, 0, 0), 1, 0, 0, 0, 1)), memory) == 0
    assert host.hypercall(1, 64, _op(GET, 0, Gen((9, 0, 0), 2, 0, 0, 0, 1)), memory) == 1
    assert memory[PAGE:] == _pattern(2)
    host.close()


def test_persistent_pages_are_never_evicted() -> None:
    host = ctmem.make(0, 3)
    memory = bytearray(2 * PAGE)
    assert host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), PERSIST, 0), "v0"), memory) == 0
    for index in range(3):
        assert host.hypercall(1, 64, _op(PUT, 0, Gen((5,), index, 0, 0, 0, 0), "v0"), memory) == 1
    assert host.hypercall(1, 64, _op(PUT, 0, Gen((5,), 3, 0, 0, 0, 0), "v0"), memory) == ENOMEM
    npages = _op(CONTROL, 0, Ctrl(SAVE_GET_POOL_NPAGES, 1, 0, 0, (0,), 0), "v0")
    assert host.hypercall(0, 64, npages, bytearray(PAGE)) == 3
    host.close()


OPS = st.lists(st.tuples(
    st.sampled_from(["put", "get", "flush", "flush_object"]),
    st.tuples(st.integers(0, 40), st.sampled_from([0, 1, 1 << 63]), st.integers(0, 2)),  # oid
    st.one_of(st.integers(0, 64), st.integers(0, 2**32 - 1)),  # index: dense and sparse
    st.integers(0, 255)), max_size=300)


@settings(max_examples=60)
@given(OPS)
def test_pool_objects_and_pages_against_a_dict(ops: list[tuple[str, tuple[int, int, int], int, int]]) -> None:
    """Object hash table growth, sorted page arrays and flushes, checked against a plain dict."""
    host = ctmem.make(1, 10_000)
    memory = bytearray(2 * PAGE)
    assert host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC | PERSIST, 0)), memory) == 0
    stored: dict[tuple[tuple[int, int, int], int], int] = {}
    for what, oid, index, seed in ops:
        gen = Gen(oid, index, 0, 0, 0, 0)
        if what == "put":
            memory[:PAGE] = bytes([seed]) * PAGE
            assert host.hypercall(1, 64, _op(PUT, 0, gen), memory) == 1
            stored[(oid, index)] = seed
        elif what == "get":
            memory[PAGE:] = bytes(PAGE)
            ret = host.hypercall(1, 64, _op(GET, 0, Gen(oid, index, 0, 0, 0, 1)), memory)
            if not stored:
                assert ret == EEMPTY
            elif (oid, index) in stored:
                assert ret == 1 and memory[PAGE:] == bytes([stored[(oid, index)]]) * PAGE
            else:
                assert ret == 0 and memory[PAGE:] == bytes(PAGE)
        elif what == "flush":
            assert host.hypercall(1, 64, _op(FLUSH_PAGE, 0, gen), memory) == 1
            stored.pop((oid, index), None)
        else:
            assert host.hypercall(1, 64, _op(FLUSH_OBJECT, 0, gen), memory) == 1
            stored = {k: v for k, v in stored.items() if k[0] != oid}
    npages = _op(CONTROL, 0, Ctrl(SAVE_GET_POOL_NPAGES, 1, 0, 0, (0, 0, 0), 0))
    assert host.hypercall(0, 64, npages, memory) == len(stored)
    host.close()


def test_save_iteration_over_many_objects_reports_each_page_once() -> None:
    host = ctmem.make(1, 5000)
    memory = bytearray(2 * PAGE)
    assert host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC | PERSIST, 0)), memory) == 0
    keys = {((o, o * 3, 0), i * 977) for o in range(300) for i in range(5)}
    for oid, index in keys:
        assert host.hypercall(1, 64, _op(PUT, 0, Gen(oid, index, 0, 0, 0, 0)), memory) == 1
    buf = bytearray(PAGE + 32 + PAGE)
    seen = []
    next_page = _op(CONTROL, 0, Ctrl(SAVE_GET_NEXT_PAGE, 1, len(buf), 0, (0, 0, 0), 0))
    while (ret := host.hypercall(0, 64, next_page, buf)) == 1:
        h = codec.unpack_handle(bytes(buf[:32]), "v1")
        seen.append((h.oid, h.index))
    assert ret == -1
    assert sorted(seen) == sorted(keys)
    host.close()


# ---------------------------------------------------------------- the benchmark (run, not timed)

def test_bench_runs_and_renders_without_timing_anything() -> None:
    from tmem_conformance import bench

    rows = bench.run({"ctmem": ctmem.make}, pages=4, rounds=1)
    ops = [(r["candidate"], r["op"]) for r in rows]
    assert ops == [("(baseline)", "memcpy 4096 B (ffi.memmove)"), ("ctmem", "PUT_PAGE"), ("ctmem", "GET_PAGE"),
                   ("ctmem", "FLUSH_PAGE"), ("ctmem", "PUT+GET pair")]
    assert all(r["ns"] > 0 and r["memcpy_ns"] == rows[0]["ns"] for r in rows)
    assert "holds" in rows[-1] and "target" in rows[-1]
    assert "PUT+GET pair" in bench.render(rows)


def test_bench_refuses_a_candidate_whose_puts_fail() -> None:
    from tmem_conformance import bench

    def full(abi_version: int, capacity_pages: int) -> ctmem.CtmemHost:
        return ctmem.make(abi_version, 0)  # holds nothing: every put is -ENOMEM

    with pytest.raises(RuntimeError, match="PUT_PAGE returned -12"):
        bench.run({"full": full}, pages=2, rounds=1)
