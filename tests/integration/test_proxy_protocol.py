"""``--enable-proxy-protocol`` (``--http-socket``) and ``--http-enable-proxy-protocol`` (the router).

A PROXY header (HAProxy's v1 text or v2 binary) at the start of a connection names the client;
the app sees it as ``REMOTE_ADDR``/``REMOTE_PORT`` for every request on the connection.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from gateway.protocol import proxy_header as P
from server import run_server
from support.httpclient import read_to_eof
from support.router import free_port, run_router

APP = ["--wsgi-file", "tests/apps/uwsgi_probe.py", "--tornado", "4", "--greenlet"]
CLIENT = P.ProxyInfo("203.0.113.7", 51234, "198.51.100.2", 443)
CLIENT6 = P.ProxyInfo("2001:db8::7", 4242, "2001:db8::1", 443)
GET_ENV = b"GET /env HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def http_socket():
    with run_server(["--enable-proxy-protocol"] + APP) as srv:
        yield srv.port


@pytest.fixture(scope="module")
def router():
    port = free_port()
    with run_router(["--http", "127.0.0.1:%d" % port, "--http-enable-proxy-protocol"] + APP) as r:
        yield r.port


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length (the probe's /env) from a kept connection."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        more = sock.recv(65536)
        assert more, buf
        buf += more
    head, _, body = buf.partition(b"\r\n\r\n")
    length = int([line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")][0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def env_over(port: int, chunks, requests: int = 1):
    envs = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for i, chunk in enumerate(chunks):
            s.sendall(chunk)
            if i < len(chunks) - 1:
                time.sleep(0.02)  # not an await: lets each piece arrive as its own segment
        for n in range(requests):
            if n:
                s.sendall(GET_ENV)
            response = read_response(s)
            assert response.startswith(b"HTTP/1.1 200"), response
            envs.append(json.loads(response.partition(b"\r\n\r\n")[2]))
    return envs


@pytest.mark.parametrize("encode", [P.encode_v1, P.encode_v2], ids=["v1", "v2"])
@pytest.mark.parametrize("info", [CLIENT, CLIENT6], ids=["ipv4", "ipv6"])
def test_the_header_names_the_client_for_every_request_on_the_connection(http_socket, router, encode, info):
    for port in (http_socket, router):
        envs = env_over(port, [encode(info) + GET_ENV], requests=2)
        for e in envs:
            assert (e["REMOTE_ADDR"], e["REMOTE_PORT"]) == (info.source, str(info.source_port)), port


def test_a_header_in_pieces(http_socket, router):
    header = P.encode_v1(CLIENT)
    for port in (http_socket, router):
        (e,) = env_over(port, [header[:9], header[9:30], header[30:] + GET_ENV[:5], GET_ENV[5:]])
        assert e["REMOTE_ADDR"] == CLIENT.source


def test_without_a_header_the_peer_is_the_client(http_socket, router):
    for port in (http_socket, router):
        (e,) = env_over(port, [GET_ENV])
        assert e["REMOTE_ADDR"] == "127.0.0.1"
    (e,) = env_over(http_socket, [b"PROXY UNKNOWN\r\n" + GET_ENV])
    assert e["REMOTE_ADDR"] == "127.0.0.1"  # UNKNOWN: the connection's own peer


def test_a_malformed_header_is_a_400_and_the_server_lives_on(http_socket, router):
    for port in (http_socket, router):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"PROXY TCP4 1.2.3.400 1.2.3.4 1 2\r\n" + GET_ENV)
            reply = read_to_eof(s)
        assert reply.startswith(b"HTTP/1.1 400 "), reply
        assert b"bad address" in reply
        (e,) = env_over(port, [GET_ENV])
        assert e["REMOTE_ADDR"] == "127.0.0.1"


def test_without_the_option_a_header_is_a_bad_request():
    with run_server(APP) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(P.encode_v1(CLIENT) + GET_ENV)
            reply = read_to_eof(s)
    assert reply.startswith(b"HTTP/1.1 400 ")
