"""Async cores under HTTP load: suspension, interleaving, exhaustion and accept pausing."""

from __future__ import annotations

import threading
import time

import greenlet
from tornado.ioloop import IOLoop

import loop_engine
from support.httpclient import request
from support.threadserver import ThreadServer


def parked_app(environ, start_response):
    """Suspend this core for 0.3 s with the seed's hand-written pattern."""
    me = greenlet.getcurrent()
    IOLoop.current().call_later(0.3, me.switch)
    me.parent.switch()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"core %d" % environ["uwsgi.core"]]


def _concurrent(port, n, path="/"):
    results = [None] * n
    errors = []

    def one(i):
        try:
            results[i] = request(port, path, timeout=10)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return results, errors


def test_n_plus_5_suspended_requests_on_n_cores_are_all_served(gateway_errors):
    n = 10
    with ThreadServer(parked_app, cores=n) as srv:
        t0 = time.time()
        results, errors = _concurrent(srv.port, n + 5)
        elapsed = time.time() - t0
        assert not errors
        assert all(r is not None and r.status == 200 for r in results)
        # Two waves of 0.3 s: the 5 extra requests waited for a free core, none was dropped.
        assert 0.55 < elapsed < 3.0
        assert srv.call(lambda: srv.engine.free_cores) == n
        assert srv.call(lambda: srv.engine.accepting)
    busy = [r for r in gateway_errors.records if "async cores are busy" in r.getMessage()]
    assert len(busy) == 1, "expected one log line for the exhaustion episode, got %d" % len(busy)


def test_generators_interleave_with_other_cores():
    """After each chunk schedule_fix yields to the loop: two streams alternate."""
    order = []
    started = []
    gate = {}

    def app(environ, start_response):
        name = environ["PATH_INFO"][1:]
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            started.append(name)
            # Start both streams in the same loop iteration so the ordering means something.
            if len(started) == 1:
                gate["go"] = IOLoop.current().asyncio_loop.create_future()
                loop_engine.wait(gate["go"])
            else:
                gate["go"].set_result(None)
            for i in range(4):
                order.append("%s%d" % (name, i))
                yield b"%s%d " % (name.encode(), i)

        return gen()

    with ThreadServer(app, cores=2) as srv:
        results, errors = _concurrent_paths(srv.port, ["/a", "/b"])
        assert not errors
        assert sorted(r.body for r in results) == [b"a0 a1 a2 a3 ", b"b0 b1 b2 b3 "]
    # Strict alternation after both started: never two chunks of one stream in a row.
    pairs = list(zip(order, order[1:]))
    assert all(x[0] != y[0] for x, y in pairs), order


def _concurrent_paths(port, paths):
    results = [None] * len(paths)
    errors = []

    def one(i):
        try:
            results[i] = request(port, paths[i], timeout=10)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return results, errors


def test_wait_helper_from_plain_wsgi_code():
    """loop_engine.wait(): plain WSGI code awaits a Tornado future without callbacks."""
    from tornado.httpclient import AsyncHTTPClient

    def backend(environ, start_response):
        loop_engine.sleep(0.05)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"backend says hi"]

    with ThreadServer(backend) as back:

        def front(environ, start_response):
            resp = loop_engine.wait(AsyncHTTPClient().fetch("http://127.0.0.1:%d/" % back.port), timeout=5)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"front got: " + resp.body]

        with ThreadServer(front, cores=4) as srv:
            results, errors = _concurrent(srv.port, 4)
            assert not errors
            assert all(r.body == b"front got: backend says hi" for r in results)


def test_blocking_call_blocks_the_whole_worker():
    """What the README warns about: time.sleep in one core stalls every core."""

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/block":
            time.sleep(0.5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with ThreadServer(app, cores=4) as srv:
        t = threading.Thread(target=request, args=(srv.port, "/block"))
        t.start()
        time.sleep(0.1)
        t0 = time.time()
        request(srv.port, "/fast")
        assert time.time() - t0 > 0.3
        t.join(5)


def test_access_log_line_in_uwsgi_format(gateway_errors):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"abc"]

    with ThreadServer(app, cores=3, log_requests=True) as srv:
        request(srv.port, "/some/path?x=1")
    lines = [r.getMessage() for r in gateway_errors.records if r.name == "gateway.access"]
    assert len(lines) == 1
    import re

    assert re.match(
        r"\[pid: \d+\|app: 0\|req: 1/1\] 127\.0\.0\.1 \(\) \{\d+ vars in \d+ bytes\} \[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] "
        r"GET /some/path\?x=1 => generated 3 bytes in \d+ msecs \(HTTP/1\.1 200\) 1 headers in \d+ bytes \(2 switches on core 2\)$",
        lines[0],
    ), lines[0]


def test_no_access_log_when_disabled(gateway_errors):
    with ThreadServer(parked_app, log_requests=False) as srv:
        request(srv.port)
    assert not [r for r in gateway_errors.records if r.name == "gateway.access"]
