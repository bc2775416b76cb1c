"""TLS handshakes in progress, counted by ``--max-connections`` like open connections.

A loop's TLS server (:class:`~gateway.server.accept.LoopServer` with ``tls``) calls the
protocol factory when it accepts a connection, then runs the handshake, and calls the
protocol's ``connection_made`` only once the handshake succeeded; a failed or abandoned
handshake is never reported to the protocol.  Until then the connection already holds a
descriptor and the handshake's buffers, so a peer that connects and stays silent would
otherwise sidestep the budget.  :class:`PendingHandshakes` counts each protocol from the
factory call to its ``connection_made`` (:meth:`PendingHandshakes.done`), or until the loop
lets go of it (a failed handshake: the peer left, sent something else than TLS, or the
handshake timed out), or to its deadline (the handshake timeout, ``--socket-timeout``, plus
a second): by then the loop has ended it.

The loops say nothing to the protocol of a failed handshake, but they drop it: the protocol
is counted through a weak reference, whose callback frees its place.  uvloop drops it at
once; asyncio's accepting coroutine keeps it in a reference cycle (the traceback of the
handshake's exception), which the sweep's young-generation collection frees (:meth:`expire`).
Without that, a TCP health check or a port scan held a place of the budget for the whole
handshake timeout.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections import OrderedDict
from typing import Any, Callable


class PendingHandshakes:
    """``PendingHandshakes(loop, timeout, on_change)``: :meth:`wrap` a TLS server's protocol
    factory; ``on_change()`` runs (on the next loop iteration) after the count grew, and
    from :meth:`expire` after it shrank."""

    def __init__(self, loop: Any, timeout: float, on_change: Callable[[], None]) -> None:
        self.loop = loop
        self.timeout = timeout + 1.0
        self.on_change = on_change
        # weak reference to the protocol -> loop time by which its handshake has ended;
        # insertion order is deadline order
        self._pending: "OrderedDict[weakref.ref, float]" = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def __bool__(self) -> bool:
        return bool(self._pending)

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """``factory``, counting every protocol it builds until :meth:`done` or its deadline."""

        def counting() -> asyncio.Protocol:
            protocol = factory()
            self._pending[weakref.ref(protocol, self._dropped)] = self.loop.time() + self.timeout
            # not now: the budget's hold closes the loop's server, and a server closed while it
            # builds this connection's transport drops the connection (asyncio's Server._attach)
            self.loop.call_soon(self.on_change)
            return protocol

        return counting

    def done(self, protocol: Any) -> None:
        """``protocol``'s handshake succeeded (call it from ``connection_made``, before the
        connection is counted as open)."""
        self._pending.pop(weakref.ref(protocol), None)

    def _dropped(self, ref: "weakref.ref") -> None:
        # a weak reference's callback runs wherever the protocol was freed (a collection
        # started by an app thread too): forget it on the loop's thread
        if ref in self._pending:
            try:
                self.loop.call_soon_threadsafe(self._forget, ref)
            except RuntimeError:  # the loop is closed: nothing counts any more
                pass

    def _forget(self, ref: "weakref.ref") -> None:
        if self._pending.pop(ref, None) is not None:
            self.on_change()

    def expire(self, now: float) -> None:
        """Forget the handshakes past their deadline (they failed); call it about once a second.

        First a collection of the young generations frees the protocols of failed handshakes
        that only a reference cycle still holds (asyncio's; cheap: young objects only)."""
        gc.collect(1)
        pending = self._pending
        expired = False
        while pending:
            protocol, deadline = next(iter(pending.items()))
            if deadline > now:
                break
            del pending[protocol]
            expired = True
        if expired:
            self.on_change()

    def clear(self) -> None:
        self._pending.clear()
