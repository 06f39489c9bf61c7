/* A deliberately faulty backend: segfaults inside tmem_backend_hypercall, on its first call. */
#include <stdlib.h>

#include "tmem_backend.h"

struct tmem_backend_host {
    int unused;
};

unsigned int tmem_backend_abi_version(void)
{
    return TMEM_BACKEND_ABI_VERSION;
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
    volatile int *nowhere = NULL;
    (void)h;
    (void)domid;
    (void)word_size;
    (void)memory;
    (void)memory_len;
    (void)op;
    if (op_len >= 1) /* any op: the first hypercall of every case */
        *nowhere = 1;
    return 0;
}

void tmem_backend_destroy_domain(tmem_backend_host *h, unsigned int domid)
{
    (void)h;
    (void)domid;
}

void tmem_backend_free(tmem_backend_host *h)
{
    free(h);
}
