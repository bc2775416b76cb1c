"""Accepting through the event loop's own server, under the engine's accept policy.

On uvloop, ``loop.create_server(factory, sock=...)`` accepts and builds each transport in
C, ~35 µs of CPU less per connection than accepting in Python and adopting the socket
(``connect_accepted_socket`` costs a task per connection).  That matters wherever every
request is a new connection: nginx's uwsgi upstreams, HTTP ``Connection: close``.

:class:`LoopServer` keeps the engine in charge: ``Engine.add_accept_toggle(ls.toggle)``
opens the loop's server on a *dup* of the listening socket when a core is free and closes
it when every core is busy.  Closing closes only the dup, so the listening socket stays
open and new connections wait in its ``--listen`` backlog, as with the engine's own
listeners.  Loops that can wrap an accepted socket synchronously (asyncio's selector
loops) keep the engine's ``add_listener`` path (see :func:`loop_accepts_faster`).
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import ssl
from typing import Any, Callable, Optional, Set

from gateway.logs import gen_log

#: Seconds before a failed opening (``dup``/``create_server`` failing, e.g. out of
#: descriptors) is tried again, while accepting is still wanted.
RETRY_DELAY = 1.0


async def serve_on_socket(loop: Any, factory: Callable[[], asyncio.Protocol], sock: socket.socket,
                          **kwargs: Any) -> Any:
    """``loop.create_server(factory, sock=sock, **kwargs)``, or ``create_unix_server`` for a
    UNIX socket, whose path stays when the server closes.

    Since Python 3.13, asyncio's ``create_unix_server`` (and uvloop's, on 3.13) unlinks the
    socket's path when the server closes (``cleanup_socket=True``), even for a socket it was
    given.  Our servers run on sockets bound by the master and shared by every worker, and
    close whenever every core is busy (:class:`LoopServer`): the path would vanish under
    nginx's ``uwsgi_pass unix:...`` at the first busy moment, and never come back.  The path
    is the master's to remove (``--vacuum``), so ``cleanup_socket=False`` wherever the loop
    knows the argument."""
    if sock.family == socket.AF_UNIX:
        if _knows_cleanup_socket(loop):
            kwargs["cleanup_socket"] = False
        return await loop.create_unix_server(factory, sock=sock, **kwargs)
    return await loop.create_server(factory, sock=sock, **kwargs)


_KNOWN_ARGS: dict = {}


def _knows_arg(loop: Any, method: str, arg: str) -> bool:
    """Whether ``loop.<method>`` takes ``arg`` (cached per loop class)."""
    key = (type(loop), method, arg)
    known = _KNOWN_ARGS.get(key)
    if known is None:
        try:
            known = arg in inspect.signature(getattr(loop, method)).parameters
        except (TypeError, ValueError):  # a loop whose method has no signature: assume the old API
            known = False
        _KNOWN_ARGS[key] = known
    return known


def _knows_cleanup_socket(loop: Any) -> bool:
    return _knows_arg(loop, "create_unix_server", "cleanup_socket")


def tls_server_args(loop: Any, tls: ssl.SSLContext, handshake_timeout: float,
                    shutdown_timeout: float) -> dict:
    """``create_server``'s TLS arguments: the context, the handshake's bound, and the bound
    on our TLS close (``ssl_shutdown_timeout``), where the loop knows it (uvloop, Python 3.11+).

    Closing a TLS connection sends our ``close_notify`` and waits for the peer's; the loops'
    default wait is 30 s, during which a peer that never answers (a slowloris cut by its 408,
    a deaf client) keeps its descriptor and its ``--max-connections`` place.  Here that wait is
    ``--linger-timeout``, the bound of every other lingering close."""
    extra = {"ssl": tls, "ssl_handshake_timeout": handshake_timeout}
    if _knows_arg(loop, "create_server", "ssl_shutdown_timeout"):
        extra["ssl_shutdown_timeout"] = max(shutdown_timeout, 0.1)  # (the loops refuse 0)
    return extra


def loop_accepts_faster(loop: Any) -> bool:
    """True when the loop has no synchronous way to adopt an accepted socket (uvloop)."""
    return getattr(loop, "_make_socket_transport", None) is None


class LoopServer:
    """``engine.add_accept_toggle(LoopServer(loop, sock, factory, backlog, tasks).toggle)``; with
    ``tls`` (``--https-socket``) the loop's server also does the TLS handshake, on any loop."""

    def __init__(self, loop: Any, sock: socket.socket, factory: Callable[[], asyncio.Protocol], backlog: int,
                 tasks: Set[Any], tls: Optional[ssl.SSLContext] = None, handshake_timeout: float = 60.0,
                 shutdown_timeout: float = 2.0) -> None:
        self.loop = loop
        #: ``--https-socket``: the loop's server wraps each connection in TLS
        self.tls = tls
        self.handshake_timeout = handshake_timeout
        #: how long our TLS close waits for the peer's close_notify (``--linger-timeout``)
        self.shutdown_timeout = shutdown_timeout
        self.sock = sock
        self.factory = factory
        self.backlog = backlog
        self.tasks = tasks
        self.want = False
        self.server: Any = None
        self.opening = False

    async def open(self) -> None:
        """Accept now (the first opening, awaited: connections are accepted once it returns)."""
        self.want = True
        if self.server is None and not self.opening:
            self.opening = True
            await self._open()

    def toggle(self, on: bool) -> None:
        self.want = on
        if on and self.server is None and not self.opening:
            self.opening = True
            task = asyncio.ensure_future(self._open())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif not on and self.server is not None:
            self.server.close()
            self.server = None

    async def _open(self) -> None:
        dup: Optional[socket.socket] = None
        try:
            dup = self.sock.dup()
            extra: dict = {}
            if self.tls is not None:
                extra = tls_server_args(self.loop, self.tls, self.handshake_timeout, self.shutdown_timeout)
            server = await serve_on_socket(self.loop, self.factory, dup, backlog=self.backlog, **extra)
        except Exception:
            if dup is not None:
                dup.close()
            gen_log.exception("cannot accept on %s", self.sock)
            # nothing else toggles it again (the cores stay free, the budget released): retry
            self.loop.call_later(RETRY_DELAY, self._retry)
            return
        finally:
            self.opening = False
        if self.want:
            self.server = server
        else:  # every core got busy meanwhile
            server.close()

    def _retry(self) -> None:
        if self.want:
            self.toggle(True)
