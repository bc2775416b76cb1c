"""gateway/server/accept.py: the loop's own server opened and closed under an accept policy
(the engine's free cores, the connection budget)."""

from __future__ import annotations

import asyncio
import errno
import os
import socket

import pytest

from gateway.server import accept
from gateway.server.accept import LoopServer


class FlakySocket:
    """A listening socket whose first ``dup()`` fails as when the descriptors run out."""

    def __init__(self, sock: socket.socket, failures: int) -> None:
        self.sock = sock
        self.failures = failures
        self.family = sock.family

    def dup(self) -> socket.socket:
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return self.sock.dup()


def test_a_failed_opening_is_retried_while_accepting_is_wanted(monkeypatch, expect_log):
    # a dup() failing with EMFILE (the budget just released, the descriptors still short) left
    # the server "opening" forever: no later toggle opened it again, the listener never accepted
    monkeypatch.setattr(accept, "RETRY_DELAY", 0.01, raising=False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    async def scenario() -> bool:
        loop = asyncio.get_running_loop()
        tasks: set = set()
        ls = LoopServer(loop, FlakySocket(listener, 2), asyncio.Protocol, 8, tasks)  # type: ignore[arg-type]
        ls.toggle(True)
        for _ in range(200):
            if ls.server is not None:
                break
            await asyncio.sleep(0.01)
        opened = ls.server is not None
        ls.toggle(False)
        return opened

    try:
        with expect_log("gateway.error", "cannot accept on"):
            assert asyncio.run(scenario())
    finally:
        listener.close()


def test_no_retry_once_accepting_is_no_longer_wanted(monkeypatch, expect_log):
    monkeypatch.setattr(accept, "RETRY_DELAY", 0.01, raising=False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    flaky = FlakySocket(listener, 1)

    async def scenario() -> LoopServer:
        loop = asyncio.get_running_loop()
        ls = LoopServer(loop, flaky, asyncio.Protocol, 8, set())  # type: ignore[arg-type]
        ls.toggle(True)
        await asyncio.sleep(0)
        ls.toggle(False)
        await asyncio.sleep(0.1)
        return ls

    try:
        with expect_log("gateway.error", "cannot accept on"):
            ls = asyncio.run(scenario())
        assert ls.server is None and not ls.opening
    finally:
        listener.close()


def _loops():
    out = [("asyncio", asyncio.new_event_loop)]
    try:
        import uvloop
    except ImportError:
        return out
    return out + [("uvloop", uvloop.new_event_loop)]


@pytest.mark.parametrize("name, new_loop", _loops(), ids=[n for n, _ in _loops()])
def test_a_unix_server_closed_when_every_core_is_busy_leaves_the_socket_path(tmp_path, name, new_loop):
    # Python 3.13's asyncio (and uvloop there) unlink a UNIX server's path when it closes, even
    # for a socket they were given: the first busy moment of a worker removed the path nginx
    # connects to, for good
    path = str(tmp_path / "app.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(8)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ls = LoopServer(loop, listener, asyncio.Protocol, 8, set())
        await ls.open()
        server = ls.server
        ls.toggle(False)  # every core busy
        await server.wait_closed()
        assert os.path.exists(path)
        ls.toggle(True)  # a core free again: a client connects by the path
        for _ in range(200):
            if ls.server is not None:
                break
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.close()
        await writer.wait_closed()
        ls.toggle(False)
        await asyncio.sleep(0.01)  # the server side's EOF closes its transport

    loop = new_loop()
    try:
        loop.run_until_complete(scenario())
        # the control: where the loop can clean up, asking it to removes the path (so the
        # assertion above could fail)
        if accept._knows_cleanup_socket(loop):
            async def cleaning() -> None:
                server = await loop.create_unix_server(asyncio.Protocol, sock=listener.dup(), cleanup_socket=True)
                server.close()
                await server.wait_closed()

            loop.run_until_complete(cleaning())
            assert not os.path.exists(path)
    finally:
        loop.close()
        listener.close()
