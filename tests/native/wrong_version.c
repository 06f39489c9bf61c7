/* A library built against another revision of tmem_backend.h: it reports version 999. */
#include <stdlib.h>

#include "tmem_backend.h"

struct tmem_backend_host {
    int unused;
};

unsigned int tmem_backend_abi_version(void)
{
    return 999;
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
    (void)memory;
    (void)memory_len;
    (void)op;
    (void)op_len;
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
