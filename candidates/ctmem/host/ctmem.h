/*
 * ctmem.h: the data structures of ctmem, the suite's C tmem host.
 *
 *   host     clients (hash by domid), the global shared pools (by uuid),
 *            page capacity, and the LRU list of every ephemeral page
 *   client   16 pool slots, freeze / live-migration state, policy numbers,
 *            authorised uuids, the invalidated list, one save cursor per slot
 *   pool     a hash table of objects keyed by the object id words
 *   object   a sorted array index -> page
 *   page     4096 bytes of data, with its object and LRU links
 *
 * abi.c decodes ops per version and word size; dispatch.c exports
 * tmem_backend.h and routes ops; store.c keeps pools, objects, pages and
 * capacity; pools.c creates and destroys pools and clients; pageops.c does
 * puts, gets and flushes, and bounds-checks the caller's memory; control.c
 * the control sub-ops. The behaviour is tmem-abi.md with its section 9
 * fixes (models/rules.py). Build with the folder above (tmem_abi.h) and
 * the engine's conformance/native (tmem_backend.h, printed by
 * `tmem-conformance header`) on the include path, for an LP64
 * little-endian target.
 */
#ifndef CTMEM_CTMEM_H
#define CTMEM_CTMEM_H

#include <stddef.h>
#include <stdint.h>

#include "tmem_abi.h"
#include "tmem_backend.h"

#define CT_OID_WORDS 3            /* v0 uses oid[0]; oid[1] and oid[2] stay 0 */
#define CT_CLIENT_BUCKETS 64
#define CT_MAX_SPARE_PAGES 1024   /* at most 4 MiB of freed pages kept for the next puts */

/* errno values the hypercall returns, negated (Linux numbering, as Xen). */
#define CT_EPERM 1
#define CT_ENOMEM 12
#define CT_EFAULT 14
#define CT_ENODEV 19
#define CT_EINVAL 22
#define CT_ENOSPC 28

typedef struct ct_page ct_page;
typedef struct ct_object ct_object;
typedef struct ct_pool ct_pool;
typedef struct ct_client ct_client;
typedef struct tmem_backend_host ct_host;

typedef struct ct_key {
    uint64_t oid[CT_OID_WORDS];
    uint32_t index;
} ct_key;

struct ct_page {
    ct_object *obj;
    ct_page *lru_prev, *lru_next; /* ephemeral pages only: oldest at the host's lru_head */
    uint32_t index;
    unsigned char whole;          /* stored compressed: READ copies it whole (TMEM-GET-004) */
    unsigned char data[TMEM_PAGE_SIZE];
};

struct ct_object {
    uint64_t oid[CT_OID_WORDS];
    ct_pool *pool;
    ct_object *hnext;             /* the pool's hash chain */
    ct_page **pages;              /* sorted by index */
    uint32_t npages, cap;
    unsigned int last_putter;     /* domid; its objects may go when the pool's owner leaves it */
};

struct ct_pool {
    int persistent, shared;
    uint64_t uuid[2];             /* kept even for private pools (SAVE_GET_POOL_UUID) */
    ct_object **buckets;
    size_t nbuckets, nobjects;
    unsigned long npages;
    unsigned int refs;            /* client slots naming this pool */
    unsigned int owner;           /* domid of the client that created it; passes on when it leaves */
};

/* An entry of the invalidated list (TMEM-SAVE-008), oldest first. */
typedef struct ct_inv {
    struct ct_inv *next;
    uint32_t slot;
    ct_key key;
} ct_inv;

/* SAVE_GET_NEXT_PAGE's position in one slot: keys still to try, keys reported (TMEM-SAVE-007). */
typedef struct ct_cursor {
    ct_key *pending;
    size_t npending, pending_cap;
    ct_key *reported;             /* open addressing; used[] marks a taken cell */
    unsigned char *used;
    size_t nreported, reported_cap;
} ct_cursor;

struct ct_client {
    unsigned int domid;
    ct_client *hnext;
    ct_pool *slots[TMEM_MAX_POOLS_PER_DOMAIN];
    ct_cursor *cursors[TMEM_MAX_POOLS_PER_DOMAIN];
    int frozen, was_frozen, live_migrating, compress;
    int32_t weight, cap;
    uint64_t auth[TMEM_MAX_AUTH_UUIDS][2];
    unsigned int nauth;
    ct_inv *inv_head, *inv_tail;
};

/* What a put stores (TMEM-PUT-004/005): resolved from the op before the page is touched. */
typedef enum { CT_SRC_FAULT, CT_SRC_ZERO, CT_SRC_COPY, CT_SRC_WINDOW } ct_src_kind;

typedef struct ct_source {
    ct_src_kind kind;
    const unsigned char *src;     /* COPY: src_len bytes, zero-padded to a page; WINDOW: a page */
    size_t src_len;
    uint32_t tmem_offset, pfn_offset, len;
    unsigned char whole;
} ct_source;

/* The decoded op: every field a command may read, host-order integers. */
typedef struct ct_op {
    uint32_t cmd;
    int32_t pool_id;
    uint64_t uuid[2];             /* creat / new */
    uint32_t flags, creat_arg1;
    uint32_t subop, cli_id, arg1, arg2; /* ctrl */
    uint64_t buf;
    uint64_t oid[CT_OID_WORDS];   /* ctrl.oid / arg3, gen.oid / object */
    uint32_t index, tmem_offset, pfn_offset, len; /* gen */
    uint64_t cmfn;
} ct_op;

/* The caller's memory. */
typedef struct ct_memory {
    unsigned char *base;
    size_t len;
} ct_memory;

typedef int (*ct_decoder)(const unsigned char *bytes, size_t len, ct_op *out);
typedef void (*ct_handle_encoder)(unsigned char *dest, uint32_t pool_id, const ct_key *key);

/* One ABI version as data: a new version is one more row (tmem-abi.md sections 2-3). */
typedef struct ct_version {
    unsigned int spec;
    uint32_t reject_flag_bits;    /* NEW_POOL flags that are -EPERM on this version */
    ct_decoder decode[2];         /* [0] 64-bit guest, [1] 32-bit (compat) guest */
    ct_handle_encoder encode_handle[2];
    size_t handle_size[2];
} ct_version;

struct tmem_backend_host {
    const ct_version *version;
    unsigned long capacity, used, ephemeral;
    ct_page *lru_head, *lru_tail;
    ct_page *spare;               /* freed pages kept for reuse (linked by lru_next) */
    unsigned long nspare;
    ct_client *clients[CT_CLIENT_BUCKETS];
    ct_pool *shared[TMEM_MAX_GLOBAL_SHARED_POOLS];
    int global_auth;
};

/* abi.c: the version table */
const ct_version *ct_version_for(int spec);

/* store.c: pools, objects, pages and capacity */
ct_pool *ct_pool_new(int persistent, int shared, const uint64_t uuid[2]);
void ct_pool_free(ct_host *h, ct_pool *pool);
ct_object *ct_pool_find(const ct_pool *pool, const uint64_t oid[CT_OID_WORDS]);
ct_page *ct_pool_lookup(const ct_pool *pool, const uint64_t oid[CT_OID_WORDS], uint32_t index);
ct_page *ct_object_lookup(const ct_object *obj, uint32_t index);
int ct_store_make_room(ct_host *h);
int ct_store_evict_one(ct_host *h);
ct_page *ct_store_add(ct_host *h, ct_pool *pool, const uint64_t oid[CT_OID_WORDS], uint32_t index,
                      unsigned int putter);
void ct_store_remove(ct_host *h, ct_page *page);
void ct_store_remove_object(ct_host *h, ct_object *obj);
void ct_store_touch(ct_host *h, ct_page *page);
void ct_store_fill(ct_page *page, const ct_source *s);
void ct_store_release_spares(ct_host *h);

/* pools.c: clients and pools */
ct_client *ct_client_find(const ct_host *h, unsigned int domid);
ct_client *ct_client_get_or_new(ct_host *h, unsigned int domid);
void ct_client_destroy(ct_host *h, unsigned int domid);
ct_pool *ct_client_pool(const ct_client *c, int32_t pool_id);
long ct_new_pool(ct_host *h, ct_client *c, const ct_op *op, int slot);
long ct_restore_new(ct_host *h, const ct_op *op);
long ct_destroy_pool(ct_host *h, ct_client *c, int32_t pool_id);
long ct_auth(ct_host *h, const ct_op *op);
void ct_cursor_free(ct_cursor *cur);

/* pageops.c: puts, gets, flushes, and the bounds of the caller's memory */
int ct_memory_has(const ct_memory *m, uint64_t offset, uint64_t length);
long ct_put(ct_host *h, ct_client *c, uint32_t slot, ct_pool *pool, const uint64_t oid[CT_OID_WORDS],
            uint32_t index, const ct_source *s);
long ct_get(ct_host *h, ct_pool *pool, const ct_op *op, const ct_memory *m);
long ct_flush_page(ct_host *h, ct_client *c, uint32_t slot, ct_pool *pool,
                   const uint64_t oid[CT_OID_WORDS], uint32_t index);
long ct_flush_object(ct_host *h, ct_client *c, uint32_t slot, ct_pool *pool,
                     const uint64_t oid[CT_OID_WORDS]);
void ct_window_source(ct_source *s, const unsigned char *src, size_t src_len, uint32_t tmem_offset,
                      uint32_t pfn_offset, uint32_t len, int compress);

/* control.c */
long ct_control(ct_host *h, unsigned int word_index, const ct_op *op, const ct_memory *m);

#endif /* CTMEM_CTMEM_H */
