"""``--max-connections``: a worker (or an ``--http`` router, or a FastRouter) holding N client connections
accepts no more until one closes; the next client waits in the listen queue and is then served,
and one log line says why."""

from __future__ import annotations

import os
import socket

import pytest

from gateway.protocol.uwsgi import encode_request
from server import ROOT, run_server
from support.fastrouter import run_fastrouter
from support.router import run_router

pytestmark = pytest.mark.timeout(60)

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
UWSGI_GET = encode_request([("REQUEST_METHOD", "GET"), ("PATH_INFO", "/"), ("QUERY_STRING", ""),
                            ("SERVER_PROTOCOL", "HTTP/1.1"), ("SERVER_NAME", "t"), ("SERVER_PORT", "80"),
                            ("HTTP_HOST", "t")])


def _served(sock: socket.socket, timeout: float) -> bytes:
    """The head of the response to ``GET`` on ``sock`` (b"" if none came within ``timeout``)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    return data


@pytest.mark.parametrize("proto", ["--http-socket", "--socket"])
def test_the_worker_stops_accepting_at_the_budget_and_serves_the_next_client_when_one_closes(proto):
    args = [proto, "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--max-connections", "2",
            "--socket-timeout", "30", "--http-keepalive", "30"]
    with run_server(args) as srv:
        held = []
        try:
            # two silent connections (a slow client, a flood): accepted, each holds a place
            for _ in range(2):
                held.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
            srv.wait_for_line(r"\*\*\* 2 client connections open \(--max-connections 2\): not accepting "
                              r"new ones until one closes \*\*\*", timeout=10)
            late = socket.create_connection(("127.0.0.1", srv.port), timeout=10)  # the listen queue takes it
            held.append(late)
            # an HTTP client sends at once; nginx's uwsgi_pass too: the request waits, unread
            late.sendall(GET if proto == "--http-socket" else UWSGI_GET)
            assert _served(late, 1.0) == b""  # not accepted yet (a bounded wait for an absence)
            held.pop(0).close()
            assert _served(late, 10).startswith(b"HTTP/1.1 200 OK")
        finally:
            for s in held:
                s.close()


def test_the_http_router_stops_accepting_at_the_budget_and_serves_the_next_client_when_one_closes():
    args = ["--http", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--max-connections", "2",
            "--socket-timeout", "30", "--http-keepalive", "30"]
    with run_router(args) as r:
        held = []
        try:
            for _ in range(2):
                held.append(socket.create_connection(("127.0.0.1", r.port), timeout=10))
            r.wait_for_line(r"\[router\] \*\*\* 2 client connections open \(--max-connections 2\): not "
                            r"accepting new ones until one closes \*\*\*", timeout=10)
            late = socket.create_connection(("127.0.0.1", r.port), timeout=10)
            held.append(late)
            late.sendall(GET)
            assert _served(late, 1.0) == b""  # in the listen queue (a bounded wait for an absence)
            held.pop(0).close()
            assert _served(late, 10).startswith(b"HTTP/1.1 200 OK")
            # and the router accepts as before once below the budget
            held.pop(0).close()
            fresh = socket.create_connection(("127.0.0.1", r.port), timeout=10)
            held.append(fresh)
            fresh.sendall(GET)
            assert _served(fresh, 10).startswith(b"HTTP/1.1 200 OK")
        finally:
            for s in held:
                s.close()


def test_the_fastrouter_stops_accepting_at_the_budget_and_serves_the_next_client_when_one_closes():
    node = ["--socket", "127.0.0.1:0", "--wsgi-file", os.path.join(ROOT, "tests", "apps", "fastrouter_node.py"),
            "--env", "NODE=n1", "--disable-logging"]
    with run_server(node) as n1:
        args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-to", "127.0.0.1:%d" % n1.uwsgi_port,
                "--max-connections", "2", "--fastrouter-timeout", "30"]
        with run_fastrouter(args) as fr:
            held = []
            try:
                for _ in range(2):
                    held.append(socket.create_connection(("127.0.0.1", fr.port), timeout=10))
                fr.wait_for_line(r"\[fastrouter\] \*\*\* 2 client connections open \(--max-connections 2\): "
                                 r"not accepting new ones until one closes \*\*\*", timeout=10)
                late = socket.create_connection(("127.0.0.1", fr.port), timeout=10)
                held.append(late)
                late.sendall(UWSGI_GET)
                assert _served(late, 1.0) == b""
                held.pop(0).close()
                assert _served(late, 10).startswith(b"HTTP/1.1 200 OK")
            finally:
                for s in held:
                    s.close()
