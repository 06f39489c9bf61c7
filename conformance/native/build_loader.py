"""The cffi (API mode) build of the engine's native loader: `ffibuilder`.

setup.py names it in `cffi_modules`, so `pip install` compiles
`tmem_conformance.native._loader` from loader.c. The declarations are
tmem_backend.h's and loader.h's, as in pyca/cryptography's binding
modules: INCLUDES, TYPES, FUNCTIONS. Every implementation of the header,
ctmem included, is opened by path and reached through the loader's table
of function pointers, never through ABI-mode dlopen.
"""

from __future__ import annotations

import glob
import os

from cffi import FFI

MODULE = "tmem_conformance.native._loader"

INCLUDES = """
#include "tmem_backend.h"
#include "loader.h"
"""

TYPES = """
#define TMEM_BACKEND_ABI_VERSION ...
typedef struct tmem_backend_host tmem_backend_host;
typedef struct tmem_native_lib tmem_native_lib;

#define TMEM_NATIVE_OK ...
#define TMEM_NATIVE_CANNOT_LOAD ...
#define TMEM_NATIVE_MISSING_SYMBOL ...
#define TMEM_NATIVE_NO_MEMORY ...
"""

FUNCTIONS = """
int tmem_native_open(const char *path, tmem_native_lib **out, char *err, size_t errlen);
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


def here() -> str:
    """This folder (tmem_backend.h's), relative to the current directory when under it (setuptools wants that)."""
    path = os.path.dirname(os.path.abspath(__file__))
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def build_ffi() -> FFI:
    folder = here()
    ffi = FFI()
    ffi.cdef(TYPES + FUNCTIONS)
    ffi.set_source(
        MODULE,
        INCLUDES,
        sources=[os.path.join(folder, "loader.c")],
        include_dirs=[folder],
        depends=sorted(glob.glob(os.path.join(folder, "*.h"))),
        extra_compile_args=["-std=c11"],
        libraries=["dl"],
    )
    return ffi


ffibuilder = build_ffi()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
