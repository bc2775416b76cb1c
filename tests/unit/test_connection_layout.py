"""The per-connection objects of the request paths keep their attributes where CPython reads
them fastest: in slots, or in an instance dict of at most 30 keys (CPython's key-sharing
limit; past it every ``self.x`` on the hot path gets slower: adding two attributes to the
HTTP connection once cost 4 % more instructions per request, ``bench/hotpath_instructions.py``).
Each object is driven through a request first, so attributes set on the way are counted."""

from __future__ import annotations

import asyncio
import os
import sys
import weakref
from typing import Any

from tornado.ioloop import IOLoop

from gateway.protocol.environ import base_environ
from gateway.router.http_front import RouterConnection
from gateway.server.http import FileWrapper, HTTPConnection, HTTPServer, ServerSettings
from gateway.server.uwsgi import UwsgiConnection, UwsgiServer
from loop_engine import Engine

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED_KEYS_MAX = 30


class Transport:
    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    abort = close

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass


def hello(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"hi"]


def served(make) -> Any:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        settings = ServerSettings(hello, Engine(2, IOLoop.current()), log_requests=False)
        env = base_environ("127.0.0.1", "9090", multithread=True, multiprocess=False, errors=sys.stderr,
                           file_wrapper=FileWrapper)
        return make(settings, env)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def test_the_http_connection_keeps_every_attribute_in_its_slots():
    def make(settings, env):
        conn = HTTPConnection(HTTPServer(settings, env), ("127.0.0.1", 50000))
        conn.connection_made(Transport())
        conn.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        return conn

    conn = served(make)
    assert conn.served == 2 and vars(conn) == {}


def test_the_uwsgi_connection_stays_within_shared_keys():
    with open(os.path.join(ROOT, "tests", "fixtures", "uwsgi", "nginx", "get_query.bin"), "rb") as f:
        packet = f.read()

    def make(settings, env):
        conn = UwsgiConnection(UwsgiServer(settings, env), ("127.0.0.1", 50000))
        conn.connection_made(Transport())
        conn.data_received(packet)
        return conn

    assert len(vars(served(make))) <= SHARED_KEYS_MAX


def test_the_router_connection_has_no_instance_dict():
    from gateway.router.server import RouterSettings

    class Router:  # what a RouterConnection reads of its router
        settings = RouterSettings(["127.0.0.1:1"])
        loop = None
        next_upstream = None

    conn = RouterConnection(Router(), None)
    # slots all the way down (asyncio.Protocol has none either): an attribute not declared
    # in __slots__ fails at once, in every test that reaches it, instead of slowing all
    assert not hasattr(conn, "__dict__")
    assert conn.state == 0 and conn.upstream is None
    assert weakref.ref(conn)() is conn  # (handshakes in progress are counted by weak reference)


def test_the_discarding_mixin_never_shadows_what_the_connections_give():
    """BodyDiscarding declares what it needs as stubs: a connection must resolve each to its
    own (the mixin placed first in the bases once made every resume a NotImplementedError)."""
    from gateway.server.body_discard import BodyDiscarding

    for cls in (HTTPConnection, RouterConnection):
        for name in ("_clock", "_resume_reading", "_close", "_body_dropped"):
            assert getattr(cls, name) is not getattr(BodyDiscarding, name), (cls.__name__, name)
