/*
 * tmem_abi.h: struct tmem_op and struct tmem_handle of the two tmem ABI
 * versions, written from xen/include/public/tmem.h @ RELEASE-4.0.0 (v0)
 * and @ RELEASE-4.1.0 (v1), as summarised in tmem-abi.md section 2.
 *
 * Native structs are laid out by the compiler for its own target: on
 * x86-64 they are the 64-bit guest layout, built with -m32 the 32-bit one.
 * `unsigned long` is xen_pfn_t (cmfn), and a pointer-sized integer stands
 * for the guest handle `buf`.
 *
 * Compat structs are the 32-bit guest layout on any build, as Xen's compat
 * layer declares it (xen/include/compat): 32-bit words, and 64-bit
 * integers aligned to 4 bytes as on i386.
 *
 * v0 names the pool-creation member `new` and the object id `gen.object`
 * and `ctrl.arg3` (one word); v1 renames `new` to `creat` (commit
 * ac989b123e) and widens the object id to `oid[3]` (commit b0797898d3).
 * The layouts are checked against the suite's model by
 * tests/test_ctmem_layouts.py. This header is C, not C++ (`new`).
 */
#ifndef CTMEM_TMEM_ABI_H
#define CTMEM_TMEM_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ constants (tmem.h) */
#define TMEM_CONTROL 0
#define TMEM_NEW_POOL 1
#define TMEM_DESTROY_POOL 2
#define TMEM_NEW_PAGE 3
#define TMEM_PUT_PAGE 4
#define TMEM_GET_PAGE 5
#define TMEM_FLUSH_PAGE 6
#define TMEM_FLUSH_OBJECT 7
#define TMEM_READ 8
#define TMEM_WRITE 9
#define TMEM_XCHG 10
#define TMEM_AUTH 101
#define TMEM_RESTORE_NEW 102

#define TMEMC_THAW 0
#define TMEMC_FREEZE 1
#define TMEMC_FLUSH 2
#define TMEMC_DESTROY 3
#define TMEMC_LIST 4
#define TMEMC_SET_WEIGHT 5
#define TMEMC_SET_CAP 6
#define TMEMC_SET_COMPRESS 7
#define TMEMC_QUERY_FREEABLE_MB 8
#define TMEMC_SAVE_BEGIN 10
#define TMEMC_SAVE_GET_VERSION 11
#define TMEMC_SAVE_GET_MAXPOOLS 12
#define TMEMC_SAVE_GET_CLIENT_WEIGHT 13
#define TMEMC_SAVE_GET_CLIENT_CAP 14
#define TMEMC_SAVE_GET_CLIENT_FLAGS 15
#define TMEMC_SAVE_GET_POOL_FLAGS 16
#define TMEMC_SAVE_GET_POOL_NPAGES 17
#define TMEMC_SAVE_GET_POOL_UUID 18
#define TMEMC_SAVE_GET_NEXT_PAGE 19
#define TMEMC_SAVE_GET_NEXT_INV 20
#define TMEMC_SAVE_END 21
#define TMEMC_RESTORE_BEGIN 30
#define TMEMC_RESTORE_PUT_PAGE 32
#define TMEMC_RESTORE_FLUSH_PAGE 33

#define TMEM_POOL_PERSIST 0x1u
#define TMEM_POOL_SHARED 0x2u
#define TMEM_POOL_PRECOMPRESSED 0x4u /* v1 only; must be 0 */
#define TMEM_POOL_PAGESIZE_SHIFT 4
#define TMEM_POOL_PAGESIZE_MASK 0xfu
#define TMEM_POOL_VERSION_SHIFT 24
#define TMEM_POOL_VERSION_MASK 0xffu
#define TMEM_POOL_RESERVED_BITS 0x00ffff00u /* v1 only; must be 0 */

#define TMEM_CLIENT_COMPRESS 0x1
#define TMEM_CLIENT_FROZEN 0x2

#define TMEM_EFROZEN 1000
#define TMEM_EEMPTY 1001

#define TMEM_PAGE_SHIFT 12
#define TMEM_PAGE_SIZE 4096u
#define TMEM_MAX_POOLS_PER_DOMAIN 16
#define TMEM_MAX_GLOBAL_SHARED_POOLS 16
#define TMEM_MAX_AUTH_UUIDS 16
#define TMEM_CLI_ID_NULL 0xffffu

/* ------------------------------------------------------------ word types */
typedef unsigned long tmem_cli_mfn_t;   /* xen_pfn_t */
typedef uintptr_t tmem_cli_va_t;        /* a guest handle to char: one word */

typedef uint32_t compat_tmem_word_t;    /* both on a 32-bit guest */
/* i386: a 64-bit integer inside a struct is 4-byte aligned. A typedef may lower alignment. */
typedef uint64_t compat_u64 __attribute__((aligned(4)));

/* ------------------------------------------------------------ v0 (Xen 4.0.0) */
struct tmem_op_v0 {
    uint32_t cmd;
    int32_t pool_id;
    union {
        struct {                   /* NEW_POOL, AUTH, RESTORE_NEW */
            uint64_t uuid[2];
            uint32_t flags;
            uint32_t arg1;
        } new;
        struct {                   /* CONTROL */
            uint32_t subop;
            uint32_t cli_id;
            uint32_t arg1;
            uint32_t arg2;
            uint64_t arg3;         /* the object id of RESTORE_PUT/FLUSH_PAGE */
            tmem_cli_va_t buf;
        } ctrl;
        struct {                   /* every other command */
            uint64_t object;
            uint32_t index;
            uint32_t tmem_offset;
            uint32_t pfn_offset;
            uint32_t len;
            tmem_cli_mfn_t cmfn;
        } gen;
    } u;
};

struct tmem_handle_v0 {
    uint32_t pool_id;
    uint32_t index;
    uint64_t oid;
};

struct compat_tmem_op_v0 {
    uint32_t cmd;
    int32_t pool_id;
    union {
        struct {
            compat_u64 uuid[2];
            uint32_t flags;
            uint32_t arg1;
        } new;
        struct {
            uint32_t subop;
            uint32_t cli_id;
            uint32_t arg1;
            uint32_t arg2;
            compat_u64 arg3;
            compat_tmem_word_t buf;
        } ctrl;
        struct {
            compat_u64 object;
            uint32_t index;
            uint32_t tmem_offset;
            uint32_t pfn_offset;
            uint32_t len;
            compat_tmem_word_t cmfn;
        } gen;
    } u;
};

struct compat_tmem_handle_v0 {
    uint32_t pool_id;
    uint32_t index;
    compat_u64 oid;
};

/* ------------------------------------------------------------ v1 (Xen 4.1.0) */
struct tmem_op_v1 {
    uint32_t cmd;
    int32_t pool_id;
    union {
        struct {                   /* NEW_POOL, AUTH, RESTORE_NEW */
            uint64_t uuid[2];
            uint32_t flags;
            uint32_t arg1;
        } creat;
        struct {                   /* CONTROL */
            uint32_t subop;
            uint32_t cli_id;
            uint32_t arg1;
            uint32_t arg2;
            uint64_t oid[3];
            tmem_cli_va_t buf;
        } ctrl;
        struct {                   /* every other command */
            uint64_t oid[3];
            uint32_t index;
            uint32_t tmem_offset;
            uint32_t pfn_offset;
            uint32_t len;
            tmem_cli_mfn_t cmfn;
        } gen;
    } u;
};

struct tmem_handle_v1 {
    uint32_t pool_id;
    uint32_t index;
    uint64_t oid[3];
};

struct compat_tmem_op_v1 {
    uint32_t cmd;
    int32_t pool_id;
    union {
        struct {
            compat_u64 uuid[2];
            uint32_t flags;
            uint32_t arg1;
        } creat;
        struct {
            uint32_t subop;
            uint32_t cli_id;
            uint32_t arg1;
            uint32_t arg2;
            compat_u64 oid[3];
            compat_tmem_word_t buf;
        } ctrl;
        struct {
            compat_u64 oid[3];
            uint32_t index;
            uint32_t tmem_offset;
            uint32_t pfn_offset;
            uint32_t len;
            compat_tmem_word_t cmfn;
        } gen;
    } u;
};

struct compat_tmem_handle_v1 {
    uint32_t pool_id;
    uint32_t index;
    compat_u64 oid[3];
};

/* Bytes a host must be able to copy for a command: cmd, pool_id and the union member it uses. */
#define TMEM_OP_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

#endif /* CTMEM_TMEM_ABI_H */
