# The C side (cytmem.h) and the ABI numbers, read once from models.abi at import.

cimport cython
from libc.stdlib cimport free
from libc.stdint cimport uint32_t, uint64_t, int32_t
from libc.string cimport memcpy, memset
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.pyport cimport PY_SSIZE_T_MAX

from tmem_conformance.models import abi as _abi


cdef extern from "cytmem.h" nogil:
    uint32_t cyt_le32(const unsigned char *p)
    uint64_t cyt_le64(const unsigned char *p)
    uint64_t cyt_le_word(const unsigned char *p, int size)
    void cyt_put_le32(unsigned char *p, uint32_t v)
    void cyt_put_le64(unsigned char *p, uint64_t v)

    ctypedef struct cyt_blocks:
        size_t block_size
    void cyt_blocks_init(cyt_blocks *b, size_t block_size)
    unsigned char *cyt_block_get(cyt_blocks *b)
    void cyt_block_put(cyt_blocks *b, unsigned char *p)
    void cyt_blocks_release(cyt_blocks *b)

    int cyt_fill_window(unsigned char *dst, size_t page, const unsigned char *src, size_t n,
                        uint64_t tmem_offset, uint64_t pfn_offset, uint64_t len, int compress)
    void cyt_copy_window(unsigned char *frame, const unsigned char *data, size_t page,
                         uint64_t tmem_offset, uint64_t pfn_offset, uint64_t len)


# Commands (tmem.h)
cdef uint32_t CMD_CONTROL = _abi.Cmd.CONTROL
cdef uint32_t CMD_NEW_POOL = _abi.Cmd.NEW_POOL
cdef uint32_t CMD_DESTROY_POOL = _abi.Cmd.DESTROY_POOL
cdef uint32_t CMD_NEW_PAGE = _abi.Cmd.NEW_PAGE
cdef uint32_t CMD_PUT_PAGE = _abi.Cmd.PUT_PAGE
cdef uint32_t CMD_GET_PAGE = _abi.Cmd.GET_PAGE
cdef uint32_t CMD_FLUSH_PAGE = _abi.Cmd.FLUSH_PAGE
cdef uint32_t CMD_FLUSH_OBJECT = _abi.Cmd.FLUSH_OBJECT
cdef uint32_t CMD_READ = _abi.Cmd.READ
cdef uint32_t CMD_WRITE = _abi.Cmd.WRITE
cdef uint32_t CMD_AUTH = _abi.Cmd.AUTH
cdef uint32_t CMD_RESTORE_NEW = _abi.Cmd.RESTORE_NEW

# Return values, positive; negated where returned. EFROZEN and EEMPTY are tmem's own.
cdef long EPERM = _abi.Errno.EPERM
cdef long EFAULT = _abi.Errno.EFAULT
cdef long ENOMEM = _abi.Errno.ENOMEM
cdef long ENODEV = _abi.Errno.ENODEV
cdef long EINVAL = _abi.Errno.EINVAL
cdef long ENOSPC = _abi.Errno.ENOSPC
cdef long EFROZEN = _abi.Errno.EFROZEN
cdef long EEMPTY = _abi.Errno.EEMPTY

# Pool flags (tmem.h) and client flags (SAVE_GET_CLIENT_FLAGS)
cdef uint32_t POOL_PERSIST = _abi.PoolFlag.PERSIST
cdef uint32_t POOL_SHARED = _abi.PoolFlag.SHARED
cdef uint32_t POOL_PRECOMPRESSED = _abi.PoolFlag.PRECOMPRESSED
cdef uint32_t POOL_RESERVED_BITS = _abi.PoolFlag.RESERVED_BITS
cdef int PAGESIZE_SHIFT = _abi.PoolFlag.PAGESIZE_SHIFT
cdef uint32_t PAGESIZE_MASK = _abi.PoolFlag.PAGESIZE_MASK
cdef int VERSION_SHIFT = _abi.PoolFlag.VERSION_SHIFT
cdef uint32_t VERSION_MASK = _abi.PoolFlag.VERSION_MASK
cdef long CLIENT_COMPRESS = _abi.ClientFlag.COMPRESS
cdef long CLIENT_FROZEN = _abi.ClientFlag.FROZEN

# Sizes and limits
cdef Py_ssize_t PAGE_SIZE = _abi.PAGE_SIZE
cdef uint32_t PAGESIZE_FIELD = (_abi.PAGE_SHIFT - 12) & _abi.PoolFlag.PAGESIZE_MASK
cdef int MAX_POOLS = _abi.MAX_POOLS_PER_DOMAIN
cdef Py_ssize_t MAX_SHARED_POOLS = _abi.MAX_GLOBAL_SHARED_POOLS
cdef Py_ssize_t MAX_AUTH_UUIDS = _abi.MAX_AUTH_UUIDS
cdef uint32_t CLI_ID_NULL = _abi.CLI_ID_NULL
cdef long TOOLSTACK_DOMID = _abi.DOMID_TOOLSTACK
cdef uint64_t U64_ALL_ONES = _abi.U64_ALL_ONES

# Control sub-ops (tmem.h)
cdef uint32_t SUB_THAW = _abi.Subop.THAW
cdef uint32_t SUB_FREEZE = _abi.Subop.FREEZE
cdef uint32_t SUB_FLUSH = _abi.Subop.FLUSH
cdef uint32_t SUB_DESTROY = _abi.Subop.DESTROY
cdef uint32_t SUB_LIST = _abi.Subop.LIST
cdef uint32_t SUB_SET_WEIGHT = _abi.Subop.SET_WEIGHT
cdef uint32_t SUB_SET_CAP = _abi.Subop.SET_CAP
cdef uint32_t SUB_SET_COMPRESS = _abi.Subop.SET_COMPRESS
cdef uint32_t SUB_QUERY_FREEABLE_MB = _abi.Subop.QUERY_FREEABLE_MB
cdef uint32_t SUB_SAVE_BEGIN = _abi.Subop.SAVE_BEGIN
cdef uint32_t SUB_SAVE_GET_VERSION = _abi.Subop.SAVE_GET_VERSION
cdef uint32_t SUB_SAVE_GET_MAXPOOLS = _abi.Subop.SAVE_GET_MAXPOOLS
cdef uint32_t SUB_SAVE_GET_CLIENT_WEIGHT = _abi.Subop.SAVE_GET_CLIENT_WEIGHT
cdef uint32_t SUB_SAVE_GET_CLIENT_CAP = _abi.Subop.SAVE_GET_CLIENT_CAP
cdef uint32_t SUB_SAVE_GET_CLIENT_FLAGS = _abi.Subop.SAVE_GET_CLIENT_FLAGS
cdef uint32_t SUB_SAVE_GET_POOL_FLAGS = _abi.Subop.SAVE_GET_POOL_FLAGS
cdef uint32_t SUB_SAVE_GET_POOL_NPAGES = _abi.Subop.SAVE_GET_POOL_NPAGES
cdef uint32_t SUB_SAVE_GET_POOL_UUID = _abi.Subop.SAVE_GET_POOL_UUID
cdef uint32_t SUB_SAVE_GET_NEXT_PAGE = _abi.Subop.SAVE_GET_NEXT_PAGE
cdef uint32_t SUB_SAVE_GET_NEXT_INV = _abi.Subop.SAVE_GET_NEXT_INV
cdef uint32_t SUB_SAVE_END = _abi.Subop.SAVE_END
cdef uint32_t SUB_RESTORE_BEGIN = _abi.Subop.RESTORE_BEGIN
cdef uint32_t SUB_RESTORE_PUT_PAGE = _abi.Subop.RESTORE_PUT_PAGE
cdef uint32_t SUB_RESTORE_FLUSH_PAGE = _abi.Subop.RESTORE_FLUSH_PAGE
