"""The FastRouter (uWSGI's ``--fastrouter``): a uwsgi-in, uwsgi-out proxy.

Each client connection (nginx's ``uwsgi_pass``, or anything speaking uwsgi) sends one
packet: :class:`~gateway.router.fastrouter_head.HeadReader` reads its head, a node is
chosen, and the head, then every byte the client sends, goes to the node; every byte the
node answers goes back, until the node closes.  The node is:

* with a subscription server (``--fastrouter-subscription-server``), a node subscribed
  under the request's key (``UWSGI_FASTROUTER_KEY``, ``HTTP_HOST`` or ``SERVER_NAME``),
  weighted round-robin, the packet's modifiers replaced by the node's; an unknown key
  closes the connection with no answer, as uWSGI does;
* else the ``--fastrouter-to`` nodes (or the ``--fastrouter-use-socket`` one),
  round-robin, a refused connection moving on to the next;
* then, when every candidate refused, the ``--fastrouter-fallback`` nodes in order (for a key
  with no subscribed node only with ``--fastrouter-fallback-on-no-key``, as uWSGI).

A subscribed node that refuses a connection is dropped from the table (uWSGI's "marking ...
as failed") until its next announce.

Connections use :class:`~gateway.router.upstream.Upstream` (the HTTP router's socket
driver); one sweep per second closes connections silent for ``--fastrouter-timeout``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, List, Optional, Set, Tuple

from gateway.logs import gen_log
from gateway.protocol.uwsgi import UwsgiError
from gateway.router.fastrouter_head import Head, HeadReader, routing_key
from gateway.router.listeners_budget import BudgetedListeners
from gateway.router.subscription import SubscriptionTable
from gateway.router.upstream import Upstream, parse_upstream

__all__ = ["FastRouter", "FastRouterSettings", "FastRouterConnection"]

_LOG_INTERVAL = 1.0
#: kinds remembered by :func:`log_limited` (kinds name nodes: announces could make many)
_MAX_LOG_KINDS = 1024
_last_logged: dict = {}


def log_limited(kind: str, message: str, *args: Any) -> None:
    """One line on ``gateway.general`` per ``kind`` per second (hostile input must not flood the log)."""
    now = time.monotonic()
    if len(_last_logged) >= _MAX_LOG_KINDS and kind not in _last_logged:
        for old, when in list(_last_logged.items()):
            if now - when >= _LOG_INTERVAL:
                del _last_logged[old]
        if len(_last_logged) >= _MAX_LOG_KINDS:
            return  # over a thousand kinds logged within the second: drop this line
    if now - _last_logged.get(kind, -10.0) >= _LOG_INTERVAL:
        _last_logged[kind] = now
        gen_log.error(message, *args)


class FastRouterSettings:
    """What a FastRouter process needs from the configuration."""

    def __init__(self, nodes: List[str], fallbacks: List[str], timeout: float, max_head: int = 0xFFFF,
                 force_key: str = "", fallback_key: str = "", quiet: bool = False,
                 connect_timeout: float = 3.0, fallback_on_no_key: bool = False, max_connections: int = 0) -> None:
        self.nodes = nodes
        self.fallbacks = fallbacks
        self.timeout = timeout
        self.max_head = max_head
        self.force_key = force_key
        self.fallback_key = fallback_key
        self.quiet = quiet
        #: ``--fastrouter-fallback-on-no-key``: a key with no subscribed node goes to the fallback nodes
        self.fallback_on_no_key = fallback_on_no_key
        self.connect_timeout = connect_timeout
        #: --max-connections: client connections held at once (0: unbounded)
        self.max_connections = max_connections


class FastRouter:
    """All client connections of one FastRouter process."""

    def __init__(self, settings: FastRouterSettings, loop: asyncio.AbstractEventLoop,
                 table: Optional[SubscriptionTable] = None) -> None:
        self.settings = settings
        self.loop = loop
        self.table = table
        self.connections: Set[FastRouterConnection] = set()
        self._nodes = [(*parse_upstream(spec), spec) for spec in settings.nodes]
        self.fallbacks = [(*parse_upstream(spec), spec) for spec in settings.fallbacks]
        self._next = 0
        #: the listeners, closed while the connection budget is full (--max-connections)
        self.listeners = BudgetedListeners(loop, settings.max_connections, lambda: len(self.connections),
                                           "[fastrouter]")
        self._sweeper: Optional[asyncio.TimerHandle] = None
        #: called once a second by the sweep
        self.on_sweep: Optional[Callable[[], None]] = None

    def candidate(self, key: str, tried: List[str]) -> Optional[Tuple[int, Any, str, int, int]]:
        """``(family, address, spec, modifier1, modifier2)`` of the next node to try, or None.

        ``modifier1`` is -1 when the packet's own modifiers are kept (static nodes)."""
        table = self.table
        if table is not None:
            while True:
                node = table.pick(key, tried)
                if node is None and self.settings.fallback_key and not tried:
                    node = table.pick(self.settings.fallback_key, tried)
                if node is None:
                    break
                try:
                    family, address = parse_upstream(node.address)
                except ValueError:
                    # (announces are checked: not expected) the node leaves the table, the
                    # request goes on to the next one instead of failing with it
                    table.mark_failed(node.address)
                    continue
                return family, address, node.address, node.modifier1, node.modifier2
        nodes = self._nodes
        if nodes and len(tried) < len(nodes):
            family, address, spec = nodes[self._next % len(nodes)]
            self._next = (self._next + 1) % len(nodes)
            return family, address, spec, -1, 0
        return None

    def fallback(self, index: int) -> Optional[Tuple[int, Any, str, int, int]]:
        if index < len(self.fallbacks):
            return (*self.fallbacks[index], -1, 0)
        return None

    async def start(self, socks: List[Any], backlog: int) -> None:
        for sock in socks:
            self.listeners.add(sock, lambda: FastRouterConnection(self), backlog)
        await self.listeners.open()
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(1.0, self._sweep)

    def _sweep(self) -> None:
        now = self.loop.time()
        for conn in list(self.connections):
            conn.on_timeout(now)
        if self.table is not None:
            for line in self.table.expire(time.monotonic()):
                gen_log.info("[fastrouter-subscription] %s", line)
        if self.on_sweep is not None:
            self.on_sweep()
        self._sweeper = self.loop.call_later(1.0, self._sweep)

    def check_budget(self) -> None:
        """After a client connection opened or closed (``--max-connections``)."""
        self.listeners.check()

    def stop_accepting(self) -> None:
        self.listeners.stop()

    def busy(self) -> int:
        return sum(1 for c in self.connections if c.upstream is not None)

    def close_idle(self) -> None:
        """Nothing to close early: a client connection carries one request, and those still
        sending their head end with :meth:`close_all` (a graceful stop waits for the busy)."""

    def close_all(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.stop_accepting()
        for conn in list(self.connections):
            conn.close()


class FastRouterConnection(asyncio.Protocol):
    """One client: read the head, connect to a node, then relay both ways."""

    def __init__(self, router: FastRouter) -> None:
        self.router = router
        self.loop = router.loop
        self.transport: Optional[asyncio.Transport] = None
        self.reader: Optional[HeadReader] = HeadReader(router.settings.max_head)
        self.upstream: Optional[Upstream] = None
        self.head: Optional[Head] = None
        self.key = ""
        self.spec = ""
        self._tried: List[str] = []
        self._fallback = 0
        self._pending: List[bytes] = []  # client bytes received while connecting
        self._client_eof = False
        self._connected = False
        self._closed = False
        self.last_activity = self.started = router.loop.time()

    # -- client side ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.router.connections.add(self)
        self.router.check_budget()

    def data_received(self, data: bytes) -> None:
        self.last_activity = self.loop.time()
        if self.reader is not None:
            try:
                head = self.reader.feed(data)
            except UwsgiError as e:
                log_limited("bad-head", "[fastrouter] invalid uwsgi packet from a client: %s", e)
                self.close()
                return
            if head is None:
                return
            self.reader = None
            self.head = head
            self.key = self.router.settings.force_key or routing_key(head.vars)
            if head.rest:
                self._pending.append(head.rest)
            self._connect()
            return
        if self.upstream is None or not self._connected:
            self._pending.append(data)
            if self.transport is not None:
                self.transport.pause_reading()
            return
        if not self.upstream.write(data) and self.transport is not None:
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self._client_eof = True
        if self.reader is not None:
            self.close()
        elif self.upstream is not None and self._connected:
            self.upstream.shutdown_write()
        return True  # keep the transport open for the answer (half-close)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.close()

    def pause_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.resume_reading()

    # -- choosing and connecting ------------------------------------------------------

    def _connect(self) -> None:
        router = self.router
        target = router.candidate(self.key, self._tried)
        if target is None and (self._tried or router.table is None or router.settings.fallback_on_no_key):
            target = router.fallback(self._fallback)
            if target is not None:
                self._fallback += 1
        if target is None:
            if not self._tried:
                log_limited("no-node", "[fastrouter] no node for key %r: closing the connection", self.key)
            else:
                log_limited("unreachable", "[fastrouter] no node reachable for key %r: closing the connection",
                            self.key)
            self.close()
            return
        family, address, self.spec, modifier1, modifier2 = target
        self._tried.append(self.spec)
        head = self.head
        assert head is not None
        packet = head.packet if modifier1 < 0 else head.with_modifiers(modifier1, modifier2)
        self._packet = packet
        self._connected = False
        try:
            upstream = Upstream(self.loop, self, family, address, router.settings.connect_timeout)
        except OSError as e:  # no socket to be had (EMFILE, ENFILE...): this client fails, not the loop
            log_limited("socket", "[fastrouter] cannot create a socket for node %s: %s", self.spec, e.strerror or e)
            self.close()
            return
        self.upstream = upstream
        try:
            upstream.connect()
        except (OSError, OverflowError, ValueError) as e:  # an address the kernel refuses outright
            upstream.close()
            self.upstream_failed(str(e), True)

    def upstream_connected(self) -> None:
        upstream = self.upstream
        assert upstream is not None
        self._connected = True
        self.last_activity = self.loop.time()
        ok = upstream.write(self._packet)
        for chunk in self._pending:
            ok = upstream.write(chunk)
        self._pending = []
        if self._client_eof:
            upstream.shutdown_write()
        elif ok and self.transport is not None:
            self.transport.resume_reading()
        elif self.transport is not None:
            self.transport.pause_reading()

    def upstream_drained(self) -> None:
        if self.transport is not None and not self._client_eof:
            self.transport.resume_reading()

    def upstream_data(self, data: bytes) -> None:
        self.last_activity = self.loop.time()
        if self.transport is not None:
            self.transport.write(data)

    def upstream_eof(self) -> None:
        if self.transport is not None:
            self.transport.close()  # after the queued answer is flushed
        self._finish_upstream()

    def upstream_failed(self, message: str, before_connect: bool) -> None:
        self.upstream = None
        if before_connect and not self._closed:
            if not self.router.settings.quiet:
                log_limited("connect-" + self.spec, "[fastrouter] cannot connect to node %s (key %r): %s",
                            self.spec, self.key, message)
            table = self.router.table
            if table is not None and table.mark_failed(self.spec):
                # as uWSGI: a subscribed node that refuses is dropped until it announces again
                log_limited("failed-" + self.spec, "[fastrouter] %s => marking %s as failed", self.key, self.spec)
            self._connect()
            return
        log_limited("io-" + self.spec, "[fastrouter] lost the connection to node %s: %s", self.spec, message)
        self.close()

    def _finish_upstream(self) -> None:
        upstream = self.upstream
        self.upstream = None
        if upstream is not None:
            upstream.close()
        self.router.connections.discard(self)
        self.router.check_budget()

    # -- ends -------------------------------------------------------------------------

    def on_timeout(self, now: float) -> None:
        upstream = self.upstream
        if upstream is not None and upstream.connect_overdue(now):
            upstream.close()
            self.upstream_failed("connect timeout", True)
            return
        if self.reader is not None and now - self.started > self.router.settings.timeout:
            # the head is due within the timeout of the connection, not of its last byte:
            # a client dripping a 64 KiB head a byte at a time would hold it for days
            log_limited("slow-head", "[fastrouter] no complete uwsgi packet head from a client in %ss: closing",
                        self.router.settings.timeout)
            self.close()
            return
        if now - self.last_activity > self.router.settings.timeout:
            if self.upstream is not None:
                log_limited("timeout", "[fastrouter] node %s silent for %ss: closing", self.spec,
                            self.router.settings.timeout)
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finish_upstream()
        if self.transport is not None:
            self.transport.abort() if self._pending else self.transport.close()
