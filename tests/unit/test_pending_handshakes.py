"""PendingHandshakes (gateway/server/handshakes.py): what --max-connections counts of the TLS
handshakes in progress."""

from __future__ import annotations

import asyncio
import gc

from gateway.server.handshakes import PendingHandshakes


class _Proto(asyncio.Protocol):
    pass


def test_a_protocol_the_loop_drops_leaves_the_count_a_finished_handshake_too():
    loop = asyncio.new_event_loop()
    changes = []
    try:
        pending = PendingHandshakes(loop, 30.0, lambda: changes.append(len(pending)))
        factory = pending.wrap(_Proto)
        ok, failed = factory(), factory()
        assert len(pending) == 2
        pending.done(ok)  # connection_made: the handshake succeeded
        assert len(pending) == 1
        del failed  # a failed handshake: the loop lets go of the protocol
        gc.collect()
        loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(asyncio.sleep(0))
        assert len(pending) == 0 and changes[-1] == 0  # and the budget was told
        del ok
        gc.collect()
        loop.run_until_complete(asyncio.sleep(0))
        assert len(pending) == 0
    finally:
        loop.close()


def test_a_silent_handshake_leaves_the_count_at_its_deadline():
    loop = asyncio.new_event_loop()
    try:
        pending = PendingHandshakes(loop, 3.0, lambda: None)
        held = pending.wrap(_Proto)()
        pending.expire(loop.time() + 3.5)
        assert len(pending) == 1
        pending.expire(loop.time() + 4.5)  # the timeout plus a second
        assert len(pending) == 0
        del held
        gc.collect()
        loop.run_until_complete(asyncio.sleep(0))
        assert len(pending) == 0
    finally:
        loop.close()
