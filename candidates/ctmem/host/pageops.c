/*
 * pageops.c: puts, gets and flushes on one pool (TMEM-PUT-*, TMEM-GET-*,
 * TMEM-FLUSH-*), after dispatch has found the caller's pool.
 * RESTORE_PUT_PAGE and RESTORE_FLUSH_PAGE reuse ct_put and ct_flush_page.
 */
#include <stdlib.h>
#include <string.h>

#include "ctmem.h"

/* A region of the caller's memory lies inside it (TMEM-HC-005). */
int ct_memory_has(const ct_memory *m, uint64_t offset, uint64_t length)
{
    return offset <= m->len && length <= m->len - offset;
}

/* A persistent page deleted while the client is live-migrating is recorded (TMEM-SAVE-008). */
static void ct_record(ct_client *c, uint32_t slot, const ct_page *page)
{
    ct_inv *inv = malloc(sizeof *inv);
    if (inv == NULL)
        return; /* the record is lost, the page is deleted all the same */
    inv->next = NULL;
    inv->slot = slot;
    memcpy(inv->key.oid, page->obj->oid, sizeof inv->key.oid);
    inv->key.index = page->index;
    if (c->inv_tail != NULL)
        c->inv_tail->next = inv;
    else
        c->inv_head = inv;
    c->inv_tail = inv;
}

static void ct_delete(ct_host *h, ct_client *c, uint32_t slot, ct_page *page)
{
    if (page->obj->pool->persistent && c->live_migrating)
        ct_record(c, slot, page);
    ct_store_remove(h, page);
}

static int ct_window_ok(uint32_t tmem_offset, uint32_t pfn_offset, uint32_t len)
{
    return (uint64_t)tmem_offset + len <= TMEM_PAGE_SIZE && (uint64_t)pfn_offset + len <= TMEM_PAGE_SIZE;
}

/*
 * What WRITE (and RESTORE_PUT_PAGE, a window 0/0/len of the buffer) stores from
 * `src_len` bytes at `src` (TMEM-PUT-005): offsets and len all 0, a zero page;
 * compression on, the whole source (zero-padded), stored compressed; a window
 * past the page or source end, nothing copied (a zero page); else the window.
 */
void ct_window_source(ct_source *s, const unsigned char *src, size_t src_len, uint32_t tmem_offset,
                      uint32_t pfn_offset, uint32_t len, int compress)
{
    memset(s, 0, sizeof *s);
    if (tmem_offset == 0 && pfn_offset == 0 && len == 0) {
        s->kind = CT_SRC_ZERO;
    } else if (compress) {
        s->kind = CT_SRC_COPY;
        s->src = src;
        s->src_len = src_len < TMEM_PAGE_SIZE ? src_len : TMEM_PAGE_SIZE;
        s->whole = 1;
    } else if (!ct_window_ok(tmem_offset, pfn_offset, len) || (uint64_t)pfn_offset + len > src_len) {
        s->kind = CT_SRC_ZERO;
    } else {
        s->kind = CT_SRC_WINDOW;
        s->src = src;
        s->src_len = src_len;
        s->tmem_offset = tmem_offset;
        s->pfn_offset = pfn_offset;
        s->len = len;
    }
}

/*
 * Store a page at (oid, index); a CT_SRC_FAULT source is a cmfn or buffer not in memory.
 * Dup put: -ENOSPC with the old copy deleted while live-migrating; -EFAULT keeping it for
 * a bad source; else the data is replaced, frozen or not (TMEM-PUT-002/003). New page:
 * -EFROZEN, -EFAULT, then room is made by evicting ephemeral pages, else -ENOMEM
 * (TMEM-PUT-001, TMEM-PUT-006).
 */
long ct_put(ct_host *h, ct_client *c, uint32_t slot, ct_pool *pool, const uint64_t oid[CT_OID_WORDS],
            uint32_t index, const ct_source *s)
{
    ct_page *page = ct_pool_lookup(pool, oid, index);
    if (page != NULL) {
        if (c->live_migrating) {
            ct_delete(h, c, slot, page);
            return -CT_ENOSPC;
        }
        if (s->kind == CT_SRC_FAULT)
            return -CT_EFAULT;
        ct_store_fill(page, s);
        page->obj->last_putter = c->domid;
        ct_store_touch(h, page);
        return 1;
    }
    if (c->frozen)
        return -TMEM_EFROZEN;
    if (s->kind == CT_SRC_FAULT)
        return -CT_EFAULT;
    if (!ct_store_make_room(h))
        return -CT_ENOMEM;
    page = ct_store_add(h, pool, oid, index, c->domid);
    if (page == NULL)
        return -CT_ENOMEM;
    ct_store_fill(page, s);
    return 1;
}

/*
 * GET_PAGE or READ: -EEMPTY for a pool without pages, 0 on a miss (memory untouched),
 * -EFAULT on a hit with a bad cmfn (the page stays), else 1 with the page or READ's
 * window copied (TMEM-GET-001..004). A private ephemeral hit is exclusive; a shared
 * ephemeral hit becomes most recently used (TMEM-GET-005).
 */
long ct_get(ct_host *h, ct_pool *pool, const ct_op *op, const ct_memory *m)
{
    ct_page *page;
    unsigned char *frame;
    if (pool->npages == 0)
        return -TMEM_EEMPTY;
    page = ct_pool_lookup(pool, op->oid, op->index);
    if (page == NULL)
        return 0;
    if (op->cmfn >= m->len / TMEM_PAGE_SIZE)
        return -CT_EFAULT;
    frame = m->base + op->cmfn * TMEM_PAGE_SIZE;
    if (op->cmd == TMEM_GET_PAGE || page->whole)
        memcpy(frame, page->data, TMEM_PAGE_SIZE);
    else if (op->len != 0 && ct_window_ok(op->tmem_offset, op->pfn_offset, op->len))
        memcpy(frame + op->pfn_offset, page->data + op->tmem_offset, op->len);
    if (!pool->persistent) {
        if (pool->shared)
            ct_store_touch(h, page);
        else
            ct_store_remove(h, page);
    }
    return 1;
}

/* FLUSH_PAGE: 1, or -EFROZEN with the flush done (TMEM-FLUSH-001/003). */
long ct_flush_page(ct_host *h, ct_client *c, uint32_t slot, ct_pool *pool,
                   const uint64_t oid[CT_OID_WORDS], uint32_t index)
{
    ct_page *page = ct_pool_lookup(pool, oid, index);
    if (page != NULL)
        ct_delete(h, c, slot, page);
    return c->frozen ? -TMEM_EFROZEN : 1;
}

/* FLUSH_OBJECT: every page of that exact object id; 1, or -EFROZEN (TMEM-FLUSH-002/003). */
long ct_flush_object(ct_host *h, ct_client *c, uint32_t slot, ct_pool *pool,
                     const uint64_t oid[CT_OID_WORDS])
{
    ct_object *obj = ct_pool_find(pool, oid);
    if (obj != NULL) {
        uint32_t i;
        if (pool->persistent && c->live_migrating)
            for (i = 0; i < obj->npages; i++)
                ct_record(c, slot, obj->pages[i]);
        ct_store_remove_object(h, obj);
    }
    return c->frozen ? -TMEM_EFROZEN : 1;
}
