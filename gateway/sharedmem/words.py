"""Words of a shared mapping that must change in one store: a process killed while
writing one, or another process reading it meanwhile, sees the old value or the new
one, never a third.

``struct.pack_into`` cannot write such a word: CPython's packer first zeroes its
whole destination (``memset``), then stores the fields, so between the two the word
reads 0.  A writer killed there (``SIGKILL`` lands between any two instructions)
leaves 0 behind; a lock-free reader there sees 0.  This broke the cache: a writer
killed in that gap left the undo journal's entry count at 0 over stores already
made, and nothing rolled them back.

Assigning through a ``memoryview`` cast to a native format converts the value first
and then copies its bytes with one ``memcpy`` of the word's size, which the
compiler turns into one store; on an aligned address that store is atomic on every
machine CPython runs on.  Keep the offset a multiple of the word size.

A view pins its mapping: :meth:`mmap.mmap.close` refuses while one exists, so the
owner calls ``release()`` on it before closing the mapping.
"""

from __future__ import annotations

import struct
from typing import Any


def word_view(buf: Any, offset: int, fmt: str, count: int = 1) -> memoryview:
    """``count`` native words of format ``fmt`` (``"I"``, ``"Q"``, ``"q"``...) at
    ``offset`` of ``buf``; ``view[i] = v`` is a single store, ``view[i]`` a single load."""
    size = struct.calcsize(fmt)
    if offset % size:
        raise ValueError("word at offset %d is not aligned to its size %d" % (offset, size))
    return memoryview(buf)[offset: offset + size * count].cast(fmt)  # type: ignore[call-overload]
