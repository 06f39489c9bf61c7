"""cytmem, the Cython host: its compiled core, its build, its C header and its own decisions.

This file imports the compiled core directly, so a run without it fails
here instead of passing on another candidate (house rule 4). Worked
examples and the backend error contract, shared with every candidate, are
in test_candidate_examples.py and test_backend_contract.py, the comparison
with the simulator in test_cytmem_differential.py.
"""

from __future__ import annotations

import importlib.machinery
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tmem_conformance.backend import CapacityError
from tmem_conformance.candidates import cytmem
from tmem_conformance.candidates.cytmem import _core, build_cytmem
from tmem_conformance.models.codec import Creat, Ctrl, Gen
from tmem_conformance.models.versions import AbiVersion

from . import abi_literals as lit
from .abi_literals import op as _op

CYTMEM = Path(__file__).resolve().parents[1] / "candidates" / "cytmem"


def _fill(seed: int) -> bytes:
    return bytes((seed * 7 + i) % 253 for i in range(lit.PAGE))


# ---------------------------------------------------------------- the compiled core and its build

def test_the_compiled_core_is_the_one_in_use() -> None:
    assert _core.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert cytmem.CytmemHost is _core.CytmemHost
    host = cytmem.make(1, 4)
    assert isinstance(host, _core.CytmemHost)
    assert repr(host) == "<CytmemHost v1 0/4 pages>"
    host.close()


def test_without_the_core_the_package_refuses_to_import() -> None:
    code = ("import sys; sys.modules['tmem_conformance.candidates.cytmem._core'] = None\n"
            "import tmem_conformance.candidates.cytmem")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0
    assert "ImportError: cytmem's compiled core tmem_conformance.candidates.cytmem._core is not built" in done.stderr
    assert "python candidates/cytmem/build_cytmem.py" in done.stderr


def test_extensions_without_cython_say_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "Cython", None)
    monkeypatch.setitem(sys.modules, "Cython.Build", None)
    with pytest.raises(RuntimeError, match=r"needs Cython, which is not importable.*pip install 'cython>=3'"):
        build_cytmem.extensions()


def test_extensions_name_the_core_module() -> None:
    # Cython comes with the test extra; the build itself gets it from [build-system] requires.
    (ext,) = build_cytmem.extensions()
    assert ext.name == "tmem_conformance.candidates.cytmem._core"
    assert "-O2" in ext.extra_compile_args
    assert [Path(s).name for s in ext.sources] == ["_core.c"]
    assert Path(ext.sources[0]).resolve().is_relative_to(CYTMEM.parents[1] / "build")  # never beside the .pyx
    assert any(Path(d).resolve() == CYTMEM for d in ext.include_dirs)


def test_the_c_header_compiles_without_warnings(tmp_path: Path) -> None:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to check cytmem.h (apt-get install -y gcc)")
    src = tmp_path / "use.c"
    src.write_text('#include "cytmem.h"\nint main(void) { cyt_blocks b; cyt_blocks_init(&b, 4096); '
                   'unsigned char *p = cyt_block_get(&b); cyt_block_put(&b, p); cyt_blocks_release(&b); '
                   'return (int)cyt_le32((const unsigned char *)"abcd") & 0; }\n')
    cmd = [gcc, "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Werror", "-O2", f"-I{CYTMEM}",
           str(src), "-o", str(tmp_path / "use")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"$ {' '.join(cmd)}\n{done.stderr}"


# ---------------------------------------------------------------- the host's interface

@pytest.mark.parametrize("args,error,match", [
    # Cython's own conversions of the typed arguments (the contract fixes closed hosts and word sizes)
    ((1, 64, b"\0" * 56, bytes(lit.PAGE)), BufferError, "not writable"),
    ((1, 64, "op", bytearray(lit.PAGE)), TypeError, "bytes-like"),
    ((1, 64, None, bytearray(lit.PAGE)), TypeError, "None"),
])
def test_bad_arguments_raise(args: tuple, error: type[Exception], match: str) -> None:
    host = cytmem.make(1, 4)
    with pytest.raises(error, match=match):
        host.hypercall(*args)
    host.close()


def test_a_capacity_past_what_memory_can_address_is_a_capacity_error() -> None:
    # PY_SSIZE_T_MAX // 4096 pages on a 64-bit build
    with pytest.raises(CapacityError, match=r"in \[0, 2251799813685247\], not 2251799813685248$"):
        cytmem.make(1, 2251799813685248)


def test_the_core_itself_refuses_a_negative_capacity() -> None:
    # make() checks first (test_backend_contract.py); the core does not rely on it.
    from tmem_conformance.models.versions import version

    with pytest.raises(ValueError, match="capacity_pages must be 0 or more, not -1"):
        _core.CytmemHost(version(1), -1)


def test_the_host_writes_the_callers_memory_in_place() -> None:
    host = cytmem.make(1, 4)
    memory = bytearray(2 * lit.PAGE)
    memory[:lit.PAGE] = _fill(1)
    assert host.hypercall(1, 64, _op(lit.NEW_POOL, 0, Creat((0, 0), lit.V1_SPEC | lit.PERSIST, 0)), memory) == 0
    assert host.hypercall(1, 64, _op(lit.PUT, 0, Gen((1, 2, 3), 4, 0, 0, 0, 0)), memory) == 1
    view = memoryview(memory)[lit.PAGE:]  # the same buffer: a copy would not see the write
    assert host.hypercall(1, 64, _op(lit.GET, 0, Gen((1, 2, 3), 4, 0, 0, 0, 1)), memory) == 1
    assert bytes(view) == _fill(1)
    view.release()
    host.close()


# ---------------------------------------------------------------- layouts are data

@pytest.mark.parametrize("v,ws,expected", [
    # literals from CONFORMANCE.md's layout table and tmem-abi.md s.2
    ("v0", 64, {"gen_oid": 8, "gen_index": 16, "gen_cmfn": 32, "gen_cmfn_size": 8, "ctrl_buf": 32,
                "need_gen": 40, "need_ctrl": 40, "need_creat": 32, "oid_size": 8, "handle_size": 16}),
    ("v0", 32, {"gen_index": 16, "gen_cmfn": 32, "gen_cmfn_size": 4, "ctrl_buf": 32, "ctrl_buf_size": 4,
                "need_gen": 36, "need_ctrl": 36, "need_creat": 32, "handle_size": 16}),
    ("v1", 64, {"gen_index": 32, "gen_len": 44, "gen_cmfn": 48, "ctrl_oid": 24, "ctrl_buf": 48, "need_gen": 56,
                "oid_size": 24, "handle_size": 32, "handle_oid": 8}),
    ("v1", 32, {"gen_cmfn": 48, "gen_cmfn_size": 4, "need_gen": 52, "need_ctrl": 52, "creat_flags": 24,
                "creat_arg1": 28}),
])
def test_offsets_read_from_models_layouts(v: str, ws: int, expected: dict[str, int]) -> None:
    host = cytmem.make(v, 1)
    got = host.layout(ws)
    assert {k: got[k] for k in expected} == expected
    host.close()


def test_a_new_version_row_needs_no_new_code() -> None:
    # House rule 2: a hypothetical v2 with two-word object ids is one more row, read from the model.
    v2 = AbiVersion(name="v2", spec=2, xen="9.9.9", oid_words=2, creat_member="creat", ctrl_oid_field="oid",
                    gen_oid_field="oid", reject_flag_bits=0x4 | 0x00FFFF00, accepts=frozenset({2}))
    host = _core.CytmemHost(v2, 4)
    memory = bytearray(2 * lit.PAGE)
    memory[:lit.PAGE] = _fill(2)
    v1_pool = _op(lit.NEW_POOL, 0, Creat((0, 0), lit.V1_SPEC | lit.PERSIST, 0), v2, 32)
    assert host.hypercall(1, 32, v1_pool, memory) == -1
    assert host.hypercall(1, 32, _op(lit.NEW_POOL, 0, Creat((0, 0), 0x02000001, 0), v2, 32), memory) == 0
    assert host.hypercall(1, 32, _op(lit.PUT, 0, Gen((5, 6), 1, 0, 0, 0, 0), v2, 32), memory) == 1
    assert host.hypercall(1, 32, _op(lit.GET, 0, Gen((5, 7), 1, 0, 0, 0, 1), v2, 32), memory) == 0
    assert host.hypercall(1, 32, _op(lit.GET, 0, Gen((5, 6), 1, 0, 0, 0, 1), v2, 32), memory) == 1
    assert memory[lit.PAGE:] == _fill(2)
    assert host.layout(32)["oid_size"] == 16
    host.close()


# ---------------------------------------------------------------- cytmem's own decisions and structures

def test_lru_eviction_drops_the_least_recently_used_ephemeral_page() -> None:
    # cytmem's decision (any choice is allowed, TMEM-EPH-001): a new page evicts the LRU ephemeral page,
    # and a get from a shared ephemeral pool makes its page the most recently used.
    host = cytmem.make(1, 2)
    memory = bytearray(2 * lit.PAGE)
    assert host.hypercall(1, 64, _op(lit.NEW_POOL, 0, Creat((3, 3), lit.V1_SPEC | lit.SHARED, 0)), memory) == 0
    for index in (1, 2):
        memory[:lit.PAGE] = _fill(index)
        assert host.hypercall(1, 64, _op(lit.PUT, 0, Gen((9, 0, 0), index, 0, 0, 0, 0)), memory) == 1
    assert host.hypercall(1, 64, _op(lit.GET, 0, Gen((9, 0, 0), 1, 0, 0, 0, 1)), memory) == 1  # 1 is now MRU
    memory[:lit.PAGE] = _fill(3)
    assert host.hypercall(1, 64, _op(lit.PUT, 0, Gen((9, 0, 0), 3, 0, 0, 0, 0)), memory) == 1
    assert host.pages_held == 2
    assert host.hypercall(1, 64, _op(lit.GET, 0, Gen((9, 0, 0), 2, 0, 0, 0, 1)), memory) == 0  # evicted
    for index in (1, 3):
        assert host.hypercall(1, 64, _op(lit.GET, 0, Gen((9, 0, 0), index, 0, 0, 0, 1)), memory) == 1
        assert memory[lit.PAGE:] == _fill(index)
    host.close()


def test_control_flush_evicts_ephemeral_pages_oldest_first() -> None:
    host = cytmem.make(0, 8)
    memory = bytearray(2 * lit.PAGE)
    assert host.hypercall(1, 64, _op(lit.NEW_POOL, 0, Creat((0, 0), 0, 0), "v0"), memory) == 0
    assert host.hypercall(1, 64, _op(lit.NEW_POOL, 0, Creat((0, 0), lit.PERSIST, 0), "v0"), memory) == 1
    for pool_id in (0, 1):
        for index in range(3):
            assert host.hypercall(1, 64, _op(lit.PUT, pool_id, Gen((4,), index, 0, 0, 0, 0), "v0"), memory) == 1
    flush = _op(lit.CONTROL, 0, Ctrl(lit.FLUSH, 0xFFFF, 11, 0, (0,), 0), "v0")  # 11 KB: two 4 KB pages
    assert host.hypercall(0, 64, flush, bytearray(lit.PAGE)) == 8  # TMEM-CTRL-003
    assert host.pages_held == 4
    assert host.hypercall(1, 64, _op(lit.GET, 0, Gen((4,), 0, 0, 0, 0, 1), "v0"), memory) == 0
    assert host.hypercall(1, 64, _op(lit.GET, 0, Gen((4,), 2, 0, 0, 0, 1), "v0"), memory) == 1
    assert host.hypercall(0, 64, flush, bytearray(lit.PAGE)) == 0  # persistent pages stay
    assert host.pages_held == 3
    host.close()


def test_page_blocks_are_recycled_and_returned() -> None:
    host = cytmem.make(1, 3)
    memory = bytearray(2 * lit.PAGE)
    assert host.hypercall(1, 64, _op(lit.NEW_POOL, 0, Creat((0, 0), lit.V1_SPEC | lit.PERSIST, 0)), memory) == 0
    for round_ in range(50):
        memory[:lit.PAGE] = _fill(round_)
        for index in range(3):
            assert host.hypercall(1, 64, _op(lit.PUT, 0, Gen((1, 0, 0), index, 0, 0, 0, 0)), memory) == 1
        assert host.hypercall(1, 64, _op(lit.PUT, 0, Gen((1, 0, 0), 3, 0, 0, 0, 0)), memory) == lit.ENOMEM
        assert host.hypercall(1, 64, _op(lit.GET, 0, Gen((1, 0, 0), 2, 0, 0, 0, 1)), memory) == 1
        assert memory[lit.PAGE:] == _fill(round_)
        for index in range(3):
            assert host.hypercall(1, 64, _op(lit.FLUSH_PAGE, 0, Gen((1, 0, 0), index, 0, 0, 0, 0)), memory) == 1
        assert host.pages_held == 0
    host.destroy_domain(1)
    host.close()


@pytest.mark.parametrize("ws", [64, 32])
def test_frames_and_buffers_outside_memory_are_efault_without_overflow(ws: int) -> None:
    host = cytmem.make(1, 4)
    top = (1 << ws) - 1
    memory = bytearray(lit.PAGE)
    assert host.hypercall(1, ws, _op(lit.NEW_POOL, 0, Creat((0, 0), lit.V1_SPEC | lit.PERSIST, 0), ws=ws), memory) == 0
    for cmfn in (1, top, top // lit.PAGE + 1):
        assert host.hypercall(1, ws, _op(lit.PUT, 0, Gen((1, 0, 0), 0, 0, 0, 0, cmfn), ws=ws), memory) == lit.EFAULT
    assert host.hypercall(1, ws, _op(lit.PUT, 0, Gen((1, 0, 0), 0, 0, 0, 0, 0), ws=ws), memory) == 1
    assert host.hypercall(1, ws, _op(lit.GET, 0, Gen((1, 0, 0), 0, 0, 0, 0, 0), ws=ws), bytearray()) == lit.EFAULT
    uuid = _op(lit.CONTROL, 0, Ctrl(18, 1, 0, 0, (0, 0, 0), top - 7), ws=ws)  # SAVE_GET_POOL_UUID
    assert host.hypercall(0, ws, uuid, bytearray(lit.PAGE)) == lit.EFAULT
    assert host.hypercall(0, ws, uuid, bytearray()) == lit.EFAULT
    npages = _op(lit.CONTROL, 0, Ctrl(lit.SAVE_GET_POOL_NPAGES, 1, 0, 0, (0, 0, 0), 0), ws=ws)
    assert host.hypercall(0, ws, npages, bytearray()) == 1
    host.close()

