# struct tmem_op and struct tmem_handle as C offsets, read from models.layouts when a host is built.
#
# Nothing here is typed in: every offset and width comes from the layout the
# model computes for (version, word size), and the host refuses a layout
# whose field widths it cannot read (a future row with new widths fails
# loudly instead of being misread).

from tmem_conformance.models.layouts import layout as _model_layout


ctypedef struct OpLayout:
    int word_size
    Py_ssize_t cmd_end          # bytes needed to read cmd
    Py_ssize_t need_creat       # cmd, pool_id and the member a command uses (TMEM-HC-001)
    Py_ssize_t need_ctrl
    Py_ssize_t need_gen
    Py_ssize_t cmd
    Py_ssize_t pool_id
    Py_ssize_t creat_uuid
    Py_ssize_t creat_flags
    Py_ssize_t creat_arg1
    Py_ssize_t ctrl_subop
    Py_ssize_t ctrl_cli_id
    Py_ssize_t ctrl_arg1
    Py_ssize_t ctrl_arg2
    Py_ssize_t ctrl_oid
    Py_ssize_t ctrl_buf
    int ctrl_buf_size
    Py_ssize_t gen_oid
    Py_ssize_t gen_index
    Py_ssize_t gen_tmem_offset
    Py_ssize_t gen_pfn_offset
    Py_ssize_t gen_len
    Py_ssize_t gen_cmfn
    int gen_cmfn_size
    Py_ssize_t oid_size         # bytes of an object id: 8 x oid words
    Py_ssize_t handle_size
    Py_ssize_t handle_pool_id
    Py_ssize_t handle_index
    Py_ssize_t handle_oid


cdef dict _WIDTHS = {
    "cmd": (4, 1), "pool_id": (4, 1), "creat.uuid": (8, 2), "creat.flags": (4, 1), "creat.arg1": (4, 1),
    "ctrl.subop": (4, 1), "ctrl.cli_id": (4, 1), "ctrl.arg1": (4, 1), "ctrl.arg2": (4, 1), "ctrl.oid": (8, 0),
    "ctrl.buf": (0, 1), "gen.oid": (8, 0), "gen.index": (4, 1), "gen.tmem_offset": (4, 1),
    "gen.pfn_offset": (4, 1), "gen.len": (4, 1), "gen.cmfn": (0, 1),
    "handle.pool_id": (4, 1), "handle.index": (4, 1), "handle.oid": (8, 0),
}


cdef object _field(object struct_, str name, str key, object row, int word_size):
    """The model's field, checked against the element width and count this host reads
    (0 in _WIDTHS: a word-sized field of 4 or 8 bytes; an oid count of 0: the row's oid_words)."""
    f = struct_.field(name)
    size, count = _WIDTHS[key]
    want_count = count if count else row.oid_words
    if (size and f.ctype.size != size) or (not size and f.ctype.size not in (4, 8)) or f.count != want_count:
        raise ValueError(f"cytmem cannot read {key} of the {row.name} {word_size}-bit layout: "
                         f"{f.count} x {f.ctype.size} bytes, expected {want_count} x {size or 'a word of 4 or 8'}")
    return f


cdef OpLayout read_layout(object row, int word_size) except *:
    """The C offsets of one (version, word size) from models.layouts."""
    cdef OpLayout lay
    model = _model_layout(row, word_size)
    op = model.op
    handle = model.handle
    lay.word_size = word_size
    lay.cmd = _field(op, "cmd", "cmd", row, word_size).offset
    lay.cmd_end = lay.cmd + 4
    lay.pool_id = _field(op, "pool_id", "pool_id", row, word_size).offset
    lay.need_creat = model.needed(_abi.Cmd.NEW_POOL)
    lay.need_ctrl = model.needed(_abi.Cmd.CONTROL)
    lay.need_gen = model.needed(_abi.Cmd.PUT_PAGE)
    lay.creat_uuid = _field(op, "creat.uuid", "creat.uuid", row, word_size).offset
    lay.creat_flags = _field(op, "creat.flags", "creat.flags", row, word_size).offset
    lay.creat_arg1 = _field(op, "creat.arg1", "creat.arg1", row, word_size).offset
    lay.ctrl_subop = _field(op, "ctrl.subop", "ctrl.subop", row, word_size).offset
    lay.ctrl_cli_id = _field(op, "ctrl.cli_id", "ctrl.cli_id", row, word_size).offset
    lay.ctrl_arg1 = _field(op, "ctrl.arg1", "ctrl.arg1", row, word_size).offset
    lay.ctrl_arg2 = _field(op, "ctrl.arg2", "ctrl.arg2", row, word_size).offset
    lay.ctrl_oid = _field(op, "ctrl.oid", "ctrl.oid", row, word_size).offset
    buf = _field(op, "ctrl.buf", "ctrl.buf", row, word_size)
    lay.ctrl_buf, lay.ctrl_buf_size = buf.offset, buf.ctype.size
    lay.gen_oid = _field(op, "gen.oid", "gen.oid", row, word_size).offset
    lay.gen_index = _field(op, "gen.index", "gen.index", row, word_size).offset
    lay.gen_tmem_offset = _field(op, "gen.tmem_offset", "gen.tmem_offset", row, word_size).offset
    lay.gen_pfn_offset = _field(op, "gen.pfn_offset", "gen.pfn_offset", row, word_size).offset
    lay.gen_len = _field(op, "gen.len", "gen.len", row, word_size).offset
    cmfn = _field(op, "gen.cmfn", "gen.cmfn", row, word_size)
    lay.gen_cmfn, lay.gen_cmfn_size = cmfn.offset, cmfn.ctype.size
    lay.oid_size = 8 * row.oid_words
    lay.handle_size = handle.size
    lay.handle_pool_id = _field(handle, "pool_id", "handle.pool_id", row, word_size).offset
    lay.handle_index = _field(handle, "index", "handle.index", row, word_size).offset
    lay.handle_oid = _field(handle, "oid", "handle.oid", row, word_size).offset
    return lay


# The union member of each command, as needed() below groups them; checked once at import.
if dict(_abi.MEMBER_FOR_CMD) != {_abi.Cmd.NEW_POOL: "creat", _abi.Cmd.AUTH: "creat",
                                 _abi.Cmd.RESTORE_NEW: "creat", _abi.Cmd.CONTROL: "ctrl"}:
    raise ImportError(f"cytmem groups commands by union member differently from models.abi.MEMBER_FOR_CMD "
                      f"({dict(_abi.MEMBER_FOR_CMD)!r}); rebuild cytmem against this model")


cdef inline Py_ssize_t needed(const OpLayout *lay, uint32_t cmd) noexcept nogil:
    """Bytes of the op that `cmd` reads: the compat rule of tmem_xen.h, by command."""
    if cmd == CMD_CONTROL:
        return lay.need_ctrl
    if cmd == CMD_NEW_POOL or cmd == CMD_AUTH or cmd == CMD_RESTORE_NEW:
        return lay.need_creat
    return lay.need_gen
