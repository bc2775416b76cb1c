"""``--subscribe-to`` / ``--subscribe2``: the master announces this instance to subscription servers.

uWSGI's instance side of the subscription system: the master sends one UDP (or UNIX
datagram) uwsgi packet per subscription, modifier1 224, at start, then every
``--subscribe-freq`` seconds (10), so that a router (uWSGI's or gateway's
``--fastrouter-subscription-server``) keeps routing requests for the key to this instance
and forgets it ``--subscription-tolerance`` seconds after the announces stop.  At shutdown
the master sends the same packets with modifier2 1 (unsubscribe), and the router drops the
node at once.  While the instance is paused (SIGTSTP, ``--pause``) it is unsubscribed, as
uWSGI does; with ``--unsubscribe-on-graceful-reload`` also during a reload.  The master
FIFO's ``S`` (and ``--start-unsubscribed``, from the start) blocks every announce, unsubscribes
included, until the next ``S`` (uWSGI's ``subscriptions blocked``/``re-enabled``).

Announces are fire-and-forget: a send that fails costs one log line (at most one per
server per announce round), never a retry.  The values are read by
:mod:`gateway.router.subscribe_spec`; the datagram is
:func:`gateway.router.subscription.encode_subscription`.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Dict, List, Optional, Tuple

from gateway.config.model import Config
from gateway.logs import gen_log
from gateway.router.subscribe_spec import (
    MAX_KEYS_FILE,
    SubscribeSpecError,
    SubscribeTarget,
    parse_subscribe2,
    parse_subscribe_to,
    read_keys_file,
)
from gateway.router.subscription import SUBSCRIBE, UNSUBSCRIBE, Subscription, encode_subscription, node_address_error

__all__ = ["SubscriberConfigError", "Subscriber", "configured", "attach"]


class SubscriberConfigError(Exception):
    """A subscription option cannot be honoured; ``str()`` names the option."""


def configured(cfg: Config) -> bool:
    """True if this instance announces itself (the options imply a master, as in uWSGI)."""
    return bool(cfg.subscribe_to or cfg.subscribe2)


def _resolve(server: str) -> Tuple[int, Any]:
    """``(family, sockaddr)`` of a subscription server, resolved once at startup."""
    if server.startswith("/"):
        return socket.AF_UNIX, server
    if server.startswith("@"):
        return socket.AF_UNIX, "\0" + server[1:]
    host, _, port = server.rpartition(":")
    families = [socket.AF_INET, socket.AF_UNSPEC]  # IPv4 first, as uWSGI (it takes IPv4 only)
    if host.startswith("[") and host.endswith("]"):
        host, families = host[1:-1], [socket.AF_INET6]
    error: Any = None
    for family in families:
        try:
            info = socket.getaddrinfo(host, int(port), family, socket.SOCK_DGRAM)
        except (OSError, UnicodeError) as e:
            error = e
            continue
        return info[0][0], info[0][4]
    raise SubscriberConfigError("cannot resolve the subscription server %s: %s" % (server, error))


class Subscriber:
    """The announces of one instance: :meth:`announce` sends them all once."""

    def __init__(self, targets: List[Tuple[str, SubscribeTarget]], addresses: List[str], cores: int,
                 weight: int, force_modifier1: Optional[int] = None) -> None:
        self.targets = targets  # (option name, target)
        self.addresses = addresses
        self.cores = cores
        self.weight = weight
        self.force_modifier1 = force_modifier1
        self.servers: Dict[str, Tuple[int, Any]] = {}
        for option, target in targets:
            if target.server not in self.servers:
                try:
                    self.servers[target.server] = _resolve(target.server)
                except SubscriberConfigError as e:
                    raise SubscriberConfigError("--%s: %s" % (option, e)) from None
            why = node_address_error(target.address) if target.address else None
            if why is not None:
                # uWSGI's router resolves a name; gateway's refuses the announce (one line there)
                gen_log.warning("--%s: the announced address %s cannot be used by gateway's FastRouter (%s): "
                                "announce an IP:PORT or a socket path", option, target.address, why)
            if not target.address and target.socket_index >= len(addresses):
                raise SubscriberConfigError(
                    "--%s: this instance has no socket %d to announce (%d socket(s), numbered from 0): "
                    "bind one or give the address (SOCKET=SERVER:KEY, addr=)"
                    % (option, target.socket_index, len(addresses)))
        self._socks: Dict[int, socket.socket] = {}

    def datagrams(self, command: int) -> List[Tuple[str, bytes]]:
        """``[(server, datagram)]`` of one announce round (key files are read now, as uWSGI
        does at every round; a ``check`` file that exists skips its subscription)."""
        out = []
        for _, target in self.targets:
            if target.check and os.path.exists(target.check):
                continue
            address = target.address or self.addresses[target.socket_index]
            if target.keys_file:
                keys = self._read_keys(target.keys_file)
            else:
                keys = [(target.key, target.modifier1)]
            weight = self.weight if target.weight is None else target.weight
            for key, modifier1 in keys:
                if self.force_modifier1 is not None:
                    modifier1 = self.force_modifier1
                sub = Subscription(command, key, address, modifier1, target.modifier2, self.cores, 0, weight)
                out.append((target.server, encode_subscription(sub, target.sni)))
        return out

    @staticmethod
    def _read_keys(path: str) -> List[Tuple[str, int]]:
        try:
            with open(path, "rb") as f:
                return read_keys_file(f.read(MAX_KEYS_FILE).decode("latin-1"))
        except OSError as e:
            gen_log.error("[subscription] cannot read the keys file %s: %s", path, e.strerror or e)
            return []

    def announce(self, command: int, verbose: bool = False) -> None:
        """Send every datagram of ``command`` (:data:`SUBSCRIBE` or :data:`UNSUBSCRIBE`)."""
        if verbose:
            for _, target in self.targets:
                gen_log.info("%s %s", "unsubscribing from" if command == UNSUBSCRIBE else "subscribing to",
                             target.server + ":" + (target.key or "@" + target.keys_file))
        failed = set()
        for server, data in self.datagrams(command):
            family, sockaddr = self.servers[server]
            try:
                self._sock(family).sendto(data, sockaddr)
            except OSError as e:
                if server not in failed:
                    failed.add(server)
                    gen_log.error("[subscription] cannot send to %s: %s", server, e.strerror or e)

    def _sock(self, family: int) -> socket.socket:
        sock = self._socks.get(family)
        if sock is None:
            sock = self._socks[family] = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
        return sock

    def close(self) -> None:
        for sock in self._socks.values():
            sock.close()
        self._socks.clear()


def build(cfg: Config, addresses: List[str], numproc: int, cores_per_worker: int) -> Subscriber:
    """The :class:`Subscriber` of ``cfg``; :class:`SubscriberConfigError` on a bad value."""
    targets: List[Tuple[str, SubscribeTarget]] = []
    try:
        targets.extend(("subscribe-to", parse_subscribe_to(v)) for v in cfg.subscribe_to or [])
        targets.extend(("subscribe2", parse_subscribe2(v)) for v in cfg.subscribe2 or [])
    except SubscribeSpecError as e:
        raise SubscriberConfigError(str(e)) from None
    cores = numproc * cores_per_worker
    weight = cores if cfg.auto_weight else int(cfg.weight)
    modifier1 = None if cfg.subscribe_with_modifier1 is None else int(cfg.subscribe_with_modifier1)
    return Subscriber(targets, addresses, cores, weight, modifier1)


def attach(master: Any, cfg: Config, sockets: List[socket.socket], numproc: int) -> None:
    """Announce from ``master``'s loop: at start, every ``--subscribe-freq`` seconds, and
    unsubscribe at shutdown, while paused, and (``--unsubscribe-on-graceful-reload``) while
    reloading."""
    if not configured(cfg):
        return
    from gateway.process.worker import cores_per_worker
    from gateway.server.listeners import listen_address

    sub = build(cfg, [listen_address(s) for s in sockets], numproc, cores_per_worker(cfg))
    freq = float(cfg.subscribe_freq)
    state = {"next": 0.0, "off": False, "reloading": False}

    def sync() -> bool:
        """Unsubscribe when paused or reloading, subscribe again after; True if it did either."""
        off = bool(master.suspended) or state["reloading"]
        if off == state["off"] or master.state == "stopping":
            return False
        state["off"] = off
        sub.announce(UNSUBSCRIBE if off else SUBSCRIBE, verbose=True)
        state["next"] = time.monotonic() + freq
        return True

    def cycle() -> None:
        if master.state == "stopping":
            return
        if master.subscriptions_blocked:  # the master FIFO's S: nothing sent, as uWSGI
            master.call_later(min(1.0, freq), cycle)
            return
        now = time.monotonic()
        if not sync() and not state["off"] and now >= state["next"]:
            sub.announce(SUBSCRIBE, verbose=state["next"] == 0.0)  # the first round is logged
            state["next"] = now + freq
        master.call_later(min(1.0, freq), cycle)

    def shutdown() -> None:
        if not state["off"] and not master.subscriptions_blocked:
            sub.announce(UNSUBSCRIBE, verbose=True)
        state["off"] = True
        sub.close()

    def reload_over() -> None:
        state["reloading"] = False
        sync()

    def reload() -> None:
        state["reloading"] = True
        sync()
        master.after_reload(reload_over)

    master.call_later(0, cycle)
    master.on_shutdown(shutdown)
    if cfg.unsubscribe_on_graceful_reload:
        master.on_reload(reload)
