"""``--stats-push statsd:ADDR[,PREFIX]`` (and ``socket:``): every metric as one datagram over UDP.

What uWSGI's ``stats_pusher_statsd`` sends, one datagram per metric, in the order of
the metrics (:mod:`gateway.subsystems.builtin_metrics`, then the ``--metric`` ones)::

    PREFIX.NAME:VALUE|g     a gauge (or any metric with --statsd-all-gauges)
    PREFIX.NAME:VALUE|c     every other type (counters, absolutes, aliases)

``socket:`` is uWSGI's ``stats_pusher_socket``, the same pusher with a plainer line
(``PREFIX.NAME TYPE VALUE``, TYPE the metric's type number: 0 counter, 1 gauge, 2
absolute, 3 alias), every metric (the ``--statsd-*`` options are statsd's only).

Values are the metric's current value (a counter is sent as its running total, as uWSGI
does: statsd adds what it receives, so graph it with --statsd-all-gauges or a
non-summing receiver).  ``--statsd-no-workers`` leaves out the ``worker.*`` metrics.

The socket is non-blocking: a datagram that would block is dropped, and so is the rest
of that round (uWSGI drops each one that would block).  Other send errors (an
unreachable network, a UNIX path with no reader) end the round and are logged through
a :class:`~gateway.pushers.schedule.FailureLog`.
"""

from __future__ import annotations

import errno
import socket
from typing import Any, Iterable, Iterator, List

from gateway.logs import gen_log
from gateway.pushers.schedule import FailureLog
from gateway.sharedmem.metrics import GAUGE
from gateway.subsystems.builtin_metrics import Metric


def format_metric(prefix: str, metric: Metric, all_gauges: bool = False) -> bytes:
    """One statsd line: ``prefix.name:value|g`` (gauges) or ``|c`` (anything else)."""
    kind = "g" if all_gauges or metric.type == GAUGE else "c"
    return ("%s.%s:%d|%s" % (prefix, metric.name, metric.value, kind)).encode("utf-8")


def datagrams(prefix: str, metrics: Iterable[Metric], *, all_gauges: bool = False,
              no_workers: bool = False, kind: str = "statsd") -> Iterator[bytes]:
    """The datagrams of one push, in order (sans-IO); ``kind`` ``socket``: uWSGI's socket pusher's."""
    if kind == "socket":
        for m in metrics:
            yield ("%s.%s %d %d" % (prefix, m.name, m.type, m.value)).encode("utf-8")
        return
    for m in metrics:
        if no_workers and m.name.startswith("worker."):
            continue
        yield format_metric(prefix, m, all_gauges)


class StatsdPusher:
    """One ``--stats-push statsd:...`` (or ``socket:...``, ``kind``) target: a non-blocking
    datagram socket."""

    def __init__(self, label: str, family: int, sockaddr: Any, prefix: str, *,
                 all_gauges: bool = False, no_workers: bool = False, kind: str = "statsd") -> None:
        self.name = kind
        self.label = label
        self.family = family
        self.sockaddr = sockaddr
        self.prefix = prefix
        self.all_gauges = all_gauges
        self.no_workers = no_workers
        self.sock: Any = None
        self.log = FailureLog()
        self.sent = 0

    def _socket(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.socket(self.family, socket.SOCK_DGRAM)
            self.sock.setblocking(False)
        return self.sock

    def push(self, metrics: List[Metric], now: float) -> bool:
        """Send one round; False if a send failed (other than a full buffer)."""
        try:
            sock = self._socket()
        except OSError as e:
            self._failed(now, e)
            return False
        for data in datagrams(self.prefix, metrics, all_gauges=self.all_gauges, no_workers=self.no_workers,
                              kind=self.name):
            try:
                sock.sendto(data, self.sockaddr)
            except (BlockingIOError, InterruptedError):
                break  # the send buffer is full: drop the rest of this round
            except OSError as e:
                if e.errno == errno.EMSGSIZE:
                    continue  # one oversized metric name; the others may still fit
                self._failed(now, e)
                return False
            self.sent += 1
        if self.log.success():
            gen_log.info("[uwsgi-stats-pusher] %s %s works again", self.name, self.label)
        return True

    def _failed(self, now: float, e: OSError) -> None:
        missed = self.log.failure(now)
        if missed is not None:
            gen_log.warning("[uwsgi-stats-pusher] %s %s: sendto(): %s%s", self.name, self.label, e.strerror or e,
                            " (%d more failures not logged)" % missed if missed else "")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
