/*
 * ctmem with one fault: its CRASH_AT-th hypercall in a process segfaults. Built from ctmem's own
 * sources with their tmem_backend_hypercall renamed ctmem_real_hypercall (see libraries.py).
 */
#include <stddef.h>

#include "tmem_backend.h"

long ctmem_real_hypercall(tmem_backend_host *h, unsigned int domid, unsigned int word_size,
                          const unsigned char *op, size_t op_len, unsigned char *memory, size_t memory_len);

static unsigned long calls;

long tmem_backend_hypercall(tmem_backend_host *h, unsigned int domid, unsigned int word_size,
                            const unsigned char *op, size_t op_len, unsigned char *memory, size_t memory_len)
{
    if (++calls == CRASH_AT) {
        volatile int *nowhere = NULL;
        *nowhere = 1;
    }
    return ctmem_real_hypercall(h, domid, word_size, op, op_len, memory, memory_len);
}
