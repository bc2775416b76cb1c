"""The socket options applied when binding (gateway/server/listeners.py: buffer sizes, TCP fast
open, abstract UNIX names, the https protocol) and --map-socket (gateway/server/socket_map.py)."""

from __future__ import annotations

import socket

import pytest

from gateway.config.errors import Invalid
from gateway.config.options import parse_map_socket
from gateway.server import listeners
from gateway.server.socket_map import map_problem, parse_maps, served


@pytest.fixture(autouse=True)
def reset_tuning():
    yield
    listeners.set_socket_tuning()


def test_tcp_sockets_get_the_buffers_and_fast_open():
    listeners.set_socket_tuning(sndbuf=65536, rcvbuf=32768, fast_open=3)
    sock = listeners.bind_tcp("127.0.0.1:0")
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) in (65536, 131072)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) in (32768, 65536)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN) == 3
    finally:
        sock.close()


def test_without_tuning_nothing_is_set():
    sock = listeners.bind_tcp("127.0.0.1:0")
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN) == 0
    finally:
        sock.close()


def test_abstract_socket_makes_every_unix_name_abstract(tmp_path):
    path = str(tmp_path / "x.sock")
    listeners.set_socket_tuning(abstract=True)
    sock = listeners.bind_unix(path)
    try:
        assert listeners.listen_address(sock) == "@" + path
        assert listeners.unix_socket_file(sock) is None  # nothing on disk to chmod or vacuum
        assert not (tmp_path / "x.sock").exists()
    finally:
        sock.close()
    listeners.set_socket_tuning()
    sock = listeners.bind_unix(path)
    try:
        assert listeners.unix_socket_file(sock) == path
    finally:
        sock.close()


def test_https_sockets_are_tcp_and_report_their_key():
    sock = listeners.bind_socket("127.0.0.1:0", protocol="https")
    try:
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        listeners.set_tls_context(sock, ctx)
        assert listeners.tls_context(sock) is ctx and listeners.socket_protocol(sock) == "https"
        assert listeners.ready_addresses([sock]).startswith("https-socket=127.0.0.1:")
    finally:
        sock.close()
    with pytest.raises(listeners.ListenError):
        listeners.bind_socket("/tmp/not-for-https.sock", protocol="https")


def test_map_socket_values():
    assert parse_map_socket("0:1,2") == (0, (1, 2))
    for bad in ("1", "x:1", "0:", "0:0", "-1:1", "0:a"):
        with pytest.raises(Invalid):
            parse_map_socket(bad)
    maps = parse_maps(["0:1", "0:3", "2:2"])
    assert maps == {0: {1, 3}, 2: {2}}
    items = ["a", "b", "c"]
    assert served(items, maps, 1) == ["a", "b"]   # b is nobody's: every worker serves it
    assert served(items, maps, 2) == ["b", "c"]
    assert served(items, maps, 3) == ["a", "b"]
    assert map_problem(maps, 3, 3) is None
    assert "no worker 3" in map_problem(maps, 3, 2)
    assert "no worker socket 2" in map_problem(maps, 2, 3)
