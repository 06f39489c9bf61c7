"""The calling domain's memory: frame and buffer checks, and what a put stores.

A cmfn is valid iff it names a page of the memory; a control buffer
region must lie inside it; otherwise the op is -EFAULT (TMEM-HC-005).
Only the page or window an op names is sliced, never the whole memory.
"""

from __future__ import annotations

from .pool import PAGE_SIZE, ZERO_PAGE, Page


def frame_ok(memory: bytearray, cmfn: int) -> bool:
    return 0 <= cmfn < len(memory) // PAGE_SIZE


def region_ok(memory: bytearray, buf: int, length: int) -> bool:
    return 0 <= buf and buf + length <= len(memory)


def read_frame(memory: bytearray, cmfn: int) -> bytes:
    start = cmfn * PAGE_SIZE
    return bytes(memoryview(memory)[start:start + PAGE_SIZE])


def window_ok(tmem_offset: int, pfn_offset: int, length: int) -> bool:
    return tmem_offset + length <= PAGE_SIZE and pfn_offset + length <= PAGE_SIZE


def window_page(src: memoryview, tmem_offset: int, pfn_offset: int, length: int, compress: bool) -> Page:
    """What WRITE stores from source bytes `src` (TMEM-PUT-005).

    All-zero window: a zero page. Compression on (len != 0): the whole source page,
    stored compressed. A window past the page end: nothing copied (zeros). Otherwise
    the window, with the other bytes zero.
    """
    if tmem_offset == 0 and pfn_offset == 0 and length == 0:
        return Page(ZERO_PAGE)
    if compress:
        return Page(bytes(src[:PAGE_SIZE]).ljust(PAGE_SIZE, b"\0"), whole=True)
    if not window_ok(tmem_offset, pfn_offset, length) or pfn_offset + length > len(src):
        return Page(ZERO_PAGE)
    data = bytearray(PAGE_SIZE)
    data[tmem_offset:tmem_offset + length] = src[pfn_offset:pfn_offset + length]
    return Page(bytes(data))


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
