"""``Engine.wait_parked``: a waiting greenlet holds no core, then takes one back."""

from __future__ import annotations

import asyncio

import loop_engine
from loop_engine import CoreTimeout, Engine, Waiter
from support.gen_test import gen_test


@gen_test(timeout=10)
def test_parked_greenlets_hold_no_core(io_loop):
    engine = Engine(2, io_loop)
    waiters = []
    results = []
    done = asyncio.get_event_loop().create_future()

    def parked(i):
        w = Waiter()
        waiters.append(w)
        before = loop_engine.current_core().id
        assert before >= 0
        value = engine.wait_parked(w)
        core = loop_engine.current_core()
        assert core.id >= 0 and core.greenlet is not None
        results.append((i, value))
        if len(results) == 10:
            done.set_result(None)

    for i in range(10):  # 10 parked greenlets on 2 cores
        engine.submit(parked, i)
    yield asyncio.sleep(0.05)
    assert engine.parked == 10
    assert engine.free_cores == 2 and engine.accepting and engine.queued == 0

    # Plain work still runs on the free cores while 10 greenlets are parked.
    ran = []
    engine.submit(lambda: ran.append(loop_engine.current_core().id))
    yield asyncio.sleep(0.01)
    assert len(ran) == 1

    for i, w in enumerate(waiters):
        w.fire(i * 10)
    yield done
    assert sorted(results) == [(i, i * 10) for i in range(10)]
    yield asyncio.sleep(0.01)
    assert engine.parked == 0 and engine.free_cores == 2


@gen_test(timeout=10)
def test_unparking_waits_for_a_free_core_fifo(io_loop):
    engine = Engine(1, io_loop)
    order = []
    gate = {}
    w_parked = []

    def parked():
        w = Waiter()
        w_parked.append(w)
        engine.wait_parked(w)
        order.append("parked resumed")

    def busy():
        w = Waiter()
        gate["busy"] = w
        order.append("busy started")
        w.wait()
        order.append("busy done")

    engine.submit(parked)
    yield asyncio.sleep(0.01)
    assert engine.free_cores == 1
    engine.submit(busy)  # takes the only core
    yield asyncio.sleep(0.01)
    w_parked[0].fire()  # wants a core back: none free, queued
    yield asyncio.sleep(0.01)
    assert order == ["busy started"] and engine.queued == 1 and not engine.accepting
    gate["busy"].fire()
    yield asyncio.sleep(0.05)
    assert order == ["busy started", "busy done", "parked resumed"]
    assert engine.free_cores == 1 and engine.accepting


@gen_test(timeout=10)
def test_parked_timeout_and_exception_take_the_core_back(io_loop):
    engine = Engine(1, io_loop)
    out = asyncio.get_event_loop().create_future()

    def body():
        try:
            engine.wait_parked(Waiter(), timeout=0.02)
        except CoreTimeout:
            pass
        held = loop_engine.current_core().id
        w = Waiter()
        io_loop.call_later(0.01, w.throw, KeyError("x"))
        try:
            engine.wait_parked(w)
        except KeyError:
            pass
        out.set_result((held, loop_engine.current_core().id, engine.parked))

    engine.submit(body)
    held, after, parked = yield out
    assert held == 0 and after == 0 and parked == 0
    yield asyncio.sleep(0.01)
    assert engine.free_cores == 1


@gen_test(timeout=10)
def test_park_hook_sees_release_and_reacquire(io_loop):
    engine = Engine(1, io_loop)
    calls = []
    engine.park_hook = lambda core, parking: calls.append((core.id, parking, core.greenlet is not None))
    w_box = []
    done = asyncio.get_event_loop().create_future()

    def body():
        w = Waiter()
        w_box.append(w)
        engine.wait_parked(w)
        done.set_result(None)

    engine.submit(body)
    yield asyncio.sleep(0.01)
    assert calls == [(0, True, True)]  # before the core is given back: still bound
    w_box[0].fire()
    yield done
    assert calls == [(0, True, True), (0, False, True)]
