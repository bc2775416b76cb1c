"""The HTTP router process: bind in the parent, serve in a child.

uWSGI's ``--http ADDR`` runs a separate router process ("uWSGI http 1") in front
of the workers: the one process clients see (``--http-processes N``: N of them,
"uWSGI http 1" to "uWSGI http N", accepting on the same sockets).  Here:

* :func:`bind_router_sockets` runs in the parent, before any fork: it binds every
  ``--http``/``--https`` address and builds the TLS contexts, so a port in use or
  an unreadable certificate fails at startup with one line, and every router
  process, first spawned or respawned, serves the very same sockets;
* :func:`run_router` runs in the child: a fresh event loop (uvloop when
  installed; never one inherited across ``fork``), no app, no Tornado, no
  greenlets; it serves until SIGINT/SIGTERM/SIGQUIT (stop accepting, let requests
  in flight finish for up to ``GRACEFUL_TIMEOUT`` seconds) or until its parent
  dies (checked once a second: the router never outlives its instance).

When ready each router process prints one machine-readable line::

    gateway router ready: pid=1234 http=0.0.0.0:9090 https=0.0.0.0:9443 [http-to-https=0.0.0.0:9080]
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
from typing import Any, List, Optional, Sequence, Tuple

from gateway.config.model import Config
from gateway.logs import gen_log
from gateway.router.graceful_stop import GracefulStop
from gateway.router.server import Listener, Router, RouterSettings
from gateway.router.tls import TLSConfigError
from gateway.router.tls_config import listener_contexts
from gateway.router.upstream import resolve_upstreams
from gateway.server.conn_budget import default_limit
from gateway.server.listeners import ListenError, bind_tcp, bound_address, listen_address, shared_socket

__all__ = [
    "RouterError", "bind_router_sockets", "bind_subscription_servers", "run_router", "router_settings",
    "worker_addresses", "GRACEFUL_TIMEOUT",
]

#: Seconds a stopping router waits for requests in flight.
GRACEFUL_TIMEOUT = 10.0


class RouterError(Exception):
    """A router option cannot be honoured (bad address, certificate...); ``str()`` says why."""


def _listen(spec: str, backlog: int) -> socket.socket:
    """``=N``: the N-th ``--shared-socket`` (bound by the CLI first); else bind ``spec``."""
    if spec.startswith("="):
        if not spec[1:].isdigit():
            raise ListenError("%s: a shared socket reference is =N, N a number" % spec)
        return shared_socket(spec)
    return bind_tcp(spec, backlog)


def bind_router_sockets(cfg: Config) -> List[Listener]:
    """Bind every ``--http`` and ``--https`` address (call before forking).

    ``=N`` names the N-th ``--shared-socket``, as in uWSGI's
    ``https = =0,foobar.crt,foobar.key`` (a privileged port bound before ``--uid``).
    """
    listeners: List[Listener] = []
    try:
        for spec in cfg.http:
            listeners.append(Listener(_listen(spec, cfg.listen)))
        contexts = listener_contexts(cfg, [("--https", value) for value in cfg.https],
                                     session_context=cfg.https_session_context)
        for https, ctx in contexts:
            listeners.append(Listener(_listen(https.address, cfg.listen), ctx))
        for value in cfg.http_to_https:
            address, _, port = value.partition(",")
            if port and not port.isdigit():
                raise ListenError("--http-to-https %s: the port after the comma must be a number" % value)
            listeners.append(Listener(_listen(address, cfg.listen), redirect_port=port))
    except (ListenError, TLSConfigError) as e:
        for listener in listeners:
            listener.sock.close()
        raise RouterError(str(e)) from None
    return listeners


def bind_subscription_servers(cfg: Config) -> List[socket.socket]:
    """Bind every ``--http-subscription-server`` (call before forking): UDP ``HOST:PORT`` or a
    UNIX datagram ``/path``/``@name``; :class:`RouterError` naming the option on failure."""
    from gateway.router.subscription_server import bind_subscription_socket

    socks: List[socket.socket] = []
    try:
        for spec in cfg.http_subscription_server:
            socks.append(bind_subscription_socket(spec))
    except ListenError as e:
        for sock in socks:
            sock.close()
        raise RouterError("--http-subscription-server: %s" % e) from None
    return socks


def check_fallbacks(cfg: Config) -> None:
    """``--http-fallback`` nodes must resolve (:class:`RouterError` now, at startup, rather
    than in each router process; each resolves them again when it starts)."""
    try:
        resolve_upstreams("--http-fallback", list(cfg.http_fallback))
    except ValueError as e:
        raise RouterError(str(e)) from None


def worker_addresses(cfg: Config) -> Tuple[List[str], Optional[socket.socket]]:
    """Where the router forwards, as uWSGI decides: ``--http-to``, else the first ``--socket``.

    With neither, an internal UNIX socket is created (uWSGI binds ``127.0.0.1:0``
    instead) and returned, bound and listening, for the caller to hand to the
    workers, which serve the uwsgi protocol on it.  On Linux it is an abstract socket
    (``@gateway-<pid>-<random>``): nothing on disk to clean up after a crash, and no
    directory permission to get wrong after ``--uid``/``--gid``; elsewhere a file in
    a fresh private directory, removed when its creator exits.  Call before forking.
    """
    if cfg.http_to:
        try:  # names resolved once, here: the router's loop never looks one up
            return resolve_upstreams("--http-to", list(cfg.http_to)), None
        except ValueError as e:
            raise RouterError(str(e)) from None
    if cfg.http_use_socket is not None:
        return [_use_socket(cfg, cfg.http_use_socket)], None
    sockets = (cfg.socket or []) if cfg.protocol == "uwsgi" else []  # --protocol http/...: not a uwsgi socket
    if sockets:
        return [sockets[0]], None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if sys.platform.startswith("linux"):
        name = "@gateway-%d-%s" % (os.getpid(), secrets.token_hex(6))
        address = "\0" + name[1:]
        cleanup = None
    else:
        directory = tempfile.mkdtemp(prefix="gateway-router-")
        name = address = os.path.join(directory, "workers.sock")
        cleanup = directory
    try:
        sock.bind(address)
        sock.listen(cfg.listen)
    except OSError as e:
        sock.close()
        raise RouterError("cannot bind the internal worker socket %s: %s" % (name, e.strerror or e)) from None
    sock.setblocking(False)
    if cleanup is not None:
        owner = os.getpid()

        def remove() -> None:
            if os.getpid() == owner:  # not in forked children, which run atexit too
                for step in (lambda: os.unlink(name), lambda: os.rmdir(cleanup)):
                    try:
                        step()
                    except OSError:
                        pass

        atexit.register(remove)
    return [name], sock


def _use_socket(cfg: Config, value: Any) -> str:
    """``--http-use-socket [N]``: the address of worker socket N (0 alone), numbered as
    ``--map-socket`` numbers them; it must speak uwsgi."""
    index = 0 if value == "" else int(value)
    kinds = [("http-socket", s) for s in list(cfg.http_socket) + list(cfg.http11_socket)]
    kinds += [("https-socket", s) for s in cfg.https_socket]
    kinds += [("ssl-socket", s) for s in cfg.ssl_socket]
    kinds += [("socket" if cfg.protocol == "uwsgi" else "socket (--protocol %s)" % cfg.protocol, s) for s in cfg.socket]
    kinds += [("fastcgi-socket", s) for s in cfg.fastcgi_socket] + [("fastcgi-nph-socket", s) for s in cfg.fastcgi_nph_socket]
    kinds += [("scgi-socket", s) for s in cfg.scgi_socket] + [("scgi-nph-socket", s) for s in cfg.scgi_nph_socket]
    if index >= len(kinds):
        raise RouterError("--http-use-socket %d: there is no worker socket %d (%d given, numbered from 0)"
                          % (index, index, len(kinds)))
    kind, spec = kinds[index]
    if kind != "socket":
        raise RouterError("--http-use-socket %d: %s is a --%s, not a uwsgi --socket" % (index, spec, kind))
    return spec


def router_settings(cfg: Config, upstreams: List[str], internal: bool = False) -> RouterSettings:
    """The router's settings; ``internal``: the upstream is the master's internal worker socket
    (gateway workers for sure, so connections to it are kept alive; otherwise only with
    ``--http-to-gateway``)."""
    extra = []
    for item in cfg.http_var or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RouterError("--http-var expects KEY=VALUE, got %r" % item)
        extra.append((key, value))
    settings = RouterSettings(
        upstreams,
        max_head=int(cfg.http_buffer_size or cfg.buffer_size),
        max_headers=cfg.http_max_headers,
        max_body=cfg.limit_post or 0,
        socket_timeout=float(cfg.socket_timeout),
        keepalive_timeout=float(cfg.http_keepalive),
        discard_max=int(cfg.discard_body_max),
        linger_timeout=float(cfg.linger_timeout),
        http_timeout=float(cfg.http_timeout),
        connect_timeout=float(cfg.http_connect_timeout or 0),
        max_response_head=cfg.http_max_response_head,
        max_vars=cfg.buffer_size,
        modifier1=cfg.http_modifier1 or 0,
        modifier2=cfg.http_modifier2 or 0,
        extra_vars=tuple(extra),
        backlog=cfg.listen,
        persistent=internal or bool(cfg.http_to_gateway),
        upstream_keepalive=int(cfg.http_upstream_keepalive),
        upstream_idle=float(cfg.http_upstream_idle),
        upstream_max_requests=int(cfg.http_upstream_max_requests),
        proxy_protocol=bool(cfg.enable_proxy_protocol or cfg.http_enable_proxy_protocol),
        https_export_cert=bool(cfg.https_export_cert),
        head_timeout=float(cfg.http_headers_timeout or 0),
        server_name_as_host=bool(cfg.http_server_name_as_http_host),
        quiet=bool(cfg.http_quiet),
        expect_limit=int(cfg.http_manage_expect or 0),
        auto_gzip=bool(cfg.http_auto_gzip),
        fallbacks=resolve_upstreams("--http-fallback", list(cfg.http_fallback)),
        post_buffering=int(cfg.http_post_buffering or 0),
        subscription=bool(cfg.http_subscription_server),
        subscription_fallback_key=cfg.http_subscription_fallback_key or "",
        # each client holds a connection to a worker too: two descriptors
        max_connections=int(cfg.max_connections) or default_limit(2),
    )
    settings.keep_encoded_slashes = bool(cfg.http_path_info_no_decode_slashes)
    return settings


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    from gateway.process.worker import new_event_loop

    return new_event_loop(kind)


def run_router(cfg: Config, listeners: List[Listener], upstreams: List[str], internal: bool = False,
               stats: Optional[socket.socket] = None, heartbeat: Optional[Tuple[Any, int]] = None,
               subscription: Sequence[socket.socket] = ()) -> int:
    """Serve until stopped (call in the router process, after fork); returns the exit status.

    ``internal``: ``upstreams`` is the internal worker socket (see :func:`router_settings`);
    ``stats``: the bound ``--http-stats`` socket, for this router to serve; ``heartbeat``:
    ``(Heartbeats, index)`` for ``--http-harakiri`` (:mod:`gateway.router.harakiri`);
    ``subscription``: the bound ``--http-subscription-server`` sockets (each router process reads
    them into its own table: :mod:`gateway.router.http_subscription`)."""
    from gateway import hooks

    hooks.run_in_child(cfg, "as-gateway")  # uWSGI's --hook-as-gateway, in each router process
    if cfg.http_uid or cfg.http_gid:
        from gateway.process.privileges import PrivilegeError, drop

        try:  # --http-uid/--http-gid: this router only, its sockets already bound
            drop(cfg.http_uid, cfg.http_gid, gen_log)
        except PrivilegeError as e:
            gen_log.error("[router] --http-uid/--http-gid: %s", e)
            return 1
    settings = router_settings(cfg, upstreams, internal)
    loop = _new_loop(cfg.loop or "")
    asyncio.set_event_loop(loop)
    table = None
    if subscription:
        from gateway.router.subscription import SubscriptionTable

        table = SubscriptionTable(tolerance=float(cfg.subscription_tolerance), max_keys=cfg.subscription_max_keys,
                                  max_nodes=cfg.subscription_max_nodes_per_key, max_total=cfg.subscription_max_nodes)
    router = Router(settings, loop, table)
    stop = GracefulStop(loop, router, "[router]", "the HTTP router", GRACEFUL_TIMEOUT)

    def watch_parent() -> None:
        if heartbeat is not None:
            heartbeat[0].beat(heartbeat[1])  # --http-harakiri: this loop came back
        stop.watch_parent()

    router.on_sweep = watch_parent
    if heartbeat is not None:
        heartbeat[0].beat(heartbeat[1])
    loop.run_until_complete(router.start(listeners))
    for sock in subscription:
        from gateway.router.subscription_server import SubscriptionServer

        assert table is not None
        transport, _ = loop.run_until_complete(loop.create_datagram_endpoint(
            functools.partial(SubscriptionServer, table, "http-subscription"), sock=sock))
        stop.transports.append(transport)
    stats_server = None
    if stats is not None:
        from gateway.router.stats import serve_stats

        stats_server = loop.run_until_complete(serve_stats(
            loop, stats, lambda: len(router.connections), [x.sock for x in listeners], http=bool(cfg.stats_http),
            subscriptions=(lambda: table.stats(time.time() - time.monotonic())) if table is not None else None))
        gen_log.info("*** http stats server enabled on %s fd: %d ***", listen_address(stats), stats.fileno())

    def arm_signals() -> None:
        # Once the loop runs (uvloop swallows a signal between add_signal_handler and run_forever)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            loop.add_signal_handler(sig, stop, sig)

    loop.call_soon(arm_signals)
    http = ",".join(bound_address(x.sock) for x in listeners if x.ssl is None and x.redirect_port is None)
    https = ",".join(bound_address(x.sock) for x in listeners if x.ssl is not None)
    redirect = ",".join(bound_address(x.sock) for x in listeners if x.redirect_port is not None)
    line = "gateway router ready: pid=%d" % os.getpid()
    if http:
        line += " http=" + http
    if https:
        line += " https=" + https
    if redirect:
        line += " http-to-https=" + redirect
    if subscription:
        names = ",".join(listen_address(s) for s in subscription)
        line += " subscription=" + names
        target = "the nodes subscribed on " + names
        upstreams = ["subscription"]
    else:
        target = ", ".join(upstreams)
    gen_log.info(
        "*** HTTP router (%s) forwarding to %s%s ***", type(loop).__module__.split(".")[0], target,
        " (persistent connections, up to %d idle)" % settings.upstream_keepalive if settings.persistent else "",
    )
    sys.stderr.write(line + " upstream=" + ",".join(upstreams) + "\n")
    sys.stderr.flush()
    try:
        loop.run_forever()
    finally:
        if stats_server is not None:
            stats_server.close()
        router.close_all()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
    return 0
