"""The hello app, plus ``GET /heapinfo``: where a worker's memory is, for bench/rss_flood.py.

``/heapinfo`` answers JSON: ``rss_kb``; glibc's heap (``mallinfo2``): ``heap_kb`` mapped, ``inuse_kb``,
``free_kb`` (free chunks the heap keeps); then ``cyclic_garbage``: the objects a full ``gc.collect()`` found
unreachable (kept alive only by reference cycles until then), and ``inuse_after_gc_kb``.  Measuring
this way is how issue 9.2 was split into its two causes (cycles holding connections' buffers, and free
heap chunks glibc does not return by itself).
"""

import ctypes
import ctypes.util
import gc
import json


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


try:
    _mallinfo2 = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallinfo2
    _mallinfo2.restype = _MallInfo2
except (OSError, AttributeError):
    _mallinfo2 = None


def _rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def heapinfo():
    info = {"rss_kb": _rss_kb()}
    if _mallinfo2 is not None:
        mi = _mallinfo2()
        info.update(heap_kb=mi.arena // 1024, inuse_kb=mi.uordblks // 1024, free_kb=mi.fordblks // 1024)
    info["cyclic_garbage"] = gc.collect()
    if _mallinfo2 is not None:
        info["inuse_after_gc_kb"] = _mallinfo2().uordblks // 1024
    return info


def application(environ, start_response):
    if environ["PATH_INFO"] == "/heapinfo":
        body = json.dumps(heapinfo()).encode()
    else:
        body = b"Hello, World!"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
