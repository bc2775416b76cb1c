"""uWSGI socket names for ``uwsgi.connect``/``async_connect`` (pure parsing), and the helpers
outside a core on a socketpair (blocking, as in uWSGI)."""

from __future__ import annotations

import os
import socket

import pytest

from gateway import api_sockets


@pytest.mark.parametrize("name, expected", [
    ("127.0.0.1:3031", (socket.AF_INET, ("127.0.0.1", 3031))),
    (":3031", (socket.AF_INET, ("0.0.0.0", 3031))),
    ("[::1]:8000", (socket.AF_INET6, ("::1", 8000))),
    ("/tmp/app.sock", (socket.AF_UNIX, "/tmp/app.sock")),
    ("@abstract", (socket.AF_UNIX, "\0abstract")),
    ("localhost:80", None),  # no name resolution, as uWSGI's inet_addr
    ("127.0.0.1:0", None),
    ("127.0.0.1:http", None),
    ("[::1]8000", None),
    ("", None),
])
def test_parse_address(name, expected):
    assert api_sockets.parse_address(name) == expected


def test_send_recv_is_connected_close_on_a_socketpair():
    a, b = socket.socketpair()
    fd = a.detach()
    try:
        assert api_sockets.is_connected(fd) is True
        assert api_sockets.send(fd, b"x" * 5000) == b""
        assert len(b.recv(8192)) > 0
        b.sendall(b"y" * 5000)
        assert api_sockets.recv(fd) == b"y" * 4096  # at most 4096 per call, as uWSGI
        assert api_sockets.recv(fd, 10) == b"y" * 10
        b.close()
        api_sockets.recv(fd)  # the rest
        assert api_sockets.recv(fd) is None  # EOF
    finally:
        assert api_sockets.close(fd) is None
    assert api_sockets.close(fd) is None  # a closed fd: ignored
    assert api_sockets.is_connected(fd) is False


def test_is_connected_is_false_for_a_file():
    r, w = os.pipe()
    try:
        assert api_sockets.is_connected(r) is False
    finally:
        os.close(r)
        os.close(w)


def test_connect_and_async_connect_outside_a_core():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        fd = api_sockets.connect("127.0.0.1:%d" % port, 2)
        assert fd >= 0 and os.get_blocking(fd)
        api_sockets.close(fd)
        fd = api_sockets.async_connect("127.0.0.1:%d" % port)
        assert fd >= 0 and not os.get_blocking(fd)
        api_sockets.close(fd)
    finally:
        listener.close()
    assert api_sockets.connect("127.0.0.1:%d" % port) == -1  # refused now
    assert api_sockets.connect("nowhere") == -1  # a UNIX path that does not exist
    assert api_sockets.async_connect("bad:name") == -1


def test_send_argument_forms():
    with pytest.raises(TypeError):
        api_sockets.send()
    with pytest.raises(TypeError):
        api_sockets.send(3, "str is not bytes")
    with pytest.raises(SystemError):
        api_sockets.send(b"no request here")


class FakeTransport:
    """What :class:`api_sockets.RawConnection` uses of an asyncio transport."""

    def __init__(self):
        self.protocol = None
        self.reading = True
        self.closing = False

    def set_protocol(self, protocol):
        self.protocol = protocol

    def pause_reading(self):
        self.reading = False

    def resume_reading(self):
        self.reading = True

    def is_closing(self):
        return self.closing


def test_raw_connection_keeps_a_bounded_buffer_of_the_clients_bytes():
    transport = FakeTransport()
    transport.reading = False  # paused by the HTTP side during the request
    conn = api_sockets.RawConnection(transport, b"left")
    assert transport.protocol is conn and transport.reading
    assert conn.recv(4096) == b"left"
    conn.data_received(b"a" * (api_sockets.CONNECTION_BUFFER_MAX - 1))
    assert transport.reading
    conn.data_received(b"bb")  # past the bound: the client is no longer read
    assert not transport.reading
    assert conn.recv(4096) == b"a" * 4096
    assert transport.reading  # below the bound again
    while conn.buffer:
        conn.recv(4096)
    assert conn.eof_received() is True  # half-closed: the app may still send
    assert conn.recv(4096) is None
