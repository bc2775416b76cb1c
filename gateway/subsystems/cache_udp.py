"""Cache replication over UDP: a cache's changes sent to its ``nodes``
(:class:`NodeSender`), changes from other nodes applied by a ``udp`` server
(:class:`UdpServer`).  The datagrams are uWSGI's (:mod:`gateway.protocol.cache_udp`),
so gateway and uWSGI nodes replicate to each other.

What is sent, as in uWSGI: every successful ``set``/``update``/``inc``... and ``del``
through the API or the remote cache protocol, not the changes a node makes on its own
(expiry, LRU eviction, clear) nor those it received.  A set travels as "update with
this absolute expiry": nodes converge when their clocks agree.  Datagrams are neither
acknowledged nor retried.

The server's sockets are bound before the first fork and read by the master's loop (by
the worker's IOLoop without a master): applying a change is one short critical section.
"""

from __future__ import annotations

import socket
import time
from typing import List, Optional, Tuple

from gateway.logs import gen_log
from gateway.protocol.cache_udp import DELETE, CacheChange, CacheUdpError, decode, encode
from gateway.sharedmem.cache import SharedCache

#: datagrams read per wakeup of the loop (so a flood cannot hold the master's loop)
MAX_BATCH = 64
#: the receive buffer of one datagram
RECV_SIZE = 65536


class CacheUdpConfigError(ValueError):
    """A bad node or server address, or a server that cannot bind."""


def parse_address(text: str, what: str, wildcard: bool) -> Tuple[str, int]:
    """``HOST:PORT`` resolved to an IPv4 ``(address, port)``; ``wildcard`` (a server's
    address): ``:PORT`` binds every IPv4 address."""
    host, sep, port = text.rpartition(":")
    # port 0 (any free port) only for a server: a node must be somewhere
    if not sep or not port.isdigit() or not (0 if wildcard else 1) <= int(port) < 65536:
        raise CacheUdpConfigError("%s: invalid udp address %r (HOST:PORT)" % (what, text))
    if not host:
        if not wildcard:
            raise CacheUdpConfigError("%s: invalid udp address %r (a host is needed)" % (what, text))
        host = "0.0.0.0"
    try:
        info = socket.getaddrinfo(host, int(port), socket.AF_INET, socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as e:
        raise CacheUdpConfigError("%s: cannot resolve %r: %s" % (what, text, e)) from None
    addr = info[0][4]
    return str(addr[0]), int(addr[1])


class NodeSender:
    """Sends one cache's changes to its nodes, from whichever process made them (each
    process opens its own non-blocking socket on first use)."""

    def __init__(self, cache_name: str, nodes: List[str]) -> None:
        self.cache_name = cache_name
        self.targets = [parse_address(n, 'cache "%s": node' % cache_name, wildcard=False) for n in nodes]
        self._sock: Optional[socket.socket] = None
        self._pid = 0
        self._last_error = 0.0
        for n in nodes:
            gen_log.info('added udp node %s for cache "%s"', n, cache_name)

    def _socket(self) -> socket.socket:
        import os

        pid = os.getpid()
        if self._sock is None or self._pid != pid:
            # a forked child must not share its parent's socket object (nor close it)
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
            self._pid = pid
        return self._sock

    def send(self, change: CacheChange) -> None:
        try:
            data = encode(change)
        except CacheUdpError as e:
            self._error("[cache-udp-node] cache \"%s\": not replicated: %s" % (self.cache_name, e))
            return
        sock = self._socket()
        for target in self.targets:
            try:
                sock.sendto(data, target)
            except OSError as e:  # a full buffer drops the datagram, as UDP would
                self._error("[cache-udp-node] sendto(%s:%d): %s" % (target[0], target[1], e.strerror or e))

    def _error(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_error >= 1.0:  # at most one line a second per cache
            self._last_error = now
            gen_log.error(message)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class UdpServer:
    """Applies the changes other nodes send to ``cache``, on the sockets bound to
    ``addresses``."""

    def __init__(self, cache: SharedCache, addresses: List[str]) -> None:
        self.cache = cache
        self.socks: List[socket.socket] = []
        self.malformed = 0
        #: changes the cache refused (a key or value too large, a delete of a missing key...)
        self.refused = 0
        self._refused_logged = -1e18
        self._refused_unlogged = 0
        try:
            for text in addresses:
                addr = parse_address(text, 'cache "%s": udp server' % cache.name, wildcard=True)
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self.socks.append(sock)
                try:
                    sock.bind(addr)
                except OSError as e:
                    raise CacheUdpConfigError('cache "%s": cannot bind the udp server to %s: %s'
                                              % (cache.name, text, e.strerror or e)) from None
                sock.setblocking(False)
                gen_log.info('*** udp server for cache "%s" running on %s ***', cache.name, text)
        except BaseException:
            self.close()
            raise

    def fds(self) -> List[int]:
        return [s.fileno() for s in self.socks]

    def on_readable(self, fd: int) -> None:
        """Read and apply up to :data:`MAX_BATCH` datagrams from ``fd``."""
        sock = next((s for s in self.socks if s.fileno() == fd), None)
        if sock is None:
            return
        for _ in range(MAX_BATCH):
            try:
                data = sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                gen_log.warning("[cache-udp-server] recv(): %s", e.strerror or e)
                return
            self.apply(data)

    def apply(self, data: bytes) -> bool:
        """Apply one datagram; False when malformed or refused by the cache."""
        try:
            change = decode(data)
        except CacheUdpError:
            self.malformed += 1  # uWSGI ignores them silently too
            return False
        if change.op == DELETE:
            ok = self.cache.delete(change.key, local=True)
        else:
            ok = self.cache.update(change.key, change.value, change.expires, absolute=True, local=True)
        if not ok:
            self._note_refused()
        return ok

    def _note_refused(self) -> None:
        """uWSGI's "unable to update cache" line, at most once a second (any host that can
        send a datagram must not be able to fill the log), with how many went unsaid."""
        self.refused += 1
        now = time.monotonic()
        if now - self._refused_logged < 1.0:
            self._refused_unlogged += 1
            return
        more = " (and %d more since the last line)" % self._refused_unlogged if self._refused_unlogged else ""
        self._refused_logged = now
        self._refused_unlogged = 0
        gen_log.warning('[cache-udp-server] unable to update cache "%s"%s', self.cache.name, more)

    def close(self) -> None:
        for s in self.socks:
            s.close()
        self.socks = []
