"""Give freed heap memory back to the kernel after a burst, so a worker's RSS returns to its baseline.

Measured (``bench/rss_flood.py``, issue 9.2): after a flood of 4,000 connections with 8-64 KiB request heads,
glibc's main heap keeps ~12 MB of *free* chunks that it cannot release on its own: its automatic trim only
gives back the top of the heap, and the connections' buffers (bytes objects of the reads, the parser's
bytearray, too big for pymalloc and too small for mmap) were freed between chunks still in use.
``malloc_trim(0)`` releases every free page of the heap (``madvise(MADV_DONTNEED)``), which brought RSS from
44 MB back to 31 MB, the baseline.

So a worker checks every ``--heap-trim-interval`` seconds (default 5; 0 turns it off) how much of the heap is
free (``mallinfo2``: ~50-100 µs) and trims when more than :data:`THRESHOLD` is (~40-250 µs; the free chunks
stay free after a trim, only their pages leave RSS, so a worker that had a burst keeps paying that every
interval: at most ~0.3 ms per 5 s).  A burst thus costs its memory for at most one interval.  Only on glibc;
elsewhere the trimmer is a no-op (musl and macOS return memory differently).

Why a periodic check rather than trimming when connections close: with the connection cycles fixed
(``wsgi_call`` and the parser break theirs), gateway's own buffers are freed at once and reused, and a plain
WSGI app's floods leave RSS flat without any trim; but apps that make reference cycles of their own (Flask does,
per request) keep buffers until the collector runs, and the heap is fragmented by then: measured +21.5 MB
after a flood with a Flask app without the trimmer, +0.9 MB with it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Callable, Optional

from tornado.ioloop import IOLoop, PeriodicCallback

from gateway.logs import gen_log

#: Free heap bytes above which a tick trims (below it, trimming is not worth the page faults it causes).
THRESHOLD = 1 << 20


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _libc_functions() -> "tuple[Optional[Callable[[int], int]], Optional[Callable[[], int]]]":
    """(malloc_trim, free_heap_bytes) from glibc, or Nones.  Resolved at import, before privileges drop."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None, None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None, None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    info2 = getattr(libc, "mallinfo2", None)  # glibc >= 2.33
    if info2 is None:
        return trim, None
    info2.argtypes = []
    info2.restype = _MallInfo2

    def free_bytes() -> int:
        return int(info2().fordblks)

    return trim, free_bytes


_malloc_trim, _free_heap_bytes = _libc_functions()


def trim_if_worth_it() -> bool:
    """One tick: trim when more than :data:`THRESHOLD` bytes of the heap are free.  True if it trimmed."""
    if _malloc_trim is None:
        return False
    if _free_heap_bytes is not None and _free_heap_bytes() < THRESHOLD:
        return False
    _malloc_trim(0)
    return True


def start(io_loop: IOLoop, interval: float) -> Optional[PeriodicCallback]:
    """Run :func:`trim_if_worth_it` every ``interval`` seconds on ``io_loop`` (a Tornado IOLoop).

    Returns the ``PeriodicCallback`` (None when off or unsupported); the worker stops it with the loop.
    """
    if interval <= 0 or _malloc_trim is None:
        if interval > 0:
            gen_log.debug("heap trimming unavailable (no glibc malloc_trim): --heap-trim-interval ignored")
        return None
    def tick() -> None:
        trim_if_worth_it()

    callback = PeriodicCallback(tick, interval * 1000.0)
    callback.start()
    return callback
