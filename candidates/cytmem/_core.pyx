# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""cytmem's compiled core: a tmem host for v0 (Xen 4.0) and v1 (Xen 4.1) in Cython.

Each included file has one job (as msgpack's _cmsgpack.pyx includes its
packer and unpacker); the C helpers are declared from cytmem.h.
"""

include "_cdefs.pxi"     # cytmem.h, and the ABI numbers from models.abi
include "_layout.pxi"    # struct tmem_op / tmem_handle offsets from models.layouts
include "_store.pxi"     # pages in C blocks, objects, pools, capacity and LRU
include "_client.pxi"    # clients, save cursors, host state
include "_pools.pxi"     # NEW_POOL, RESTORE_NEW, DESTROY_POOL, AUTH, domain destruction
include "_pageops.pxi"   # put, get, flush
include "_control.pxi"   # TMEM_CONTROL dispatch, sub-ops 0-8
include "_save.pxi"      # save sub-ops 10-21
include "_restore.pxi"   # restore sub-ops 30-33
include "_host.pxi"      # CytmemHost: hypercall dispatch
