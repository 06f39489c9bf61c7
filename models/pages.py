"""What a put stores and what a get copies: whole pages, WRITE/READ windows, and the host's choices.

Sources: tmem-abi.md section 4 (PUT_PAGE, NEW_PAGE, WRITE, GET_PAGE, READ)
and section 10, whose rows let a host choose: a window past the page end
gives 1 with nothing copied (4.0, 4.1) or -EINVAL with nothing stored
(4.2.1); a duplicate WRITE leaves the bytes outside its window zero or as
they were; a compressing client stores the whole guest page or the window.
Each choice becomes one more candidate page (host_state.one_of), never a
looser check.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import codec
from .abi import PAGE_SIZE, Cmd
from .host_state import ZERO_PAGE, Page, one_of
from .outcomes import Write

#: The rule that defines a stored page's bytes, by the command that stored it: a hit that returns
#: other bytes names it.
ORIGIN = {Cmd.PUT_PAGE: "TMEM-GET-003", Cmd.NEW_PAGE: "TMEM-PUT-004", Cmd.WRITE: "TMEM-PUT-005"}
RESTORED = "TMEM-RESTORE-003"


@dataclass(frozen=True)
class Stored:
    """What a put may store: `page` (with its candidates), or None if its source is not in memory."""

    page: Page | None
    einval: bool = False  # the window passes the page end: -EINVAL with nothing stored conforms too


def window_ok(tmem_offset: int, pfn_offset: int, length: int) -> bool:
    """Both windows inside the page; Python integers, so offset + len never wraps at 32 bits."""
    return tmem_offset + length <= PAGE_SIZE and pfn_offset + length <= PAGE_SIZE


def put_source(cmd: int, g: codec.Gen, compress: bool, memory: bytes, previous: Page | None) -> Stored:
    """What PUT_PAGE, NEW_PAGE or WRITE stores from the caller's memory (TMEM-PUT-004, TMEM-PUT-005)."""
    origin = ORIGIN[Cmd(cmd)]
    if cmd == Cmd.NEW_PAGE:
        return Stored(Page(ZERO_PAGE, origin=origin))  # cmfn is never read
    ok = 0 <= g.cmfn < len(memory) // PAGE_SIZE
    src = memory[g.cmfn * PAGE_SIZE:(g.cmfn + 1) * PAGE_SIZE] if ok else None
    if cmd == Cmd.PUT_PAGE:
        return Stored(None if src is None else Page(bytes(src), origin=origin))
    return window_store(src, g.tmem_offset, g.pfn_offset, g.len, compress, previous, origin)


def window_store(src: bytes | None, tmem_offset: int, pfn_offset: int, length: int, compress: bool,
                 previous: Page | None, origin: str) -> Stored:
    """What a WRITE (or RESTORE_PUT_PAGE, a WRITE at offset 0) stores; `src` None: not in memory."""
    if tmem_offset == pfn_offset == length == 0:
        return Stored(Page(ZERO_PAGE, origin=origin))  # a zero page, whatever cmfn says
    if src is None:
        return Stored(None)
    bad = not window_ok(tmem_offset, pfn_offset, length) or pfn_offset + length > len(src)
    window = b"" if bad else bytes(src[pfn_offset:pfn_offset + length])
    candidates: list[Page] = []
    if compress:
        candidates.append(Page(bytes(src[:PAGE_SIZE]).ljust(PAGE_SIZE, b"\0"), whole=True, origin=origin))
    bases = [Page(ZERO_PAGE, origin=origin)]
    if previous is not None:
        bases += [Page(c.data, c.known, False, origin=origin) for c in previous.candidates()]
    for base in bases:
        data = bytearray(base.data)
        data[tmem_offset:tmem_offset + len(window)] = window
        known = None
        if base.known is not None:
            mask = bytearray(base.known)
            mask[tmem_offset:tmem_offset + len(window)] = b"\1" * len(window)
            known = bytes(mask)
        candidates.append(Page(bytes(data), known, origin=origin))
    return Stored(one_of(candidates), einval=bad)


def read_writes(page: Page, cmd: int, g: codec.Gen) -> tuple[Write, ...]:
    """What a hit on one candidate copies into the caller's memory: TMEM-GET-003, TMEM-GET-004."""
    base = g.cmfn * PAGE_SIZE
    if cmd == Cmd.GET_PAGE or page.whole:
        return (Write(base, page.data, page.known),)
    if g.len == 0 or not window_ok(g.tmem_offset, g.pfn_offset, g.len):
        return (Write(base, b""),)  # copies nothing: a byte it changes breaks the READ rule
    sl = slice(g.tmem_offset, g.tmem_offset + g.len)
    return (Write(base + g.pfn_offset, page.data[sl], None if page.known is None else page.known[sl]),)


def consistent(page: Page, writes_of: object, after: bytes) -> Page:
    """`page` narrowed to the candidates whose copy matches what the caller's memory now shows."""
    assert callable(writes_of)
    keep = [c for c in page.candidates() if all(w.mismatch(after) is None for w in writes_of(c))]
    return page.narrowed(keep) if keep else page
