/*
 * abi.c: decoding struct tmem_op and encoding struct tmem_handle, per
 * version and guest word size, and the version table.
 *
 * An op is copied with memcpy into a zeroed struct of the host-version
 * layout for the caller's word size; no pointer into the guest's bytes is
 * ever cast. The buffer must hold cmd, pool_id and the union member the
 * command uses (new/creat for NEW_POOL, AUTH, RESTORE_NEW; ctrl for
 * CONTROL; gen otherwise), as Xen's compat translation picks it
 * (xen/include/xen/tmem_xen.h); bytes past that member are ignored and
 * missing ones read as zero (TMEM-HC-001).
 */
#include <string.h>

#include "ctmem.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ctmem reads tmem ops in host byte order: it needs a little-endian target, as x86 is"
#endif

_Static_assert(sizeof(unsigned long) == 8 && sizeof(uintptr_t) == 8,
               "ctmem is a 64-bit host: its native structs are the 64-bit guest layout");

static int ct_uses_creat(uint32_t cmd)
{
    return cmd == TMEM_NEW_POOL || cmd == TMEM_AUTH || cmd == TMEM_RESTORE_NEW;
}

/*
 * One decoder per layout. T: the struct; NEWM: the pool-creation member
 * (new / creat); CTRL_OID, GEN_OID: the object-id fields (arg3 / object at v0,
 * oid[3] at v1), copied word for word into ct_op.oid.
 */
#define CT_DEFINE_DECODER(NAME, T, NEWM, CTRL_OID, GEN_OID)                                    \
    static int NAME(const unsigned char *bytes, size_t len, ct_op *out)                        \
    {                                                                                          \
        T op;                                                                                  \
        uint32_t cmd;                                                                          \
        size_t need;                                                                           \
        if (len < sizeof cmd)                                                                  \
            return 0;                                                                          \
        memcpy(&cmd, bytes, sizeof cmd);                                                       \
        if (ct_uses_creat(cmd))                                                                \
            need = TMEM_OP_END(T, u.NEWM.arg1);                                                \
        else if (cmd == TMEM_CONTROL)                                                          \
            need = TMEM_OP_END(T, u.ctrl.buf);                                                 \
        else                                                                                   \
            need = TMEM_OP_END(T, u.gen.cmfn);                                                 \
        if (len < need)                                                                        \
            return 0;                                                                          \
        memset(&op, 0, sizeof op);                                                             \
        memcpy(&op, bytes, len < sizeof op ? len : sizeof op);                                 \
        memset(out, 0, sizeof *out);                                                           \
        out->cmd = op.cmd;                                                                     \
        out->pool_id = op.pool_id;                                                             \
        if (ct_uses_creat(cmd)) {                                                              \
            out->uuid[0] = op.u.NEWM.uuid[0];                                                  \
            out->uuid[1] = op.u.NEWM.uuid[1];                                                  \
            out->flags = op.u.NEWM.flags;                                                      \
            out->creat_arg1 = op.u.NEWM.arg1;                                                  \
        } else if (cmd == TMEM_CONTROL) {                                                      \
            out->subop = op.u.ctrl.subop;                                                      \
            out->cli_id = op.u.ctrl.cli_id;                                                    \
            out->arg1 = op.u.ctrl.arg1;                                                        \
            out->arg2 = op.u.ctrl.arg2;                                                        \
            memcpy(out->oid, &op.u.ctrl.CTRL_OID, sizeof op.u.ctrl.CTRL_OID);                  \
            out->buf = op.u.ctrl.buf;                                                          \
        } else {                                                                               \
            memcpy(out->oid, &op.u.gen.GEN_OID, sizeof op.u.gen.GEN_OID);                      \
            out->index = op.u.gen.index;                                                       \
            out->tmem_offset = op.u.gen.tmem_offset;                                           \
            out->pfn_offset = op.u.gen.pfn_offset;                                             \
            out->len = op.u.gen.len;                                                           \
            out->cmfn = op.u.gen.cmfn;                                                         \
        }                                                                                      \
        return 1;                                                                              \
    }

CT_DEFINE_DECODER(ct_decode_v0, struct tmem_op_v0, new, arg3, object)
CT_DEFINE_DECODER(ct_decode_v0_compat, struct compat_tmem_op_v0, new, arg3, object)
CT_DEFINE_DECODER(ct_decode_v1, struct tmem_op_v1, creat, oid, oid)
CT_DEFINE_DECODER(ct_decode_v1_compat, struct compat_tmem_op_v1, creat, oid, oid)

/* struct tmem_handle {pool_id, index, oid}: the save sub-ops' record of a page. */
#define CT_DEFINE_HANDLE_ENCODER(NAME, T)                                                      \
    static void NAME(unsigned char *dest, uint32_t pool_id, const ct_key *key)                 \
    {                                                                                          \
        T handle;                                                                              \
        memset(&handle, 0, sizeof handle);                                                     \
        handle.pool_id = pool_id;                                                              \
        handle.index = key->index;                                                             \
        memcpy(&handle.oid, key->oid, sizeof handle.oid);                                      \
        memcpy(dest, &handle, sizeof handle);                                                  \
    }

CT_DEFINE_HANDLE_ENCODER(ct_handle_v0, struct tmem_handle_v0)
CT_DEFINE_HANDLE_ENCODER(ct_handle_v0_compat, struct compat_tmem_handle_v0)
CT_DEFINE_HANDLE_ENCODER(ct_handle_v1, struct tmem_handle_v1)
CT_DEFINE_HANDLE_ENCODER(ct_handle_v1_compat, struct compat_tmem_handle_v1)

/* tmem-abi.md section 3: v1 defines PRECOMPRESSED and the reserved bits only to refuse them. */
static const ct_version CT_VERSIONS[] = {
    {0, 0, {ct_decode_v0, ct_decode_v0_compat}, {ct_handle_v0, ct_handle_v0_compat},
     {sizeof(struct tmem_handle_v0), sizeof(struct compat_tmem_handle_v0)}},
    {1, TMEM_POOL_PRECOMPRESSED | TMEM_POOL_RESERVED_BITS, {ct_decode_v1, ct_decode_v1_compat},
     {ct_handle_v1, ct_handle_v1_compat},
     {sizeof(struct tmem_handle_v1), sizeof(struct compat_tmem_handle_v1)}},
};

const ct_version *ct_version_for(int spec)
{
    size_t i;
    for (i = 0; i < sizeof CT_VERSIONS / sizeof CT_VERSIONS[0]; i++)
        if ((int)CT_VERSIONS[i].spec == spec)
            return &CT_VERSIONS[i];
    return NULL;
}
