"""The cffi (API mode) build of ctmem and of the native loader: `ffibuilder`.

setup.py names it in `cffi_modules`, so `pip install` compiles
`tmem_conformance.candidates.ctmem._ctmem` from ctmem's C sources (host/)
and loader.c. The declarations are tmem_backend.h's and loader.h's, as in
pyca/cryptography's binding modules: INCLUDES, TYPES, FUNCTIONS. Third-party
libraries are reached through the loader's function table, never through
ABI-mode dlopen.

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
#include "loader.h"
"""

TYPES = """
#define TMEM_BACKEND_ABI_VERSION ...
#define TMEM_CTMEM_SANITIZED ...
typedef struct tmem_backend_host tmem_backend_host;
typedef struct tmem_native_lib tmem_native_lib;

#define TMEM_NATIVE_OK ...
#define TMEM_NATIVE_CANNOT_LOAD ...
#define TMEM_NATIVE_MISSING_SYMBOL ...
#define TMEM_NATIVE_NO_MEMORY ...
"""

FUNCTIONS = """
/* tmem_backend.h: ctmem's own, compiled into this module */
unsigned int tmem_backend_abi_version(void);
tmem_backend_host *tmem_backend_create(int abi_version, unsigned long capacity_pages);
long tmem_backend_hypercall(tmem_backend_host *h, unsigned int domid, unsigned int word_size,
                            const unsigned char *op, size_t op_len, unsigned char *memory, size_t memory_len);
void tmem_backend_destroy_domain(tmem_backend_host *h, unsigned int domid);
void tmem_backend_free(tmem_backend_host *h);

/* loader.h: any implementation, ctmem included, through one table of function pointers */
int tmem_native_open(const char *path, tmem_native_lib **out, char *err, size_t errlen);
tmem_native_lib *tmem_native_builtin(void);
void tmem_native_close(tmem_native_lib *lib);
unsigned int tmem_native_abi_version(const tmem_native_lib *lib);
tmem_backend_host *tmem_native_create(const tmem_native_lib *lib, int abi_version,
                                      unsigned long capacity_pages);
long tmem_native_hypercall(const tmem_native_lib *lib, tmem_backend_host *h, unsigned int domid,
                           unsigned int word_size, const unsigned char *op, size_t op_len,
                           unsigned char *memory, size_t memory_len);
void tmem_native_destroy_domain(const tmem_native_lib *lib, tmem_backend_host *h, unsigned int domid);
void tmem_native_free(const tmem_native_lib *lib, tmem_backend_host *h);
"""


def _here() -> str:
    """This folder, relative to the current directory when under it (setuptools wants relative sources)."""
    here = os.path.dirname(os.path.abspath(__file__))
    rel = os.path.relpath(here)
    return here if rel.startswith("..") else rel


def host_sources(here: str | None = None) -> list[str]:
    """ctmem's C sources: what an implementer compiles into a standalone tmem_backend.h library."""
    return sorted(glob.glob(os.path.join(here or _here(), "host", "*.c")))


def sanitize_requested() -> bool:
    return os.environ.get(SANITIZE_ENV, "") not in ("", "0")


def build_ffi() -> FFI:
    here = _here()
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
        sources=host_sources(here) + [os.path.join(here, "loader.c")],
        include_dirs=[here],
        depends=sorted(glob.glob(os.path.join(here, "*.h")) + glob.glob(os.path.join(here, "host", "*.h"))),
        extra_compile_args=flags,
        extra_link_args=link,
        libraries=["dl"],
    )
    return ffi


ffibuilder = build_ffi()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
