"""WebSockets through the real CLI (``--http-socket``), against the ``websockets`` client.

One server for the module (``--tornado 10 --greenlet``, pings every second so the
ping and dead-peer tests take seconds, not minutes).  The ``websockets`` library is a
real peer: it masks, fragments, answers PINGs, validates our handshake and close
frames.  ``support.wsclient`` sends what a polite client never would.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from gateway.protocol import websocket as wsproto
from server import run_server
from support.httpclient import request
from support.wsclient import Message, Ping, WSClient

MiB = 1 << 20


@pytest.fixture(scope="module")
def srv():
    with run_server([
        "--wsgi-file", "tests/apps/websocket_echo.py", "--tornado", "10", "--greenlet",
        "--websockets-ping-freq", "1", "--websockets-pong-tolerance", "1",
    ]) as s:
        yield s


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def url(srv, path="/echo"):
    return "ws://127.0.0.1:%d%s" % (srv.port, path)


@pytest.mark.parametrize("size", [1, 64 * 1024, MiB])
def test_echo_text_and_binary(srv, size):
    async def go():
        async with websockets.connect(url(srv, "/echo"), max_size=None) as ws:
            text = ("é" * size)[: size // 2] + "x" * (size - 2 * (size // 2))  # size bytes of UTF-8
            assert len(text.encode()) == size
            await ws.send(text)
            assert await ws.recv() == text
        async with websockets.connect(url(srv, "/echo-binary"), max_size=None) as ws:
            data = os.urandom(size)
            await ws.send(data)
            assert await ws.recv() == data
            assert ws.close_code is None
        assert ws.close_code == 1000  # our CLOSE echo of the client's 1000

    run(go())


def test_fragmented_messages_are_reassembled(srv):
    async def go():
        async with websockets.connect(url(srv, "/echo-binary"), max_size=None) as ws:
            parts = [os.urandom(n) for n in (1, 0, 70000, 5)]
            await ws.send(parts)  # one fragment per item
            assert await ws.recv() == b"".join(parts)
        async with websockets.connect(url(srv, "/echo"), max_size=None) as ws:
            await ws.send(["κό", "σμε", ""])
            assert await ws.recv() == "κόσμε"

    run(go())


def test_client_ping_gets_pong_and_server_pings(srv):
    async def go():
        async with websockets.connect(url(srv), ping_interval=None) as ws:
            pong = await ws.ping(b"payload")
            latency = await asyncio.wait_for(pong, 5)
            assert latency >= 0
    run(go())
    # The server PINGs on its own every --websockets-ping-freq (1 s here).
    c = WSClient(srv.port)
    try:
        ev = c.event(timeout=4)
        assert type(ev) is Ping
        c.send(wsproto.PONG, ev.payload)
        c.send(wsproto.TEXT, b"still here")
        assert c.event() == Message(wsproto.TEXT, b"still here")
    finally:
        c.close()


def test_dead_peer_is_closed_and_its_core_unwinds(srv):
    c = WSClient(srv.port)
    try:
        c.send(wsproto.TEXT, b"hi")
        # Never answer a PING: after ping-freq (1 s) + tolerance (1 s) + one sweep the
        # server drops the connection.
        assert c.closed_tcp(timeout=8)
    finally:
        c.close()
    srv.wait_for_line(r"no PONG received in 1 seconds", timeout=5)
    assert "unable to receive websocket message" in request(srv.port, "/last").body.decode()


def test_close_handshake(srv):
    async def go():
        ws = await websockets.connect(url(srv))
        await ws.send("x")
        assert await ws.recv() == "x"
        await ws.close(code=4001, reason="done")
        assert ws.close_code == 4001 and ws.close_reason == ""  # our echo: the status only
    run(go())
    # Server-initiated: the app returns after one message -> CLOSE 1000.
    c = WSClient(srv.port, "/close-after-1")
    try:
        c.send(wsproto.TEXT, b"one")
        assert c.event() == Message(wsproto.TEXT, b"one")
        assert c.close_code() == 1000
        assert c.closed_tcp()
    finally:
        c.close()


def test_after_close_recv_raises_ioerror_and_send_too(srv):
    c = WSClient(srv.port, "/echo")
    try:
        c.send(wsproto.CLOSE, b"\x03\xe8")
        assert c.close_code() == 1000
        assert c.closed_tcp()
    finally:
        c.close()
    # The app's loop ended with uWSGI's IOError, and it was not logged as an app error.
    assert "unable to receive websocket message" in request(srv.port, "/last").body.decode()


def test_oversize_message_closes_with_1009(srv):
    async def go():
        async with websockets.connect(url(srv, "/echo-binary"), max_size=None) as ws:
            await ws.send(b"z" * (MiB + 1))
            with pytest.raises(ConnectionClosed) as e:
                await ws.recv()
            assert e.value.rcvd.code == 1009
    run(go())
    srv.wait_for_line(r"exceeds the limit of 1048576 bytes: closing with status 1009")


def test_protocol_error_closes_with_1002_and_app_error_with_1011(srv):
    c = WSClient(srv.port)
    try:
        c.send(wsproto.TEXT, b"x", rsv=4)
        assert c.close_code() == 1002
    finally:
        c.close()
    srv.expect_traceback("ValueError: boom in a websocket")  # /raise: logged once, on purpose
    c = WSClient(srv.port, "/raise")
    try:
        c.send(wsproto.TEXT, b"x")
        assert c.close_code() == 1011
    finally:
        c.close()
    srv.wait_for_line(r"ValueError: boom in a websocket")


def test_handshake_headers_like_uwsgi(srv):
    c = WSClient(srv.port, "/echo", headers=[("Origin", "http://example.com")])
    try:
        assert c.head.startswith("HTTP/1.1 101 Web Socket Protocol Handshake\r\n")
        assert c.headers["upgrade"] == "WebSocket"
        assert c.headers["connection"] == "Upgrade"
        assert c.headers["sec-websocket-origin"] == "http://example.com"
        assert c.headers["sec-websocket-accept"] == wsproto.accept_key(c.key)
        assert "sec-websocket-protocol" not in c.headers
    finally:
        c.close()

    async def go():
        async with websockets.connect(url(srv, "/proto"), subprotocols=["chat"]) as ws:
            assert ws.subprotocol == "chat"
            assert await ws.recv() == "hello"
        async with websockets.connect(url(srv, "/twice")) as ws:
            assert await ws.recv() == "unable to complete websocket handshake"
    run(go())
    r = request(srv.port, "/nokey")
    assert r.status == 400 and r.body == b"unable to complete websocket handshake"


def test_recv_nb_returns_empty_until_a_message(srv):
    async def go():
        async with websockets.connect(url(srv, "/echo-nb")) as ws:
            for i in range(3):
                await ws.send("m%d" % i)
                assert await ws.recv() == "m%d" % i
    run(go())


def test_open_websockets_do_not_hold_cores(srv):
    """8 websockets on --tornado 10 (the issue's case), then 30: plain requests still answer.

    Waiting websockets are parked (no core held), so even 3x more websockets than
    cores leave every core free for plain requests.
    """
    async def go():
        socks = []
        try:
            for n in (8, 30):
                while len(socks) < n:
                    socks.append(await websockets.connect(url(srv)))
                for i, ws in enumerate(socks):  # every one is live
                    await ws.send("hello %d" % i)
                    assert await ws.recv() == "hello %d" % i
                # A plain request completes while they are all open and waiting.
                r = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: request(srv.port, "/", timeout=10))
                assert r.status == 200 and r.body == b"plain"
            for i, ws in enumerate(socks):
                await ws.send("again %d" % i)
                assert await ws.recv() == "again %d" % i
        finally:
            for ws in socks:
                await ws.close()

    run(go())
    # The busy-cores line would mean a websocket held a core while waiting.
    assert not [line for line in srv.lines if "async cores are busy" in line]


def test_under_master_with_two_workers():
    """The issue's configuration: --master --processes 2 --tornado 10 --greenlet.

    8 open websockets (spread over both workers by the kernel) echo 1 B / 64 KiB / 1 MiB
    text and binary, and a plain request still answers while they are all open.
    """
    with run_server(["--wsgi-file", "tests/apps/websocket_echo.py", "--master", "--processes", "2",
                     "--tornado", "10", "--greenlet", "-L"]) as srv:
        async def go():
            socks = []
            try:
                for i in range(8):
                    socks.append(await websockets.connect(url(srv, "/echo-binary" if i % 2 else "/echo"),
                                                          max_size=None))
                for i, ws in enumerate(socks):
                    for size in (1, 64 * 1024, MiB):
                        msg = os.urandom(size) if i % 2 else "t" * size
                        await ws.send(msg)
                        assert await ws.recv() == msg
                r = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: request(srv.port, "/", timeout=10))
                assert r.status == 200 and r.body == b"plain"
            finally:
                for ws in socks:
                    await ws.close()
        run(go())


def test_chat_pattern_wait_fd_read_on_the_websocket_and_another_fd(srv):
    """uWSGI's async chat example: wait_fd_read(connection_fd(), 1) + wait_fd_read(other)
    + suspend(), then ready_fd() says which one woke the core (-1 after the timeout)."""
    async def go():
        async with websockets.connect(url(srv, "/chat")) as ws:
            assert await ws.recv() == "fd:tick"  # the other fd, written after 0.2 s
            await ws.send("hello")
            assert await ws.recv() == "ws:hello"  # the websocket's fd
            assert await ws.recv() == "timeout"  # nothing for 1 s: ready_fd() == -1
            await ws.send("again")
            assert await ws.recv() == "ws:again"
    run(go())


def test_shutdown_sends_1001_to_open_websockets():
    """SIGTERM (graceful stop) under --master: every open websocket gets CLOSE 1001."""
    with run_server(["--wsgi-file", "tests/apps/websocket_echo.py", "--master", "--processes", "2",
                     "--tornado", "4", "--greenlet", "-L"]) as srv:
        async def go():
            socks = [await websockets.connect(url(srv)) for _ in range(4)]
            for ws in socks:
                await ws.send("x")
                assert await ws.recv() == "x"
            os.kill(srv.pid, signal.SIGTERM)
            codes = []
            for ws in socks:
                with pytest.raises(ConnectionClosed) as e:
                    await asyncio.wait_for(ws.recv(), 15)
                codes.append(e.value.rcvd.code if e.value.rcvd else None)
            return codes
        assert run(go()) == [1001] * 4
        assert srv.proc.wait(15) == 0


def test_websockets_max_size_option_in_kbytes():
    with run_server(["--wsgi-file", "tests/apps/websocket_echo.py", "--tornado", "2", "--greenlet", "-L",
                     "--websocket-max-size", "1"]) as srv:  # uWSGI's alias, in Kbytes
        async def go():
            async with websockets.connect(url(srv, "/echo-binary")) as ws:
                await ws.send(b"k" * 1024)
                assert await ws.recv() == b"k" * 1024
                await ws.send(b"k" * 1025)
                with pytest.raises(ConnectionClosed) as e:
                    await ws.recv()
                assert e.value.rcvd is not None and e.value.rcvd.code == 1009
        run(go())
        srv.wait_for_line(r"exceeds the limit of 1024 bytes")


def test_a_parked_websocket_is_not_harakiri_killed():
    """--harakiri 1 under --master: a websocket idle for 4 s (parked, no core) is neither
    cancelled nor gets its worker killed; harakiri counts only while it holds a core."""
    with run_server(["--wsgi-file", "tests/apps/websocket_echo.py", "--master", "--processes", "1",
                     "--tornado", "2", "--greenlet", "-L", "--harakiri", "1"]) as srv:
        async def go():
            async with websockets.connect(url(srv)) as ws:
                await ws.send("before")
                assert await ws.recv() == "before"
                await asyncio.sleep(4)
                await ws.send("after")
                assert await ws.recv() == "after"
        run(go())
        assert not [line for line in srv.lines if "HARAKIRI" in line], srv.output()


def test_websockets_from_threads():
    """--threads: the calls work from the app's thread (each done by its core), as in uWSGI;
    the app's receive raises once the client closed, and the worker serves on."""
    with run_server(["--wsgi-file", "tests/apps/websocket_echo.py", "--threads", "2"]) as srv:
        async def go():
            async with websockets.connect(url(srv, "/echo")) as ws:
                for text in ("one", "κόσμε"):
                    await ws.send(text)
                    assert await ws.recv() == text
            async with websockets.connect(url(srv, "/proto"), subprotocols=["chat"]) as ws:
                assert ws.subprotocol == "chat" and await ws.recv() == "hello"
        run(go())
        assert request(srv.port, "/last").body == b"{'echo': 'unable to receive websocket message'}"
        assert request(srv.port, "/").body == b"plain"
