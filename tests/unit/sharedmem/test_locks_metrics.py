"""User locks (cores of one process queue in-process, other processes through the
record lock; a dead holder's lock is released), metrics, and their uwsgi API shapes."""

from __future__ import annotations

import asyncio
import os
import signal
import struct
import time

import pytest

import loop_engine
from gateway.sharedmem.cache import CacheSpec, SharedCache
from gateway.sharedmem.locks import UserLocks
from gateway.sharedmem.metrics import ABSOLUTE, COUNTER, GAUGE, MetricConfigError, Metrics, MetricSpec
from loop_engine import Engine
from support.gen_test import gen_test


def _child_holds(locks: UserLocks, n: int, seconds: float, die: bool = False) -> int:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        locks.after_fork()
        locks.get(n).acquire()
        os.write(w, b"x")
        if die:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(seconds)
        locks.get(n).release()
        os._exit(0)
    os.read(r, 1)
    os.close(r)
    os.close(w)
    return pid


@gen_test(timeout=20)
def test_cores_contending_with_each_other_and_another_process_count_exactly(io_loop):
    locks = UserLocks(2)
    cache = SharedCache(CacheSpec.parse("name=c,items=8,blocksize=16"), 2)
    engine = Engine(10, io_loop)
    pid = _child_holds(locks, 1, 0.3)  # another process holds lock 1 for a while
    ticks = []
    periodic = asyncio.get_event_loop().call_later

    def tick():
        ticks.append(time.monotonic())
        periodic(0.02, tick)

    tick()
    done = asyncio.get_event_loop().create_future()
    finished = []

    def body():
        lk = locks.get(1)
        lk.acquire()
        try:
            n = cache.num(b"counter")
            loop_engine.sleep(0.002)  # suspend inside the critical section: invites races
            cache.update(b"counter", struct.pack("<q", n + 1))
        finally:
            lk.release()
        finished.append(1)
        if len(finished) == 40 and not done.done():
            done.set_result(None)

    t0 = time.monotonic()
    for _ in range(40):
        engine.submit(body)
    yield done
    os.waitpid(pid, 0)
    assert cache.num(b"counter") == 40
    assert time.monotonic() - t0 >= 0.25  # they really waited for the other process
    # the loop kept running while cores waited (a timer every 20 ms)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.2, gaps
    assert not locks.get(1).locked()


def test_a_dead_holder_releases_the_lock():
    locks = UserLocks(0)
    pid = _child_holds(locks, 0, 0, die=True)
    os.waitpid(pid, 0)
    t0 = time.monotonic()
    locks.get(0).acquire()
    assert time.monotonic() - t0 < 1
    assert locks.get(0).locked()
    locks.get(0).release()
    locks.get(0).release()  # unlocking a free lock is a no-op, as in uWSGI
    assert not locks.get(0).locked()


def test_lock_numbers_and_is_locked_from_another_process():
    locks = UserLocks(1)
    with pytest.raises(ValueError, match="Invalid lock number"):
        locks.get(2)
    with pytest.raises(ValueError, match="Invalid lock number"):
        locks.get(-1)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        locks.after_fork()
        locks.get(1).acquire()
        os.write(w, b"x")
        time.sleep(5)
        os._exit(0)
    os.read(r, 1)
    try:
        assert locks.get(1).locked() and locks.get(1).holder() == pid
        assert not locks.get(0).locked()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert locks.get(1).holder() == 0


@gen_test(timeout=10)
def test_waiting_outside_a_core_for_a_lock_a_core_holds_raises(io_loop):
    locks = UserLocks(0)
    engine = Engine(2, io_loop)
    held = asyncio.get_event_loop().create_future()
    release = asyncio.get_event_loop().create_future()

    def body():
        locks.get(0).acquire()
        held.set_result(None)
        loop_engine.wait(release)
        locks.get(0).release()

    engine.submit(body)
    yield held
    with pytest.raises(RuntimeError, match="deadlock"):
        locks.get(0).acquire()
    release.set_result(None)
    yield asyncio.sleep(0.01)
    assert not locks.get(0).locked()


def test_metrics_ops_types_and_shared_across_fork(tmp_path):
    specs = [MetricSpec.parse("name=hits"), MetricSpec.parse("name=temp,type=gauge,initial_value=7"),
             MetricSpec.parse("name=abs,type=absolute,oid=1.2.3")]
    m = Metrics(specs, str(tmp_path / "mdir"))
    assert [s.type for s in specs] == [COUNTER, GAUGE, ABSOLUTE]
    assert m.get("temp") == 7 and m.get("nope") == 0
    assert m.op("hits", "inc", 1) and m.op("nope", "inc", 1) is False
    assert m.op("temp", "div", 0) is False
    assert m.op("temp", "mul", 3) and m.op("temp", "div", 2) and m.get("temp") == 10
    pid = os.fork()
    if pid == 0:
        m.after_fork()
        m.op("hits", "inc", 41)
        os._exit(0)
    os.waitpid(pid, 0)
    assert m.get("hits") == 42
    assert m.stats() == {"hits": {"type": 0, "oid": "", "value": 42},
                         "temp": {"type": 1, "oid": "", "value": 10},
                         "abs": {"type": 2, "oid": "1.2.3", "value": 0}}
    m.write_dir()
    assert (tmp_path / "mdir" / "hits").read_text() == "42\n"
    with pytest.raises(MetricConfigError):
        MetricSpec.parse("name=x,type=histogram")
    with pytest.raises(MetricConfigError):
        MetricSpec.parse("type=gauge")
