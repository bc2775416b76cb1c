"""The routers' stats socket connection (gateway.router.stats.StatsConnection)."""

from __future__ import annotations

import asyncio
import socket

from gateway.router import stats


def test_a_client_that_does_not_read_the_document_is_cut_after_the_timeout(monkeypatch):
    # the document is written, then the connection closes once flushed: a client that never
    # reads kept the socket and the unsent bytes in the router forever (one per connection)
    monkeypatch.setattr(stats, "STATS_TIMEOUT", 0.3)
    loop = asyncio.new_event_loop()
    ours, theirs = socket.socketpair()
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lost = loop.create_future()

    class Conn(stats.StatsConnection):
        def connection_lost(self, exc):
            super().connection_lost(exc)
            if not lost.done():
                lost.set_result(True)

    async def main():
        await loop.connect_accepted_socket(lambda: Conn(lambda: b"x" * (8 << 20), False), ours)
        return await asyncio.wait_for(lost, 5.0)

    try:
        assert loop.run_until_complete(main()) is True
    finally:
        theirs.close()
        loop.close()
