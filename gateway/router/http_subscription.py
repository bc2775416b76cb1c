"""The HTTP router's subscription mode (``--http-subscription-server``): each request goes to a
node subscribed under its ``Host``.

With a subscription server the router's connections are :class:`SubscribedConnection`, which
differ from :class:`~gateway.router.http_front.RouterConnection` only where a node is chosen;
without one nothing here runs, so the common path pays nothing for it.  As uWSGI's HTTP router:

* the key is the request's ``Host`` exactly as sent (port included: ``example.com:8080``), or
  the system's host name when the request has none; a node is chosen among those subscribed
  under it by weighted round-robin (the table shared with the FastRouter,
  :class:`~gateway.router.subscription.SubscriptionTable`), else among those of
  ``--http-subscription-fallback-key``;
* the uwsgi packet carries the node's announced ``modifier1``/``modifier2`` (unless
  ``--http-modifier1``/``--http-modifier2`` are set);
* a node that refuses the connection (or does not accept it within the connect timeout) is
  dropped from the table until its next announce, and the request moves on to another node of
  the key, then to the ``--http-fallback`` nodes in order.

uWSGI closes the client connection without a word when no node is subscribed for the key, or
when none could be reached; gateway answers ``502 Bad Gateway`` (as it does when no worker is
reachable).

Pooled keep-alive connections (``--http-to-gateway``) are per node address, as always
(:class:`~gateway.router.pool.UpstreamPool`); here a node that leaves the table (unsubscribed,
marked failed, expired) has its idle connections closed at once, and a connection whose answer
ends after its node left is closed instead of pooled (:class:`SubscribedPool`), so a request
reaches a node only through the table.
"""

from __future__ import annotations

import socket
from typing import Any, List, Tuple

from gateway.logs import gen_log
from gateway.router.http_front import RouterConnection, _log_limited
from gateway.router.pool import UpstreamPool
from gateway.router.subscription import SubscriptionTable
from gateway.router.upstream import Upstream, parse_upstream

__all__ = ["SubscribedConnection", "SubscribedPool", "NO_NODE"]

#: what :meth:`SubscribedConnection._pick` returns when the key has no node left to try
NO_NODE: Tuple[int, Any, str] = (socket.AF_UNSPEC, None, "")


class SubscribedPool(UpstreamPool):
    """The upstream pool of a subscription router: only nodes still in the table keep connections
    (``--http-fallback`` nodes, never in the table, are not pooled)."""

    def __init__(self, loop: Any, max_idle: int, idle_timeout: float, table: SubscriptionTable) -> None:
        super().__init__(loop, max_idle, idle_timeout)
        self.table = table

    def put(self, upstream: Upstream, spec: str) -> bool:
        if not self.table.has_address(spec):
            upstream.close()
            return False
        return super().put(upstream, spec)


class SubscribedConnection(RouterConnection):
    """A client connection whose requests go to the node subscribed under their ``Host``."""

    __slots__ = ("_key", "_tried", "_fallback")

    def __init__(self, router: Any, vars_builder: Any) -> None:
        super().__init__(router, vars_builder)
        self._next_target = self._pick
        self._key = ""
        #: node addresses tried for the current request (each refused one is out of the table too)
        self._tried: List[str] = []
        self._fallback = 0

    def _forward(self, req: Any) -> None:
        self._key = req.host or self.router.default_key
        self._tried = []
        self._fallback = 0
        super()._forward(req)

    def _pick(self) -> Tuple[int, Any, str]:
        """``(family, address, spec)`` of the next node for the request's key, or :data:`NO_NODE`;
        the packet's modifiers become the node's."""
        router = self.router
        table = router.table
        tried = self._tried
        while True:
            node = table.pick(self._key, tried)
            if node is None and router.fallback_key:
                node = table.pick(router.fallback_key, tried)
            if node is None:
                return NO_NODE
            tried.append(node.address)
            try:
                family, address = parse_upstream(node.address)
            except ValueError:  # an announced address that is no address: never usable
                node.failcount += 1
                _log_limited("bad-node-" + node.address, "[http-subscription] %s => unusable node address %r",
                             self._key, node.address)
                continue
            break
        s = self.settings
        modifier1 = s.modifier1 or node.modifier1
        modifier2 = s.modifier2 or node.modifier2
        packet = self._packet
        if packet and (packet[0] != modifier1 or packet[3] != modifier2):
            self._packet = bytes((modifier1,)) + packet[1:3] + bytes((modifier2,)) + packet[4:]
        return family, address, node.address

    def _connect(self, target: Any = None) -> None:
        if target is None:
            target = self._pick()
        if target is NO_NODE:
            self._no_node()
            return
        super()._connect(target)

    def _no_node(self) -> None:
        router = self.router
        if self._tried:  # every node of the key refused: the --http-fallback nodes, in order
            if self._fallback < len(router.fallbacks):
                target = router.fallbacks[self._fallback]
                self._fallback += 1
                super()._connect(target)
                return
            _log_limited("unreachable", "[http-subscription] no node reachable for key %r (502)", self._key)
            message = "no node is reachable for this host"
        else:
            _log_limited("no-node", "[http-subscription] no node subscribed for key %r (502)", self._key)
            message = "no node is subscribed for this host"
        self._drop_spools()
        self._gateway_error(502, message)

    def _retry(self) -> None:
        self._tried = []  # the pooled connection was stale, not the node: it may be picked again
        super()._retry()

    def upstream_failed(self, message: str, before_connect: bool) -> None:
        if not before_connect:
            super().upstream_failed(message, before_connect)
            return
        spec = self._spec
        self.upstream = None
        if not self.settings.quiet:
            _log_limited("connect-" + spec, "[router] cannot connect to node %s (key %r): %s",
                         spec, self._key, message)
        if self.router.table.mark_failed(spec):
            # as uWSGI: a subscribed node that refuses is dropped until it announces again
            gen_log.info("[http-subscription] %s => marking %s as failed", self._key, spec)
        self._connect()
