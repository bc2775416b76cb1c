"""The worker's side of persistent router connections (``GATEWAY_KEEPALIVE``), in-process.

A raw socket plays gateway's router: packets marked with the keep-alive var get framed
answers on one connection; unmarked ones (nginx, uWSGI's router) are answered and closed
exactly as before.
"""

from __future__ import annotations

import socket
import time

import pytest

from gateway.protocol import uwsgi as wire
from gateway.protocol.upstream_response import parse_response_head
from gateway.server.uwsgi import UwsgiServer
from support.httpclient import read_to_eof
from support.threadserver import ThreadServer


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"ab", b"", b"cde"])
    if path == "/empty":
        start_response("204 No Content", [])
        return [b""]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    if path == "/skip":  # does not read its body
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/close":  # the app ends the client's connection
        start_response("200 OK", [("Connection", "close"), ("Content-Length", "3")])
        return [b"bye"]
    if path == "/park":  # holds its core (not the loop) for a while
        import loop_engine

        loop_engine.sleep(float(environ["QUERY_STRING"]))
        start_response("200 OK", [("Content-Length", "6")])
        return [b"parked"]
    seen = "marker" if wire.KEEPALIVE_VAR in environ else "clean"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [seen.encode()]


def _packet(path: str, method: str = "GET", body: bytes = b"", keep: bool = True, chunked: bool = False,
            query: str = "") -> bytes:
    pairs = [("REQUEST_METHOD", method), ("PATH_INFO", path), ("QUERY_STRING", query), ("SERVER_PROTOCOL", "HTTP/1.1")]
    if chunked:
        pairs.append(("HTTP_TRANSFER_ENCODING", "chunked"))
    elif body or method == "POST":
        pairs.append(("CONTENT_LENGTH", str(len(body))))
    if keep:
        pairs.append((wire.KEEPALIVE_VAR, "1"))
    return wire.encode_request(pairs, body)


def _read_response(sock: socket.socket, method: str = "GET") -> tuple:
    """(head, body bytes) of one framed response; reads exactly up to its end."""
    buf = b""
    while True:
        head = parse_response_head(buf)
        if head is not None:
            break
        data = sock.recv(65536)
        assert data, "closed before a response head: %r" % buf
        buf += data
    rest = buf[head.size:]
    if method == "HEAD" or head.status in (204, 304):
        assert rest == b""
        return head, b""
    if head.content_length is not None:
        while len(rest) < head.content_length:
            data = sock.recv(65536)
            assert data
            rest += data
        assert len(rest) == head.content_length, "bytes after the framed body"
        return head, rest
    assert head.chunked
    while not rest.endswith(b"0\r\n\r\n"):
        data = sock.recv(65536)
        assert data, "closed inside a chunked body: %r" % rest
        rest += data
    return head, rest


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(3)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.fixture
def srv():
    with ThreadServer(_app, server_class=UwsgiServer, socket_timeout=2) as s:
        yield s


def _connect(srv) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=5)


def test_marked_packets_share_one_connection_and_get_framed_answers(srv):
    with _connect(srv) as c:
        c.sendall(_packet("/"))
        head, body = _read_response(c)
        assert (head.status, head.content_length, body) == (200, 5, b"clean")  # the marker is not in the environ
        c.sendall(_packet("/stream"))
        head, body = _read_response(c)
        assert head.chunked and body == b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"
        c.sendall(_packet("/empty"))
        head, body = _read_response(c)
        assert head.status == 204 and head.content_length is None and not head.chunked
        c.sendall(_packet("/stream", method="HEAD"))
        head, _ = _read_response(c, "HEAD")
        assert head.status == 200
        c.sendall(_packet("/echo", "POST", b"x" * 70000))
        head, body = _read_response(c)
        assert body == b"x" * 70000
        c.sendall(_packet("/skip", "POST", b"y" * 1000))  # the unread body is drained
        head, body = _read_response(c)
        assert body == b"ok"
        c.sendall(_packet("/"))
        assert _read_response(c)[1] == b"clean"
        assert srv.call(lambda: len(srv.server.idle)) == 1


def test_unmarked_packets_are_answered_raw_and_closed(srv):
    with _connect(srv) as c:
        c.sendall(_packet("/stream", keep=False))
        data = read_to_eof(c)
    assert data == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabcde"


def test_a_chunked_upload_or_an_app_error_closes_after_the_answer(srv, expect_log):
    with _connect(srv) as c:
        c.sendall(_packet("/echo", "POST", keep=True, chunked=True) + b"3\r\nabc\r\n0\r\n\r\n")
        data = read_to_eof(c)
        assert data.endswith(b"\r\n\r\nabc") and b"Transfer-Encoding" not in data
    with _connect(srv) as c, expect_log("gateway.app", r"RuntimeError: boom"):
        c.sendall(_packet("/boom"))
        head, body = _read_response(c)
        assert head.status == 500 and head.connection_close and not head.client_close  # gateway-close
        assert _closed(c)


def test_an_apps_connection_close_is_passed_on_and_closes(srv):
    """The app's ``Connection: close`` reaches the router in front (uWSGI's worker passes it
    on verbatim, and uWSGI's router then closes its client's connection), marked or not;
    a persistent connection ends with it."""
    with _connect(srv) as c:
        c.sendall(_packet("/close"))
        head, body = _read_response(c)
        assert head.client_close and head.connection_close and body == b"bye"
        assert _closed(c)
    with _connect(srv) as c:
        c.sendall(_packet("/close", keep=False))
        data = read_to_eof(c)
    assert data == b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye"


def test_idle_persistent_connections_close_after_the_socket_timeout_and_on_drain(srv):
    a, b = _connect(srv), _connect(srv)
    with a, b:
        for c in (a, b):
            c.sendall(_packet("/"))
            _read_response(c)
        assert srv.call(lambda: len(srv.server.idle)) == 2
        srv.call(srv.server.begin_drain)
        assert _closed(a) and _closed(b)
    assert srv.call(lambda: len(srv.server.connections)) == 0


def test_idle_timeout(srv):
    with _connect(srv) as c:
        c.sendall(_packet("/"))
        _read_response(c)
        start = time.monotonic()
        assert _closed(c)
        assert 1 <= time.monotonic() - start < 3.5


def test_over_the_idle_bound_the_answer_says_close():
    with ThreadServer(_app, server_class=UwsgiServer, socket_timeout=5, uwsgi_keepalive_max=1) as srv:
        with _connect(srv) as a, _connect(srv) as b:
            a.sendall(_packet("/"))
            assert not _read_response(a)[0].connection_close
            b.sendall(_packet("/"))
            head, _ = _read_response(b)
            assert head.connection_close and not head.client_close  # gateway-close: the client stays
            assert _closed(b)
            a.sendall(_packet("/"))
            assert _read_response(a)[1] == b"clean"


def test_a_kept_connection_is_refused_unanswered_while_every_core_is_busy():
    """So that the router replays the request on a fresh connection, which any worker with a free
    core may accept, instead of queueing it behind this worker's busy core."""
    with ThreadServer(_app, cores=1, server_class=UwsgiServer, socket_timeout=5) as srv:
        with _connect(srv) as kept, _connect(srv) as busy:
            kept.sendall(_packet("/"))
            assert _read_response(kept)[1] == b"clean"
            busy.sendall(_packet("/park", keep=False, query="1"))
            # wait until the slow request holds the only core
            end = time.monotonic() + 5
            while srv.call(lambda: srv.engine.free_cores) and time.monotonic() < end:
                time.sleep(0.01)
            kept.sendall(_packet("/"))
            assert _closed(kept)  # no byte: refused
        with _connect(srv) as fresh:  # a new connection is served once the core is free
            fresh.sendall(_packet("/"))
            assert _read_response(fresh)[1] == b"clean"
