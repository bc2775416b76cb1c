"""Idle persistent connections from the HTTP router to gateway workers, kept for reuse.

uWSGI's protocol carries one request per connection, and connecting, accepting and
closing a socket per request is most of what the router and the worker spend on a
small request.  Toward workers known to be gateway's (the internal socket the master
creates, or ``--http-to``/``--socket`` with ``--http-to-gateway``) the router asks for
a persistent connection (the ``GATEWAY_KEEPALIVE`` var,
:data:`gateway.protocol.uwsgi.KEEPALIVE_VAR`); once a framed answer is complete the
connection comes back here, and the next request to the same address takes it.

Bounded: at most ``--http-upstream-keepalive`` idle connections in all, each for at
most ``--http-upstream-idle`` seconds (kept under the worker's own ``--socket-timeout``
so the router, not the worker, usually closes first); a connection that carried
``--http-upstream-max-requests`` answers is closed instead of kept (load follows
connections: a new one goes to whichever worker accepts it first).  An idle connection stays
registered for reading with no owner (:class:`~gateway.router.upstream.Upstream`): the
worker closing it (idle timeout, graceful stop, max-requests, death) or sending a stray
byte closes it at once, and :meth:`UpstreamPool.get` skips closed ones.  The request
that still races a worker's close is retried once on a fresh connection by its owner
(:mod:`gateway.router.http_front`), which is why only requests that are safe to replay
take a pooled connection.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from gateway.router.upstream import Upstream

__all__ = ["UpstreamPool"]


class UpstreamPool:
    """``pool.get(spec)`` an idle connection to ``spec`` or None; ``pool.put(upstream)``."""

    def __init__(self, loop: Any, max_idle: int, idle_timeout: float) -> None:
        self.loop = loop
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self._idle: Dict[str, List[Upstream]] = {}
        #: idle connections held (closed ones included until swept or skipped)
        self.count = 0
        #: connections handed out again (for tests and the stats of a bench)
        self.reused = 0

    def get(self, spec: str) -> Optional[Upstream]:
        """The most recently used idle connection to ``spec`` that is still open, or None."""
        idle = self._idle.get(spec)
        while idle:
            upstream = idle.pop()
            self.count -= 1
            if not upstream.closed:
                self.reused += 1
                return upstream
        return None

    def put(self, upstream: Upstream, spec: str) -> bool:
        """Keep ``upstream`` (its answer is complete, nothing pending); False: closed instead."""
        if upstream.closed:
            return False
        if self.count >= self.max_idle:
            upstream.close()
            return False
        upstream.owner = None
        upstream.idle_since = self.loop.time()
        upstream.resume_reading()  # so a close by the worker is seen while idle
        self._idle.setdefault(spec, []).append(upstream)
        self.count += 1
        return True

    def sweep(self, now: float) -> None:
        """Close connections idle for longer than the idle timeout; drop closed ones."""
        limit = now - self.idle_timeout
        for spec, idle in list(self._idle.items()):
            keep = []
            for upstream in idle:
                if upstream.closed:
                    continue
                if upstream.idle_since < limit:
                    upstream.close()
                    continue
                keep.append(upstream)
            self.count -= len(idle) - len(keep)
            if keep:
                self._idle[spec] = keep
            else:
                del self._idle[spec]

    def drop(self, spec: str) -> int:
        """Close every idle connection to ``spec`` (a node that left); how many were held."""
        idle = self._idle.pop(spec, None)
        if not idle:
            return 0
        for upstream in idle:
            upstream.close()
        self.count -= len(idle)
        return len(idle)

    def close_all(self) -> None:
        for idle in self._idle.values():
            for upstream in idle:
                upstream.close()
        self._idle.clear()
        self.count = 0
