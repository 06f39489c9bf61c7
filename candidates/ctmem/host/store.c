/*
 * store.c: pools, objects and pages, and the host's page capacity.
 *
 * A pool keeps its objects in a chained hash table keyed by all object-id
 * words, so ids that share a low word stay apart (TMEM-FLUSH-002). An
 * object keeps its pages in an array sorted by index (binary search).
 * Every page enters and leaves through ct_store_add / ct_store_remove, so
 * the host-wide count stays exact and a shared pool's page counts once.
 * Ephemeral pages sit on one host-wide LRU list: when a new page needs
 * room, the least recently used ephemeral page goes (TMEM-PUT-006,
 * TMEM-EPH-001); persistent pages are never evicted (TMEM-EPH-002).
 * Freed pages are kept on a spare list (up to CT_MAX_SPARE_PAGES, never
 * more than the capacity) for the next puts, so a put does not pay for
 * malloc and fresh memory.
 */
#include <stdlib.h>
#include <string.h>

#include "ctmem.h"

#define CT_MIN_BUCKETS 16
#define CT_MIN_PAGES 4

static size_t ct_oid_hash(const uint64_t oid[CT_OID_WORDS])
{
    uint64_t x = oid[0] * 0x9e3779b97f4a7c15u ^ oid[1] * 0xc2b2ae3d27d4eb4fu ^ oid[2] * 0x165667b19e3779f9u;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 29;
    return (size_t)x;
}

static int ct_oid_equal(const uint64_t a[CT_OID_WORDS], const uint64_t b[CT_OID_WORDS])
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

ct_pool *ct_pool_new(int persistent, int shared, const uint64_t uuid[2])
{
    ct_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return NULL;
    pool->persistent = persistent;
    pool->shared = shared;
    pool->uuid[0] = uuid[0];
    pool->uuid[1] = uuid[1];
    return pool;
}

void ct_pool_free(ct_host *h, ct_pool *pool)
{
    size_t b;
    for (b = 0; b < pool->nbuckets; b++)
        while (pool->buckets[b] != NULL)
            ct_store_remove_object(h, pool->buckets[b]);
    free(pool->buckets);
    free(pool);
}

ct_object *ct_pool_find(const ct_pool *pool, const uint64_t oid[CT_OID_WORDS])
{
    ct_object *obj;
    if (pool->nbuckets == 0)
        return NULL;
    for (obj = pool->buckets[ct_oid_hash(oid) & (pool->nbuckets - 1)]; obj != NULL; obj = obj->hnext)
        if (ct_oid_equal(obj->oid, oid))
            return obj;
    return NULL;
}

/* The position of `index` in the object's sorted array, or where it would go. */
static uint32_t ct_object_position(const ct_object *obj, uint32_t index)
{
    uint32_t lo = 0, hi = obj->npages;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (obj->pages[mid]->index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

ct_page *ct_object_lookup(const ct_object *obj, uint32_t index)
{
    uint32_t pos = ct_object_position(obj, index);
    return pos < obj->npages && obj->pages[pos]->index == index ? obj->pages[pos] : NULL;
}

ct_page *ct_pool_lookup(const ct_pool *pool, const uint64_t oid[CT_OID_WORDS], uint32_t index)
{
    ct_object *obj = ct_pool_find(pool, oid);
    return obj == NULL ? NULL : ct_object_lookup(obj, index);
}

/* Double the bucket array once the objects outnumber it; 0 if the table cannot take one more. */
static int ct_pool_reserve(ct_pool *pool)
{
    size_t n, b;
    ct_object **buckets;
    if (pool->nobjects < pool->nbuckets)
        return 1;
    n = pool->nbuckets == 0 ? CT_MIN_BUCKETS : pool->nbuckets * 2;
    buckets = calloc(n, sizeof *buckets);
    if (buckets == NULL)
        return pool->nbuckets != 0; /* longer chains still work */
    for (b = 0; b < pool->nbuckets; b++) {
        ct_object *obj = pool->buckets[b];
        while (obj != NULL) {
            ct_object *next = obj->hnext;
            size_t at = ct_oid_hash(obj->oid) & (n - 1);
            obj->hnext = buckets[at];
            buckets[at] = obj;
            obj = next;
        }
    }
    free(pool->buckets);
    pool->buckets = buckets;
    pool->nbuckets = n;
    return 1;
}

static ct_object *ct_object_new(ct_pool *pool, const uint64_t oid[CT_OID_WORDS])
{
    ct_object *obj;
    size_t at;
    if (!ct_pool_reserve(pool))
        return NULL;
    obj = calloc(1, sizeof *obj);
    if (obj == NULL)
        return NULL;
    memcpy(obj->oid, oid, sizeof obj->oid);
    obj->pool = pool;
    at = ct_oid_hash(oid) & (pool->nbuckets - 1);
    obj->hnext = pool->buckets[at];
    pool->buckets[at] = obj;
    pool->nobjects++;
    return obj;
}

static void ct_object_unlink(ct_object *obj)
{
    ct_pool *pool = obj->pool;
    ct_object **link = &pool->buckets[ct_oid_hash(obj->oid) & (pool->nbuckets - 1)];
    while (*link != obj)
        link = &(*link)->hnext;
    *link = obj->hnext;
    pool->nobjects--;
    free(obj->pages);
    free(obj);
}

static void ct_lru_unlink(ct_host *h, ct_page *page)
{
    if (page->lru_prev != NULL)
        page->lru_prev->lru_next = page->lru_next;
    else
        h->lru_head = page->lru_next;
    if (page->lru_next != NULL)
        page->lru_next->lru_prev = page->lru_prev;
    else
        h->lru_tail = page->lru_prev;
    page->lru_prev = page->lru_next = NULL;
}

static void ct_lru_append(ct_host *h, ct_page *page)
{
    page->lru_next = NULL;
    page->lru_prev = h->lru_tail;
    if (h->lru_tail != NULL)
        h->lru_tail->lru_next = page;
    else
        h->lru_head = page;
    h->lru_tail = page;
}

void ct_store_touch(ct_host *h, ct_page *page)
{
    if (!page->obj->pool->persistent && h->lru_tail != page) {
        ct_lru_unlink(h, page);
        ct_lru_append(h, page);
    }
}

int ct_store_evict_one(ct_host *h)
{
    if (h->lru_head == NULL)
        return 0;
    ct_store_remove(h, h->lru_head);
    return 1;
}

int ct_store_make_room(ct_host *h)
{
    while (h->used >= h->capacity)
        if (!ct_store_evict_one(h))
            return 0;
    return 1;
}

ct_page *ct_store_add(ct_host *h, ct_pool *pool, const uint64_t oid[CT_OID_WORDS], uint32_t index,
                      unsigned int putter)
{
    ct_object *obj = ct_pool_find(pool, oid);
    int created = 0;
    ct_page *page;
    uint32_t pos;
    if (obj == NULL) {
        obj = ct_object_new(pool, oid);
        if (obj == NULL)
            return NULL;
        created = 1;
    }
    if (obj->npages == obj->cap) {
        uint32_t cap = obj->cap == 0 ? CT_MIN_PAGES : obj->cap * 2;
        ct_page **pages = cap > obj->cap ? realloc(obj->pages, (size_t)cap * sizeof *pages) : NULL;
        if (pages == NULL)
            goto fail;
        obj->pages = pages;
        obj->cap = cap;
    }
    page = h->spare;
    if (page != NULL) {
        h->spare = page->lru_next;
        h->nspare--;
    } else {
        page = malloc(sizeof *page);
        if (page == NULL)
            goto fail;
    }
    page->obj = obj;
    page->index = index;
    page->whole = 0;
    page->lru_prev = page->lru_next = NULL;
    pos = ct_object_position(obj, index);
    memmove(&obj->pages[pos + 1], &obj->pages[pos], (size_t)(obj->npages - pos) * sizeof *obj->pages);
    obj->pages[pos] = page;
    obj->npages++;
    obj->last_putter = putter;
    pool->npages++;
    h->used++;
    if (!pool->persistent) {
        ct_lru_append(h, page);
        h->ephemeral++;
    }
    return page;
fail:
    if (created)
        ct_object_unlink(obj);
    return NULL;
}

void ct_store_remove(ct_host *h, ct_page *page)
{
    ct_object *obj = page->obj;
    ct_pool *pool = obj->pool;
    uint32_t pos = ct_object_position(obj, page->index);
    memmove(&obj->pages[pos], &obj->pages[pos + 1], (size_t)(obj->npages - pos - 1) * sizeof *obj->pages);
    obj->npages--;
    if (!pool->persistent) {
        ct_lru_unlink(h, page);
        h->ephemeral--;
    }
    pool->npages--;
    h->used--;
    if (h->nspare < CT_MAX_SPARE_PAGES && h->nspare + h->used < h->capacity) {
        page->lru_next = h->spare;
        h->spare = page;
        h->nspare++;
    } else {
        free(page);
    }
    if (obj->npages == 0)
        ct_object_unlink(obj);
}

void ct_store_remove_object(ct_host *h, ct_object *obj)
{
    for (;;) {
        uint32_t n = obj->npages;
        ct_store_remove(h, obj->pages[n - 1]); /* the last one frees the object */
        if (n == 1)
            return;
    }
}

void ct_store_fill(ct_page *page, const ct_source *s)
{
    page->whole = s->whole;
    switch (s->kind) {
    case CT_SRC_COPY:
        memcpy(page->data, s->src, s->src_len);
        if (s->src_len < TMEM_PAGE_SIZE)
            memset(page->data + s->src_len, 0, TMEM_PAGE_SIZE - s->src_len);
        break;
    case CT_SRC_WINDOW:
        memset(page->data, 0, TMEM_PAGE_SIZE);
        memcpy(page->data + s->tmem_offset, s->src + s->pfn_offset, s->len);
        break;
    case CT_SRC_ZERO:
    case CT_SRC_FAULT:
        memset(page->data, 0, TMEM_PAGE_SIZE);
        break;
    }
}

void ct_store_release_spares(ct_host *h)
{
    while (h->spare != NULL) {
        ct_page *next = h->spare->lru_next;
        free(h->spare);
        h->spare = next;
    }
    h->nspare = 0;
}
