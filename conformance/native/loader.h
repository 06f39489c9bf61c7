/*
 * loader.h: drive any implementation of tmem_backend.h through one path.
 *
 * tmem_native_open() dlopen()s a shared library and dlsym()s its five
 * tmem_backend_* functions into a table of function pointers. The
 * tmem_native_* calls go through the table, so the suite's Python binding
 * (API mode, tmem_conformance.native._loader) drives every implementation
 * alike: ctmem's compiled module is opened by path like any other library.
 */
#ifndef TMEM_NATIVE_LOADER_H
#define TMEM_NATIVE_LOADER_H

#include <stddef.h>

#include "tmem_backend.h"

typedef struct tmem_native_lib tmem_native_lib;

#define TMEM_NATIVE_OK 0
#define TMEM_NATIVE_CANNOT_LOAD 1    /* err: dlerror()'s text */
#define TMEM_NATIVE_MISSING_SYMBOL 2 /* err: the symbol's name */
#define TMEM_NATIVE_NO_MEMORY 3

int tmem_native_open(const char *path, tmem_native_lib **out, char *err, size_t errlen);
void tmem_native_close(tmem_native_lib *lib);

unsigned int tmem_native_abi_version(const tmem_native_lib *lib);
tmem_backend_host *tmem_native_create(const tmem_native_lib *lib, int abi_version, unsigned long capacity_pages);
long tmem_native_hypercall(const tmem_native_lib *lib, tmem_backend_host *h, unsigned int domid,
                           unsigned int word_size, const unsigned char *op, size_t op_len,
                           unsigned char *memory, size_t memory_len);
void tmem_native_destroy_domain(const tmem_native_lib *lib, tmem_backend_host *h, unsigned int domid);
void tmem_native_free(const tmem_native_lib *lib, tmem_backend_host *h);

#endif /* TMEM_NATIVE_LOADER_H */
