"""--max-connections in the HTTP router (gateway/router/server.py, listeners_budget.py): its listeners' loop servers
follow the client connection count and the graceful stop."""

from __future__ import annotations

import asyncio
import socket

from gateway.router.server import Listener, Router, RouterSettings
from gateway.server.accept import LoopServer


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


def test_a_budget_filled_while_the_listeners_open_keeps_the_later_ones_closed(monkeypatch):
    # a client accepted by the first listener's server while the next one is opening fills a
    # budget of 1: the next one must not open then (it accepted past the budget until a close)
    socks = [_listening(), _listening()]
    original_open = LoopServer.open

    async def scenario() -> list:
        router = Router(RouterSettings(["127.0.0.1:1"], max_connections=1), asyncio.get_running_loop())

        async def open_then_a_client(server: LoopServer) -> None:
            await original_open(server)
            if not router.connections:
                router.connections.add(object())  # type: ignore[arg-type]
                router.check_budget()

        monkeypatch.setattr(LoopServer, "open", open_then_a_client)
        await router.start([Listener(s) for s in socks])
        states = [server.server is not None for server in router.listeners.servers]
        router.connections.clear()
        router.check_budget()  # the client closed: both accept
        for _ in range(100):
            if all(server.server is not None for server in router.listeners.servers):
                break
            await asyncio.sleep(0.01)
        states += [server.server is not None for server in router.listeners.servers]
        router.close_all()
        return states

    try:
        assert asyncio.run(scenario()) == [False, False, True, True]
    finally:
        for s in socks:
            s.close()


def test_a_budget_release_after_the_graceful_stop_does_not_accept_again():
    sock = _listening()

    async def scenario() -> list:
        router = Router(RouterSettings(["127.0.0.1:1"], max_connections=1), asyncio.get_running_loop())
        await router.start([Listener(sock)])
        router.connections.add(object())  # type: ignore[arg-type]
        router.check_budget()
        states = [router.listeners.servers[0].server is not None]
        router.stop_accepting()
        router.connections.clear()
        router.check_budget()
        await asyncio.sleep(0.05)
        states.append(router.listeners.servers[0].server is not None)
        router.close_all()
        return states

    try:
        assert asyncio.run(scenario()) == [False, False]
    finally:
        sock.close()
