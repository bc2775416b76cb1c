"""``--max-connections``: a worker (or an ``--http`` router, or a FastRouter) holding N client connections
accepts no more until one closes; the next client waits in the listen queue and is then served,
and one log line says why."""

from __future__ import annotations

import contextlib
import os
import re
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


def _check_budget(proc, port: int, label: str, request: bytes) -> list:
    """Fill a budget of 2 with silent connections (a slow client, a flood), then show that a
    third client waits in the listen queue, its request unread, until one of them closes.
    Returns the connections still open (for the caller to close)."""
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    proc.wait_for_line(re.escape(label) + r"\*\*\* 2 client connections open \(--max-connections 2\): not "
                       r"accepting new ones until one closes \*\*\*", timeout=10)
    late = socket.create_connection(("127.0.0.1", port), timeout=10)  # the listen queue takes it
    held.append(late)
    late.sendall(request)  # an HTTP client, or nginx's uwsgi_pass, sends at once
    assert _served(late, 1.0) == b""  # not accepted yet (a bounded wait for an absence)
    held.pop(0).close()
    assert _served(late, 10).startswith(b"HTTP/1.1 200 OK")
    return held


@pytest.mark.parametrize("proto", ["--http-socket", "--socket"])
def test_the_worker_stops_accepting_at_the_budget_and_serves_the_next_client_when_one_closes(proto):
    args = [proto, "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--max-connections", "2",
            "--socket-timeout", "30", "--http-keepalive", "30"]
    with run_server(args) as srv:
        for s in _check_budget(srv, srv.port, "", GET if proto == "--http-socket" else UWSGI_GET):
            s.close()


def test_the_http_router_stops_accepting_at_the_budget_and_serves_the_next_client_when_one_closes():
    args = ["--http", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--max-connections", "2",
            "--socket-timeout", "30", "--http-keepalive", "30"]
    with run_router(args) as r:
        held = _check_budget(r, r.port, "[router] ", GET)
        try:
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
            for s in _check_budget(fr, fr.port, "[fastrouter] ", UWSGI_GET):
                s.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    from peers import require
    from support.router import make_self_signed

    return make_self_signed(str(tmp_path_factory.mktemp("tls")), require("openssl"))


def _check_tls_budget(proc, port: int, label: str, cert: str) -> None:
    """Two peers connect and never send a ClientHello: until their handshakes end
    (--socket-timeout) they hold a budget of 2 as much as open connections do; then
    accepting resumes."""
    import ssl

    silent = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        proc.wait_for_line(re.escape(label) + r"\*\*\* 2 client connections open \(--max-connections 2\): not "
                           r"accepting new ones until one closes \*\*\*", timeout=10)
        ctx = ssl.create_default_context(cafile=cert)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)  # the listen queue takes it
        raw.settimeout(1.0)
        with pytest.raises(socket.timeout):  # no handshake: not accepted (a bounded wait for an absence)
            ctx.wrap_socket(raw, server_hostname="localhost")
        raw.close()
    finally:
        for s in silent:
            s.close()
    # the silent handshakes ended (their peers left; at the latest --socket-timeout): accepting resumes
    _assert_tls_client_served(port, cert, 15)


def _assert_tls_client_served(port: int, cert: str, timeout: float) -> None:
    import ssl

    ctx = ssl.create_default_context(cafile=cert)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.settimeout(timeout)
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(GET)
            assert _served(tls, timeout).startswith(b"HTTP/1.1 200 OK")


def _check_failed_handshakes_release(proc, port: int, label: str, cert: str) -> None:
    """Two peers connect and leave at once (a TCP health check, a port scan, a plain-HTTP
    client on the TLS port): the loop ends their handshakes at once, and so must the budget
    of 2, long before --socket-timeout (30 s here)."""

    # Both connect first, so both hold the budget together whatever the machine's load (one
    # sent and gone before the other connected could be over before the second is accepted)
    peers = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    proc.wait_for_line(re.escape(label) + r"\*\*\* 2 client connections open \(--max-connections 2\)", timeout=10)
    for s in peers:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")  # not a ClientHello: the handshake fails
        s.close()
    _assert_tls_client_served(port, cert, 8)


TLS_SERVERS = ["worker-uvloop", "worker-asyncio", "https-router"]


@contextlib.contextmanager
def _tls_server(kind: str, cert: str, key: str, socket_timeout: int):
    """``(process, TLS port, log label)`` of a worker's ``--https-socket`` (on the given loop)
    or an ``--https`` router, with a budget of 2."""
    from support.router import free_port

    common = ["--wsgi-file", "tests/apps/hello.py", "--max-connections", "2", "--socket-timeout", str(socket_timeout)]
    if kind == "https-router":
        port = free_port()
        with run_router(["--https", "127.0.0.1:%d,%s,%s" % (port, cert, key)] + common) as r:
            yield r, port, "[router] "
    else:
        loop = kind.split("-", 1)[1]
        with run_server(["--https-socket", "127.0.0.1:0,%s,%s" % (cert, key), "--loop", loop] + common) as srv:
            yield srv, int(srv.ready_fields["https-socket"].rsplit(":", 1)[1]), ""


@pytest.mark.parametrize("kind", TLS_SERVERS)
def test_tls_handshakes_in_progress_count_against_the_budget(tls_files, kind):
    with _tls_server(kind, *tls_files, socket_timeout=3) as (proc, port, label):
        _check_tls_budget(proc, port, label, tls_files[0])


@pytest.mark.parametrize("kind", TLS_SERVERS)
def test_failed_tls_handshakes_leave_the_budget_at_once(tls_files, kind):
    with _tls_server(kind, *tls_files, socket_timeout=30) as (proc, port, label):
        _check_failed_handshakes_release(proc, port, label, tls_files[0])
