/* cytmem's C helpers: byte order, page blocks, and what a put stores.
 *
 * Declared to Cython with `cdef extern from "cytmem.h"` (_cdefs.pxi); the
 * host's logic is in the .pxi files. Everything here is static inline and
 * free of Python, so the page paths run without the GIL's help.
 *
 * All tmem hosts are x86: struct tmem_op and struct tmem_handle are
 * little-endian. The readers assemble bytes, so they are right on any
 * host; compilers turn them into single loads on x86.
 */
#ifndef CYTMEM_H
#define CYTMEM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint32_t cyt_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t cyt_le64(const unsigned char *p)
{
    return (uint64_t)cyt_le32(p) | (uint64_t)cyt_le32(p + 4) << 32;
}

/* A word-sized field (xen_pfn_t, a guest handle): 4 or 8 bytes. */
static inline uint64_t cyt_le_word(const unsigned char *p, int size)
{
    return size == 8 ? cyt_le64(p) : (uint64_t)cyt_le32(p);
}

static inline void cyt_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void cyt_put_le64(unsigned char *p, uint64_t v)
{
    cyt_put_le32(p, (uint32_t)v);
    cyt_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Page blocks: malloc'd once, then recycled through a free list threaded
 * through the first bytes of each free block. At most `capacity` blocks
 * are ever in use, so the free list never outgrows the host's peak. */
typedef struct cyt_blocks {
    void *free_list;
    size_t block_size;
} cyt_blocks;

static inline void cyt_blocks_init(cyt_blocks *b, size_t block_size)
{
    b->free_list = NULL;
    b->block_size = block_size < sizeof(void *) ? sizeof(void *) : block_size;
}

/* A block, or NULL when malloc fails. */
static inline unsigned char *cyt_block_get(cyt_blocks *b)
{
    void *p = b->free_list;
    if (p != NULL) {
        memcpy(&b->free_list, p, sizeof(void *));
        return (unsigned char *)p;
    }
    return (unsigned char *)malloc(b->block_size);
}

static inline void cyt_block_put(cyt_blocks *b, unsigned char *p)
{
    memcpy(p, &b->free_list, sizeof(void *));
    b->free_list = p;
}

static inline void cyt_blocks_release(cyt_blocks *b)
{
    while (b->free_list != NULL) {
        void *p = b->free_list;
        memcpy(&b->free_list, p, sizeof(void *));
        free(p);
    }
}

/* What a WRITE (or RESTORE_PUT_PAGE) stores from `n` source bytes at `src`
 * into the page `dst` of `page` bytes (TMEM-PUT-005): an all-zero window
 * gives a zero page; with compression on, the whole source page (zero
 * padded) is stored and 1 is returned, so READ copies it whole; a window
 * past the page or source end copies nothing; otherwise the window, the
 * other bytes zero. Returns whether the page is stored whole. */
static inline int cyt_fill_window(unsigned char *dst, size_t page, const unsigned char *src, size_t n,
                                  uint64_t tmem_offset, uint64_t pfn_offset, uint64_t len, int compress)
{
    if (tmem_offset == 0 && pfn_offset == 0 && len == 0) {
        memset(dst, 0, page);
        return 0;
    }
    if (compress) {
        size_t have = n < page ? n : page;
        memcpy(dst, src, have);
        memset(dst + have, 0, page - have);
        return 1;
    }
    memset(dst, 0, page);
    if (tmem_offset + len <= page && pfn_offset + len <= page && pfn_offset + len <= n)
        memcpy(dst + tmem_offset, src + pfn_offset, (size_t)len);
    return 0;
}

/* READ's copy of the stored window [tmem_offset, +len) to guest offset
 * pfn_offset (TMEM-GET-004); len 0 or a window past the page copies nothing. */
static inline void cyt_copy_window(unsigned char *frame, const unsigned char *data, size_t page,
                                   uint64_t tmem_offset, uint64_t pfn_offset, uint64_t len)
{
    if (len != 0 && tmem_offset + len <= page && pfn_offset + len <= page)
        memcpy(frame + pfn_offset, data + tmem_offset, (size_t)len);
}

#endif /* CYTMEM_H */
