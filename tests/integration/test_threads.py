"""``--threads M``: blocking apps run in M OS threads per worker while the loop does the I/O."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from server import run_server
from support.httpclient import Conn, request

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/blocking.py"]


def concurrently(port: int, paths):
    results = [None] * len(paths)

    def one(i, path):
        try:
            results[i] = request(port, path, timeout=15)
        except Exception as e:  # reported by the assertion below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i, p)) for i, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return results


def test_blocking_requests_run_at_the_same_time_in_threads():
    with run_server(APP + ["--threads", "3"]) as srv:
        results = concurrently(srv.port, ["/barrier"] * 3)
        assert [getattr(r, "body", r) for r in results] == [b"met"] * 3
        # and a request still gets served while threads block
        r = request(srv.port, "/")
        assert r.body.startswith(b"wsgi_") and r.body.endswith(b"True"), r.body  # wsgi.multithread


def test_threads_with_a_master_and_several_workers():
    with run_server(APP + ["--master", "--processes", "2", "--threads", "3"]) as srv:
        results = concurrently(srv.port, ["/sleep?0.2"] * 6 + ["/", "/gen?2"] * 3)
        assert all(getattr(r, "status", None) == 200 for r in results), results
        names = {request(srv.port, "/").body.split()[0] for _ in range(6)}
        assert all(n.startswith(b"wsgi_") for n in names)


def test_body_streaming_write_errors_and_close_through_the_thread():
    with run_server(APP + ["--threads", "2"]) as srv:
        srv.expect_traceback("boom in a thread")
        r = request(srv.port, "/echo", method="POST", body=b"line1\nthe rest")
        assert r.body == b"line1\nthe rest"
        r = request(srv.port, "/gen?3")
        assert r.body == b"chunk0\nchunk1\nchunk2\n"
        assert request(srv.port, "/closed").body == b"1"  # close() called once, in the thread
        # many chunks in bursts (several ride on one wake-up of the core): all, in order
        r = request(srv.port, "/gen?3000")
        assert r.body == b"".join(b"chunk%d\n" % i for i in range(3000))
        assert request(srv.port, "/write").body == b"written returned"
        r = request(srv.port, "/error")
        assert r.status == 500
        with Conn(srv.port) as c:  # keep-alive across thread handoffs
            for _ in range(3):
                c.send(b"GET /gen?2 HTTP/1.1\r\nHost: x\r\n\r\n")
                assert c.read_response("GET").body == b"chunk0\nchunk1\n"
        assert "RuntimeError: boom in a thread" in srv.output()


def test_tornado_cores_share_the_threads():
    with run_server(APP + ["--tornado", "6", "--greenlet", "--threads", "3"]) as srv:
        results = concurrently(srv.port, ["/barrier"] * 3 + ["/"] * 3)
        assert all(getattr(r, "status", None) == 200 for r in results), results


def test_a_graceful_stop_answers_the_requests_queued_for_a_core():
    """SIGTERM while requests wait for a thread: they are in flight (their connections were
    accepted, their requests read), so they are answered, and the worker exits as soon as
    they are, not when its mercy runs out."""
    with run_server(APP + ["--threads", "2", "--worker-reload-mercy", "30"]) as srv:
        conns = [Conn(srv.port, timeout=10) for _ in range(5)]
        try:
            for c in conns:  # every connection accepted and idle (keep-alive) first
                c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert c.read_response().status == 200
            for c in conns:  # 2 run in the threads, 3 wait in the engine's queue
                c.send(b"GET /sleep?0.4 HTTP/1.1\r\nHost: x\r\n\r\n")
            srv.wait_for_line("all 2 async cores are busy")
            os.kill(srv.pid, signal.SIGTERM)
            started = time.monotonic()
            assert [c.read_response().status for c in conns] == [200] * 5
            srv.proc.wait(10)
            assert time.monotonic() - started < 5, srv.output()
        finally:
            for c in conns:
                c.close()


def test_a_finished_iterable_and_a_streaming_one_both_arrive_whole():
    """An iterable the thread has fully sent before its core wakes goes to the runner as a
    list; one still streaming is relayed chunk by chunk: same bytes either way."""
    with run_server(APP + ["--threads", "2"]) as srv:
        assert request(srv.port, "/gen?1").body == b"chunk0\n"
        assert request(srv.port, "/gen?5").body == b"".join(b"chunk%d\n" % i for i in range(5))
        big = request(srv.port, "/gen?40000")  # > MAX_INFLIGHT: the thread waits, relay path
        assert big.body == b"".join(b"chunk%d\n" % i for i in range(40000))
