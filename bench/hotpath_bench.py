"""CPU cost of gateway's request path without the kernel: µs per keep-alive request.

Feeds a wrk-like request into one :class:`gateway.server.http.HTTPConnection` over a fake
transport, so what is measured is exactly our Python: parse, environ, core (greenlet),
the WSGI call, response framing.  The syscalls (recv/send/epoll) come on top in a real
run.  ``uwsgi`` is the same for one :class:`gateway.server.uwsgi.UwsgiConnection` per
request (nginx opens one per request), fed the packet nginx sends for a GET
(``tests/fixtures/uwsgi/nginx/get_query.bin``, 18 vars).  Usage:
``python bench/hotpath_bench.py [N]``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from tornado.ioloop import IOLoop

from gateway.protocol.environ import base_environ
from gateway.server.http import FileWrapper, HTTPConnection, HTTPServer, ServerSettings
from gateway.server.uwsgi import UwsgiConnection, UwsgiServer
from loop_engine import Engine

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n\r\n"
UWSGI_PACKET_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                 "tests", "fixtures", "uwsgi", "nginx", "get_query.bin")


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [b"Hello, World!"]


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"one"
        yield b"two"
        yield b"three"

    return gen()


class FakeTransport:
    def __init__(self):
        self.out = 0

    def write(self, data):
        self.out += len(data)

    def is_closing(self):
        return False

    def close(self):
        pass

    abort = close

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass

    def get_extra_info(self, name, default=None):
        return default

    def can_write_eof(self):
        return True

    def write_eof(self):
        pass


def measure(app, n: int) -> float:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    io_loop = IOLoop.current()
    engine = Engine(100, io_loop)
    settings = ServerSettings(app, engine, log_requests=False, socket_timeout=30)
    env = base_environ("127.0.0.1", "9090", multithread=True, multiprocess=False, errors=sys.stderr,
                       file_wrapper=FileWrapper)
    server = HTTPServer(settings, env)
    result = []

    async def run():
        conn = HTTPConnection(server, ("127.0.0.1", 50000))
        transport = FakeTransport()
        conn.connection_made(transport)
        for _ in range(2000):  # warm-up
            conn.data_received(REQUEST)
            await asyncio.sleep(0)
        t0 = time.process_time()
        for _ in range(n):
            conn.data_received(REQUEST)
            if app is stream:
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                await asyncio.sleep(0)
        result.append((time.process_time() - t0) / n * 1e6)
        assert transport.out > 0

    loop.run_until_complete(run())
    loop.close()
    return result[0]


def measure_uwsgi(app, n: int) -> float:
    with open(UWSGI_PACKET_FILE, "rb") as f:
        packet = f.read()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    engine = Engine(100, IOLoop.current())
    settings = ServerSettings(app, engine, log_requests=False, socket_timeout=30)
    env = base_environ("127.0.0.1", "9090", multithread=True, multiprocess=False, errors=sys.stderr,
                       file_wrapper=FileWrapper)
    server = UwsgiServer(settings, env)
    result = []

    def one(transport):
        conn = UwsgiConnection(server, ("127.0.0.1", 50000))
        conn.connection_made(transport)
        conn.data_received(packet)
        conn.connection_lost(None)

    async def run():
        transport = FakeTransport()
        for _ in range(2000):  # warm-up
            one(transport)
        t0 = time.process_time()
        for _ in range(n):
            one(transport)
        result.append((time.process_time() - t0) / n * 1e6)
        assert transport.out > 0

    loop.run_until_complete(run())
    loop.close()
    return result[0]


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    for name, app in (("hello", hello), ("stream", stream)):
        best = min(measure(app, n) for _ in range(5))
        print("%-6s %6.2f µs/request (best of 5, %d requests, CPU time)" % (name, best, n))
    best = min(measure_uwsgi(hello, n) for _ in range(5))
    print("%-6s %6.2f µs/request (best of 5, %d requests, CPU time; one connection per request)" % ("uwsgi", best, n))
