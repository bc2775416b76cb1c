"""Ticks: the loop's tick timer, and the watchdog thread that ticks while the loop is stuck.

Erlang drops a peer silent for about ``net_ticktime``.  :class:`Ticks` answers that
on the loop: every ``net_ticktime/8`` it drops peers silent for ``net_ticktime``
and sends a tick (a zero-length packet) on connections we have not written to for
``net_ticktime/4``.  A loop blocked by a Python function running inline would miss
those deadlines, so :class:`TickWatchdog`, a thread, ticks for it (safely, on
packet boundaries: see its docstring).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Optional

from ..logs import gen_log
from . import dist
from .errors import NodeDown

if TYPE_CHECKING:  # pragma: no cover
    from .node import Node

_monotonic = time.monotonic


class TickWatchdog(threading.Thread):
    """Keeps the distribution connections ticking while the loop thread is blocked.

    Every ``net_ticktime/8`` it looks at each connection's last write.  The loop
    itself ticks a connection after ``net_ticktime/4`` of silence (checked every
    ``net_ticktime/8``), so a connection silent for ``3/8`` of it means the loop is
    stuck (a blocking function called inline, a blocking WSGI app in a core): the
    watchdog then writes the tick itself (:meth:`Connection.watchdog_tick`, under
    the connection's write lock, only on a packet boundary).  Erlang drops a peer
    silent for 3/4..5/4 of ``net_ticktime``; our silence stays under 1/2 of it.

    Why a tick from this thread cannot corrupt the stream:

    1. every send on a connection's socket happens under its ``wlock``: the loop's
       and other threads' :meth:`Connection.write`, the loop's writer callback, and
       this watchdog.  Nothing else touches the socket for writing;
    2. ``_wbuf`` holds the unsent end of the stream (its first item may be a packet
       partly taken by the kernel, the others are whole packets) and while it is not
       empty every writer appends to it instead of sending, so bytes leave in the
       order they were written;
    3. the watchdog sends the 4 zero bytes only once ``_wbuf`` is empty *after* it
       flushed it under the lock, i.e. when the kernel holds every byte of every
       packet written so far: the next byte starts a packet.  If the kernel takes
       only part of the tick, the rest goes into ``_wbuf``, so (2) still holds;
    4. the socket is closed (``sock`` set to None) under ``wlock`` too, so no thread
       can send on a closed (or reused) descriptor.

    It needs the GIL to run, which a blocked thread releases (sleeping, waiting on
    I/O or a lock) and pure-Python code yields every switch interval; a C extension
    holding the GIL for longer than ``net_ticktime`` would starve it (as it would
    starve any thread).  Reading is the loop's alone: a blocked loop reads nothing,
    so when it resumes its tick timer gives every peer a fresh ``net_ticktime``
    before judging silence.
    """

    def __init__(self, node: "Node") -> None:
        super().__init__(name="erlang-ticks", daemon=True)
        self.node = node
        self.stopped = threading.Event()
        self.ticks = 0  # ticks sent by the watchdog (for tests and logs)

    def run(self) -> None:
        node = self.node
        interval = max(node.net_ticktime / 8.0, 0.05)
        limit = node.net_ticktime * 3.0 / 8.0
        stalled_since = 0.0
        while not self.stopped.wait(interval):
            now = _monotonic()
            sent = 0
            for conn in node.connections():
                if conn.established and not conn.closed and now - conn.last_write >= limit:
                    if conn.watchdog_tick():
                        sent += 1
            self.ticks += sent
            late = now - node.ticks.due
            if late > limit and sent:
                if not stalled_since:
                    stalled_since = node.ticks.due
                    gen_log.warning(
                        "erlang: the loop of %s has been blocked for %.1fs (a Python function running inline?); "
                        "ticking its %d connection(s) from the watchdog thread",
                        node.full,
                        late,
                        sent,
                    )
            elif late <= limit and stalled_since:
                gen_log.info("erlang: the loop of %s was blocked for %.1fs", node.full, now - stalled_since)
                stalled_since = 0.0

    def stop(self) -> None:
        self.stopped.set()


class Ticks:
    """The node's tick timer on the loop, and its :class:`TickWatchdog`."""

    def __init__(self, node: "Node") -> None:
        self.node = node
        self.due = 0.0  # when the timer should fire next (the watchdog measures the loop's lateness)
        self._handle: Optional[asyncio.TimerHandle] = None
        self.watchdog: Optional[TickWatchdog] = None

    def start(self) -> None:
        self._schedule()
        self.watchdog = TickWatchdog(self.node)
        self.watchdog.start()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self.watchdog is not None:
            self.watchdog.stop()
            self.watchdog = None

    def _schedule(self) -> None:
        interval = max(self.node.net_ticktime / 8.0, 0.05)
        self.due = _monotonic() + interval
        self._handle = self.node.loop.call_later(interval, self._on_timer)

    def _on_timer(self) -> None:
        node = self.node
        if not node.running:
            return
        now = _monotonic()
        ticktime = node.net_ticktime
        quarter = ticktime / 4.0
        late = now - self.due
        connections = node.connections()
        if late > max(quarter, 1.0):
            # The loop itself was blocked: nothing could be read meanwhile, so the
            # silence says nothing about the peers.  Give them a fresh period.
            for conn in connections:
                conn.last_read = max(conn.last_read, now - quarter)
        for conn in connections:
            if conn.closed:
                continue
            if now - conn.last_read > ticktime:
                gen_log.info("erlang: %s did not tick for %.1fs: disconnecting", conn.peer_name, now - conn.last_read)
                conn.abort(NodeDown("%s stopped answering (net_ticktime %.3gs)" % (conn.peer_name, ticktime)))
                continue
            if now - conn.last_write >= quarter:
                try:
                    conn.write(dist.TICK_BYTES)
                except NodeDown:
                    pass
        self._schedule()
