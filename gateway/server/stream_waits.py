"""Where a core parks on its connection: waiting for body bytes, waiting for a drain.

A request runs in a core (``loop_engine``) while its connection's protocol methods run in
the loop.  The core parks on a `loop_engine.Waiter` when it needs body bytes that have not
arrived (`ConnectionWaits.wait_for_body`) or when the transport is over its high-water mark
after a write (`ConnectionWaits.write`); the protocol callbacks wake it (`wake_body`,
`resume_writing`) or fail it (`fail_waiters` from ``connection_lost``).  A coroutine on the
loop that writes after the core moved on (an offloaded file, `gateway.server.file_offload`)
waits for the same drain with `drained`.  `HTTPConnection`
(``--http-socket``) and `UwsgiConnection` (``--socket``) both inherit this, so that the
two protocols cannot drift apart on timeouts, back-pressure or a peer that goes away.
"""

from __future__ import annotations

import asyncio
from typing import Optional

from gateway.logs import gen_log
from gateway.server.settings import ServerSettings
from gateway.server.wsgi_input import BodyError, BodyTimeout, ClientDisconnected
from loop_engine import CoreTimeout, Waiter


class ConnectionWaits:
    """Mixin for an `asyncio.Protocol` whose requests run in cores.

    The subclass sets ``transport``, ``settings``, ``closed`` and ``peer``, calls
    `init_waits` in its ``__init__``, and names the other end in messages with ``WHO``
    (``"client"``, ``"peer"``) and ``SLOW_READER`` (a log format taking the peer and the
    timeout).
    """

    WHO = "peer"
    SLOW_READER = "%s did not read the response for %ss: closing"

    transport: Optional[asyncio.Transport]
    settings: ServerSettings
    closed: bool
    peer: str

    def init_waits(self) -> None:
        self._reading_paused = False
        self._write_paused = False
        self._drain_waiter: Optional[Waiter] = None
        self._body_waiter: Optional[Waiter] = None
        self._drain_future: Optional[asyncio.Future] = None

    # -- in the loop -------------------------------------------------------------------------

    def wake_body(self) -> bool:
        """Wake a core waiting for body bytes (they, or the EOF, arrived); False if none waits."""
        waiter = self._body_waiter
        if waiter is None:
            return False
        self._body_waiter = None
        waiter.fire()
        return True

    def fail_waiters(self) -> None:
        """The connection is gone: a parked core gets `ClientDisconnected`."""
        for attr in ("_body_waiter", "_drain_waiter"):
            waiter = getattr(self, attr)
            if waiter is not None:
                setattr(self, attr, None)
                waiter.throw(ClientDisconnected("%s disconnected" % self.WHO))
        self._wake_drain_future()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drain_future()
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            waiter.fire()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    def _wake_drain_future(self) -> None:
        drained = self._drain_future
        if drained is not None:
            self._drain_future = None
            if not drained.done():
                drained.set_result(None)

    async def drained(self) -> bool:
        """On the loop (not in a core): wait until the transport is under its high-water
        mark.  False if the connection is closed, or the peer did not read for
        ``--so-send-timeout`` (default ``--socket-timeout``; then it is dropped with one log
        line, as `write` does)."""
        if self._write_paused and not self.closed:
            fut = asyncio.get_running_loop().create_future()
            self._drain_future = fut
            try:
                await asyncio.wait_for(fut, self.settings.send_timeout)
            except asyncio.TimeoutError:
                self._drain_future = None
                gen_log.info(self.SLOW_READER, self.peer, self.settings.send_timeout)
                self._drop()
                return False
        return not self.closed

    # -- in a core ---------------------------------------------------------------------------

    def park_for_body(self, timeout: Optional[float]) -> None:
        """Resume reading and park until `wake_body`; `CoreTimeout` after ``timeout`` s,
        `ClientDisconnected` if the connection is lost meanwhile."""
        self._resume_reading()
        waiter = Waiter()
        self._body_waiter = waiter
        try:
            waiter.wait(timeout)
        except CoreTimeout:
            self._body_waiter = None
            raise

    def wait_for_body(self, want: int, timeout: Optional[float]) -> None:
        """`park_for_body` for ``wsgi.input``: the errors become `BodyTimeout` / `BodyError`."""
        if self.closed:
            raise BodyError("%s disconnected while sending the request body" % self.WHO)
        try:
            self.park_for_body(timeout)
        except CoreTimeout:
            raise BodyTimeout("timeout during read(%d) on wsgi.input" % want) from None
        except ClientDisconnected:
            raise BodyError("%s disconnected while sending the request body" % self.WHO) from None

    def write(self, data: bytes) -> None:
        """Write to the peer, suspending the core while the transport is over its high-water mark."""
        if self.closed:
            raise ClientDisconnected("%s disconnected" % self.WHO)
        self.transport.write(data)  # type: ignore[union-attr]
        if self._write_paused:
            waiter = Waiter()
            self._drain_waiter = waiter
            try:
                waiter.wait(self.settings.send_timeout)
            except CoreTimeout:
                self._drain_waiter = None
                gen_log.info(self.SLOW_READER, self.peer, self.settings.send_timeout)
                self._drop()
                raise ClientDisconnected("timeout writing the response") from None

    def _drop(self) -> None:
        """Abort the connection of a peer that does not read (a subclass may do more)."""
        self.transport.abort()  # type: ignore[union-attr]
