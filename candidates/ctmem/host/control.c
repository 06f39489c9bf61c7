/*
 * control.c: TMEM_CONTROL sub-ops (tmem-abi.md section 5, with section 9's
 * fixes): client policy (TMEM-CTRL-*), save (TMEM-SAVE-*) and restore
 * (TMEM-RESTORE-001/003).
 *
 * cli_id names the target client by its low 16 bits (a domid); 0xFFFF is
 * every client where a sub-op allows it. An unknown client or an
 * unassigned sub-op gives -1. Pool sub-ops take the slot from the op's
 * pool_id; one outside 0-15 is "no such pool" (XSA-15). SAVE_GET_POOL_FLAGS
 * carries the spec version (367f6be33c), SAVE_GET_POOL_UUID changes nothing
 * but its buffer (9a2982ce85), and SAVE_GET_NEXT_PAGE reports every page of
 * a persistent pool exactly once, then -1, after which it starts again.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ctmem.h"

#define CT_KB_PER_PAGE (TMEM_PAGE_SIZE / 1024)
#define CT_PAGES_PER_MB (1024u * 1024u / TMEM_PAGE_SIZE)

static int32_t ct_int32(uint32_t v)
{
    return v & 0x80000000u ? (int32_t)(v - 0x80000000u) - INT32_MAX - 1 : (int32_t)v;
}

static long ct_reported(int32_t v)
{
    return v == -1 ? -2 : v;
}

static ct_client *ct_target(const ct_host *h, const ct_op *op)
{
    return ct_client_find(h, op->cli_id & TMEM_CLI_ID_NULL);
}

/* ------------------------------------------------------------ client policy: sub-ops 0-8 */

typedef void (*ct_apply)(ct_client *c, const ct_op *op);

static void ct_thaw(ct_client *c, const ct_op *op)
{
    (void)op;
    c->frozen = 0;
}

static void ct_freeze(ct_client *c, const ct_op *op)
{
    (void)op;
    c->frozen = 1;
}

static void ct_set_weight(ct_client *c, const ct_op *op)
{
    c->weight = ct_int32(op->arg1);
}

static void ct_set_cap(ct_client *c, const ct_op *op)
{
    c->cap = ct_int32(op->arg1);
}

static void ct_set_compress(ct_client *c, const ct_op *op)
{
    c->compress = op->arg1 != 0;
}

/* One client, or all for 0xFFFF: 0; -1 for an unknown client (TMEM-CTRL-001/002). */
static long ct_for_each(ct_host *h, const ct_op *op, ct_apply apply)
{
    size_t b;
    if ((op->cli_id & TMEM_CLI_ID_NULL) != TMEM_CLI_ID_NULL) {
        ct_client *c = ct_target(h, op);
        if (c == NULL)
            return -1;
        apply(c, op);
        return 0;
    }
    for (b = 0; b < CT_CLIENT_BUCKETS; b++) {
        ct_client *c;
        for (c = h->clients[b]; c != NULL; c = c->hnext)
            apply(c, op);
    }
    return 0;
}

/* FLUSH: all clients only; evict up to arg1 KB of ephemeral pages, return the KB flushed (TMEM-CTRL-003). */
static long ct_flush(ct_host *h, const ct_op *op)
{
    long flushed = 0;
    if ((op->cli_id & TMEM_CLI_ID_NULL) != TMEM_CLI_ID_NULL)
        return -1;
    while ((unsigned long)flushed + CT_KB_PER_PAGE <= op->arg1 && ct_store_evict_one(h))
        flushed += CT_KB_PER_PAGE;
    return flushed;
}

/* QUERY_FREEABLE_MB: free capacity plus ephemeral pages, in MB (TMEM-CTRL-004). */
static long ct_freeable_mb(const ct_host *h)
{
    unsigned long pages = h->capacity - h->used;
    unsigned long mb;
    pages += h->ephemeral < ULONG_MAX - pages ? h->ephemeral : ULONG_MAX - pages;
    mb = pages / CT_PAGES_PER_MB;
    return mb > (unsigned long)LONG_MAX ? LONG_MAX : (long)mb;
}

/* ------------------------------------------------------------ save cursor */

static size_t ct_key_hash(const ct_key *k)
{
    uint64_t x = k->oid[0] * 0x9e3779b97f4a7c15u ^ k->oid[1] * 0xc2b2ae3d27d4eb4fu ^
                 k->oid[2] * 0x165667b19e3779f9u ^ (uint64_t)k->index * 0xd6e8feb86659fd93u;
    x ^= x >> 32;
    x *= 0x94d049bb133111ebu;
    x ^= x >> 29;
    return (size_t)x;
}

static int ct_key_equal(const ct_key *a, const ct_key *b)
{
    return a->index == b->index && a->oid[0] == b->oid[0] && a->oid[1] == b->oid[1] &&
           a->oid[2] == b->oid[2];
}

static int ct_reported_has(const ct_cursor *cur, const ct_key *k)
{
    size_t i;
    if (cur->reported_cap == 0)
        return 0;
    for (i = ct_key_hash(k) & (cur->reported_cap - 1); cur->used[i]; i = (i + 1) & (cur->reported_cap - 1))
        if (ct_key_equal(&cur->reported[i], k))
            return 1;
    return 0;
}

static void ct_reported_put(ct_key *cells, unsigned char *used, size_t cap, const ct_key *k)
{
    size_t i = ct_key_hash(k) & (cap - 1);
    while (used[i])
        i = (i + 1) & (cap - 1);
    cells[i] = *k;
    used[i] = 1;
}

/* Mark a key reported; 0 if there is no memory for it. The table stays at most half full. */
static int ct_reported_add(ct_cursor *cur, const ct_key *k)
{
    if (2 * (cur->nreported + 1) > cur->reported_cap) {
        size_t cap = cur->reported_cap == 0 ? 16 : cur->reported_cap * 2, i;
        ct_key *cells = malloc(cap * sizeof *cells);
        unsigned char *used = calloc(cap, 1);
        if (cells == NULL || used == NULL) {
            free(cells);
            free(used);
            return 0;
        }
        for (i = 0; i < cur->reported_cap; i++)
            if (cur->used[i])
                ct_reported_put(cells, used, cap, &cur->reported[i]);
        free(cur->reported);
        free(cur->used);
        cur->reported = cells;
        cur->used = used;
        cur->reported_cap = cap;
    }
    ct_reported_put(cur->reported, cur->used, cur->reported_cap, k);
    cur->nreported++;
    return 1;
}

/* Queue every key of the pool not yet reported; -1 if there is no memory. */
static int ct_cursor_refill(ct_cursor *cur, const ct_pool *pool)
{
    size_t b;
    if (pool->npages > cur->pending_cap) {
        ct_key *pending = realloc(cur->pending, pool->npages * sizeof *pending);
        if (pending == NULL)
            return -1;
        cur->pending = pending;
        cur->pending_cap = pool->npages;
    }
    cur->npending = 0;
    for (b = 0; b < pool->nbuckets; b++) {
        const ct_object *obj;
        for (obj = pool->buckets[b]; obj != NULL; obj = obj->hnext) {
            uint32_t i;
            for (i = obj->npages; i-- > 0;) {
                ct_key k;
                memcpy(k.oid, obj->oid, sizeof k.oid);
                k.index = obj->pages[i]->index;
                if (!ct_reported_has(cur, &k))
                    cur->pending[cur->npending++] = k;
            }
        }
    }
    return 0;
}

/* The next page of the pool not reported since the iteration began: 1 (in *out), 0 at the end, -1 no memory. */
static int ct_cursor_next(ct_cursor *cur, const ct_pool *pool, ct_page **out)
{
    int refilled = 0;
    for (;;) {
        while (cur->npending > 0) {
            const ct_key *k = &cur->pending[--cur->npending];
            ct_page *page = ct_pool_lookup(pool, k->oid, k->index);
            if (page != NULL && !ct_reported_has(cur, k)) {
                *out = page;
                return 1;
            }
        }
        if (refilled)
            return 0;
        if (ct_cursor_refill(cur, pool) < 0)
            return -1;
        refilled = 1;
    }
}

/* ------------------------------------------------------------ save: sub-ops 10-21 */

static ct_pool *ct_pool_of(const ct_host *h, const ct_op *op, ct_client **client)
{
    ct_client *c = ct_target(h, op);
    *client = c;
    return c == NULL ? NULL : ct_client_pool(c, op->pool_id);
}

static void ct_drop_cursors(ct_client *c)
{
    size_t s;
    for (s = 0; s < TMEM_MAX_POOLS_PER_DOMAIN; s++) {
        ct_cursor_free(c->cursors[s]);
        c->cursors[s] = NULL;
    }
}

/*
 * SAVE_BEGIN: 0 with nothing to save; else freeze, mark live migration if arg1, 1 (TMEM-SAVE-001).
 * arg1 0 leaves live_migrating as it is; each save starts its SAVE_GET_NEXT_PAGE cursors afresh.
 */
static long ct_save_begin(ct_host *h, const ct_op *op)
{
    ct_client *c = ct_target(h, op);
    size_t s;
    if (c == NULL)
        return 0;
    for (s = 0; s < TMEM_MAX_POOLS_PER_DOMAIN && c->slots[s] == NULL; s++)
        ;
    if (s == TMEM_MAX_POOLS_PER_DOMAIN)
        return 0;
    c->was_frozen = c->frozen;
    c->frozen = 1;
    if (op->arg1 != 0)
        c->live_migrating = 1; /* only SAVE_END clears it (tmem-abi.md section 10) */
    ct_drop_cursors(c);
    return 1;
}

static long ct_save_pool_uuid(ct_host *h, const ct_op *op, const ct_memory *m)
{
    ct_client *c;
    ct_pool *pool = ct_pool_of(h, op, &c);
    if (pool == NULL)
        return -1;
    if (!ct_memory_has(m, op->buf, sizeof pool->uuid))
        return -CT_EFAULT;
    memcpy(m->base + op->buf, pool->uuid, sizeof pool->uuid); /* lo, hi, little-endian */
    return 0;
}

/* SAVE_GET_NEXT_PAGE: the handle, then the page, at buf; 1, or -1 at the end (TMEM-SAVE-007). */
static long ct_save_next_page(ct_host *h, unsigned int wi, const ct_op *op, const ct_memory *m)
{
    ct_client *c;
    ct_pool *pool = ct_pool_of(h, op, &c);
    size_t hsize = h->version->handle_size[wi];
    ct_cursor *cur;
    ct_page *page = NULL;
    ct_key key;
    int found;
    if (pool == NULL || !pool->persistent)
        return -1;
    if (op->arg1 < hsize + TMEM_PAGE_SIZE)
        return -CT_ENOMEM;
    if (!ct_memory_has(m, op->buf, hsize + TMEM_PAGE_SIZE))
        return -CT_EFAULT;
    cur = c->cursors[op->pool_id];
    if (cur == NULL) {
        cur = calloc(1, sizeof *cur);
        if (cur == NULL)
            return -CT_ENOMEM;
        c->cursors[op->pool_id] = cur;
    }
    found = ct_cursor_next(cur, pool, &page);
    if (found < 0)
        return -CT_ENOMEM;
    if (found == 0) {
        ct_cursor_free(cur); /* the next call starts again */
        c->cursors[op->pool_id] = NULL;
        return -1;
    }
    memcpy(key.oid, page->obj->oid, sizeof key.oid);
    key.index = page->index;
    if (!ct_reported_add(cur, &key))
        return -CT_ENOMEM;
    h->version->encode_handle[wi](m->base + op->buf, (uint32_t)op->pool_id, &key);
    memcpy(m->base + op->buf + hsize, page->data, TMEM_PAGE_SIZE);
    return 1;
}

/* SAVE_GET_NEXT_INV: the oldest invalidated handle at buf, 1; 0 when there is none (TMEM-SAVE-008). */
static long ct_save_next_inv(ct_host *h, unsigned int wi, const ct_op *op, const ct_memory *m)
{
    ct_client *c = ct_target(h, op);
    size_t hsize = h->version->handle_size[wi];
    ct_inv *inv;
    if (c == NULL)
        return -1;
    if (op->arg1 < hsize)
        return -CT_ENOMEM;
    if (!ct_memory_has(m, op->buf, hsize))
        return -CT_EFAULT;
    inv = c->inv_head;
    if (inv == NULL)
        return 0;
    c->inv_head = inv->next;
    if (c->inv_head == NULL)
        c->inv_tail = NULL;
    h->version->encode_handle[wi](m->base + op->buf, inv->slot, &inv->key);
    free(inv);
    return 1;
}

/* SAVE_END: end live migration, drop the list, frozen = was_frozen; 0 (TMEM-SAVE-009). */
static long ct_save_end(ct_host *h, const ct_op *op)
{
    ct_client *c = ct_target(h, op);
    if (c == NULL)
        return -1;
    c->live_migrating = 0;
    while (c->inv_head != NULL) {
        ct_inv *next = c->inv_head->next;
        free(c->inv_head);
        c->inv_head = next;
    }
    c->inv_tail = NULL;
    c->frozen = c->was_frozen;
    ct_drop_cursors(c);
    return 0;
}

/* ------------------------------------------------------------ restore: sub-ops 30-33 */

/* RESTORE_BEGIN: create client cli_id, 1; -1 if it exists (TMEM-RESTORE-001). */
static long ct_restore_begin(ct_host *h, const ct_op *op)
{
    unsigned int cli = op->cli_id & TMEM_CLI_ID_NULL;
    if (cli == TMEM_CLI_ID_NULL || ct_client_find(h, cli) != NULL)
        return -1;
    return ct_client_get_or_new(h, cli) == NULL ? -1 : 1;
}

/* RESTORE_PUT_PAGE: a WRITE of arg1 bytes from buf, offsets 0, to (pool_id, oid, arg2) (TMEM-RESTORE-003). */
static long ct_restore_put(ct_host *h, const ct_op *op, const ct_memory *m)
{
    ct_client *c;
    ct_pool *pool = ct_pool_of(h, op, &c);
    ct_source s;
    if (pool == NULL)
        return -1;
    if (op->arg1 == 0 || ct_memory_has(m, op->buf, op->arg1)) { /* arg1 0: a zero page, buf unread */
        ct_window_source(&s, op->arg1 != 0 ? m->base + op->buf : NULL, op->arg1, 0, 0, op->arg1, c->compress);
    } else {
        memset(&s, 0, sizeof s);
        s.kind = CT_SRC_FAULT;
    }
    return ct_put(h, c, (uint32_t)op->pool_id, pool, op->oid, op->arg2, &s);
}

static long ct_restore_flush(ct_host *h, const ct_op *op)
{
    ct_client *c;
    ct_pool *pool = ct_pool_of(h, op, &c);
    if (pool == NULL)
        return -1;
    return ct_flush_page(h, c, (uint32_t)op->pool_id, pool, op->oid, op->arg2);
}

/* ------------------------------------------------------------ the sub-op table */

long ct_control(ct_host *h, unsigned int wi, const ct_op *op, const ct_memory *m)
{
    ct_client *c;
    ct_pool *pool;
    switch (op->subop) {
    case TMEMC_THAW:
    case TMEMC_DESTROY: /* the same code path as THAW at both tags */
        return ct_for_each(h, op, ct_thaw);
    case TMEMC_FREEZE:
        return ct_for_each(h, op, ct_freeze);
    case TMEMC_FLUSH:
        return ct_flush(h, op);
    case TMEMC_LIST:
        return 0; /* the statistics text is optional: none is written */
    case TMEMC_SET_WEIGHT:
        return ct_for_each(h, op, ct_set_weight);
    case TMEMC_SET_CAP:
        return ct_for_each(h, op, ct_set_cap);
    case TMEMC_SET_COMPRESS:
        return ct_for_each(h, op, ct_set_compress);
    case TMEMC_QUERY_FREEABLE_MB:
        return ct_freeable_mb(h);
    case TMEMC_SAVE_BEGIN:
        return ct_save_begin(h, op);
    case TMEMC_SAVE_GET_VERSION:
        return (long)h->version->spec;
    case TMEMC_SAVE_GET_MAXPOOLS:
        return TMEM_MAX_POOLS_PER_DOMAIN;
    case TMEMC_SAVE_GET_CLIENT_WEIGHT:
        c = ct_target(h, op);
        return c == NULL ? -1 : ct_reported(c->weight);
    case TMEMC_SAVE_GET_CLIENT_CAP:
        c = ct_target(h, op);
        return c == NULL ? -1 : ct_reported(c->cap);
    case TMEMC_SAVE_GET_CLIENT_FLAGS:
        c = ct_target(h, op);
        if (c == NULL)
            return -1;
        return (c->compress ? TMEM_CLIENT_COMPRESS : 0) | (c->was_frozen ? TMEM_CLIENT_FROZEN : 0);
    case TMEMC_SAVE_GET_POOL_FLAGS:
        pool = ct_pool_of(h, op, &c);
        if (pool == NULL)
            return -1;
        return (long)((pool->persistent ? TMEM_POOL_PERSIST : 0) | (pool->shared ? TMEM_POOL_SHARED : 0) |
                      (uint32_t)(TMEM_PAGE_SHIFT - 12) << TMEM_POOL_PAGESIZE_SHIFT |
                      (uint32_t)h->version->spec << TMEM_POOL_VERSION_SHIFT);
    case TMEMC_SAVE_GET_POOL_NPAGES:
        pool = ct_pool_of(h, op, &c);
        return pool == NULL ? -1 : (long)pool->npages;
    case TMEMC_SAVE_GET_POOL_UUID:
        return ct_save_pool_uuid(h, op, m);
    case TMEMC_SAVE_GET_NEXT_PAGE:
        return ct_save_next_page(h, wi, op, m);
    case TMEMC_SAVE_GET_NEXT_INV:
        return ct_save_next_inv(h, wi, op, m);
    case TMEMC_SAVE_END:
        return ct_save_end(h, op);
    case TMEMC_RESTORE_BEGIN:
        return ct_restore_begin(h, op);
    case TMEMC_RESTORE_PUT_PAGE:
        return ct_restore_put(h, op, m);
    case TMEMC_RESTORE_FLUSH_PAGE:
        return ct_restore_flush(h, op);
    default:
        return -1; /* unassigned (TMEM-CTRL-004) */
    }
}
