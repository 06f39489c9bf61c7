/*
 * tmem_backend.h: the certification ABI of a native tmem host.
 *
 * A shared library that exports these five functions can be certified by
 * tmem-conformance (`tmem-conformance certify --backend ./libmyhost.so`).
 * They are the C form of the suite's Python Backend protocol (README.md,
 * "The backend interface"); ctmem, the suite's own C host, implements them.
 *
 * Every guest and toolstack action reaches the host as the raw bytes of a
 * struct tmem_op, exactly as the tmem hypercall (__HYPERVISOR_tmem_op, 38)
 * would pass them: in the host's own version layout (v0 = Xen 4.0.0,
 * v1 = Xen 4.1.0) for the caller's word size, little-endian.
 *
 * Return values of tmem_backend_hypercall are the hypercall's: 0 or more
 * on success, a negated errno on error (-EPERM -1, -ENOMEM -12, -EFAULT
 * -14, -ENODEV -19, -EINVAL -22, -ENOSPC -28), and tmem's own -1000
 * (EFROZEN) and -1001 (EEMPTY). Control sub-ops return -1 where Xen does.
 *
 * The library is driven from one thread at a time; a host need not lock.
 */
#ifndef TMEM_BACKEND_H
#define TMEM_BACKEND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a declaration below changes meaning. */
#define TMEM_BACKEND_ABI_VERSION 1

/* One tmem host: opaque to the suite. */
typedef struct tmem_backend_host tmem_backend_host;

/*
 * The TMEM_BACKEND_ABI_VERSION the library was built with. The suite
 * refuses a library whose value differs from its own, naming both.
 */
unsigned int tmem_backend_abi_version(void);

/*
 * A new, empty host of tmem spec version `abi_version` (0 for v0, 1 for
 * v1) that holds at most `capacity_pages` pages of 4096 bytes at once.
 * NULL on failure (an unknown version, or no memory).
 */
tmem_backend_host *tmem_backend_create(int abi_version, unsigned long capacity_pages);

/*
 * One tmem hypercall from domain `domid`.
 *
 * word_size: the caller's guest word size in bits, 64, or 32 for Xen's
 *     compat layout (32-bit words, 64-bit integers 4-byte aligned). Any
 *     other value returns -EINVAL and changes nothing.
 * op, op_len: the struct tmem_op bytes in the host's version layout for
 *     that word size. A buffer too short for cmd, pool_id and the union
 *     member the command uses returns -EFAULT; bytes past that member are
 *     ignored.
 * memory, memory_len: the calling domain's memory, in 4096-byte pages,
 *     read and written in place. A `cmfn` is a page number in it (valid iff
 *     cmfn < memory_len / 4096); a control sub-op's `buf` is a byte offset
 *     in it (the region must lie inside, else -EFAULT). The host writes
 *     nothing else, and keeps no pointer into it after returning.
 *
 * CONTROL, AUTH and RESTORE_NEW come from domain 0 (the toolstack) and
 * name their target client in the op (cli_id, creat.arg1); any other
 * domain gets -EPERM. Every other command gives a domain without a client
 * a new one.
 */
long tmem_backend_hypercall(tmem_backend_host *h, unsigned int domid, unsigned int word_size,
                            const unsigned char *op, size_t op_len,
                            unsigned char *memory, size_t memory_len);

/* The domain died: free its client, its pools and their pages. */
void tmem_backend_destroy_domain(tmem_backend_host *h, unsigned int domid);

/* Release the host and everything it holds; `h` is not used again. */
void tmem_backend_free(tmem_backend_host *h);

#ifdef __cplusplus
}
#endif

#endif /* TMEM_BACKEND_H */
