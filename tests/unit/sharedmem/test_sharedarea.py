"""``--sharedarea`` areas and the ``uwsgi.sharedarea_*`` functions (gateway/sharedmem/sharedarea.py)."""

from __future__ import annotations

import mmap
import os

import pytest

from gateway.sharedmem import sharedarea as sa


@pytest.fixture
def areas():
    made = sa.SharedAreas.from_config(["1", "size=10"])
    saved, sa.current = sa.current, made
    yield made
    sa.current = saved
    made.close()


def fn(name):
    return dict(sa.FUNCTIONS)[name]


def test_sizes_are_whole_pages():
    assert sa.parse_sharedarea("2") == 2 * mmap.PAGESIZE
    assert sa.parse_sharedarea("pages=3") == 3 * mmap.PAGESIZE
    assert sa.parse_sharedarea("size=10") == mmap.PAGESIZE
    assert sa.parse_sharedarea("size=%d" % (mmap.PAGESIZE + 1)) == 2 * mmap.PAGESIZE


@pytest.mark.parametrize("value, fragment", [
    ("0", "at least one page"), ("pages=x", "not a number"), ("file=/tmp/x", "file not supported"),
    ("lots", "expected N, pages=N or size=BYTES"), ("pages=100000000", "larger than"),
])
def test_bad_values(value, fragment):
    with pytest.raises(sa.SharedAreaConfigError, match=fragment):
        sa.parse_sharedarea(value)


def test_read_write_bytes_and_bounds(areas):
    fn("sharedarea_write")(0, 10, b"hello")
    assert fn("sharedarea_read")(0, 10, 5) == b"hello"
    assert len(fn("sharedarea_read")(0, 0)) == mmap.PAGESIZE  # no length: to the end
    assert fn("sharedarea_read")(1, mmap.PAGESIZE - 2) == b"\0\0"
    for bad in (lambda: fn("sharedarea_read")(0, mmap.PAGESIZE), lambda: fn("sharedarea_read")(0, -1, 2),
                lambda: fn("sharedarea_write")(0, mmap.PAGESIZE - 2, b"abc"), lambda: fn("sharedarea_read")(2, 0),
                lambda: fn("sharedarea_read8")(7, 0)):
        with pytest.raises(ValueError, match="error calling uwsgi_sharedarea_"):
            bad()


def test_an_increment_needs_room_for_its_whole_integer(areas):
    """uWSGI's inc64/dec64 check for 4 bytes of room and write 8: past the end of the area
    (its worker segfaults when the next page is not mapped); here it is out of range."""
    for call in (lambda: fn("sharedarea_inc64")(0, mmap.PAGESIZE - 4), lambda: fn("sharedarea_dec64")(0, mmap.PAGESIZE - 7)):
        with pytest.raises(ValueError, match="error calling uwsgi_sharedarea_(inc|dec)64"):
            call()
    fn("sharedarea_inc64")(0, mmap.PAGESIZE - 8)


def test_integers_wrap_like_c_and_increments(areas):
    fn("sharedarea_write8")(0, 0, 200)
    assert fn("sharedarea_readbyte")(0, 0) == -56  # an unsigned byte in, a signed one out (uWSGI's)
    fn("sharedarea_write16")(0, 2, -2)
    fn("sharedarea_write16")(0, 12, 70000)
    assert fn("sharedarea_read16")(0, 12) == 4464  # (uWSGI's unchecked "I": the low bits)
    assert fn("sharedarea_read16")(0, 2) == -2
    fn("sharedarea_write32")(0, 4, 2**31 - 1)
    fn("sharedarea_inc32")(0, 4)
    assert fn("sharedarea_read32")(0, 4) == -2**31
    fn("sharedarea_writelong")(0, 8, 10)
    fn("sharedarea_inc64")(0, 8, 5)
    fn("sharedarea_dec64")(0, 8)
    fn("sharedarea_inclong")(0, 8)
    assert fn("sharedarea_read64")(0, 8) == 15 == fn("sharedarea_readlong")(0, 8)
    fn("sharedarea_dec32")(0, 4, 3)


def test_memoryview_is_the_area_itself(areas):
    view = fn("sharedarea_memoryview")(1)
    assert len(view) == mmap.PAGESIZE and not view.readonly
    view[0:3] = b"abc"
    assert fn("sharedarea_read")(1, 0, 3) == b"abc"
    view.release()
    with pytest.raises(ValueError, match="cannot get a memoryview object from sharedarea 5"):
        fn("sharedarea_memoryview")(5)


def test_an_increment_is_atomic_across_processes(areas):
    inc = fn("sharedarea_inc64")
    children = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            areas.after_fork()
            try:
                for _ in range(2000):
                    inc(0, 64)
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    assert fn("sharedarea_read64")(0, 64) == 8000


def test_update_counts_and_the_user_lock(areas):
    area = areas.get(0, "x")
    before = area.updates()
    fn("sharedarea_update")(0)
    fn("sharedarea_write")(0, 0, b"x")
    assert area.updates() == before + 2
    fn("sharedarea_wlock")(0)
    fn("sharedarea_write")(0, 1, b"y")  # not the same lock as the operations: no deadlock
    fn("sharedarea_unlock")(0)
    fn("sharedarea_rlock")(0)
    fn("sharedarea_unlock")(0)


def test_arguments_are_checked_as_uwsgis_are(areas):
    with pytest.raises(TypeError, match=r"sharedarea_write: a bytes-like object or str is required, not 'int'"):
        fn("sharedarea_write")(0, 0, 5)  # not five zero bytes
    with pytest.raises(TypeError, match=r"sharedarea_write64: an integer is required, not 'str'"):
        fn("sharedarea_write64")(0, 0, "7")
    fn("sharedarea_write")(0, 0, "é")  # a str is UTF-8
    assert fn("sharedarea_read")(0, 0, 2) == "é".encode()


@pytest.mark.parametrize("call, error, message", [
    # uWSGI 2.0.31's PyArg_ParseTuple formats: "b" (0..255), "L" (64-bit), "i" (C int), "l" (long)
    (lambda: fn("sharedarea_write8")(0, 0, 256), OverflowError, "unsigned byte integer is greater than maximum"),
    (lambda: fn("sharedarea_writebyte")(0, 0, -1), OverflowError, "unsigned byte integer is less than minimum"),
    (lambda: fn("sharedarea_write64")(0, 0, 2 ** 63), OverflowError, "int too big to convert"),
    (lambda: fn("sharedarea_writelong")(0, 0, -2 ** 63 - 1), OverflowError, "int too big to convert"),
    (lambda: fn("sharedarea_inc32")(0, 0, 2 ** 31), OverflowError, "signed integer is greater than maximum"),
    (lambda: fn("sharedarea_dec64")(0, 0, 2 ** 63), OverflowError, "Python int too large to convert to C long"),
    (lambda: fn("sharedarea_read")(0, 2 ** 64), OverflowError, "int too big to convert"),
    (lambda: fn("sharedarea_read")(2 ** 31, 0), OverflowError, "signed integer is greater than maximum"),
    (lambda: fn("sharedarea_read")("0", 0, 1), TypeError, "sharedarea_read: an integer is required, not 'str'"),
    (lambda: fn("sharedarea_memoryview")(0.0), TypeError, "an integer is required, not 'float'"),
    # the arguments are all parsed before the area is looked up (area 9 does not exist)
    (lambda: fn("sharedarea_write8")(9, 0, 256), OverflowError, "greater than maximum"),
])
def test_numbers_beyond_uwsgis_c_types_raise_as_there(areas, call, error, message):
    """Until 2026-12-05 they were cut to the width silently (``write8(id, pos, 256)`` wrote 0)
    or, for an id, raised ValueError."""
    with pytest.raises(error, match=message):
        call()
