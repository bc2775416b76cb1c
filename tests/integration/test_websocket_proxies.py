"""WebSockets behind the two fronts that speak the uwsgi protocol to a ``--socket`` worker.

* a real nginx with ``uwsgi_pass`` (the ``Upgrade``/``Connection`` request headers reach
  the worker as ``HTTP_UPGRADE``/``HTTP_CONNECTION``; nginx tunnels after our ``101``);
* our ``--http`` router (``--http-to`` the worker): a raw two-way tunnel after the ``101``.

Both forward to one gateway worker on ``--socket`` running ``tests/apps/websocket_echo.py``,
whose handshake and frames are the same code as on ``--http-socket``: the takeover lives
in the shared WSGI runner, not in a protocol.  The client is the ``websockets`` library.
"""

from __future__ import annotations

import asyncio
import http.client
import os

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from server import run_server
from support.nginx import Nginx
from support.router import run_router

MiB = 1 << 20

NGINX = """
    server {
        listen {listen};
        location / {
            include uwsgi_params;
            uwsgi_pass %s;
            uwsgi_read_timeout 60s;
        }
    }
"""


@pytest.fixture(scope="module")
def fronts():
    args = ["--socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/websocket_echo.py", "--tornado", "4",
            "--greenlet", "-L"]
    with run_server(args) as worker:
        addr = worker.uwsgi_addresses[0]
        with Nginx(NGINX % addr) as ngx, run_router(["--http", "127.0.0.1:0", "--http-to", addr]) as router:
            yield {"nginx": ngx.port, "router": router.port}


FRONTS = ["nginx", "router"]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.mark.parametrize("front", FRONTS)
def test_echo_sizes_text_and_binary(fronts, front):
    port = fronts[front]

    async def go():
        async with websockets.connect("ws://127.0.0.1:%d/echo" % port, max_size=None) as ws:
            for size in (1, 64 * 1024, MiB):
                await ws.send("é" * (size // 2) + "x" * (size % 2))
                assert await ws.recv() == "é" * (size // 2) + "x" * (size % 2)
        async with websockets.connect("ws://127.0.0.1:%d/echo-binary" % port, max_size=None) as ws:
            for size in (1, 64 * 1024, MiB):
                data = os.urandom(size)
                await ws.send(data)
                assert await ws.recv() == data
            await ws.send([b"frag", b"mented"])
            assert await ws.recv() == b"fragmented"
            pong = await ws.ping(b"through the proxy")
            await asyncio.wait_for(pong, 5)
        assert ws.close_code == 1000

    run(go())


@pytest.mark.parametrize("front", FRONTS)
def test_server_close_and_oversize_reach_the_client(fronts, front):
    port = fronts[front]

    async def go():
        async with websockets.connect("ws://127.0.0.1:%d/close-after-1" % port) as ws:
            await ws.send("one")
            assert await ws.recv() == "one"
            with pytest.raises(ConnectionClosed) as e:
                await ws.recv()
            assert e.value.rcvd is not None and e.value.rcvd.code == 1000
        async with websockets.connect("ws://127.0.0.1:%d/echo-binary" % port, max_size=None) as ws:
            await ws.send(b"z" * (MiB + 1))
            with pytest.raises(ConnectionClosed) as e:
                await ws.recv()
            assert e.value.rcvd is not None and e.value.rcvd.code == 1009

    run(go())


@pytest.mark.parametrize("front", FRONTS)
def test_plain_requests_while_websockets_are_open(fronts, front):
    """More open websockets than the worker has cores (4): they are parked, not holding cores."""
    port = fronts[front]

    async def go():
        socks = []
        try:
            for i in range(8):
                socks.append(await websockets.connect("ws://127.0.0.1:%d/echo" % port))
                await socks[-1].send("hi %d" % i)
                assert await socks[-1].recv() == "hi %d" % i

            def plain():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                try:
                    c.request("GET", "/")
                    r = c.getresponse()
                    return r.status, r.read()
                finally:
                    c.close()

            assert await asyncio.get_running_loop().run_in_executor(None, plain) == (200, b"plain")
        finally:
            for ws in socks:
                await ws.close()

    run(go())
