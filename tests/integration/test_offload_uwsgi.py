"""``--offload-threads`` on ``--socket`` (the uwsgi protocol) behind a real nginx ``uwsgi_pass``:
a ``wsgi.file_wrapper`` response is sent from the loop (gateway/server/file_offload.py, the
same code as ``--http-socket``) and the core is free as soon as the app returns the wrapper."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket

import pytest

from server import run_server
from support.nginx import Nginx

pytestmark = pytest.mark.timeout(90)

SIZE = 24 * 1024 * 1024  # more than the socket buffers of both hops hold

CONFIG = """
    server {
        listen {listen};
        location / { include uwsgi_params; uwsgi_pass %(gw)s; }
        location /slow/ { include uwsgi_params; uwsgi_pass %(gw)s; uwsgi_buffering off; }
    }
"""


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("offload") / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return str(path), digest


@pytest.fixture(scope="module")
def stack(big_file):
    # One core: anything that keeps it busy while the big file travels starves /quick.
    args = ["--socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/files.py", "--tornado", "1", "--greenlet",
            "--offload-threads", os.environ.get("TEST_OFFLOAD_THREADS", "2"), "--socket-timeout", "20"]
    with run_server(args, env={"OFFLOAD_FILE": big_file[0]}) as gw:
        with Nginx(CONFIG % {"gw": gw.uwsgi_addresses[0]}) as ngx:
            yield ngx, gw


def get(ngx, path, method="GET", timeout=20):
    c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def slow_client(port):
    """A client with a small receive buffer that has read only the response head."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /slow/file HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        assert chunk, "nginx closed before the head: %r" % head
        head += chunk
    return s, head


def test_the_core_is_free_while_nginx_slowly_relays_the_file(stack, big_file):
    ngx, gw = stack
    slow, head = slow_client(ngx.port)
    try:
        assert head.startswith(b"HTTP/1.1 200")
        assert b"Content-Length: %d" % SIZE in head  # the offloaded head: the file's size
        # the only core is free although ~24 MiB are still on their way to the slow client
        for _ in range(3):
            status, _, body = get(ngx, "/quick", timeout=5)
            assert (status, body) == (200, b"quick")
        digest = hashlib.sha256()
        received = 0
        while True:
            chunk = slow.recv(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            received += len(chunk)
    finally:
        slow.close()
    assert received == SIZE
    assert digest.hexdigest() == big_file[1]


def test_files_are_byte_identical_and_non_files_still_work(stack, big_file):
    ngx, gw = stack
    for _ in range(2):
        status, headers, body = get(ngx, "/file")
        assert status == 200 and len(body) == SIZE
        assert hashlib.sha256(body).hexdigest() == big_file[1]
    status, headers, body = get(ngx, "/file", method="HEAD")
    assert status == 200 and body == b""
    # a file wrapper over a non-file object is iterated by the core, as without offload
    status, headers, body = get(ngx, "/bytesio")
    assert status == 200 and body == bytes(range(256)) * 4096


def test_a_client_leaving_mid_file_costs_only_its_response(stack, big_file):
    ngx, gw = stack
    slow, head = slow_client(ngx.port)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    slow.close()  # RST: nginx drops its upstream connection, our send stops
    assert get(ngx, "/quick", timeout=5)[2] == b"quick"
    status, headers, body = get(ngx, "/file")
    assert status == 200 and hashlib.sha256(body).hexdigest() == big_file[1]
    assert gw.proc.poll() is None


def test_a_persistent_router_connection_goes_on_after_an_offloaded_file(stack, big_file):
    """gateway's own router keeps uwsgi connections open (GATEWAY_KEEPALIVE): the offloaded
    file is framed by its Content-Length and the next packet is served on the same connection."""
    from gateway.protocol import uwsgi as wire
    from gateway.protocol.upstream_response import parse_response_head

    ngx, gw = stack
    host, port = gw.uwsgi_addresses[0].rsplit(":", 1)

    def packet(path):
        return wire.encode_request([("REQUEST_METHOD", "GET"), ("PATH_INFO", path),
                                    ("SERVER_PROTOCOL", "HTTP/1.1"), (wire.KEEPALIVE_VAR, "1")], b"")

    with socket.create_connection((host, int(port)), timeout=20) as s:
        buf = b""
        for path in ("/file", "/quick"):
            s.sendall(packet(path))
            while (head := parse_response_head(buf)) is None:
                data = s.recv(1 << 20)
                assert data, "closed before the head of %s" % path
                buf += data
            assert head.status == 200 and head.content_length is not None
            end = head.size + head.content_length
            while len(buf) < end:
                data = s.recv(1 << 20)
                assert data, "closed inside the body of %s" % path
                buf += data
            body, buf = buf[head.size:end], buf[end:]
            if path == "/file":
                assert hashlib.sha256(body).hexdigest() == big_file[1]
            else:
                assert body == b"quick"


def test_through_gateways_own_router(big_file):
    """``--http`` router -> uwsgi (persistent, framed) -> an offloading worker with one core:
    files byte-identical on one client keep-alive connection, with a request between them."""
    from support.router import run_router

    args = ["--http", "127.0.0.1:0", "--wsgi-file", "tests/apps/files.py", "--tornado", "1", "--greenlet",
            "--offload-threads", "1", "--env", "OFFLOAD_FILE=%s" % big_file[0]]
    with run_router(args) as r:
        c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=20)
        try:
            for path in ("/file", "/quick", "/file", "/bytesio"):
                c.request("GET", path)
                resp = c.getresponse()
                body = resp.read()
                assert resp.status == 200, (path, resp.status)
                if path == "/file":
                    assert hashlib.sha256(body).hexdigest() == big_file[1]
                elif path == "/quick":
                    assert body == b"quick"
                else:
                    assert body == bytes(range(256)) * 4096
        finally:
            c.close()
