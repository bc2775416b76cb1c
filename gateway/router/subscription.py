"""uWSGI's subscription system, sans-IO: the announce packet and the key -> nodes table.

An instance announces itself to a router's subscription server (UDP) with one uwsgi
packet, modifier1 224, modifier2 0 (subscribe) or 1 (unsubscribe), whose vars are::

    key=example.com address=127.0.0.1:3031 modifier1=0 modifier2=0 cores=4 load=0 weight=1

(and optionally ``sni_key``/``sni_crt``/``sni_ca``, ``notify``, and ``unix``/``sign`` for
signed packets).  The router keeps, per key (a ``Host`` or a ``UWSGI_FASTROUTER_KEY``), the
list of nodes that announced it, and routes each request for that key to one of them
(weighted round-robin).  A node that stops announcing for ``--subscription-tolerance``
seconds is dropped; an unsubscribe drops it at once.

Nothing here touches a socket or a clock: :func:`parse_subscription` turns a datagram into
a :class:`Subscription` (or raises :class:`SubscriptionError`, whose text is the one log
line a bad datagram costs), :func:`encode_subscription` builds one, and
:class:`SubscriptionTable` is the bounded table, given ``now`` by its caller.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from gateway.protocol.uwsgi import HEADER_SIZE, UwsgiError, decode_header, decode_vars, encode_packet, encode_vars

__all__ = [
    "SUBSCRIPTION_MODIFIER1", "SUBSCRIBE", "UNSUBSCRIBE", "MAX_KEYS", "MAX_NODES_PER_KEY", "MAX_NODES", "MAX_KEY_SIZE",
    "MAX_DATAGRAM", "DEFAULT_TOLERANCE", "Subscription", "SubscriptionError", "SubscriptionTable", "Node",
    "parse_subscription", "encode_subscription", "node_address_error",
]

#: modifier1 of a subscription packet
SUBSCRIPTION_MODIFIER1 = 224
#: modifier2 values: the command
SUBSCRIBE, UNSUBSCRIBE = 0, 1
#: at most this many keys in a table (a flood of made-up keys cannot grow it further);
#: the defaults of --subscription-max-keys, --subscription-max-nodes-per-key, --subscription-max-nodes
MAX_KEYS = 4096
#: at most this many nodes per key
MAX_NODES_PER_KEY = 64
#: at most this many nodes in all (key, address pairs): MAX_KEYS x MAX_NODES_PER_KEY would let a
#: flood of announces fill 260,000 nodes, a 60 MiB stats document and a 100 MB table
MAX_NODES = 16384
#: uWSGI keeps keys (and the request key it matches) in a 255-byte buffer
MAX_KEY_SIZE = 0xFF
#: bytes read per datagram (a real announce is a few hundred bytes)
MAX_DATAGRAM = 4096
#: uWSGI's default --subscription-tolerance (seconds without an announce before a node is dropped)
DEFAULT_TOLERANCE = 17
_MAX_VARS = 32
#: the longest UNIX socket path (sun_path holds 108 bytes, its NUL included)
_MAX_UNIX_PATH = 107
_NUMBERS = ("modifier1", "modifier2", "cores", "load", "weight")


class SubscriptionError(ValueError):
    """A datagram that is not a usable subscription packet; ``str()`` says why."""


@dataclass(frozen=True)
class Subscription:
    """One announce: ``command`` is :data:`SUBSCRIBE` or :data:`UNSUBSCRIBE`."""

    command: int
    key: str
    address: str
    modifier1: int = 0
    modifier2: int = 0
    cores: int = 0
    load: int = 0
    weight: int = 1


def _number(name: str, raw: bytes, maximum: int) -> int:
    if not raw:
        return 0
    if not (raw.isdigit() and len(raw) <= 20):
        raise SubscriptionError("subscription var %s is not a number: %r" % (name, raw[:32]))
    value = int(raw)
    if value > maximum:
        raise SubscriptionError("subscription var %s=%d: over %d" % (name, value, maximum))
    return value


def node_address_error(address: str) -> Optional[str]:
    """Why a subscribed node's ``address`` cannot be connected to without a name lookup,
    or None when it can: ``IPv4:PORT`` (an empty host is 127.0.0.1), ``[IPv6]:PORT``, a
    UNIX socket ``/path`` or an ``@abstract`` name.  The router connects from its event
    loop: a host name would stop every connection of the process while it is resolved
    (and an unresolvable one, or a port over 65535, would fail each request routed to it)."""
    if address.startswith("@"):
        return None if 1 < len(address.encode("latin-1")) <= _MAX_UNIX_PATH else "not an @abstract socket name"
    if "/" in address or ":" not in address:
        return None if len(address.encode("latin-1")) <= _MAX_UNIX_PATH else "a UNIX socket path over %d bytes" % (
            _MAX_UNIX_PATH)
    if address.startswith("["):
        host, sep, port = address[1:].partition("]:")
        version = 6
    else:
        host, sep, port = address.rpartition(":")
        version = 4
    if not sep or not (port.isdigit() and port.isascii() and 0 < int(port) < 65536):
        return "the port is not a number from 1 to 65535"
    if host or version == 6:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return "the host is not an IPv%d address (names are not resolved)" % version
        if ip.version != version:
            return "the host is not an IPv%d address (names are not resolved)" % version
    return None


def parse_subscription(datagram: bytes) -> Subscription:
    """The announce in ``datagram`` (one whole uwsgi packet), or :class:`SubscriptionError`.

    Signed packets (``sign``/``unix`` vars: uWSGI's ``--subscriptions-sign-check``) are
    refused: gateway checks no signature, and taking a signed announce as an unsigned
    one would let anyone replay it.
    """
    if len(datagram) > MAX_DATAGRAM:
        raise SubscriptionError("subscription datagram of %d bytes: over %d" % (len(datagram), MAX_DATAGRAM))
    if len(datagram) < HEADER_SIZE:
        raise SubscriptionError("subscription datagram of %d bytes: shorter than a uwsgi header" % len(datagram))
    modifier1, size, command = decode_header(datagram)
    if modifier1 != SUBSCRIPTION_MODIFIER1:
        raise SubscriptionError("not a subscription packet (modifier1 %d, not 224)" % modifier1)
    if command not in (SUBSCRIBE, UNSUBSCRIBE):
        raise SubscriptionError("unknown subscription command (modifier2 %d)" % command)
    if size != len(datagram) - HEADER_SIZE:
        raise SubscriptionError("subscription packet announces %d bytes of vars, carries %d"
                                % (size, len(datagram) - HEADER_SIZE))
    try:
        pairs = decode_vars(datagram[HEADER_SIZE:], max_vars=_MAX_VARS)
    except UwsgiError as e:
        raise SubscriptionError(str(e)) from None
    found: Dict[bytes, bytes] = dict(pairs)
    if b"sign" in found or b"unix" in found:
        raise SubscriptionError("signed subscription packets (--subscriptions-sign-check) are not supported")
    key = found.get(b"key", b"")
    address = found.get(b"address", b"")
    if not key:
        raise SubscriptionError("subscription packet without a key")
    if len(key) > MAX_KEY_SIZE:
        raise SubscriptionError("subscription key of %d bytes: over %d" % (len(key), MAX_KEY_SIZE))
    if not address:
        raise SubscriptionError("subscription packet for key %r without an address" % key.decode("latin-1"))
    if len(address) > MAX_KEY_SIZE:
        raise SubscriptionError("subscription address of %d bytes: over %d" % (len(address), MAX_KEY_SIZE))
    numbers = {name: _number(name, found.get(name.encode(), b""), 255 if name.startswith("modifier") else 2 ** 32)
               for name in _NUMBERS}
    if b"weight" not in found or numbers["weight"] == 0:
        numbers["weight"] = 1  # uWSGI treats a missing or zero weight as 1
    text = address.decode("latin-1")
    why = node_address_error(text)
    if why is not None:
        raise SubscriptionError("subscription address %r: %s" % (text, why))
    return Subscription(command, key.decode("latin-1"), text, **numbers)


def encode_subscription(sub: Subscription, extra: Sequence[Tuple[str, str]] = ()) -> bytes:
    """The datagram announcing ``sub`` (uWSGI's var order), ``extra`` vars (``sni_key``...) last."""
    pairs = [("key", sub.key), ("address", sub.address), ("modifier1", str(sub.modifier1)),
             ("modifier2", str(sub.modifier2)), ("cores", str(sub.cores)), ("load", str(sub.load)),
             ("weight", str(sub.weight)), *extra]
    return encode_packet(SUBSCRIPTION_MODIFIER1, encode_vars(pairs), sub.command)


@dataclass
class Node:
    """One subscribed node of a key."""

    address: str
    modifier1: int
    modifier2: int
    cores: int
    load: int
    weight: int
    last_check: float
    requests: int = 0
    failcount: int = 0
    #: the smooth weighted round-robin counter
    current: int = field(default=0, repr=False)


class SubscriptionTable:
    """``key -> [Node]``, bounded (``max_keys``, ``max_nodes``) and expiring (``tolerance``).

    :meth:`apply` returns the log line the change deserves (uWSGI logs each new node and
    each removal), or None when nothing changed that is worth a line (a refreshed node).
    """

    def __init__(self, tolerance: float = DEFAULT_TOLERANCE, max_keys: int = MAX_KEYS,
                 max_nodes: int = MAX_NODES_PER_KEY, max_total: int = MAX_NODES) -> None:
        self.tolerance = tolerance
        self.max_keys = max_keys
        self.max_nodes = max_nodes
        self.max_total = max_total
        self.keys: Dict[str, List[Node]] = {}
        #: address -> the keys it serves (a refused connection drops it from those, not a scan of all)
        self._where: Dict[str, Set[str]] = {}
        self._total = 0
        #: requests routed per key (uWSGI's "hits")
        self.hits: Dict[str, int] = {}
        #: called with an address once no key lists it any more (unsubscribed, failed or expired
        #: under its last key): the HTTP router closes its idle pooled connections to it
        self.on_gone: Optional[Callable[[str], Any]] = None

    def apply(self, sub: Subscription, now: float) -> Optional[str]:
        nodes = self.keys.get(sub.key)
        if sub.command == UNSUBSCRIBE:
            if nodes is None:
                return None
            for node in nodes:
                if node.address == sub.address:
                    self._remove(sub.key, node)
                    return "%s => removing node %s" % (sub.key, sub.address)
            return None
        if nodes is None:
            if self._total >= self.max_total:
                raise SubscriptionError("subscription of %s to key %r refused: already %d nodes in all (--subscription-max-nodes)"
                                        % (sub.address, sub.key, self.max_total))
            if len(self.keys) >= self.max_keys:
                raise SubscriptionError("subscription key %r refused: already %d keys (--subscription-max-keys)"
                                        % (sub.key, self.max_keys))
            nodes = self.keys[sub.key] = []
            self.hits[sub.key] = 0
        for node in nodes:
            if node.address == sub.address:
                node.modifier1, node.modifier2 = sub.modifier1, sub.modifier2
                node.cores, node.load, node.weight = sub.cores, sub.load, sub.weight
                node.last_check = now
                return None
        if len(nodes) >= self.max_nodes or self._total >= self.max_total:
            if not nodes:
                del self.keys[sub.key]
                del self.hits[sub.key]
            if len(nodes) >= self.max_nodes:
                raise SubscriptionError("subscription of %s to key %r refused: already %d nodes (--subscription-max-nodes-per-key)"
                                        % (sub.address, sub.key, self.max_nodes))
            raise SubscriptionError("subscription of %s to key %r refused: already %d nodes in all (--subscription-max-nodes)"
                                    % (sub.address, sub.key, self.max_total))
        nodes.append(Node(sub.address, sub.modifier1, sub.modifier2, sub.cores, sub.load, sub.weight, now))
        self._where.setdefault(sub.address, set()).add(sub.key)
        self._total += 1
        return "%s => new node: %s" % (sub.key, sub.address)

    def _remove(self, key: str, node: Node) -> None:
        nodes = self.keys[key]
        nodes.remove(node)
        self._total -= 1
        if not nodes:
            del self.keys[key]
            del self.hits[key]
        where = self._where.get(node.address)
        if where is not None:
            where.discard(key)
            if not where:
                del self._where[node.address]
                if self.on_gone is not None:
                    self.on_gone(node.address)

    def has_address(self, address: str) -> bool:
        """Does any key list ``address``?"""
        return address in self._where

    def mark_failed(self, address: str) -> bool:
        """Drop ``address`` from every key (it refused a connection); True if it was there.

        Its next announce adds it back (uWSGI's death mark works the same way)."""
        found = False
        for key in list(self._where.get(address, ())):
            for node in list(self.keys[key]):
                if node.address == address:
                    self._remove(key, node)
                    found = True
        return found

    def expire(self, now: float) -> List[str]:
        """Drop the nodes silent for longer than the tolerance; a log line for each."""
        lines = []
        limit = now - self.tolerance
        for key, nodes in list(self.keys.items()):
            for node in list(nodes):
                if node.last_check < limit:
                    self._remove(key, node)
                    lines.append("%s => marking %s as failed (no announce received in %d seconds)"
                                 % (key, node.address, self.tolerance))
        return lines

    def pick(self, key: str, exclude: Any = ()) -> Optional[Node]:
        """The node for the next request of ``key`` (smooth weighted round-robin), or None.

        ``exclude``: addresses already tried for this request (failover to the others).
        """
        nodes = self.keys.get(key)
        if not nodes:
            return None
        best: Optional[Node] = None
        total = 0
        for node in nodes:
            if node.address in exclude:
                continue
            node.current += node.weight
            total += node.weight
            if best is None or node.current > best.current:
                best = node
        if best is None:
            return None
        best.current -= total
        best.requests += 1
        self.hits[key] += 1
        return best

    def stats(self, wall_offset: float = 0.0) -> List[Dict[str, Any]]:
        """The ``subscriptions`` list of uWSGI's corerouter stats.  The table's times are its
        callers' clock (a monotonic one: a wall-clock jump must neither keep dead nodes nor
        drop live ones); ``wall_offset`` turns them into the unix times uWSGI shows."""
        return [{
            "key": key,
            "hits": self.hits.get(key, 0),
            "nodes": [{
                "name": n.address, "modifier1": n.modifier1, "modifier2": n.modifier2,
                "last_check": int(n.last_check + wall_offset), "requests": n.requests, "cores": n.cores,
                "load": n.load, "weight": n.weight, "failcount": n.failcount,
            } for n in nodes],
        } for key, nodes in self.keys.items()]
