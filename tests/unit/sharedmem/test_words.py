"""Single-store words of a shared mapping (gateway.sharedmem.words): another process
reading one while it is rewritten sees the old or the new value, never 0."""

import mmap
import time

import pytest

from gateway.sharedmem.words import word_view
from support.writer_process import writer_process


def _zeros_seen(write_pair, reads=2_000_000, budget=10.0):
    """Fork a writer that stores 1, 2, 1, 2... through ``write_pair(view)``; count the
    reads of the word that saw 0 (a value never written)."""
    buf = mmap.mmap(-1, mmap.PAGESIZE)
    view = word_view(buf, 8, "Q")
    view[0] = 1
    zeros = done = 0
    deadline = time.monotonic() + budget
    try:
        with writer_process(lambda: write_pair(buf, view)):
            while done < reads and time.monotonic() < deadline:
                for _ in range(10_000):
                    if view[0] == 0:
                        zeros += 1
                done += 10_000
    finally:
        view.release()
        buf.close()
    return zeros, done


def _through_view(buf, view):
    view[0] = 1
    view[0] = 2


def test_a_word_rewritten_by_another_process_never_reads_zero():
    zeros, done = _zeros_seen(_through_view)
    assert done >= 100_000 and zeros == 0


def test_an_unaligned_word_is_refused():
    buf = mmap.mmap(-1, mmap.PAGESIZE)
    with pytest.raises(ValueError, match="not aligned"):
        word_view(buf, 4, "Q")
    view = word_view(buf, 4, "I", 2)
    view[1] = 7
    assert buf[8:12] == (7).to_bytes(4, "little") or buf[8:12] == (7).to_bytes(4, "big")
    view.release()
    buf.close()
