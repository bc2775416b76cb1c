"""Hostile and odd HTTP requests over raw sockets (issue 9, HTTP items): every bound answered, nothing misread.

Each test sends exact bytes to a real server on 127.0.0.1:0 (``ThreadServer``) and checks both what the client
gets and what the app saw.
"""

from __future__ import annotations

import gc
import time
import weakref

import pytest

from gateway.process import heap_trim
from gateway.protocol import uwsgi as uwsgi_wire
from gateway.server.uwsgi import UwsgiServer
from gateway.server.wsgi_input import BodyDeadline
from support.httpclient import Conn, request
from support.threadserver import ThreadServer


def _environ_app(seen: dict):
    def app(environ, start_response):
        seen.clear()
        seen.update((k, v) for k, v in environ.items() if isinstance(v, str))
        body = environ["wsgi.input"].read()
        seen["body"] = body
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


@pytest.fixture
def env_server():
    seen: dict = {}
    with ThreadServer(_environ_app(seen)) as srv:
        srv.seen = seen
        yield srv


def _one(srv, raw: bytes):
    with Conn(srv.port) as c:
        c.send(raw)
        return c.read_response()


def test_raw_utf8_and_a_percent_escape_decode_once(env_server):
    """9.3: the wire bytes of /à%20k reach PATH_INFO as latin-1 with only %20 decoded (PEP 3333)."""
    r = _one(env_server, b"GET /\xc3\xa0%20k HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 200
    assert env_server.seen["PATH_INFO"] == "/\xc3\xa0 k"
    assert env_server.seen["PATH_INFO"].encode("latin-1").decode("utf-8") == "/\u00e0 k"
    assert env_server.seen["REQUEST_URI"] == "/\xc3\xa0%20k"


@pytest.mark.parametrize("fields", [b"Content-Length: 5, 5\r\n", b"Content-Length: 5\r\nContent-Length: 5\r\n",
                                    b"Content-Length: 5 ,5\r\nContent-Length: 5\r\n"])
def test_identical_content_lengths_reach_the_app_as_one_number(env_server, fields):
    """9.4: RFC 9110 §8.6 lets identical values merge; the app must see CONTENT_LENGTH='5', not '5, 5'."""
    r = _one(env_server, b"POST / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\nhello")
    assert r.status == 200
    assert env_server.seen["CONTENT_LENGTH"] == "5" and env_server.seen["body"] == b"hello"


@pytest.mark.parametrize("raw, what", [
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\n"
     b"Content-Length: 2\r\n\r\n{}", "more than one Content-Type"),
    (b"PUT s://]ufd/: HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "without a valid authority"),
    (b"GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n", "without a valid authority"),
])
def test_ambiguous_heads_are_refused_with_400(env_server, raw, what, gateway_errors):
    """9.5: a second Content-Type, a malformed authority (any scheme), an unterminated IPv6 literal."""
    with Conn(env_server.port) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status == 400 and r.header("Connection") == "close"
        assert c.at_eof()
    assert not env_server.seen  # the app never ran
    assert any(what in rec.getMessage() for rec in gateway_errors.records)
    assert request(env_server.port).status == 200


def test_a_valid_ipv6_absolute_form_target_is_served(env_server):
    r = _one(env_server, b"GET http://[::1]:8080/p?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 200
    assert env_server.seen["PATH_INFO"] == "/p" and env_server.seen["HTTP_HOST"] == "x"


@pytest.mark.parametrize("target, path, query", [
    (b"/p?q=1#frag", "/p", "q=1"),
    (b"/p#frag?not=query", "/p", ""),
    (b"/a%20b#", "/a b", ""),
    (b"http://h/p?q#f", "/p", "q"),
])
def test_a_fragment_never_reaches_path_info_or_query_string(env_server, target, path, query):
    """9.6: RFC 9112 has no '#' in a request target; we cut the fragment (as nginx), REQUEST_URI keeps it."""
    r = _one(env_server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 200
    assert (env_server.seen["PATH_INFO"], env_server.seen["QUERY_STRING"]) == (path, query)
    assert env_server.seen["REQUEST_URI"] == target.decode("latin-1")


# -- 9.1: a request body has a deadline, not only a per-read timeout -----------------------------------------------


def _read_all_app(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def test_a_trickling_body_is_cut_with_408_at_its_deadline_and_frees_the_core(gateway_errors):
    """9.1: one byte every 0.1 s never trips the 5 s per-read timeout, but the body deadline (1 s + 1 s per
    1000 bytes) cuts it: 408, the connection closes, and the core serves the next request."""
    with ThreadServer(_read_all_app, cores=1, socket_timeout=5, body_timeout=1, body_min_rate=1000) as srv:
        with Conn(srv.port) as c:
            c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
            t0 = time.monotonic()
            cut = None
            while time.monotonic() - t0 < 4:
                try:
                    c.sock.sendall(b"x")
                except OSError:  # the server closed: read its answer
                    break
                if c.at_eof(0.1) or c.buf:
                    break
            r = c.read_response()
            cut = time.monotonic() - t0
            assert r.status == 408 and r.header("Connection") == "close"
            assert 0.9 < cut < 2.5
        assert request(srv.port, "/", method="POST", body=b"next").body == b"next"  # the only core is free
    assert any("too slow" in rec.getMessage() and "--body-timeout" in rec.getMessage()
               for rec in gateway_errors.records)


def test_the_body_deadline_holds_for_the_uwsgi_protocol_too(gateway_errors):
    """The deadline lives in wsgi.input, not in a protocol: a uwsgi packet's trickling body is cut the same way
    (uWSGI closes the connection; the app saw the OSError)."""
    seen = []

    def app(environ, start_response):
        try:
            environ["wsgi.input"].read()
        except OSError as e:
            seen.append(str(e))
            raise
        start_response("200 OK", [])
        return [b"unreachable"]

    with ThreadServer(app, server_class=UwsgiServer, socket_timeout=5, body_timeout=1, body_min_rate=1000) as srv, \
            Conn(srv.port) as c:
        c.send(uwsgi_wire.encode_request([("REQUEST_METHOD", "POST"), ("PATH_INFO", "/"),
                                          ("CONTENT_LENGTH", "1000"), ("SERVER_PROTOCOL", "HTTP/1.1")]))
        t0 = time.monotonic()
        while not c.buf and time.monotonic() - t0 < 4:
            try:
                c.sock.sendall(b"x")
            except OSError:
                break
            if c.at_eof(0.1):
                break
        assert 0.9 < time.monotonic() - t0 < 2.5
        assert seen and "timeout during read" in seen[0]
    assert any("too slow" in rec.getMessage() for rec in gateway_errors.records)


def test_a_body_sent_at_the_minimum_rate_is_never_cut():
    """Every --body-min-rate bytes buy a second: 0.5 s allowance, 100 B/s minimum, the client sends 1,000 B/s
    for 1.5 s: three times the allowance, and the body arrives whole."""
    with ThreadServer(_read_all_app, socket_timeout=5, body_timeout=0.5, body_min_rate=100) as srv, \
            Conn(srv.port) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1500\r\n\r\n")
        for _ in range(15):
            c.send(b"y" * 100)
            time.sleep(0.1)  # the pace is what is being tested: a client sending at 1,000 B/s
        r = c.read_response()
        assert r.status == 200 and r.body == b"y" * 1500


def test_body_deadline_arithmetic():
    d = BodyDeadline(100.0, allowance=30, min_rate=500)
    assert d.remaining(100.0, 0) == 30
    assert d.remaining(130.0, 1000) == 2  # 1,000 bytes bought 2 s
    assert d.remaining(140.0, 0) == -10
    assert BodyDeadline(0.0, allowance=0, min_rate=500).remaining(1e9, 0) is None  # off
    assert BodyDeadline(0.0, allowance=5, min_rate=0).remaining(2.0, 10**9) == 3  # fixed total


# -- 9.2: nothing of a finished connection outlives it (RSS after floods) ------------------------------------------


def test_finished_connections_are_freed_without_the_cycle_collector():
    """9.2: a connection (its parser and buffers) must die by reference counting when it closes: a reference
    cycle keeps it, and its up-to---buffer-size head, until a full gc pass, which is how RSS grew by tens of MB
    after floods of large heads.  Normal, body-reading, malformed and oversized requests are all checked."""
    conns = []

    def app(environ, start_response):
        conns.append(weakref.ref(environ["wsgi.input"]._conn))
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    gc.collect()
    gc.disable()
    try:
        with ThreadServer(app, max_head=1024) as srv:
            for raw in (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                        b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 5000 + b"\r\n\r\n",
                        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"):
                with Conn(srv.port) as c:
                    c.send(raw[:10])  # the connection exists and has not failed yet: take a weak reference
                    deadline = time.monotonic() + 5
                    while not srv.call(lambda: len(srv.server.connections)) and time.monotonic() < deadline:
                        time.sleep(0.01)
                    conns.extend(srv.call(lambda: [weakref.ref(c) for c in srv.server.connections]))
                    c.send(raw[10:])
                    c.read_response()
                deadline = time.monotonic() + 5
                while srv.call(lambda: len(srv.server.connections)) and time.monotonic() < deadline:
                    time.sleep(0.01)
            alive = srv.call(lambda: [r() for r in conns if r() is not None])
            assert len(conns) >= 4 and alive == []
    finally:
        gc.enable()


@pytest.mark.skipif(heap_trim._malloc_trim is None, reason="glibc malloc_trim only")
def test_heap_trim_gives_free_heap_pages_back():
    """The other half of 9.2: free chunks stuck between live ones stay in RSS until malloc_trim."""
    def rss_kb():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    keep, big = [], []
    for _ in range(600):  # 600 x 40 KiB, each followed by a small live allocation: a fragmented heap
        big.append(bytearray(40 * 1024))
        keep.append(bytearray(700))
    before = rss_kb()
    del big
    assert heap_trim.trim_if_worth_it() is True
    assert rss_kb() < before - 10 * 1024  # ~24 MB were freed: most of it leaves RSS
    del keep
