"""``--carbon HOST:PORT``: uWSGI's carbon (Graphite) plugin, one short TCP connection per push.

Every ``--carbon-freq`` seconds (60) each server gets a new connection carrying
Graphite's plaintext lines, ``ROOT.HOSTNAME.ID.NAME VALUE TIMESTAMP``, where ``ROOT`` is
``--carbon-root`` (``uwsgi``), ``HOSTNAME`` the machine's name (its dots replaced by
``--carbon-hostname-dots``), ``ID`` ``--carbon-id`` (default: the first socket's address,
dots as underscores).  The lines (:meth:`CarbonReport.lines`, sans-IO) are uWSGI's:

* ``requests`` (the instance's total), then per worker (unless ``--carbon-no-workers``)
  ``workerN.requests``, ``workerN.rss_size`` and ``workerN.vsz_size`` (with
  ``--memory-report`` or a ``--reload-on-rss``-like option), ``workerN.avg_rt`` (µs),
  ``workerN.tx``, ``workerN.busyness`` (% of the period spent in requests),
  ``workerN.harakiri``, ``workerN.respawns``, ``workerN.exceptions``;
* the totals: ``rss_size``, ``vsz_size`` (same condition), ``avg_rt`` (mean of the running
  workers), ``tx``, ``busyness``, ``active_workers``, ``busy_workers``, ``idle_workers``,
  ``cheaped_workers`` (with ``--cheaper``), ``harakiri``, ``respawns``, ``exceptions``;
* with ``--carbon-use-metrics`` instead: one line per metric (:mod:`gateway.subsystems.builtin_metrics`).

``--carbon-idle-avg`` says what ``avg_rt`` is when no request arrived since the last push:
``last`` (the value, the default), ``zero`` or ``none`` (no line).

The connection never blocks the master: a non-blocking connect and writes driven by the
master's selector, abandoned when nothing moved for ``--carbon-timeout`` seconds (3) or
when the round outlives its period.  A server that could not be reached is retried
``--carbon-max-retry`` times, ``--carbon-retry-delay`` seconds apart (uWSGI's rules,
:class:`~gateway.pushers.schedule.Schedule`); the lines of one round are at most one
payload per server, built when the round starts.
"""

from __future__ import annotations

import errno
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from gateway.logs import gen_log
from gateway.pushers.schedule import FailureLog, Schedule
from gateway.subsystems.builtin_metrics import Metric

IDLE_AVG = ("last", "zero", "none")


@dataclass
class CarbonSettings:
    root: str = "uwsgi."
    hostname: str = "localhost"
    id: str = "uwsgi"
    freq: int = 60
    no_workers: bool = False
    idle_avg: str = "last"
    memory: bool = False
    cheaper: bool = False
    use_metrics: bool = False

    @property
    def prefix(self) -> str:
        return "%s%s.%s." % (self.root, self.hostname, self.id)


def carbon_root(text: Optional[str]) -> str:
    """``--carbon-root``: ``uwsgi.`` by default, a dot added unless empty (uWSGI's rule)."""
    if text is None:
        return "uwsgi."
    return text if not text or text.endswith(".") else text + "."


def carbon_hostname(hostname: str, dots: Optional[str]) -> str:
    """The machine's name with each dot replaced by the first character of ``dots``."""
    return hostname.replace(".", dots[0]) if dots else hostname


def carbon_id(socket_name: str) -> str:
    """uWSGI's default ``--carbon-id``: the first socket's name, dots as underscores."""
    return socket_name.replace(".", "_")


class CarbonReport:
    """The lines of a push, and the state uWSGI keeps between pushes (busyness, idle avg).

    ``workers`` are scoreboard snapshots of workers 1..N with two extra keys:
    ``cheaped`` (stopped by ``--cheaper``) and ``busy`` (a request in one of its cores).
    """

    def __init__(self, settings: CarbonSettings) -> None:
        self.s = settings
        self.last_running: Dict[int, int] = {}
        self.was_busy: Dict[int, int] = {}
        self.busyness: Dict[int, int] = {}
        self.last_requests = 0

    def observe(self, workers: Sequence[Mapping[str, Any]]) -> None:
        """Once per round: each worker's busyness over the period (from its running time)."""
        period_us = max(1, self.s.freq) * 1_000_000
        for wid, w in enumerate(workers, 1):
            running = int(w.get("running_time", 0))
            delta = max(0, running - self.last_running.get(wid, 0))
            self.last_running[wid] = running
            was_busy = self.was_busy.get(wid, 0) + (1 if w.get("busy") else 0)
            if w.get("cheaped"):
                self.was_busy[wid] = was_busy
                self.busyness[wid] = 0
                continue
            # a worker stuck in one long request adds no running time until it ends: 100%
            self.busyness[wid] = 100 if delta == 0 and was_busy else min(100, delta * 100 // period_us)
            self.was_busy[wid] = 0

    def lines(self, workers: Sequence[Mapping[str, Any]], metrics: Sequence[Metric], now: int) -> bytes:
        """The payload for one server (sans-IO)."""
        p, s = self.s.prefix, self.s
        out: List[str] = []

        def line(name: str, value: int) -> None:
            out.append("%s%s %d %d\n" % (p, name, value, now))

        if s.use_metrics:
            for m in metrics:
                line(m.name, m.value)
            return "".join(out).encode("utf-8")
        total = sum(int(w.get("requests", 0)) for w in workers)
        idle = not self.last_requests or self.last_requests == total
        push_avg = not (idle and s.idle_avg == "none")
        zero_avg = idle and s.idle_avg == "zero"
        line("requests", total)
        active = busy = idle_workers = 0
        rss = vsz = tx = avg_sum = busyness = harakiri = respawns = exceptions = 0
        for wid, w in enumerate(workers, 1):
            tx += int(w.get("tx", 0))
            harakiri += int(w.get("harakiri_count", 0))
            respawns += int(w.get("respawn_count", 0))
            exceptions += int(w.get("exceptions", 0))
            if w.get("cheaped"):
                avg_rt = 0
            else:
                avg_rt = int(w.get("avg_rt", 0))
                active += 1
                if w.get("busy"):
                    busy += 1
                else:
                    idle_workers += 1
                avg_sum += avg_rt
                busyness += self.busyness.get(wid, 0)
                if s.memory:
                    rss += int(w.get("rss", 0))
                    vsz += int(w.get("vsz", 0))
            if s.no_workers:
                continue
            line("worker%d.requests" % wid, int(w.get("requests", 0)))
            if s.memory:
                line("worker%d.rss_size" % wid, int(w.get("rss", 0)))
                line("worker%d.vsz_size" % wid, int(w.get("vsz", 0)))
            if push_avg:
                line("worker%d.avg_rt" % wid, 0 if zero_avg else avg_rt)
            line("worker%d.tx" % wid, int(w.get("tx", 0)))
            line("worker%d.busyness" % wid, 0 if w.get("cheaped") else self.busyness.get(wid, 0))
            line("worker%d.harakiri" % wid, int(w.get("harakiri_count", 0)))
            line("worker%d.respawns" % wid, int(w.get("respawn_count", 0)))
            line("worker%d.exceptions" % wid, int(w.get("exceptions", 0)))
        if s.memory:
            line("rss_size", rss)
            line("vsz_size", vsz)
        if push_avg:
            line("avg_rt", 0 if zero_avg or not active else avg_sum // active)
        line("tx", tx)
        line("busyness", min(100, busyness // active) if active else 0)
        line("active_workers", active)
        line("busy_workers", busy)
        line("idle_workers", idle_workers)
        if s.cheaper:
            line("cheaped_workers", len(workers) - active)
        line("harakiri", harakiri)
        line("respawns", respawns)
        line("exceptions", exceptions)
        return "".join(out).encode("utf-8")

    def delivered(self, workers: Sequence[Mapping[str, Any]]) -> None:
        """A server took the whole payload: the request count it saw (for the idle avg)."""
        self.last_requests = sum(int(w.get("requests", 0)) for w in workers)


class CarbonServer:
    """One ``--carbon`` target and its connection in flight (at most one)."""

    def __init__(self, label: str, family: int, sockaddr: Any) -> None:
        self.label = label
        self.family = family
        self.sockaddr = sockaddr
        self.healthy = True
        self.errors = 0
        self.sock: Optional[socket.socket] = None
        self.out = b""
        self.connected = False
        self.last_progress = 0.0
        self.deadline = 0.0
        self.log = FailureLog()


class CarbonPusher:
    """Every ``--carbon`` server, pushed together on one :class:`Schedule`.

    ``loop`` is the master: ``add_writer(sock, cb)``, ``remove_reader(sock)`` and
    ``call_later(delay, cb)`` (its selector and timers).
    """

    name = "carbon"

    def __init__(self, servers: List[CarbonServer], report: CarbonReport, schedule: Schedule,
                 timeout: float, loop: Any) -> None:
        self.servers = servers
        self.report = report
        self.schedule = schedule
        self.timeout = timeout
        self.loop = loop
        self._pending = 0
        self._failed = False
        self._workers: Sequence[Mapping[str, Any]] = ()
        self.on_round_end: Optional[Callable[[], None]] = None

    # -- a round ------------------------------------------------------------------------

    def push(self, workers: Sequence[Mapping[str, Any]], metrics: Sequence[Metric], now: float,
             retry: bool) -> None:
        """Start a round (the schedule was started by the caller): connect to every server,
        or on a retry round only to the failed ones."""
        self.report.observe(workers)
        self._workers = workers
        self._failed = False
        stamp = int(time.time())
        started = 0
        for server in self.servers:
            if server.sock is not None:
                continue  # still sending the previous round (the final push at shutdown)
            if retry and server.healthy:
                continue
            if retry:
                gen_log.info("[carbon] Retrying failed server at %s (%d)", server.label, server.errors)
            else:
                server.healthy, server.errors = True, 0
            payload = self.report.lines(workers, metrics, stamp)
            if self._connect(server, payload, now):
                started += 1
        self._pending = started
        if not started:
            self._end_round(now)

    def _connect(self, server: CarbonServer, payload: bytes, now: float) -> bool:
        try:
            sock = socket.socket(server.family, socket.SOCK_STREAM)
        except OSError as e:
            self._server_failed(server, now, "socket(): %s" % (e.strerror or e))
            return False
        sock.setblocking(False)
        code = sock.connect_ex(server.sockaddr)
        if code not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            sock.close()
            self._server_failed(server, now, "Could not connect to carbon server at %s: %s"
                                % (server.label, errno.errorcode.get(code, code)))
            return False
        server.sock, server.out, server.connected = sock, payload, False
        server.last_progress = now
        # a round never outlives its period, however slowly the server reads
        server.deadline = now + max(self.timeout, float(self.schedule.freq))
        self.loop.add_writer(sock, lambda s=server: self._writable(s))
        self.loop.call_later(self.timeout, lambda s=server, k=sock: self._check_deadline(s, k))
        return True

    def _writable(self, server: CarbonServer) -> None:
        sock = server.sock
        if sock is None:
            return
        now = time.monotonic()
        if not server.connected:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self._close(server)
                self._server_failed(server, now, "Could not connect to carbon server at %s: %s"
                                    % (server.label, errno.errorcode.get(code, code)))
                self._one_done(now)
                return
            server.connected = True
        try:
            sent = sock.send(server.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._close(server)
            self._server_failed(server, now, "carbon_write() to %s: %s" % (server.label, e.strerror or e))
            self._one_done(now)
            return
        server.out = server.out[sent:]
        server.last_progress = now
        if server.out:
            return
        self._close(server)
        server.healthy, server.errors = True, 0
        self.report.delivered(self._workers)
        if server.log.success():
            gen_log.info("[carbon] %s works again", server.label)
        self._one_done(now)

    def _check_deadline(self, server: CarbonServer, sock: socket.socket) -> None:
        if server.sock is not sock:
            return  # that connection is over
        now = time.monotonic()
        idle_until = server.last_progress + self.timeout
        if now < idle_until and now < server.deadline:
            self.loop.call_later(min(idle_until, server.deadline) - now,
                                 lambda s=server, k=sock: self._check_deadline(s, k))
            return
        what = "connect" if not server.connected else "write"
        self._close(server)
        self._server_failed(server, now, "%s to carbon server at %s timed out" % (what, server.label))
        self._one_done(now)

    def _close(self, server: CarbonServer) -> None:
        sock, server.sock, server.out = server.sock, None, b""
        if sock is None:
            return
        try:
            self.loop.remove_reader(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    def _server_failed(self, server: CarbonServer, now: float, message: str) -> None:
        self._failed = True
        server.healthy = False
        server.errors += 1
        missed = server.log.failure(now)
        if missed is not None:
            gen_log.warning("[carbon] %s%s", message,
                            " (%d more failures not logged)" % missed if missed else "")

    def _one_done(self, now: float) -> None:
        self._pending -= 1
        if self._pending <= 0:
            self._end_round(now)

    def _end_round(self, now: float) -> None:
        self._pending = 0
        line = self.schedule.finish(now, self._failed)
        if line:
            gen_log.info("[uwsgi-stats-pusher] carbon %s", line)
        if self.on_round_end is not None:
            self.on_round_end()

    # -- process plumbing ---------------------------------------------------------------

    def close_in_child(self) -> None:
        """In a forked child: drop the connections in flight without a word to the servers."""
        for server in self.servers:
            if server.sock is not None:
                server.sock.close()
                server.sock = None

    def close(self) -> None:
        for server in self.servers:
            self._close(server)
