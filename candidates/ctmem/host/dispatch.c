/*
 * dispatch.c: the five functions of tmem_backend.h, and hypercall dispatch
 * in the order of the specification (tmem-abi.md section 1, with section 9):
 *
 * 1. An op buffer too short for cmd, pool_id and its member: -EFAULT (TMEM-HC-001).
 * 2. CONTROL, AUTH, RESTORE_NEW from a domain other than 0: -EPERM (TMEM-HC-004);
 *    from domain 0 they run without creating a client for the caller.
 * 3. Otherwise the caller gets a client if it has none (TMEM-HC-007).
 * 4. Every command but NEW_POOL and DESTROY_POOL needs pool_id in 0-15 naming a
 *    used slot, else -ENODEV (TMEM-HC-002); XCHG and unknown commands return 0
 *    on a good pool (TMEM-HC-003).
 */
#include <stdlib.h>
#include <string.h>

#include "ctmem.h"

/*
 * What PUT_PAGE, NEW_PAGE or WRITE stores; CT_SRC_FAULT if its cmfn is not a page of memory.
 * NEW_PAGE, and WRITE with offsets and len all 0, store a zero page without reading cmfn.
 */
static void ct_put_source(ct_source *s, const ct_op *op, const ct_memory *m, int compress)
{
    const unsigned char *frame;
    memset(s, 0, sizeof *s);
    if (op->cmd == TMEM_NEW_PAGE ||
        (op->cmd == TMEM_WRITE && op->tmem_offset == 0 && op->pfn_offset == 0 && op->len == 0)) {
        s->kind = CT_SRC_ZERO; /* a zero page: cmfn is never looked up (tmem-abi.md section 10) */
        return;
    }
    if (op->cmfn >= m->len / TMEM_PAGE_SIZE) {
        s->kind = CT_SRC_FAULT;
        return;
    }
    frame = m->base + op->cmfn * TMEM_PAGE_SIZE;
    if (op->cmd == TMEM_PUT_PAGE) {
        s->kind = CT_SRC_COPY;
        s->src = frame;
        s->src_len = TMEM_PAGE_SIZE;
        return;
    }
    ct_window_source(s, frame, TMEM_PAGE_SIZE, op->tmem_offset, op->pfn_offset, op->len, compress);
}

unsigned int tmem_backend_abi_version(void)
{
    return TMEM_BACKEND_ABI_VERSION;
}

tmem_backend_host *tmem_backend_create(int abi_version, unsigned long capacity_pages)
{
    const ct_version *v = ct_version_for(abi_version);
    ct_host *h;
    if (v == NULL)
        return NULL;
    h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->version = v;
    h->capacity = capacity_pages;
    return h;
}

long tmem_backend_hypercall(tmem_backend_host *h, unsigned int domid, unsigned int word_size,
                            const unsigned char *op, size_t op_len, unsigned char *memory, size_t memory_len)
{
    unsigned int wi;
    ct_op o;
    ct_memory m;
    ct_client *c;
    ct_pool *pool;
    ct_source s;
    if (h == NULL)
        return -CT_EINVAL;
    if (word_size == 64)
        wi = 0;
    else if (word_size == 32)
        wi = 1;
    else
        return -CT_EINVAL;
    if (op == NULL || !h->version->decode[wi](op, op_len, &o))
        return -CT_EFAULT;
    m.base = memory;
    m.len = memory == NULL ? 0 : memory_len;
    if (o.cmd == TMEM_CONTROL || o.cmd == TMEM_AUTH || o.cmd == TMEM_RESTORE_NEW) {
        if (domid != 0)
            return -CT_EPERM;
        if (o.cmd == TMEM_CONTROL)
            return ct_control(h, wi, &o, &m);
        return o.cmd == TMEM_AUTH ? ct_auth(h, &o) : ct_restore_new(h, &o);
    }
    c = ct_client_get_or_new(h, domid);
    if (c == NULL)
        return -CT_ENOMEM;
    if (o.cmd == TMEM_NEW_POOL)
        return ct_new_pool(h, c, &o, -1);
    if (o.cmd == TMEM_DESTROY_POOL)
        return ct_destroy_pool(h, c, o.pool_id);
    pool = ct_client_pool(c, o.pool_id);
    if (pool == NULL)
        return -CT_ENODEV;
    switch (o.cmd) {
    case TMEM_PUT_PAGE:
    case TMEM_NEW_PAGE:
    case TMEM_WRITE:
        ct_put_source(&s, &o, &m, c->compress);
        return ct_put(h, c, (uint32_t)o.pool_id, pool, o.oid, o.index, &s);
    case TMEM_GET_PAGE:
    case TMEM_READ:
        return ct_get(h, pool, &o, &m);
    case TMEM_FLUSH_PAGE:
        return ct_flush_page(h, c, (uint32_t)o.pool_id, pool, o.oid, o.index);
    case TMEM_FLUSH_OBJECT:
        return ct_flush_object(h, c, (uint32_t)o.pool_id, pool, o.oid);
    default:
        return 0; /* XCHG and unknown commands */
    }
}

void tmem_backend_destroy_domain(tmem_backend_host *h, unsigned int domid)
{
    if (h != NULL)
        ct_client_destroy(h, domid);
}

void tmem_backend_free(tmem_backend_host *h)
{
    size_t b;
    if (h == NULL)
        return;
    for (b = 0; b < CT_CLIENT_BUCKETS; b++)
        while (h->clients[b] != NULL)
            ct_client_destroy(h, h->clients[b]->domid);
    ct_store_release_spares(h);
    free(h);
}
