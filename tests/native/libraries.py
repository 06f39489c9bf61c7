"""Compile the test libraries with gcc -shared -fPIC, once per test process.

`crash_backend`, `hang_backend`, `missing_symbol` and `wrong_version` are
faulty_backend.c compiled with one fault each; `ctmem_standalone` is ctmem's own C sources
(candidates/ctmem/host) compiled a second time into libctmem_standalone.so
outside the package, as a third party would build a tmem_backend.h host
(the header is the engine's, in conformance/native).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CTMEM = REPO / "candidates" / "ctmem"
NATIVE = REPO / "conformance" / "native"
#: tmem_backend.h (the engine's), and ctmem's own tmem_abi.h
INCLUDES = [f"-I{NATIVE}", f"-I{CTMEM}"]
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC"]
#: library name -> the fault faulty_backend.c is compiled with
FAULTY = {"crash_backend": "FAULT_CRASH", "hang_backend": "FAULT_HANG", "missing_symbol": "FAULT_MISSING_SYMBOL",
          "wrong_version": "FAULT_WRONG_VERSION"}

#: The hypercall on which libcrash_at.so segfaults, counted from the start of each forked case.
CRASH_AT = 25

_built: dict[str, Path] = {}


def compile_library(sources: list[Path], out: Path, defines: tuple[str, ...] = ()) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build the native test libraries (apt-get install -y gcc)")
    cmd = [gcc, *CFLAGS, *(f"-D{d}" for d in defines), *INCLUDES, *map(str, sources), "-o", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot build {out.name}:\n$ {' '.join(cmd)}\n{done.stderr}")
    return out


def libraries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> path of every test library (built on first use in this process)."""
    if not _built:
        out = tmp_path_factory.mktemp("native")
        for name, fault in FAULTY.items():
            _built[name] = compile_library([HERE / "faulty_backend.c"], out / f"lib{name}.so", (fault,))
        host = sorted((CTMEM / "host").glob("*.c"))
        _built["ctmem_standalone"] = compile_library(host, out / "libctmem_standalone.so")
        _built["crash_at"] = crash_at(host, out)
    return dict(_built)


def crash_at(host: list[Path], out: Path) -> Path:
    """ctmem whose CRASH_AT-th hypercall segfaults: its sources with the entry point renamed, and a wrapper."""
    gcc = shutil.which("gcc")
    assert gcc is not None
    objects = []
    for src in [*host, HERE / "crash_at.c"]:
        obj = out / f"crash_at_{src.stem}.o"
        rename = ["-Dtmem_backend_hypercall=ctmem_real_hypercall"] if src.parent != HERE else []
        cmd = [gcc, *[f for f in CFLAGS if f != "-shared"], "-c", *rename, f"-DCRASH_AT={CRASH_AT}",
               *INCLUDES, str(src), "-o", str(obj)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"cannot build {obj.name}:\n$ {' '.join(cmd)}\n{done.stderr}")
        objects.append(str(obj))
    lib = out / "libcrash_at.so"
    done = subprocess.run([gcc, "-shared", "-fPIC", *objects, "-o", str(lib)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot link {lib.name}: {done.stderr}")
    return lib
