/*
 * pools.c: clients, pool creation and destruction, shared pools, AUTH.
 *
 * NEW_POOL and RESTORE_NEW (TMEM-POOL-*, TMEM-SHARED-001..003,
 * TMEM-RESTORE-002), DESTROY_POOL and domain destruction (TMEM-DESTROY-*,
 * TMEM-SHARED-004), AUTH (TMEM-SHARED-005). The `tmem_shared_auth` boot
 * option is off, so a shared uuid never needs authorising: AUTH only keeps
 * its tables. A pool counts the client slots that name it; the last one to
 * go frees it. A shared pool has an owner, the client that created it.
 * When a client leaves a shared pool that others still use (tmem-abi.md
 * section 10): a non-owner takes nothing from a persistent pool, and from
 * an ephemeral one the objects it put into last; the owner takes the
 * objects it put into last, and ownership passes to the remaining user
 * with the lowest domid. The other users keep their slots.
 */
#include <stdlib.h>
#include <string.h>

#include "ctmem.h"

#define CT_ALL_ONES UINT64_MAX

static size_t ct_client_bucket(unsigned int domid)
{
    return domid % CT_CLIENT_BUCKETS;
}

ct_client *ct_client_find(const ct_host *h, unsigned int domid)
{
    ct_client *c;
    for (c = h->clients[ct_client_bucket(domid)]; c != NULL; c = c->hnext)
        if (c->domid == domid)
            return c;
    return NULL;
}

/* The caller's client, created on first use: weight 0, cap 0, not frozen (TMEM-HC-007). */
ct_client *ct_client_get_or_new(ct_host *h, unsigned int domid)
{
    ct_client *c = ct_client_find(h, domid);
    size_t b;
    if (c != NULL)
        return c;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->domid = domid;
    b = ct_client_bucket(domid);
    c->hnext = h->clients[b];
    h->clients[b] = c;
    return c;
}

ct_pool *ct_client_pool(const ct_client *c, int32_t pool_id)
{
    if (pool_id < 0 || pool_id >= TMEM_MAX_POOLS_PER_DOMAIN)
        return NULL;
    return c->slots[pool_id];
}

void ct_cursor_free(ct_cursor *cur)
{
    if (cur == NULL)
        return;
    free(cur->pending);
    free(cur->reported);
    free(cur->used);
    free(cur);
}

static void ct_forget_shared(ct_host *h, const ct_pool *pool)
{
    size_t i;
    for (i = 0; i < TMEM_MAX_GLOBAL_SHARED_POOLS; i++)
        if (h->shared[i] == pool)
            h->shared[i] = NULL;
}

/* The lowest domid of a client (other than `leaver`) with a slot naming `pool`. */
static int ct_next_owner(const ct_host *h, const ct_client *leaver, const ct_pool *pool, unsigned int *domid)
{
    int found = 0;
    size_t b, s;
    for (b = 0; b < CT_CLIENT_BUCKETS; b++) {
        const ct_client *c;
        for (c = h->clients[b]; c != NULL; c = c->hnext) {
            if (c == leaver || (found && c->domid >= *domid))
                continue;
            for (s = 0; s < TMEM_MAX_POOLS_PER_DOMAIN; s++) {
                if (c->slots[s] == pool) {
                    *domid = c->domid;
                    found = 1;
                    break;
                }
            }
        }
    }
    return found;
}

/* Clear a slot; a pool's last user frees it, others keep it (TMEM-SHARED-004). */
static void ct_leave(ct_host *h, ct_client *c, int slot)
{
    ct_pool *pool = c->slots[slot];
    size_t s, b;
    int owner;
    c->slots[slot] = NULL;
    ct_cursor_free(c->cursors[slot]);
    c->cursors[slot] = NULL;
    if (pool == NULL)
        return;
    pool->refs--;
    for (s = 0; s < TMEM_MAX_POOLS_PER_DOMAIN; s++)
        if (c->slots[s] == pool)
            return; /* the client still holds it in another slot */
    if (pool->refs == 0) {
        if (pool->shared)
            ct_forget_shared(h, pool);
        ct_pool_free(h, pool);
        return;
    }
    owner = pool->owner == c->domid;
    if (owner && !ct_next_owner(h, c, pool, &pool->owner))
        pool->owner = TMEM_CLI_ID_NULL; /* unreachable: refs > 0 means another client holds it */
    if (pool->persistent && !owner)
        return; /* a non-owner leaves every persistent object in place */
    for (b = 0; b < pool->nbuckets; b++) {
        ct_object *obj = pool->buckets[b];
        while (obj != NULL) {
            ct_object *next = obj->hnext;
            if (obj->last_putter == c->domid)
                ct_store_remove_object(h, obj);
            obj = next;
        }
    }
}

void ct_client_destroy(ct_host *h, unsigned int domid)
{
    ct_client **link = &h->clients[ct_client_bucket(domid)];
    ct_client *c;
    int s;
    while (*link != NULL && (*link)->domid != domid)
        link = &(*link)->hnext;
    c = *link;
    if (c == NULL)
        return;
    *link = c->hnext;
    for (s = 0; s < TMEM_MAX_POOLS_PER_DOMAIN; s++)
        ct_leave(h, c, s);
    while (c->inv_head != NULL) {
        ct_inv *next = c->inv_head->next;
        free(c->inv_head);
        c->inv_head = next;
    }
    free(c);
}

/* tmem-abi.md section 3, checks 1-4 in order; any failure is -EPERM (TMEM-POOL-007). */
static int ct_flags_refused(const ct_host *h, uint32_t flags)
{
    uint32_t reject = h->version->reject_flag_bits;
    if (((flags >> TMEM_POOL_VERSION_SHIFT) & TMEM_POOL_VERSION_MASK) != h->version->spec)
        return 1;
    if (((flags >> TMEM_POOL_PAGESIZE_SHIFT) & TMEM_POOL_PAGESIZE_MASK) != TMEM_PAGE_SHIFT - 12)
        return 1;
    if (flags & reject & TMEM_POOL_PRECOMPRESSED)
        return 1;
    return (flags & reject & TMEM_POOL_RESERVED_BITS) != 0;
}

/* NEW_POOL (slot < 0: the lowest free one) or RESTORE_NEW (that slot): the slot, or -EPERM / -ENOMEM. */
long ct_new_pool(ct_host *h, ct_client *c, const ct_op *op, int slot)
{
    int persistent = (op->flags & TMEM_POOL_PERSIST) != 0;
    int shared = (op->flags & TMEM_POOL_SHARED) != 0 &&
                 !(op->uuid[0] == CT_ALL_ONES && op->uuid[1] == CT_ALL_ONES);
    ct_pool *pool = NULL;
    size_t i, free_entry = TMEM_MAX_GLOBAL_SHARED_POOLS;
    if (ct_flags_refused(h, op->flags))
        return -CT_EPERM;
    if (slot < 0) {
        for (slot = 0; slot < TMEM_MAX_POOLS_PER_DOMAIN && c->slots[slot] != NULL; slot++)
            ;
        if (slot == TMEM_MAX_POOLS_PER_DOMAIN)
            return -CT_EPERM; /* TMEM-POOL-006 */
    }
    if (shared) {
        for (i = 0; i < TMEM_MAX_GLOBAL_SHARED_POOLS; i++) {
            if (h->shared[i] == NULL) {
                if (free_entry == TMEM_MAX_GLOBAL_SHARED_POOLS)
                    free_entry = i;
            } else if (h->shared[i]->uuid[0] == op->uuid[0] && h->shared[i]->uuid[1] == op->uuid[1]) {
                pool = h->shared[i]; /* join: its persist flag wins (TMEM-SHARED-002) */
                break;
            }
        }
        if (pool == NULL) {
            if (free_entry == TMEM_MAX_GLOBAL_SHARED_POOLS)
                return -CT_EPERM; /* TMEM-SHARED-003 */
            pool = ct_pool_new(persistent, 1, op->uuid);
            if (pool == NULL)
                return -CT_ENOMEM;
            h->shared[free_entry] = pool;
        }
    } else {
        pool = ct_pool_new(persistent, 0, op->uuid);
        if (pool == NULL)
            return -CT_ENOMEM;
    }
    if (pool->refs == 0)
        pool->owner = c->domid; /* the creator owns it */
    c->slots[slot] = pool;
    pool->refs++;
    return slot;
}

/* RESTORE_NEW: exactly slot pool_id of client creat.arg1 (TMEM-RESTORE-002). */
long ct_restore_new(ct_host *h, const ct_op *op)
{
    ct_client *c = ct_client_find(h, op->creat_arg1 & TMEM_CLI_ID_NULL);
    if (c == NULL || op->pool_id < 0 || op->pool_id >= TMEM_MAX_POOLS_PER_DOMAIN ||
        c->slots[op->pool_id] != NULL)
        return -CT_EPERM;
    return ct_new_pool(h, c, op, op->pool_id);
}

/* DESTROY_POOL: 0 for an id outside 0-15 or a free slot (XSA-15), else 1 (TMEM-DESTROY-001/002). */
long ct_destroy_pool(ct_host *h, ct_client *c, int32_t pool_id)
{
    if (ct_client_pool(c, pool_id) == NULL)
        return 0;
    ct_leave(h, c, pool_id);
    return 1;
}

/* AUTH: 0xFFFF sets the global switch; grant (flags 1) or revoke (flags 0) a uuid (TMEM-SHARED-005). */
long ct_auth(ct_host *h, const ct_op *op)
{
    unsigned int cli = op->creat_arg1 & TMEM_CLI_ID_NULL;
    ct_client *c;
    unsigned int i;
    if (cli == TMEM_CLI_ID_NULL) {
        h->global_auth = op->flags != 0;
        return 1;
    }
    c = ct_client_find(h, cli);
    if (c == NULL)
        return -CT_EINVAL;
    for (i = 0; i < c->nauth; i++)
        if (c->auth[i][0] == op->uuid[0] && c->auth[i][1] == op->uuid[1])
            break;
    if (op->flags != 0) {
        if (i < c->nauth)
            return 1;
        if (c->nauth == TMEM_MAX_AUTH_UUIDS)
            return -CT_ENOMEM;
        c->auth[c->nauth][0] = op->uuid[0];
        c->auth[c->nauth][1] = op->uuid[1];
        c->nauth++;
        return 1;
    }
    if (i == c->nauth)
        return 0;
    memmove(&c->auth[i], &c->auth[i + 1], (size_t)(c->nauth - i - 1) * sizeof c->auth[0]);
    c->nauth--;
    return 1;
}
