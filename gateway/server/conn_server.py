"""What `HTTPServer` (``--http-socket``) and `UwsgiServer` (``--socket``) share: one
listening socket's accepting, the set of its live connections, their timeout sweep.

Each protocol keeps its own accept handler (the uwsgi one answers some packets without a
transport) and its own sweep rule; the rest is here once.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
from typing import Any, Callable, Dict, Optional, Set

from gateway.server.accept import LoopServer, loop_accepts_faster
from gateway.server.handshakes import PendingHandshakes
from gateway.server.settings import ServerSettings


class ConnectionServer:
    """Base of a protocol's server: ``connection_class(server, addr)`` builds a connection
    (``addr`` None: accepted by the loop's own server, ask the transport)."""

    #: Clients keep their connections for many requests (HTTP keep-alive): with several
    #: workers, accept one per wake-up so a burst spreads (``settings.fair_accept``).
    #: A protocol with a connection per request (nginx's uwsgi upstreams) keeps the
    #: cheaper greedy accept.
    long_lived_connections = False

    connection_class: Callable[..., asyncio.Protocol]

    def __init__(self, settings: ServerSettings, base_environ: Dict[str, Any],
                 tls: Optional[ssl.SSLContext] = None) -> None:
        # The per-socket switches the worker sets are instance attributes, not class defaults:
        # read on every request, an instance attribute is the cheap lookup (CPython 3.11
        # specialises it; a class attribute read through the instance is not).
        #: the socket's forced modifier1 is 30 (``--http-socket-modifier1 30`` and the like):
        #: ``SCRIPT_NAME`` is removed from the front of ``PATH_INFO``
        self.strip_script_name = False
        #: ``--http-path-info-no-decode-slashes``: ``%2F`` stays encoded in ``PATH_INFO`` (HTTP only)
        self.keep_encoded_slashes = False
        #: ``--fastcgi-nph-socket``/``--scgi-nph-socket``: the answer starts with an HTTP status
        #: line (``HTTP/1.1 200 OK``) instead of CGI's ``Status: 200 OK``
        self.nph = False
        self.settings = settings
        #: ``--https-socket``: every connection is wrapped in TLS (server side) by the loop
        self.tls = tls
        self.base_environ = base_environ
        self.engine = settings.engine
        self.loop = self.engine.asyncio_loop
        self.connections: Set[Any] = set()
        #: TLS connections accepted whose handshake is in progress (--max-connections counts them)
        self.handshakes = PendingHandshakes(self.loop, settings.socket_timeout, self.check_budget)
        self._sweeper: Optional[asyncio.TimerHandle] = None
        # Connection tasks in flight (uvloop's public path): the loop only keeps weak references to
        # tasks, so an unreferenced one may be collected before it runs.
        self._accepting: Set[Any] = set()
        #: --max-connections: the worker's budget, shared by its listeners (None: unbounded)
        self.budget = settings.connection_budget
        if self.budget is not None:
            self.budget.servers.append(self)

    def start(self, sock: socket.socket) -> Callable[[], None]:
        """Serve ``sock`` (a bound, listening socket); returns the undo callable.

        On uvloop the loop accepts and builds transports in C (:mod:`gateway.server.accept`:
        an asyncio server on a dup of the socket, closed while every core is busy and reopened
        when one frees, so the engine's accept policy holds); elsewhere the engine accepts
        and calls ``_on_accept(conn, addr)``.  With ``settings.fair_accept`` (several workers
        share the socket) a protocol with :attr:`long_lived_connections` has the engine
        accept one connection per wake-up, whatever the loop, so a burst of keep-alive
        connections spreads over the workers (see ``--greedy-accept``).
        """
        if self.tls is not None:
            # TLS: the loop's own server does the handshake (bounded by --socket-timeout);
            # the engine's accept toggle still holds it while every core is busy
            factory = self.handshakes.wrap(functools.partial(self.connection_class, self, None))
            ls = LoopServer(self.loop, sock, factory, self.settings.listen, self._accepting,
                            tls=self.tls, handshake_timeout=self.settings.socket_timeout,
                            shutdown_timeout=self.settings.linger_timeout)
            remove = self.engine.add_accept_toggle(ls.toggle)
        elif self.settings.fair_accept and self.long_lived_connections:
            remove = self.engine.add_listener(sock, self._on_accept, batch=1)
        elif loop_accepts_faster(self.loop):
            factory = functools.partial(self.connection_class, self, None)
            ls = LoopServer(self.loop, sock, factory, self.settings.listen, self._accepting)
            remove = self.engine.add_accept_toggle(ls.toggle)
        else:
            remove = self.engine.add_listener(sock, self._on_accept)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(1.0, self._sweep)
        return remove

    def _on_accept(self, conn: socket.socket, addr: Any) -> None:
        raise NotImplementedError

    def _attach(self, conn: socket.socket, protocol: asyncio.Protocol) -> None:
        """Give an accepted socket its transport (no task per connection where the loop allows)."""
        transport = _make_transport(self.loop, conn, protocol)
        if transport is None:  # no private fast path on this loop: the public coroutine
            task = asyncio.ensure_future(self.loop.connect_accepted_socket(lambda: protocol, sock=conn))
            self._accepting.add(task)
            task.add_done_callback(self._accepting.discard)

    def _sweep(self) -> None:
        """Every second: forget the TLS handshakes that failed, then apply the protocol's
        own rule to its connections (:meth:`_sweep_connections`)."""
        now = self.loop.time()
        if self.handshakes:
            self.handshakes.expire(now)
        self._sweep_connections(now)
        self._sweeper = self.loop.call_later(1.0, self._sweep)

    def _sweep_connections(self, now: float) -> None:
        raise NotImplementedError

    def check_budget(self) -> None:
        """After a connection opened or closed: hold or release accepting (``--max-connections``)."""
        if self.budget is not None:
            self.budget.check()

    def close_all(self) -> None:
        if self.budget is not None and self in self.budget.servers:
            self.budget.servers.remove(self)
            self.budget.check()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.handshakes.clear()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()


def _make_transport(loop: Any, sock: socket.socket, protocol: asyncio.Protocol) -> Any:
    """Wrap an accepted socket in a transport without a task per connection, when possible.

    asyncio's selector loops expose ``_make_socket_transport`` (what their own
    ``create_server`` uses); uvloop and others get the public coroutine instead.
    """
    make = getattr(loop, "_make_socket_transport", None)
    if make is None:
        return None
    return make(sock, protocol)
