"""The HTTP router's listeners, its connections, the worker addresses and the timeout sweep.

One :class:`Router` per router process.  It serves every ``--http``/``--https``
listener with the loop's own ``create_server`` (TLS handshakes included, bounded
by ``--socket-timeout``), hands each connection a
:class:`~gateway.router.http_front.RouterConnection`, and picks the worker address
for each request round-robin over the configured ones (one address, the workers'
socket, in the common case; ``--http-to`` may give several, and a refused
connection moves on to the next).  With a subscription table
(``--http-subscription-server``) the connections are
:class:`~gateway.router.http_subscription.SubscribedConnection` instead, which pick a node
by the request's ``Host``, and the sweep also expires silent nodes.  Deadlines are checked
by one sweep per second over all connections, so no timer is armed per request.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import time
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Set, Tuple

from gateway.logs import gen_log
from gateway.router.http_front import BUSY, TUNNEL, RouterConnection
from gateway.router.https_redirect import HttpsRedirect
from gateway.router.listeners_budget import BudgetedListeners
from gateway.router.pool import UpstreamPool
from gateway.router.subscription import SubscriptionTable
from gateway.router.upstream import parse_upstream
from gateway.router.vars import VarsBuilder
from gateway.server.body_discard import DISCARD_MAX, LINGER_TIMEOUT
from gateway.server.handshakes import PendingHandshakes

__all__ = ["Listener", "Router", "RouterSettings"]


class Listener(NamedTuple):
    """A bound, listening socket of the router; ``ssl`` is set for ``--https``;
    ``redirect_port`` is not None for ``--http-to-https`` (``""``: no port in the URL)."""

    sock: socket.socket
    ssl: Optional[ssl.SSLContext] = None
    redirect_port: Optional[str] = None


class RouterSettings:
    """What the router needs from the configuration, resolved once."""

    #: --http-path-info-no-decode-slashes: ``%2F`` stays encoded in the PATH_INFO sent on
    #: (set after construction by :func:`gateway.router.main.router_settings`)
    keep_encoded_slashes = False

    def __init__(
        self,
        upstreams: List[str],
        *,
        max_head: int = 4096,
        max_headers: int = 100,
        max_body: int = 0,
        socket_timeout: float = 4.0,
        keepalive_timeout: float = 15.0,
        discard_max: int = DISCARD_MAX,
        linger_timeout: float = LINGER_TIMEOUT,
        http_timeout: float = 60.0,
        connect_timeout: float = 0.0,
        max_response_head: int = 65536,
        max_vars: int = 4096,
        modifier1: int = 0,
        modifier2: int = 0,
        extra_vars: Tuple[Tuple[str, str], ...] = (),
        backlog: int = 100,
        persistent: bool = False,
        upstream_keepalive: int = 64,
        upstream_idle: float = 2.0,
        upstream_max_requests: int = 200,
        proxy_protocol: bool = False,
        https_export_cert: bool = False,
        head_timeout: float = 0.0,
        server_name_as_host: bool = False,
        quiet: bool = False,
        expect_limit: int = 0,
        auto_gzip: bool = False,
        fallbacks: Sequence[str] = (),
        post_buffering: int = 0,
        subscription: bool = False,
        subscription_fallback_key: str = "",
        max_connections: int = 0,
    ) -> None:
        if not upstreams and not subscription:
            raise ValueError("the router needs at least one worker address")
        self.upstreams = upstreams
        self.max_head = max_head
        self.max_headers = max_headers
        self.max_body = max_body
        self.socket_timeout = socket_timeout
        self.keepalive_timeout = keepalive_timeout
        #: --discard-body-max / --linger-timeout: a body the worker did not read (gateway.server.body_discard)
        self.discard_max = discard_max
        self.linger_timeout = linger_timeout
        self.http_timeout = http_timeout
        self.connect_timeout = connect_timeout or http_timeout
        self.max_response_head = max_response_head
        self.max_vars = max_vars
        self.modifier1 = modifier1
        self.modifier2 = modifier2
        self.extra_vars = extra_vars
        self.backlog = backlog
        #: the upstreams are gateway workers: ask for persistent connections (pool.py)
        self.persistent = persistent and upstream_keepalive > 0
        #: --http-upstream-keepalive: idle worker connections kept
        self.upstream_keepalive = upstream_keepalive
        #: --http-upstream-idle, kept under half the workers' --socket-timeout
        self.upstream_idle = min(upstream_idle, socket_timeout / 2)
        #: --http-upstream-max-requests: uses of one kept connection (0: no limit)
        self.upstream_max_requests = upstream_max_requests
        #: --enable-proxy-protocol / --http-enable-proxy-protocol: a client connection may
        #: start with a PROXY header naming the client (gateway.protocol.proxy_header)
        self.proxy_protocol = proxy_protocol
        #: --https-export-cert: a client certificate also goes to the app as PEM (HTTPS_CC)
        self.https_export_cert = https_export_cert
        #: --http-headers-timeout: seconds a request head may take (0: --socket-timeout)
        self.head_timeout = head_timeout or socket_timeout
        #: --http-server-name-as-http-host: SERVER_NAME is the request's Host
        self.server_name_as_host = server_name_as_host
        #: --http-quiet: failed connections to workers are not logged
        self.quiet = quiet
        #: --http-manage-expect BYTES: Expect: 100-continue with a larger Content-Length is a 413
        self.expect_limit = expect_limit
        #: --http-auto-gzip: gzip an answer marked ``uWSGI-Encoding: gzip`` (gateway.router.gzip_body)
        self.auto_gzip = auto_gzip
        #: --http-fallback: nodes tried in order once every upstream refused a request
        self.fallbacks = list(fallbacks)
        #: --http-post-buffering: bytes of a body kept in memory while it is read whole first (0: off)
        self.post_buffering = post_buffering
        #: --http-subscription-server: requests go to the nodes subscribed under their Host
        #: (gateway.router.http_subscription); ``upstreams`` is then unused
        self.subscription = subscription
        #: --http-subscription-fallback-key: the key used when a request's key has no node
        self.subscription_fallback_key = subscription_fallback_key
        #: --max-connections: client connections held at once (0: unbounded); at it the
        #: router stops accepting until one closes
        self.max_connections = max_connections


class Router:
    """All client connections of one router process (see the module docstring)."""

    def __init__(self, settings: RouterSettings, loop: asyncio.AbstractEventLoop,
                 table: Optional[SubscriptionTable] = None) -> None:
        self.settings = settings
        self.loop = loop
        self.connections: Set[RouterConnection] = set()
        self._upstreams = [(*parse_upstream(spec), spec) for spec in settings.upstreams]
        self.upstream_count = len(self._upstreams)
        #: --http-fallback nodes, ``(family, address, spec)``, in order
        self.fallbacks = [(*parse_upstream(spec), spec) for spec in settings.fallbacks]
        self._next = 0
        #: the subscription table (--http-subscription-server), else None
        self.table = table
        self.connection_class: Any = RouterConnection
        if table is not None:
            from gateway.router.http_subscription import SubscribedConnection, SubscribedPool

            self.connection_class = SubscribedConnection
            self.pool: UpstreamPool = SubscribedPool(loop, settings.upstream_keepalive, settings.upstream_idle, table)
            table.on_gone = self.pool.drop
            #: the key of a request without a Host (uWSGI's: the system's host name)
            self.default_key = socket.gethostname()
            self.fallback_key = settings.subscription_fallback_key
        else:
            self.pool = UpstreamPool(loop, settings.upstream_keepalive, settings.upstream_idle)
        #: the listeners, closed while the connection budget is full (--max-connections)
        self.listeners = BudgetedListeners(loop, settings.max_connections,
                                           lambda: len(self.connections) + len(self.handshakes), "[router]")
        #: --https clients accepted whose TLS handshake is in progress (the budget counts them)
        self.handshakes = PendingHandshakes(loop, settings.socket_timeout, self.check_budget)
        self._sweeper: Optional[asyncio.TimerHandle] = None
        #: called once a second by the sweep (the router process checks its parent there)
        self.on_sweep: Optional[Callable[[], None]] = None

    def next_upstream(self) -> Tuple[int, Any, str]:
        """``(family, address, spec)`` of the worker address for the next request."""
        upstreams = self._upstreams
        if len(upstreams) == 1:
            return upstreams[0]
        index = self._next
        self._next = (index + 1) % len(upstreams)
        return upstreams[index]

    async def start(self, listeners: List[Listener]) -> None:
        """Serve every listener (their sockets are already bound and listening)."""
        s = self.settings
        for listener in listeners:
            if listener.redirect_port is not None:
                self.listeners.add(listener.sock, functools.partial(HttpsRedirect, self, listener.redirect_port),
                                   s.backlog)
                continue
            port = str(listener.sock.getsockname()[1])
            builder = VarsBuilder(
                port,
                https=listener.ssl is not None,
                modifier1=s.modifier1,
                modifier2=s.modifier2,
                max_size=s.max_vars,
                server_name_from_host=s.server_name_as_host,
                extra_vars=s.extra_vars,
                keep_slashes=s.keep_encoded_slashes,
            )
            factory: Callable[[], asyncio.Protocol] = functools.partial(self.connection_class, self, builder)
            if listener.ssl is not None:
                factory = self.handshakes.wrap(factory)
            self.listeners.add(listener.sock, factory, s.backlog, listener.ssl, s.socket_timeout, s.linger_timeout)
        await self.listeners.open()
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(1.0, self._sweep)

    def _sweep(self) -> None:
        now = self.loop.time()
        if self.handshakes:
            self.handshakes.expire(now)
        for conn in list(self.connections):
            conn.on_timeout(now)
        self.pool.sweep(now)
        if self.table is not None:
            for line in self.table.expire(time.monotonic()):
                gen_log.info("[http-subscription] %s", line)
        if self.on_sweep is not None:
            self.on_sweep()
        self._sweeper = self.loop.call_later(1.0, self._sweep)

    def check_budget(self) -> None:
        """After a client connection opened or closed (``--max-connections``)."""
        self.listeners.check()

    def stop_accepting(self) -> None:
        self.listeners.stop()

    def busy(self) -> int:
        """Connections with a request or a tunnel in flight."""
        return sum(1 for c in self.connections if c.state in (BUSY, TUNNEL))

    def close_idle(self) -> None:
        for conn in list(self.connections):
            if conn.state not in (BUSY, TUNNEL):
                conn._close()
        self.pool.close_all()

    def close_all(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.stop_accepting()
        for conn in list(self.connections):
            conn._close()
        self.pool.close_all()
