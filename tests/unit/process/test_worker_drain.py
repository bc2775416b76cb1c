"""gateway.process.worker.stop_when_drained: a worker's graceful end waits for every connection
it accepted, including one whose ``connection_made()`` the loop has not run yet."""

from __future__ import annotations

from typing import Any, List

from tornado.ioloop import IOLoop

from gateway.process.worker import stop_when_drained


class Engine:
    cores = [object()] * 4
    free_cores = 4


class Server:
    def __init__(self) -> None:
        self.connections: set = set()
        self.handshakes: List[Any] = []
        self.closed_with: List[int] = []

    def close_all(self) -> None:
        self.closed_with.append(len(self.connections))


def _run(setup) -> tuple:
    loop = IOLoop()
    server = Server()
    events: List[str] = []
    try:
        setup(loop, server, events)
        stop_when_drained(loop, Engine(), [server], timeout=5.0)
        loop.call_later(10, loop.stop)  # the test's own bound
        loop.start()
        return server.closed_with, events, loop.time()
    finally:
        loop.close()


def test_a_connection_accepted_just_before_the_stop_is_answered_before_the_loop_stops():
    # the loop accepted it in the iteration the stop signal arrived: asyncio's server builds
    # its transport in a task step, which schedules connection_made(): two turns away
    def setup(loop, server, events):
        conn = object()

        def connection_made() -> None:
            server.connections.add(conn)
            loop.call_later(0.2, answered)

        def answered() -> None:
            events.append("answered")
            server.connections.discard(conn)

        loop.add_callback(loop.add_callback, connection_made)

    closed_with, events, _ = _run(setup)
    assert events == ["answered"]
    assert closed_with == [0]  # nothing left to cut when the loop stopped


def test_a_tls_handshake_in_progress_is_waited_for():
    def setup(loop, server, events):
        server.handshakes.append(object())

        def done() -> None:
            events.append("handshake done")
            server.handshakes.clear()

        loop.call_later(0.2, done)

    closed_with, events, _ = _run(setup)
    assert events == ["handshake done"] and closed_with == [0]


def test_with_nothing_open_the_loop_stops_at_once_and_past_the_mercy_it_cuts(gateway_errors):
    closed_with, _, _ = _run(lambda loop, server, events: None)
    assert closed_with == [0]

    loop = IOLoop()
    server = Server()
    server.connections.add(object())  # never answered
    try:
        start = loop.time()
        stop_when_drained(loop, Engine(), [server], timeout=0.2)
        loop.call_later(10, loop.stop)
        loop.start()
        assert server.closed_with == [1] and loop.time() - start < 5
        assert "1 requests or connections still open after 0.2s: exiting anyway" in gateway_errors.text
    finally:
        loop.close()
