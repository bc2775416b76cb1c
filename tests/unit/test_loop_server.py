"""gateway/server/accept.py: the loop's own server opened and closed under an accept policy
(the engine's free cores, the connection budget)."""

from __future__ import annotations

import asyncio
import errno
import socket

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
