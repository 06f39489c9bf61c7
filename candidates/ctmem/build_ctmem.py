"""The cffi (API mode) build of ctmem: `ffibuilder`.

setup.py names it in `cffi_modules`, so `pip install` compiles
`tmem_conformance.candidates.ctmem._ctmem` from ctmem's C sources (host/),
an implementation of the engine's tmem_backend.h (conformance/native/). The
module is a shared object exporting the header's five functions: ctmem's
make() opens it through the engine's loader like any third-party library.
As in pyca/cryptography, the declarations are INCLUDES, TYPES, FUNCTIONS.

TMEM_CTMEM_SANITIZE=1 at build time adds AddressSanitizer and
UndefinedBehaviorSanitizer (load the result with the sanitizer runtimes in
LD_PRELOAD: see the `sanitize` env in tox.ini).
"""

from __future__ import annotations

import glob
import os

from cffi import FFI

MODULE = "tmem_conformance.candidates.ctmem._ctmem"
SANITIZE_ENV = "TMEM_CTMEM_SANITIZE"
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]

INCLUDES = """
#include "tmem_backend.h"
"""

# Only what Python reads directly; the engine's loader (tmem_conformance.native)
# opens this module's file by path and resolves tmem_backend.h's five functions itself.
TYPES = """
#define TMEM_CTMEM_SANITIZED ...
"""

FUNCTIONS = """
unsigned int tmem_backend_abi_version(void);
"""


def _here() -> str:
    """This folder, relative to the current directory when under it (setuptools wants relative sources)."""
    here = os.path.dirname(os.path.abspath(__file__))
    rel = os.path.relpath(here)
    return here if rel.startswith("..") else rel


def header_dir(here: str) -> str:
    """The folder of tmem_backend.h: conformance/native in a checkout, tmem_conformance/native installed."""
    for parts in (("..", "..", "conformance", "native"), ("..", "..", "native")):
        folder = os.path.normpath(os.path.join(here, *parts))
        if os.path.isfile(os.path.join(folder, "tmem_backend.h")):
            return folder
    raise RuntimeError(f"tmem_backend.h not found beside {here}: build ctmem from a checkout or an install")


def host_sources(here: str | None = None) -> list[str]:
    """ctmem's C sources: what an implementer compiles into a standalone tmem_backend.h library."""
    return sorted(glob.glob(os.path.join(here or _here(), "host", "*.c")))


def sanitize_requested() -> bool:
    return os.environ.get(SANITIZE_ENV, "") not in ("", "0")


def build_ffi() -> FFI:
    here = _here()
    header = header_dir(here)
    ffi = FFI()
    ffi.cdef(TYPES + FUNCTIONS)
    flags = ["-std=c11"]
    link = []
    if sanitize_requested():
        flags += SANITIZE_FLAGS
        link += SANITIZE_FLAGS
    # The flavour is part of the generated source, so switching it rebuilds everything
    # (setuptools would otherwise reuse the other flavour's objects from build/).
    flavour = f"#define TMEM_CTMEM_SANITIZED {int(sanitize_requested())}\n"
    ffi.set_source(
        MODULE,
        flavour + INCLUDES,
        sources=host_sources(here),
        include_dirs=[here, header],
        depends=sorted(glob.glob(os.path.join(here, "*.h")) + glob.glob(os.path.join(here, "host", "*.h"))
                       + [os.path.join(header, "tmem_backend.h")]),
        extra_compile_args=flags,
        extra_link_args=link,
    )
    return ffi


ffibuilder = build_ffi()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
