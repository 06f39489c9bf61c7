"""Compile the test libraries with gcc -shared -fPIC, once per test process.

`crash_backend`, `hang_backend`, `missing_symbol` and `wrong_version` are
faulty_backend.c compiled with one fault each; `ctmem_standalone` is ctmem's own C sources
(candidates/ctmem/host) compiled a second time into libctmem_standalone.so
outside the package, as a third party would build a tmem_backend.h host.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CTMEM = REPO / "candidates" / "ctmem"
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC"]
#: library name -> the fault faulty_backend.c is compiled with
FAULTY = {"crash_backend": "FAULT_CRASH", "hang_backend": "FAULT_HANG", "missing_symbol": "FAULT_MISSING_SYMBOL",
          "wrong_version": "FAULT_WRONG_VERSION"}

_built: dict[str, Path] = {}


def compile_library(sources: list[Path], out: Path, defines: tuple[str, ...] = ()) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build the native test libraries (apt-get install -y gcc)")
    cmd = [gcc, *CFLAGS, *(f"-D{d}" for d in defines), f"-I{CTMEM}", *map(str, sources), "-o", str(out)]
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
    return dict(_built)
