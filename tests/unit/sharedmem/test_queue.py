"""uWSGI's queue (gateway/sharedmem/queue.py): the ring's semantics over a plain bytearray,
its byte layout, the geometry checks and the ``--queue-store`` file."""

from __future__ import annotations

import logging
import mmap
import os
import struct

import pytest

from gateway.sharedmem import queue as q


def ring(items: int = 4, blocksize: int = 64, now: float = 1000.0) -> q.Ring:
    return q.Ring(bytearray(16 + items * blocksize), items, blocksize, clock=lambda: now)


def test_push_then_pull_is_fifo_and_pop_is_lifo():
    r = ring()
    for v in (b"a", b"b", b"c"):
        assert r.push(v)
    assert r.positions() == (3, 0)
    assert r.pull() == b"a"
    assert r.positions() == (3, 1)
    assert r.pop() == b"c"
    assert r.positions() == (2, 1)
    assert r.pull() == b"b"
    assert r.pull() is None and r.pop() is None  # empty


def test_pull_on_an_empty_slot_does_not_move_but_pop_does_as_uwsgi():
    r = ring()
    assert r.pull() is None
    assert r.positions() == (0, 0)
    assert r.pop() is None
    assert r.positions() == (3, 0)  # uWSGI moves pos back before looking at the slot


def test_push_wraps_and_overwrites_the_oldest_slot():
    r = ring(items=3)
    for v in (b"1", b"2", b"3", b"4"):
        assert r.push(v)
    assert r.positions() == (1, 0)
    assert r.get(0) == b"4"
    assert r.pull() == b"4" and r.pull() == b"2" and r.pull() == b"3"
    assert r.positions() == (1, 0)  # pull_pos wrapped too
    assert r.pull() is None


def test_value_size_limits():
    r = ring(blocksize=64)
    assert r.push(b"x" * 48)  # blocksize - the 16-byte item header
    assert not r.push(b"x" * 49)
    assert not r.push(b"")  # uWSGI refuses empty values (size 0 means an empty slot)
    assert not r.set(1, b"x" * 49) and not r.set(1, b"")
    assert r.positions() == (1, 0)
    assert r.get(0) == b"x" * 48


def test_get_and_set_by_index():
    r = ring()
    assert r.set(2, b"two")
    assert r.get(2) == b"two"
    assert r.get(1) is None
    assert r.get(4) is None and r.get(-1) is None
    assert not r.set(4, b"x") and not r.set(-1, b"x")
    assert r.positions() == (0, 0)  # set never moves the positions


def test_last_reads_backwards_from_pos_without_removing():
    r = ring()
    assert r.last() is None
    assert r.last(2) == [None, None]
    r.push(b"a")
    r.push(b"b")
    assert r.last() == b"b"
    assert r.last(3) == [b"b", b"a", None]
    assert r.last(10) == [b"b", b"a", None, None]  # at most the queue's size
    assert r.last(-1) == []
    assert r.positions() == (2, 0) and r.get(0) == b"a"


def test_byte_layout_is_uwsgis():
    r = ring(items=2, blocksize=32, now=1234.9)
    r.push(b"hey")
    buf = bytes(r.buf)
    assert struct.unpack_from("=QQ", buf, 0) == (1, 0)  # header: pos, pull_pos
    assert struct.unpack_from("=Qq", buf, 16) == (3, 1234)  # item: size, ts (seconds)
    assert buf[32:35] == b"hey"
    r.pull()
    assert struct.unpack_from("=QQ", bytes(r.buf), 0) == (1, 1)
    assert struct.unpack_from("=Q", bytes(r.buf), 16) == (0,)  # the slot is emptied


def test_repair_brings_a_corrupt_header_back_in_range():
    r = ring()
    struct.pack_into("=QQ", r.buf, 0, 2, 9)
    assert r.repair()
    assert r.positions() == (2, 0)
    assert not r.repair()


def test_a_corrupt_item_size_reads_as_empty():
    r = ring(blocksize=64)
    struct.pack_into("=Q", r.buf, 16, 1 << 40)
    assert r.get(0) is None


@pytest.mark.parametrize("items, blocksize, fragment", [
    (1, 8191, "invalid queue size/blocksize 8191: must be a multiple of memory page size"),
    (3, 1000, "--queue 3 x --queue-blocksize 1000"),
    (4096, 16, "--queue-blocksize 16: a block must be larger than its 16-byte item header"),
    (1 << 20, 1 << 20, "--queue 1048576 x --queue-blocksize 1048576: the queue would take"),
    (0, 8192, "--queue 0"),
])
def test_geometry_is_checked(items, blocksize, fragment):
    with pytest.raises(q.QueueConfigError, match=fragment.replace("(", r"\(")):
        q.check_geometry(items, blocksize, page=4096)


def test_geometry_accepts_a_page_multiple():
    q.check_geometry(1, 4096, page=4096)
    q.check_geometry(8, 512, page=4096)


def test_shared_queue_is_shared_with_a_forked_child():
    queue = q.SharedQueue(2, mmap.PAGESIZE // 2)
    saved, q.current = q.current, queue
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            queue.after_fork()
            os._exit(0 if dict(q.FUNCTIONS)["queue_push"]("from child") else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert dict(q.FUNCTIONS)["queue_pull"]() == b"from child"
    finally:
        q.current = saved
        queue.close()


def test_functions_convert_their_arguments():
    queue = q.SharedQueue(1, mmap.PAGESIZE)
    saved, q.current = q.current, queue
    f = dict(q.FUNCTIONS)
    try:
        assert f["queue_push"]("é") is True  # str: UTF-8, as PyArg "s#"
        assert f["queue_get"](0) == "é".encode()
        assert f["queue_set"](0, b"new") is True
        assert f["queue_set"](1, b"new") is None
        assert f["queue_push"](b"x" * mmap.PAGESIZE) is None
        assert f["queue_slot"]() == 0 and f["queue_pull_slot"]() == 0  # one slot: pos wrapped to 0
        with pytest.raises(TypeError, match="queue_push"):
            f["queue_push"](3)
        with pytest.raises(TypeError, match="queue_get"):
            f["queue_get"]("0")
    finally:
        q.current = saved
        queue.close()


def test_store_file_is_created_then_recovered(tmp_path, caplog):
    caplog.set_level(logging.INFO, "gateway")
    path = str(tmp_path / "q.store")
    first = q.SharedQueue(2, mmap.PAGESIZE, store=path)
    blocksize = first.blocksize
    assert os.path.getsize(path) == 16 + 2 * blocksize
    with first.lock:
        first.ring.push(b"kept")
        first.ring.push(b"too")
        assert first.ring.pull() == b"kept"
    first.close()
    second = q.SharedQueue(2, blocksize, store=path)
    try:
        assert second.ring.positions() == (0, 1)
        assert second.ring.pull() == b"too"
    finally:
        second.close()
    messages = [r.getMessage() for r in caplog.records]
    assert "creating a new queue store file: %s" % path in messages
    assert "recovered queue from backing store file: %s" % path in messages
    assert "*** Queue subsystem initialized: 0MB preallocated ***" in messages


def test_store_file_of_another_size_is_refused(tmp_path):
    path = tmp_path / "q.store"
    path.write_bytes(b"\0" * 100)
    with pytest.raises(q.QueueConfigError, match="invalid queue store file. Please remove it or fix queue "
                                                 "blocksize/items to match its size"):
        q.SharedQueue(1, mmap.PAGESIZE, store=str(path))
    assert path.read_bytes() == b"\0" * 100  # left alone


def test_store_that_is_not_a_regular_file_is_refused(tmp_path):
    with pytest.raises(q.QueueConfigError, match="--queue-store"):
        q.SharedQueue(1, mmap.PAGESIZE, store=str(tmp_path))


def test_a_store_path_that_is_a_symlink_is_refused_and_nothing_is_created(tmp_path):
    from gateway.sharedmem.queue import QueueConfigError, SharedQueue

    victim = tmp_path / "victim.bin"
    link = tmp_path / "qlink"
    link.symlink_to(victim)  # dangling: following it would create the victim
    with pytest.raises(QueueConfigError, match="symlink"):
        SharedQueue(4, 4096, store=str(link))
    assert not victim.exists()


def test_store_sync_is_asynchronous_and_close_writes_everything(tmp_path):
    from gateway.sharedmem.queue import SharedQueue

    store = tmp_path / "q.store"
    q = SharedQueue(4, 4096, store=str(store))
    with q.lock:
        q.ring.push(b"kept")
    q.sync()  # MS_ASYNC: returns at once
    q.close()
    again = SharedQueue(4, 4096, store=str(store))
    try:
        with again.lock:
            assert again.ring.pull() == b"kept"
    finally:
        again.close()


def _value(n: int) -> bytes:
    """Value number ``n``: its number, then a length and a byte that both follow from it."""
    return struct.pack("<Q", n) + bytes([n % 251]) * (100 + n % 3000)


def _whole(value: bytes) -> bool:
    n = struct.unpack_from("<Q", value)[0] if len(value) >= 8 else -1
    return n >= 0 and value == _value(n)


def _queue_churn(sq, seed: int) -> None:
    import random

    rnd = random.Random(seed)
    n = seed * 1_000_000
    while True:
        with sq.lock:
            pos, pull = sq.ring.positions()
            if (pos - pull) % sq.items < sq.items - 2 and rnd.random() < 0.55:
                n += 1
                sq.ring.push(_value(n))
            else:
                sq.ring.pull()


def test_workers_killed_inside_queue_operations_never_break_the_queue():
    # push and pull only, never full: the slots from pull_pos to pos hold whole values and the
    # others are empty, except the two a killed operation may have been between: the one at
    # pos (written, pos not moved yet) and the one before pull_pos (pull_pos moved, not emptied
    # yet), each holding a whole value a later push overwrites
    import random
    import signal
    import time

    sq = q.SharedQueue(16, 4096)
    rnd = random.Random(7)
    try:
        for round_ in range(40):
            pid = os.fork()
            if pid == 0:
                try:
                    sq.after_fork()
                    _queue_churn(sq, round_ + 1)
                finally:
                    os._exit(1)
            time.sleep(rnd.uniform(0.002, 0.03))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            with sq.lock:
                pos, pull = sq.ring.positions()
                assert pos < sq.items and pull < sq.items, "round %d: positions %d, %d" % (round_, pos, pull)
                inside = {(pull + i) % sq.items for i in range((pos - pull) % sq.items)}
                boundary = {pos, (pull - 1) % sq.items} - inside
                for slot in range(sq.items):
                    value = sq.ring.get(slot)
                    where = "round %d: slot %d (pull_pos %d, pos %d)" % (round_, slot, pull, pos)
                    if slot in inside:
                        assert value is not None and _whole(value), where + " should hold a whole value"
                    elif slot in boundary:
                        assert value is None or _whole(value), where + " holds a torn value"
                        sq.ring._clear(slot)  # the next rounds' invariant: a push would overwrite it
                    else:
                        assert value is None, where + " should be empty"
                if inside:  # and the queue goes on: the oldest value comes out, whole
                    assert _whole(sq.ring.pull())
    finally:
        sq.close()
