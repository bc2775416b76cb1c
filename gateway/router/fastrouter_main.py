"""The FastRouter process: bind in the parent, serve in a child ("uWSGI fastrouter N").

As the HTTP router (:mod:`gateway.router.main`): every ``--fastrouter`` address, the
``--fastrouter-subscription-server`` UDP sockets and the ``--fastrouter-stats`` socket are
bound by the CLI before any fork (a port in use fails at startup with one line naming the
option); each of the ``--fastrouter-processes`` children runs its own event loop (uvloop
when installed) until SIGINT/SIGTERM/SIGQUIT or until its parent dies.  Each process
keeps its own subscription table; with several processes each reads the announces the
kernel hands it, so run one process (the default) with a subscription server, or expect
every process to learn the nodes only from the datagrams it receives (uWSGI forwards them
between its processes; gateway does not).

When ready each process prints one machine-readable line::

    gateway fastrouter ready: pid=1234 fastrouter=127.0.0.1:3017 [subscription=127.0.0.1:7000]
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from typing import Any, List, Optional, Tuple

from gateway.config.model import Config
from gateway.logs import gen_log
from gateway.router.fastrouter import FastRouter, FastRouterSettings
from gateway.router.graceful_stop import GracefulStop
from gateway.router.subscription import SubscriptionTable
from gateway.router.subscription_server import SubscriptionServer, bind_subscription_socket
from gateway.router.upstream import resolve_upstreams
from gateway.server.accept import serve_on_socket
from gateway.server.conn_budget import default_limit
from gateway.server.listeners import ListenError, bind_tcp, bind_unix, bound_address, listen_address

__all__ = ["FastRouterError", "FastRouterSockets", "bind_fastrouter", "run_fastrouter", "resolve_nodes",
           "GRACEFUL_TIMEOUT"]

#: Seconds a stopping FastRouter waits for connections in flight.
GRACEFUL_TIMEOUT = 10.0


class FastRouterError(Exception):
    """A FastRouter option cannot be honoured; ``str()`` says why, naming the option."""


class FastRouterSockets:
    """The sockets bound before the fork: listeners, subscription servers, stats."""

    def __init__(self) -> None:
        self.listeners: List[socket.socket] = []
        self.subscription: List[socket.socket] = []
        self.stats: Optional[socket.socket] = None


def _bind_stream(spec: str, backlog: int) -> socket.socket:
    if ":" in spec and "/" not in spec and not spec.startswith("@"):
        return bind_tcp(spec, backlog)
    return bind_unix(spec, backlog)


def bind_fastrouter(cfg: Config) -> FastRouterSockets:
    """Bind every FastRouter socket (call before forking); :class:`FastRouterError` on failure."""
    out = FastRouterSockets()
    option = "--fastrouter"
    try:
        for spec in cfg.fastrouter:
            out.listeners.append(_bind_stream(spec, cfg.listen))
        option = "--fastrouter-subscription-server"
        for spec in cfg.fastrouter_subscription_server:
            out.subscription.append(bind_subscription_socket(spec))
        if cfg.fastrouter_stats:
            option = "--fastrouter-stats"
            out.stats = _bind_stream(cfg.fastrouter_stats, cfg.listen)
    except ListenError as e:
        for sock in out.listeners + out.subscription:
            sock.close()
        raise FastRouterError("%s: %s" % (option, e)) from None
    return out


def resolve_nodes(option: str, specs: List[str]) -> List[str]:
    """``specs`` (``--fastrouter-to``/``--fastrouter-fallback`` nodes) with host names resolved
    once, now (:func:`gateway.router.upstream.resolve_upstreams`); :class:`FastRouterError`
    naming ``option`` for a bad address or a name that does not resolve."""
    try:
        return resolve_upstreams(option, specs)
    except ValueError as e:
        raise FastRouterError(str(e)) from None


def fastrouter_nodes(cfg: Config, sockets: List[socket.socket]) -> List[str]:
    """The static nodes: ``--fastrouter-to`` (names resolved), else ``--fastrouter-use-socket``
    (the N-th bound uwsgi socket of ``sockets``, port 0 resolved)."""
    if cfg.fastrouter_to:
        return resolve_nodes("--fastrouter-to", list(cfg.fastrouter_to))
    if cfg.fastrouter_use_socket is not None:
        from gateway.server.listeners import socket_protocol

        index = 0 if cfg.fastrouter_use_socket == "" else int(cfg.fastrouter_use_socket)
        uwsgi = [s for s in sockets if socket_protocol(s) == "uwsgi"]
        if index >= len(uwsgi):
            raise FastRouterError("--fastrouter-use-socket %d: there is no uwsgi --socket %d (%d bound, numbered "
                                  "from 0)" % (index, index, len(uwsgi)))
        return [listen_address(uwsgi[index])]
    return []


def _settings(cfg: Config, nodes: List[str], fallbacks: Optional[List[str]] = None) -> FastRouterSettings:
    return FastRouterSettings(
        nodes,
        list(cfg.fastrouter_fallback) if fallbacks is None else fallbacks,
        timeout=float(cfg.fastrouter_timeout or cfg.socket_timeout),
        max_head=int(cfg.fastrouter_buffer_size or 0xFFFF),
        force_key=cfg.fastrouter_force_key or "",
        fallback_key=cfg.fastrouter_subscription_fallback_key or "",
        quiet=bool(cfg.fastrouter_quiet),
        fallback_on_no_key=bool(cfg.fastrouter_fallback_on_no_key),
        # each client holds a connection to a node too: two descriptors
        max_connections=int(cfg.max_connections) or default_limit(2),
    )


def stats_json(router: FastRouter, listeners: List[str]) -> bytes:
    """uWSGI's corerouter stats document for the FastRouter, with its subscriptions."""
    from gateway.router.stats import stats_document

    doc = stats_document(len(router.connections), listeners)
    doc["fastrouter"] = doc.pop("http")
    doc["subscriptions"] = router.table.stats(time.time() - time.monotonic()) if router.table is not None else []
    return json.dumps(doc).encode()


async def _serve_stats(loop: asyncio.AbstractEventLoop, sock: socket.socket, router: FastRouter,
                       listeners: List[str], http: bool) -> Any:
    from gateway.router.stats import StatsConnection

    def render() -> bytes:
        return stats_json(router, listeners)

    return await serve_on_socket(loop, lambda: StatsConnection(render, http), sock)


def run_fastrouter(cfg: Config, socks: FastRouterSockets, nodes: List[str], serve_stats: bool,
                   index: int = 1, fallbacks: Optional[List[str]] = None) -> int:
    """Serve until stopped (in the FastRouter process, after fork); returns the exit status."""
    from gateway.process.worker import new_event_loop

    loop = new_event_loop(cfg.loop or "")
    asyncio.set_event_loop(loop)
    table = None
    if socks.subscription:
        table = SubscriptionTable(tolerance=float(cfg.subscription_tolerance), max_keys=cfg.subscription_max_keys,
                                  max_nodes=cfg.subscription_max_nodes_per_key, max_total=cfg.subscription_max_nodes)
    router = FastRouter(_settings(cfg, nodes, fallbacks), loop, table)
    stop = GracefulStop(loop, router, "[fastrouter]", "the FastRouter", GRACEFUL_TIMEOUT)
    router.on_sweep = stop.watch_parent
    loop.run_until_complete(router.start(socks.listeners, cfg.listen))
    for sock in socks.subscription:
        assert table is not None
        transport, _ = loop.run_until_complete(loop.create_datagram_endpoint(
            lambda: SubscriptionServer(table), sock=sock))
        stop.transports.append(transport)
    names = [listen_address(s) for s in socks.listeners]
    stats_server = None
    if serve_stats and socks.stats is not None:
        stats_server = loop.run_until_complete(_serve_stats(loop, socks.stats, router, names, bool(cfg.stats_http)))
        gen_log.info("*** fastrouter stats server enabled on %s fd: %d ***", listen_address(socks.stats),
                     socks.stats.fileno())

    def arm_signals() -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            loop.add_signal_handler(sig, stop, sig)

    loop.call_soon(arm_signals)
    line = "gateway fastrouter ready: pid=%d fastrouter=%s" % (os.getpid(), ",".join(
        bound_address(s) if s.family != socket.AF_UNIX else listen_address(s) for s in socks.listeners))
    if socks.subscription:
        line += " subscription=" + ",".join(listen_address(s) for s in socks.subscription)
    gen_log.info("*** uWSGI fastrouter %d: %s ***", index,
                 "subscription server" if table is not None else "forwarding to " + ", ".join(nodes))
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    try:
        loop.run_forever()
    finally:
        if stats_server is not None:
            stats_server.close()
        router.close_all()
        try:
            loop.run_until_complete(asyncio.sleep(0))
        except RuntimeError:  # stopped again by a late signal: nothing left to flush
            pass
        loop.close()
    return 0


def fastrouter_children(cfg: Config, sockets: List[socket.socket]) -> Tuple[List[Any], FastRouterSockets]:
    """The ChildSpecs of the FastRouter processes ("uWSGI fastrouter 1".."N"), sockets bound;
    ``sockets``: the instance's bound worker sockets (for ``--fastrouter-use-socket``)."""
    import functools

    from gateway.process.master import ChildSpec

    nodes = fastrouter_nodes(cfg, sockets)
    fallbacks = resolve_nodes("--fastrouter-fallback", list(cfg.fastrouter_fallback))
    socks = bind_fastrouter(cfg)
    if not nodes and not socks.subscription and not cfg.fastrouter_fallback:
        for sock in socks.listeners:
            sock.close()
        raise FastRouterError("--fastrouter needs somewhere to route: --fastrouter-to ADDR, "
                              "--fastrouter-use-socket or --fastrouter-subscription-server ADDR")
    count = int(cfg.fastrouter_processes or 1)
    specs = [ChildSpec("uWSGI fastrouter %d" % n,
                       functools.partial(run_fastrouter, cfg, socks, nodes, n == 1, n, fallbacks))
             for n in range(1, count + 1)]
    return specs, socks
