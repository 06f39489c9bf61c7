"""The calling domain's memory: frame and buffer checks, and what a put stores.

A cmfn is valid iff it names a page of the memory; a control buffer
region must lie inside it; otherwise the op is -EFAULT (TMEM-HC-005).
A WRITE's window becomes a Patch, laid onto a base page only when stored.
Only the page or window an op names is sliced, never the whole memory.
"""

from __future__ import annotations

from .pool import PAGE_SIZE, ZERO_PAGE, Page, Patch
from .retvals import EFAULT, EINVAL

NOTHING_COPIED = Patch(0, b"")


def frame_ok(memory: bytearray, cmfn: int) -> bool:
    return 0 <= cmfn < len(memory) // PAGE_SIZE


def region_ok(memory: bytearray, buf: int, length: int) -> bool:
    return 0 <= buf and buf + length <= len(memory)


def read_frame(memory: bytearray, cmfn: int) -> bytes:
    start = cmfn * PAGE_SIZE
    return bytes(memoryview(memory)[start:start + PAGE_SIZE])


def window_ok(tmem_offset: int, pfn_offset: int, length: int) -> bool:
    """The window lies inside the page on both sides (Python ints: no 32-bit wrap)."""
    return tmem_offset + length <= PAGE_SIZE and pfn_offset + length <= PAGE_SIZE


def window_page(src: memoryview, tmem_offset: int, pfn_offset: int, length: int, whole: bool) -> Page | Patch:
    """What WRITE stores from source bytes `src` (TMEM-PUT-005).

    All-zero window: a zero page. `whole` (compression on, len != 0): the whole source
    page, stored compressed. A window past the page end: nothing copied. Otherwise the
    window; the caller lays a Patch onto a zero page, or onto a duplicate's old bytes.
    """
    if tmem_offset == 0 and pfn_offset == 0 and length == 0:
        return Page(ZERO_PAGE)
    if whole:
        return Page(bytes(src[:PAGE_SIZE]).ljust(PAGE_SIZE, b"\0"), whole=True)
    if not window_ok(tmem_offset, pfn_offset, length) or pfn_offset + length > len(src):
        return NOTHING_COPIED
    return Patch(tmem_offset, bytes(src[pfn_offset:pfn_offset + length]))


def write_source(memory: bytearray, cmfn: int, window: tuple[int, int, int], whole: bool,
                 einval: bool) -> Page | Patch | int:
    """WRITE's source, or the negative errno the put returns if it needs one.

    An all-zero window never looks at cmfn (a zero page); otherwise a bad cmfn is
    -EFAULT (TMEM-HC-005). With `einval` (the XSA-15 fix, which checks the window
    once the guest frame is mapped) a window past the page end is then -EINVAL.
    """
    tmem_offset, pfn_offset, length = window
    if tmem_offset == 0 and pfn_offset == 0 and length == 0:
        return Page(ZERO_PAGE)
    if not frame_ok(memory, cmfn):
        return -EFAULT
    if einval and not whole and not window_ok(*window):
        return -EINVAL
    start = cmfn * PAGE_SIZE
    with memoryview(memory) as mv:
        return window_page(mv[start:start + PAGE_SIZE], tmem_offset, pfn_offset, length, whole)


def copy_out(memory: bytearray, cmfn: int, page: Page, window: tuple[int, int, int] | None) -> None:
    """A hit's copy to the guest: the whole page, or READ's window (TMEM-GET-003, TMEM-GET-004).

    `window` is (tmem_offset, pfn_offset, len) for READ, None for GET. A page stored
    compressed is copied whole; a window of len 0 or past the page end copies nothing.
    """
    base = cmfn * PAGE_SIZE
    if window is None or page.whole:
        memory[base:base + PAGE_SIZE] = page.data
        return
    tmem_offset, pfn_offset, length = window
    if length == 0 or not window_ok(tmem_offset, pfn_offset, length):
        return
    dst = base + pfn_offset
    memory[dst:dst + length] = page.data[tmem_offset:tmem_offset + length]
