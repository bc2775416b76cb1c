"""A Waiter fired from another OS thread completes on the loop (``--threads``, thread pools)."""

from __future__ import annotations

import asyncio
import threading

import loop_engine
from loop_engine import Engine, Waiter
from support.gen_test import gen_test


@gen_test(timeout=10)
def test_waiters_fired_from_other_threads_resume_their_cores_on_the_loop(io_loop):
    engine = Engine(20, io_loop)
    loop_thread = threading.get_ident()
    results = []
    done = asyncio.get_event_loop().create_future()

    def core_work(i):
        w = Waiter()
        threading.Thread(target=w.fire, args=(i,)).start()
        value = w.wait(5)
        # resumed in its own core, on the loop's thread
        assert threading.get_ident() == loop_thread and loop_engine.current_core() is not None
        results.append(value)
        if len(results) == 20:
            done.set_result(None)

    for i in range(20):
        engine.submit(core_work, i)
    yield done
    assert sorted(results) == list(range(20))


@gen_test(timeout=10)
def test_throw_from_another_thread(io_loop):
    engine = Engine(1, io_loop)
    done = asyncio.get_event_loop().create_future()

    def core_work():
        w = Waiter()
        threading.Thread(target=w.throw, args=(KeyError("from a thread"),)).start()
        try:
            w.wait(5)
        except KeyError as e:
            done.set_result(str(e))

    engine.submit(core_work)
    assert (yield done) == "'from a thread'"
