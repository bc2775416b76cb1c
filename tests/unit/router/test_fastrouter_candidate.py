"""The FastRouter's choice of a subscribed node (gateway.router.fastrouter.FastRouter.candidate)."""

from __future__ import annotations

import asyncio

from gateway.router.fastrouter import FastRouter, FastRouterSettings
from gateway.router.subscription import SUBSCRIBE, Subscription, SubscriptionTable


def test_a_node_whose_address_cannot_be_used_is_dropped_and_the_next_node_serves():
    # a node in the table that parse_upstream cannot read must not fail the requests that
    # pick it: the request goes on to the next node, and the bad node leaves the table
    table = SubscriptionTable()
    table.apply(Subscription(SUBSCRIBE, "k", "127.0.0.1:notaport"), 0)
    table.apply(Subscription(SUBSCRIBE, "k", "127.0.0.1:3031"), 0)
    loop = asyncio.new_event_loop()
    try:
        router = FastRouter(FastRouterSettings([], [], timeout=4.0), loop, table)
        picks = [router.candidate("k", []) for _ in range(4)]
    finally:
        loop.close()
    assert all(p is not None and p[2] == "127.0.0.1:3031" for p in picks)
    assert [n.address for n in table.keys["k"]] == ["127.0.0.1:3031"]


def test_a_client_dripping_its_head_is_closed_after_the_timeout():
    # each byte reset the silence timer: a head of up to 64 KiB sent a byte every few seconds
    # held the connection (and its buffer) for days
    from gateway.router.fastrouter import FastRouterConnection

    class Transport:
        closed = False

        def close(self):
            self.closed = True

        abort = close

        def pause_reading(self):
            pass

    loop = asyncio.new_event_loop()
    try:
        router = FastRouter(FastRouterSettings(["127.0.0.1:1"], [], timeout=4.0), loop)
        conn = FastRouterConnection(router)
        transport = Transport()
        conn.connection_made(transport)
        start = conn.last_activity
        conn.data_received(b"\x00\xff\xff\x00")  # a head of 65535 bytes announced
        for i in range(8):  # then a byte a second: never silent for 4 s
            conn.data_received(b"\x01")
            conn.last_activity = start + i
            conn.on_timeout(start + i + 0.5)
            assert conn.reader is not None  # still reading the head
        assert transport.closed and conn not in router.connections
    finally:
        loop.close()


def test_no_socket_for_the_node_fails_the_client_not_the_event_loop(monkeypatch):
    # out of file descriptors: the OSError went up through data_received (a traceback a
    # connection in the log); the client is closed with one rate-limited line instead
    import errno

    from gateway.router import fastrouter

    def no_socket(*args, **kwargs):
        raise OSError(errno.EMFILE, "Too many open files")

    class Transport:
        closed = False

        def close(self):
            self.closed = True

        abort = close

    monkeypatch.setattr(fastrouter, "Upstream", no_socket)
    loop = asyncio.new_event_loop()
    try:
        router = FastRouter(FastRouterSettings(["127.0.0.1:1"], [], timeout=4.0), loop)
        conn = fastrouter.FastRouterConnection(router)
        transport = Transport()
        conn.connection_made(transport)
        conn.data_received(b"\x00\x00\x00\x00")  # a complete (empty) head
        assert transport.closed and conn not in router.connections
    finally:
        loop.close()
