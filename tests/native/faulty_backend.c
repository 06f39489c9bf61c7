/*
 * Deliberately faulty tmem_backend.h libraries, one source compiled four ways:
 *   -DFAULT_CRASH           segfaults inside tmem_backend_hypercall, on its first call;
 *   -DFAULT_HANG            never returns from tmem_backend_hypercall, from its first call;
 *   -DFAULT_MISSING_SYMBOL  does not export tmem_backend_destroy_domain;
 *   -DFAULT_WRONG_VERSION   reports ABI version 999, as if built against another header.
 */
#include <stdlib.h>

#include "tmem_backend.h"

struct tmem_backend_host {
    int unused;
};

unsigned int tmem_backend_abi_version(void)
{
#ifdef FAULT_WRONG_VERSION
    return 999;
#else
    return TMEM_BACKEND_ABI_VERSION;
#endif
}

tmem_backend_host *tmem_backend_create(int abi_version, unsigned long capacity_pages)
{
    (void)abi_version;
    (void)capacity_pages;
    return calloc(1, sizeof(tmem_backend_host));
}

long tmem_backend_hypercall(tmem_backend_host *h, unsigned int domid, unsigned int word_size,
                            const unsigned char *op, size_t op_len, unsigned char *memory, size_t memory_len)
{
    (void)h;
    (void)domid;
    (void)word_size;
    (void)op;
    (void)memory;
    (void)memory_len;
#if defined(FAULT_CRASH)
    if (op_len >= 1) {
        volatile int *nowhere = NULL;
        *nowhere = 1;
    }
#elif defined(FAULT_HANG)
    if (op_len >= 1) {
        volatile int spinning = 1;
        while (spinning)
            ;
    }
#else
    (void)op_len;
#endif
    return 0;
}

#ifndef FAULT_MISSING_SYMBOL
void tmem_backend_destroy_domain(tmem_backend_host *h, unsigned int domid)
{
    (void)h;
    (void)domid;
}
#endif

void tmem_backend_free(tmem_backend_host *h)
{
    free(h);
}
