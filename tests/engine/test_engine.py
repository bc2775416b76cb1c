"""The loop engine on its own (tests written as coroutines: tests/support/gen_test.py): cores, waits, the seed's patterns, schedule_fix."""

from __future__ import annotations

import asyncio
import functools
import time

import greenlet
import pytest
import tornado.web
from tornado.httpclient import AsyncHTTPClient
from tornado.ioloop import IOLoop
from tornado.testing import bind_unused_port

import loop_engine
from loop_engine import CoreTimeout, Engine, NotInCore
from support.gen_test import gen_test


def run_in_core(engine: Engine, func, *args) -> asyncio.Future:
    """Submit ``func`` to a core; the returned future gets its result or exception."""
    fut = asyncio.get_event_loop().create_future()

    def body():
        try:
            fut.set_result(func(*args))
        except BaseException as e:
            fut.set_exception(e)

    engine.submit(body)
    return fut


@gen_test(timeout=10)
def test_wait_returns_results_raises_errors_and_times_out(io_loop):
    engine = Engine(4, io_loop)

    async def coro(v):
        await asyncio.sleep(0.01)
        return v * 2

    async def failing():
        await asyncio.sleep(0.01)
        raise KeyError("nope")

    def body():
        out = [loop_engine.wait(coro(21))]
        fut = asyncio.get_event_loop().create_future()
        io_loop.call_later(0.01, fut.set_result, "tornado-future")
        out.append(loop_engine.wait(fut))
        try:
            loop_engine.wait(failing())
        except KeyError as e:
            out.append(("raised", e.args[0]))
        t0 = time.monotonic()
        try:
            loop_engine.wait(asyncio.sleep(5), timeout=0.05)
        except CoreTimeout:
            out.append(("timeout", round(time.monotonic() - t0, 1)))
        return out

    result = yield run_in_core(engine, body)
    assert result[3][0] == "timeout" and 0.0 <= result[3][1] <= 0.5
    assert result[:3] == [42, "tornado-future", ("raised", "nope")]
    assert engine.free_cores == 4


def test_suspending_outside_a_core_is_a_clear_error():
    with pytest.raises(NotInCore):
        loop_engine.wait(asyncio.sleep(0))
    with pytest.raises(NotInCore):
        loop_engine.sleep(0.1)


@gen_test(timeout=10)
def test_seed_pattern_asynchttpclient_with_add_future(io_loop):
    """The seed's Tornado-6 form: fetch() future + add_future(me.switch) + me.parent.switch()."""

    class Handler(tornado.web.RequestHandler):
        async def get(self):
            await asyncio.sleep(0.05)
            self.write("from tornado")

    sock, port = bind_unused_port()
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/", Handler)]))
    server.add_sockets([sock])
    engine = Engine(10, io_loop)

    def app_code():
        me = greenlet.getcurrent()
        fut = AsyncHTTPClient().fetch("http://127.0.0.1:%d/" % port)
        IOLoop.current().add_future(fut, lambda f: me.switch())
        me.parent.switch()
        return fut.result().body

    results = yield [run_in_core(engine, app_code) for _ in range(5)]
    assert results == [b"from tornado"] * 5
    server.stop()


@gen_test(timeout=10)
def test_seed_pattern_chained_timer(io_loop):
    """``io_loop.add_timeout(time.time() + 10, functools.partial(sleeper, me))``, scaled to 0.1 s."""
    engine = Engine(2, io_loop)
    trail = []

    def sleeper(me):
        trail.append("timer fired")
        me.switch()

    def app_code():
        me = greenlet.getcurrent()
        t0 = time.time()
        IOLoop.current().add_timeout(time.time() + 0.1, functools.partial(sleeper, me))
        me.parent.switch()
        trail.append("resumed")
        return time.time() - t0

    elapsed = yield run_in_core(engine, app_code)
    assert trail == ["timer fired", "resumed"]
    assert 0.09 <= elapsed < 1.0


@gen_test(timeout=10)
def test_cores_are_lifo_and_work_queues_when_all_are_busy(io_loop):
    engine = Engine(3, io_loop)
    seen = []

    def job(i):
        seen.append((i, loop_engine.current_core().id))
        loop_engine.sleep(0.05)
        return i

    futs = [run_in_core(engine, job, i) for i in range(5)]
    assert engine.free_cores == 0 and engine.queued == 2
    results = yield futs
    assert results == [0, 1, 2, 3, 4]
    assert [c for _, c in seen[:3]] == [2, 1, 0]  # core N-1 first, as in uWSGI
    assert engine.free_cores == 3 and engine.queued == 0
    assert engine.total_requests == 5


@gen_test(timeout=10)
def test_schedule_fix_is_replaceable(io_loop):
    engine = Engine(2, io_loop)
    calls = []

    def my_fix(core):
        calls.append(core.id)
        loop_engine.schedule()

    engine.schedule_fix = my_fix

    def job():
        core = loop_engine.current_core()
        for _ in range(3):
            engine.schedule_fix(core)
        return len(calls)

    n = yield run_in_core(engine, job)
    assert n == 3 and calls == [1, 1, 1]


@gen_test(timeout=10)
def test_stray_switch_into_a_waiting_core_does_not_wake_it(io_loop):
    engine = Engine(1, io_loop)

    def job():
        me = greenlet.getcurrent()
        io_loop.call_later(0.01, me.switch)  # a leftover callback, not ours
        t0 = time.monotonic()
        loop_engine.sleep(0.1)
        return time.monotonic() - t0

    elapsed = yield run_in_core(engine, job)
    assert elapsed >= 0.09


@gen_test(timeout=10)
def test_suspend_runs_a_registered_wait_or_yields_once(io_loop):
    engine = Engine(2, io_loop)
    order = []

    def sleeper():
        core = loop_engine.current_core()
        core.pending = lambda: loop_engine.sleep(0.05)
        t0 = time.monotonic()
        loop_engine.suspend()
        order.append("sleeper")
        return time.monotonic() - t0

    def yielder():
        loop_engine.suspend()  # nothing registered: one loop iteration, never a hang
        order.append("yielder")

    f1 = run_in_core(engine, sleeper)
    f2 = run_in_core(engine, yielder)
    elapsed, _ = yield [f1, f2]
    assert elapsed >= 0.045
    assert order == ["yielder", "sleeper"]


@gen_test(timeout=10)
def test_wait_fd_read_resumes_on_data_and_times_out(io_loop):
    import socket

    engine = Engine(1, io_loop)
    a, b = socket.socketpair()
    a.setblocking(False)

    def job():
        try:
            loop_engine.wait_fd_read(a, timeout=0.05)
            first = "ready"
        except CoreTimeout:
            first = "timeout"
        io_loop.call_later(0.02, b.send, b"x")
        loop_engine.wait_fd_read(a, timeout=2)
        return first, a.recv(10)

    result = yield run_in_core(engine, job)
    assert result == ("timeout", b"x")
    a.close()
    b.close()


@gen_test(timeout=10)
def test_set_schedule_fix_reaches_existing_and_future_engines(io_loop):
    calls = []
    existing = Engine(1, io_loop)
    try:
        loop_engine.set_schedule_fix(lambda core: calls.append(core.id))
        later = Engine(1, io_loop)
        assert existing.schedule_fix is later.schedule_fix
        yield run_in_core(later, lambda: later.schedule_fix(loop_engine.current_core()))
        assert calls == [0]
    finally:
        loop_engine.set_schedule_fix(None)
    assert Engine(1, io_loop).schedule_fix is loop_engine.default_schedule_fix


@gen_test(timeout=10)
def test_accept_backs_off_when_out_of_fds_then_recovers(io_loop, caplog):
    """EMFILE on accept: stop polling the listener for 10 ms (doubling), never spin, then go on."""
    import errno
    import socket

    class FlakySocket(socket.socket):
        failures = 2
        calls = 0

        def accept(self):
            FlakySocket.calls += 1
            if FlakySocket.failures:
                FlakySocket.failures -= 1
                raise OSError(errno.EMFILE, "Too many open files")
            return super().accept()

    lsock = FlakySocket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    engine = Engine(2, io_loop)
    accepted = []
    engine.add_listener(lsock, lambda conn, addr: accepted.append(conn))
    client = socket.create_connection(lsock.getsockname())
    deadline = time.monotonic() + 3
    while not accepted and time.monotonic() < deadline:
        yield asyncio.sleep(0.01)
    assert len(accepted) == 1
    assert FlakySocket.calls <= 6, "accept() was retried in a tight loop"
    assert any("accept() failed" in r.getMessage() for r in caplog.records)
    for s in accepted + [client, lsock]:
        s.close()


@gen_test(timeout=10)
def test_greenlets_are_reused_only_after_waiter_only_requests(io_loop, expect_log):
    """A request that suspended only through Waiter waits (or not at all) hands its greenlet
    to the next request; one that suspended by hand (the seed's ``me.parent.switch()``) or
    ended in an exception ends its greenlet, as uWSGI's fresh greenlet per request would."""
    engine = Engine(1, io_loop)

    def who():
        return greenlet.getcurrent()

    def sleeper():
        loop_engine.sleep(0.01)  # a Waiter wait
        return greenlet.getcurrent()

    def by_hand():
        me = greenlet.getcurrent()
        io_loop.add_callback(lambda: me.switch())
        me.parent.switch()
        return me

    first = yield run_in_core(engine, who)
    assert (yield run_in_core(engine, who)) is first
    assert (yield run_in_core(engine, sleeper)) is first
    assert (yield run_in_core(engine, who)) is first
    assert (yield run_in_core(engine, by_hand)) is first  # it ran there, then was retired
    after = yield run_in_core(engine, who)
    assert after is not first and first.dead

    failed = asyncio.get_event_loop().create_future()

    def raises():
        failed.set_result(greenlet.getcurrent())
        raise KeyError("boom")

    with expect_log("loop_engine", "KeyError: 'boom'"):
        engine.submit(raises)
        g = yield failed
        yield asyncio.sleep(0)
    assert (yield run_in_core(engine, who)) is not g


@gen_test(timeout=10)
def test_a_stray_switch_never_reaches_a_later_request(io_loop):
    """The seed pattern left a wake-up behind (two callbacks for one wait): it fires after
    the request is over, and must not resume the next request, which waits on a Waiter,
    nor disturb an idle greenlet."""
    engine = Engine(1, io_loop)
    stray = []

    def leaves_a_stray_switch():
        me = greenlet.getcurrent()
        io_loop.add_callback(lambda: me.switch())
        stray.append(me.switch)  # a second wake-up for the same wait, fired later
        me.parent.switch()
        return "first"

    def waits():
        fut = asyncio.get_event_loop().create_future()
        io_loop.call_later(0.05, fut.set_result, "waited")
        return loop_engine.wait(fut)

    assert (yield run_in_core(engine, leaves_a_stray_switch)) == "first"
    second = run_in_core(engine, waits)
    yield asyncio.sleep(0.01)
    stray[0]()  # lands on the first request's dead greenlet: a no-op
    assert (yield second) == "waited"

    def idle_then_stray():
        g = greenlet.getcurrent()
        return g

    g = yield run_in_core(engine, idle_then_stray)  # waiter-only: g is now idle and reusable
    g.switch()  # a stray switch into the idle greenlet: it stays idle
    assert (yield run_in_core(engine, idle_then_stray)) is g
    assert engine.free_cores == 1


@gen_test(timeout=10)
def test_at_most_idle_greenlets_wait_for_reuse(io_loop):
    """A burst of suspended requests on many cores leaves IDLE_GREENLETS greenlets behind, not one
    per request."""
    from loop_engine.engine import IDLE_GREENLETS

    engine = Engine(IDLE_GREENLETS + 36, io_loop)
    done = yield [run_in_core(engine, loop_engine.sleep, 0.02) for _ in range(IDLE_GREENLETS + 36)]
    assert len(done) == IDLE_GREENLETS + 36 and engine.free_cores == IDLE_GREENLETS + 36
    assert len(engine._idle) == IDLE_GREENLETS


def test_a_listener_accepts_at_most_its_batch_per_readiness(io_loop):
    """``batch=1`` (several workers on one socket): one connection per event, the rest stay in the
    backlog for the next event, or for another process."""
    import socket as socketlib

    engine = Engine(4, io_loop)
    lsock = socketlib.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    accepted = []
    remove = engine.add_listener(lsock, lambda conn, addr: accepted.append(conn), batch=1)
    clients = [socketlib.create_connection(lsock.getsockname()) for _ in range(3)]
    try:
        lst = engine._listeners[0]
        engine._accept(lst)
        assert len(accepted) == 1
        engine._accept(lst)
        engine._accept(lst)
        assert len(accepted) == 3
    finally:
        remove()
        for s in clients + accepted + [lsock]:
            s.close()


def test_hold_accepting_stops_every_listener_until_released(io_loop):
    """``hold_accepting(True)`` (a suspended worker): no listener accepts though cores are free,
    a listener added meanwhile stays off, and releasing turns them all back on."""
    import socket as socketlib

    engine = Engine(2, io_loop)
    lsock = socketlib.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    accepted = []
    engine.add_listener(lsock, lambda conn, addr: accepted.append(conn))
    lst = engine._listeners[0]
    client = socketlib.create_connection(lsock.getsockname())
    try:
        assert lst.active and engine.accepting
        engine.hold_accepting(True)
        assert not lst.active and not engine.accepting
        engine._accept(lst)  # a readiness event already queued does nothing either
        assert accepted == []
        calls = []
        engine.add_accept_toggle(calls.append)
        assert calls == []
        engine.hold_accepting(False)
        assert lst.active and engine.accepting and calls == [True]
        engine._accept(lst)
        assert len(accepted) == 1
    finally:
        for s in accepted + [client, lsock]:
            s.close()


def test_each_hold_reason_holds_until_it_is_released(io_loop):
    """A suspended worker whose connection budget is also full accepts again only when
    both reasons are gone, whatever order they go in."""
    import socket as socketlib

    engine = Engine(1, io_loop)
    lsock = socketlib.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    try:
        engine.add_listener(lsock, lambda conn, addr: conn.close())
        lst = engine._listeners[0]
        engine.hold_accepting(True, "suspend")
        engine.hold_accepting(True, "max-connections")
        engine.hold_accepting(False, "suspend")
        assert not lst.active and not engine.accepting
        engine.hold_accepting(False, "suspend")  # twice: still held by the other reason
        assert not lst.active
        engine.hold_accepting(False, "max-connections")
        assert lst.active and engine.accepting
    finally:
        lsock.close()
