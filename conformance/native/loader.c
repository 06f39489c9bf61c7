/*
 * loader.c: see loader.h. Symbols are resolved once, at open; a library
 * missing any of the five is refused with that symbol's name. Libraries
 * are opened RTLD_NOW | RTLD_LOCAL, so their own symbols (ctmem's, a
 * second copy of ctmem's) never interpose on each other. Opening a module
 * Python has already loaded (ctmem's) returns that module's handle.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

typedef unsigned int (*tmem_abi_version_fn)(void);
typedef tmem_backend_host *(*tmem_create_fn)(int, unsigned long);
typedef long (*tmem_hypercall_fn)(tmem_backend_host *, unsigned int, unsigned int, const unsigned char *,
                                  size_t, unsigned char *, size_t);
typedef void (*tmem_destroy_domain_fn)(tmem_backend_host *, unsigned int);
typedef void (*tmem_free_fn)(tmem_backend_host *);

struct tmem_native_lib {
    void *dl;
    tmem_abi_version_fn abi_version;
    tmem_create_fn create;
    tmem_hypercall_fn hypercall;
    tmem_destroy_domain_fn destroy_domain;
    tmem_free_fn free;
};

static void tmem_native_message(char *err, size_t errlen, const char *text)
{
    if (errlen > 0)
        snprintf(err, errlen, "%s", text != NULL ? text : "unknown error");
}

/* dlsym() into a function pointer without converting an object pointer (ISO C forbids it). */
static int tmem_native_symbol(void *dl, const char *name, void *fn, size_t fn_size)
{
    void *sym;
    dlerror();
    sym = dlsym(dl, name);
    if (sym == NULL || fn_size != sizeof sym)
        return 0;
    memcpy(fn, &sym, sizeof sym);
    return 1;
}

int tmem_native_open(const char *path, tmem_native_lib **out, char *err, size_t errlen)
{
    tmem_native_lib *lib;
    void *dl;
    *out = NULL;
    tmem_native_message(err, errlen, "");
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        tmem_native_message(err, errlen, dlerror());
        return TMEM_NATIVE_CANNOT_LOAD;
    }
    lib = calloc(1, sizeof *lib);
    if (lib == NULL) {
        dlclose(dl);
        return TMEM_NATIVE_NO_MEMORY;
    }
    lib->dl = dl;
#define TMEM_NATIVE_RESOLVE(field, name)                                                      \
    if (!tmem_native_symbol(dl, name, &lib->field, sizeof lib->field)) {                      \
        tmem_native_message(err, errlen, name);                                               \
        tmem_native_close(lib);                                                               \
        return TMEM_NATIVE_MISSING_SYMBOL;                                                    \
    }
    TMEM_NATIVE_RESOLVE(abi_version, "tmem_backend_abi_version")
    TMEM_NATIVE_RESOLVE(create, "tmem_backend_create")
    TMEM_NATIVE_RESOLVE(hypercall, "tmem_backend_hypercall")
    TMEM_NATIVE_RESOLVE(destroy_domain, "tmem_backend_destroy_domain")
    TMEM_NATIVE_RESOLVE(free, "tmem_backend_free")
#undef TMEM_NATIVE_RESOLVE
    *out = lib;
    return TMEM_NATIVE_OK;
}

void tmem_native_close(tmem_native_lib *lib)
{
    if (lib == NULL)
        return;
    dlclose(lib->dl);
    free(lib);
}

unsigned int tmem_native_abi_version(const tmem_native_lib *lib)
{
    return lib->abi_version();
}

tmem_backend_host *tmem_native_create(const tmem_native_lib *lib, int abi_version, unsigned long capacity_pages)
{
    return lib->create(abi_version, capacity_pages);
}

long tmem_native_hypercall(const tmem_native_lib *lib, tmem_backend_host *h, unsigned int domid,
                           unsigned int word_size, const unsigned char *op, size_t op_len,
                           unsigned char *memory, size_t memory_len)
{
    return lib->hypercall(h, domid, word_size, op, op_len, memory, memory_len);
}

void tmem_native_destroy_domain(const tmem_native_lib *lib, tmem_backend_host *h, unsigned int domid)
{
    lib->destroy_domain(h, domid);
}

void tmem_native_free(const tmem_native_lib *lib, tmem_backend_host *h)
{
    lib->free(h);
}
