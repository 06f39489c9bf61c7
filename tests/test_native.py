"""Native backends: loading shared libraries (conformance/native/) and driving them through the loader.

Expected values are literals from tmem-abi.md, never computed by ctmem.
The standalone library is ctmem's C sources built again outside the
package, as an implementer would; it must behave as the built-in ctmem.
"""

from __future__ import annotations

import importlib.machinery
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.native.libraries import INCLUDES, NATIVE, libraries
from tmem_conformance.backend import BackendArgumentError, BackendClosedError
from tmem_conformance.candidates import ctmem
from tmem_conformance.isolation import run_isolated
from tmem_conformance.models import codec
from tmem_conformance.models.codec import Creat, Ctrl, Gen, TmemOp
from tmem_conformance.models.errors import UsageError
from tmem_conformance.native import _loader, header_text, library, load_library, looks_like_library

from .abi_literals import PAGE
from .abi_literals import op as _op

EPERM, EFAULT, ENODEV, EFROZEN, EEMPTY = -1, -14, -19, -1000, -1001
NEW_POOL, PUT, GET, FLUSH_PAGE, CONTROL = 1, 4, 5, 6, 0
FREEZE, SAVE_GET_VERSION, SAVE_GET_MAXPOOLS = 1, 11, 12
V0_SPEC, V1_SPEC, PERSIST = 0x00000000, 0x01000000, 0x1


@pytest.fixture(scope="session")
def native_libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return libraries(tmp_path_factory)


# ---------------------------------------------------------------- recognising and loading libraries

@pytest.mark.parametrize("spec,expected", [
    ("libhost.so", True), ("build/libhost.dylib", True), ("simulator", False), ("ctmem", False),
    ("mypkg.host:make", False), ("./no/such/dir/host", False),
])
def test_looks_like_library(spec: str, expected: bool) -> None:
    assert looks_like_library(spec) is expected


def test_an_existing_path_looks_like_a_library(native_libs: dict[str, Path], tmp_path: Path) -> None:
    plain = tmp_path / "host"
    plain.write_bytes(native_libs["ctmem_standalone"].read_bytes())
    assert looks_like_library(str(plain))


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_library(str(tmp_path / "libnothere.so"))


def test_a_file_that_is_no_library_is_a_usage_error(tmp_path: Path) -> None:
    fake = tmp_path / "libfake.so"
    fake.write_text("not an ELF file\n")
    with pytest.raises(UsageError, match="cannot be loaded as a shared library"):
        load_library(str(fake))


def test_missing_symbol_is_named(native_libs: dict[str, Path]) -> None:
    with pytest.raises(UsageError, match="missing symbol tmem_backend_destroy_domain"):
        load_library(str(native_libs["missing_symbol"]))


def test_wrong_abi_version_names_both(native_libs: dict[str, Path]) -> None:
    with pytest.raises(UsageError) as info:
        load_library(str(native_libs["wrong_version"]))
    assert "tmem_backend_abi_version() is 999" in str(info.value)
    assert "TMEM_BACKEND_ABI_VERSION 1" in str(info.value)


def test_header_text_is_the_shipped_header() -> None:
    text = header_text()
    assert text == (NATIVE / "tmem_backend.h").read_text(encoding="utf-8")
    assert "#define TMEM_BACKEND_ABI_VERSION 1" in text
    for name in ("tmem_backend_abi_version", "tmem_backend_create", "tmem_backend_hypercall",
                 "tmem_backend_destroy_domain", "tmem_backend_free"):
        assert f"{name}(" in text


def test_the_compiled_loader_is_the_engines_and_holds_no_implementation() -> None:
    assert _loader.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert _loader.lib.TMEM_BACKEND_ABI_VERSION == library.TMEM_BACKEND_ABI_VERSION == 1
    assert not hasattr(_loader.lib, "tmem_backend_create")  # ctmem is opened by path, not linked in


def test_a_stale_compiled_loader_is_refused_naming_both_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library, "TMEM_BACKEND_ABI_VERSION", 2)
    with pytest.raises(ImportError, match=r"built for tmem_backend.h version 1, .* expects version 2"):
        library.verify_abi_version()


def test_the_loader_compiles_without_warnings(tmp_path: Path) -> None:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to check the loader's C source (apt-get install -y gcc)")
    cmd = [gcc, "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Wstrict-prototypes",
           "-Wmissing-prototypes", "-Werror", "-O2", *INCLUDES, "-c", str(NATIVE / "loader.c"), "-o",
           str(tmp_path / "loader.o")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"$ {' '.join(cmd)}\n{done.stderr}"


@pytest.mark.parametrize("args,match", [
    ((-1, 64, b"\0" * 56, bytearray(PAGE)), "domid must be an integer"),
    ((1, 64, b"\0" * 56, bytes(PAGE)), "memory must be a writable bytearray"),
    ((1, 64, "op", bytearray(PAGE)), "op must be bytes"),
])
def test_bad_hypercall_arguments_are_backend_argument_errors(args: tuple, match: str) -> None:
    host = ctmem.make(1, 4)
    with pytest.raises(BackendArgumentError, match=match):
        host.hypercall(*args)
    with pytest.raises(BackendArgumentError, match="domid must be an integer"):
        host.destroy_domain(-1)
    host.close()


# ---------------------------------------------------------------- faulty libraries, isolated

def _pool_then_get(make: Callable[[int, int], object]) -> int:
    host = make(1, 8)
    memory = bytearray(2 * PAGE)
    op = codec.pack(TmemOp(GET, 0, Gen((1, 0, 0), 0, 0, 0, 0, 0)), "v1", 64)
    return host.hypercall(1, 64, op, memory)  # type: ignore[attr-defined]


def test_a_segfaulting_library_is_a_crash_not_the_end_of_the_run(native_libs: dict[str, Path]) -> None:
    make = load_library(str(native_libs["crash_backend"]))
    result = run_isolated(lambda: _pool_then_get(make), timeout=30)
    assert result.kind == "crash"
    assert result.signal_name == "SIGSEGV"


def test_a_library_that_never_returns_is_a_hang(native_libs: dict[str, Path]) -> None:
    make = load_library(str(native_libs["hang_backend"]))
    result = run_isolated(lambda: _pool_then_get(make), timeout=1)
    assert result.kind == "hang"


# ---------------------------------------------------------------- the standalone ctmem library

@pytest.fixture(params=["ctmem", "standalone"])
def make(request: pytest.FixtureRequest, native_libs: dict[str, Path]) -> Iterator[Callable[[int, int], object]]:
    if request.param == "ctmem":
        yield ctmem.make
    else:
        yield load_library(str(native_libs["ctmem_standalone"]))


def test_standalone_is_a_separate_library(native_libs: dict[str, Path]) -> None:
    host = load_library(str(native_libs["ctmem_standalone"]))(1, 4)
    assert "libctmem_standalone.so" in host.name  # type: ignore[attr-defined]
    assert not isinstance(host, ctmem.CtmemHost)


def test_version_gate(make: Callable[[int, int], object]) -> None:
    # tmem-abi.md s.3 check 1, s.7: a v1 host refuses a v0 guest's pool with -EPERM, accepts its own.
    host = make(1, 8)
    memory = bytearray(PAGE)
    assert host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), V0_SPEC, 0), "v0"), memory) == EPERM
    assert host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC | PERSIST, 0)), memory) == 0
    assert host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC, 0)), memory) == 1
    host.close()


@pytest.mark.parametrize("ws", [64, 32])
def test_put_get_flush(make: Callable[[int, int], object], ws: int) -> None:
    host = make(1, 8)
    memory = bytearray(4 * PAGE)
    memory[PAGE:2 * PAGE] = bytes(i % 251 for i in range(PAGE))
    assert host.hypercall(1, ws, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC | PERSIST, 0), ws=ws), memory) == 0
    key = ((7, 8, 9), 3)
    assert host.hypercall(1, ws, _op(PUT, 0, Gen(key[0], key[1], 0, 0, 0, 1), ws=ws), memory) == 1
    assert host.hypercall(1, ws, _op(GET, 0, Gen(key[0], key[1], 0, 0, 0, 2), ws=ws), memory) == 1
    assert memory[2 * PAGE:3 * PAGE] == bytes(i % 251 for i in range(PAGE))
    # a miss returns 0 and leaves memory alone (TMEM-GET-002)
    assert host.hypercall(1, ws, _op(GET, 0, Gen((7, 8, 10), 3, 0, 0, 0, 3), ws=ws), memory) == 0
    assert memory[3 * PAGE:] == bytes(PAGE)
    assert host.hypercall(1, ws, _op(FLUSH_PAGE, 0, Gen(key[0], key[1], 0, 0, 0, 0), ws=ws), memory) == 1
    # the pool holds no pages now: -EEMPTY before the lookup (TMEM-GET-001)
    assert host.hypercall(1, ws, _op(GET, 0, Gen(key[0], key[1], 0, 0, 0, 2), ws=ws), memory) == EEMPTY
    host.close()


def test_dispatch_errors(make: Callable[[int, int], object]) -> None:
    host = make(0, 8)
    memory = bytearray(PAGE)
    assert host.hypercall(1, 64, _op(GET, 3, Gen((1,), 0, 0, 0, 0, 0), "v0"), memory) == ENODEV
    assert host.hypercall(1, 64, _op(GET, 0, Gen((1,), 0, 0, 0, 0, 0), "v0")[:20], memory) == EFAULT
    ctrl = _op(CONTROL, 0, Ctrl(SAVE_GET_VERSION, 1, 0, 0, (0,), 0), "v0")
    assert host.hypercall(1, 64, ctrl, memory) == EPERM
    assert host.hypercall(0, 64, ctrl, memory) == 0  # a v0 host's spec version
    assert host.hypercall(0, 64, _op(CONTROL, 0, Ctrl(SAVE_GET_MAXPOOLS, 1, 0, 0, (0,), 0), "v0"), memory) == 16
    host.close()


def test_frozen_client(make: Callable[[int, int], object]) -> None:
    host = make(1, 8)
    memory = bytearray(2 * PAGE)
    assert host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC | PERSIST, 0)), memory) == 0
    assert host.hypercall(1, 64, _op(PUT, 0, Gen((1, 0, 0), 0, 0, 0, 0, 0)), memory) == 1
    assert host.hypercall(0, 64, _op(CONTROL, 0, Ctrl(FREEZE, 1, 0, 0, (0, 0, 0), 0)), memory) == 0
    assert host.hypercall(1, 64, _op(PUT, 0, Gen((1, 0, 0), 1, 0, 0, 0, 0)), memory) == EFROZEN
    assert host.hypercall(1, 64, _op(PUT, 0, Gen((1, 0, 0), 0, 0, 0, 0, 0)), memory) == 1  # dup put
    assert host.hypercall(1, 64, _op(FLUSH_PAGE, 0, Gen((1, 0, 0), 0, 0, 0, 0, 0)), memory) == EFROZEN
    assert host.hypercall(1, 64, _op(GET, 0, Gen((1, 0, 0), 0, 0, 0, 0, 1)), memory) == EEMPTY  # flushed
    host.close()


def test_create_with_an_unknown_version_is_a_clear_error(native_libs: dict[str, Path]) -> None:
    make = load_library(str(native_libs["ctmem_standalone"]))
    with pytest.raises(library.NativeBackendError, match="returned NULL"):
        make(7, 8)


# ---------------------------------------------------------------- pinned guest memory

def test_guest_memory_is_pinned_per_domain_and_let_go() -> None:
    """A native host keeps one view per domain: the same bytearray again is read and written
    in place, a pinned one cannot be resized, and another memory, unpin, destroy or close let go."""
    host = ctmem.make(1, 8)
    first, second = bytearray(3 * PAGE), bytearray(3 * PAGE)
    first[PAGE:2 * PAGE] = b"\x5a" * PAGE
    assert host.hypercall(1, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC | PERSIST, 0)), first) == 0
    assert host.hypercall(1, 64, _op(PUT, 0, Gen((1, 0, 0), 0, 0, 0, 0, 1)), first) == 1
    with pytest.raises(BufferError):
        first.extend(b"\0")  # pinned by domain 1
    first[:] = bytes(3 * PAGE)  # writing in place stays allowed
    assert host.hypercall(1, 64, _op(GET, 0, Gen((1, 0, 0), 0, 0, 0, 0, 2)), first) == 1
    assert first[2 * PAGE:] == b"\x5a" * PAGE  # the host wrote the memory it was given
    assert host.hypercall(1, 64, _op(GET, 0, Gen((1, 0, 0), 0, 0, 0, 0, 2)), second) == 1
    assert second[2 * PAGE:] == b"\x5a" * PAGE
    first.extend(b"\0")  # another memory for domain 1: the first is let go
    host.unpin(1)
    second.extend(b"\0")
    assert host.hypercall(2, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC, 0)), second) == 0
    host.destroy_domain(2)
    second.extend(b"\0")
    assert host.hypercall(3, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC, 0)), second) == 0
    host.close()
    second.extend(b"\0")
    with pytest.raises(BackendClosedError):
        host.hypercall(3, 64, _op(NEW_POOL, 0, Creat((0, 0), V1_SPEC, 0)), second)
    second.extend(b"\0")  # a refused call pins nothing
