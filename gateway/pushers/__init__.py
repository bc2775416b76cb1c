"""uWSGI's metrics pushers, run by the master: ``--stats-push statsd:...`` (``socket:``,
``file``) and ``--carbon``.

uWSGI runs its pushers in a thread of the master that wakes once a second; here they
run in the master's ``selectors`` loop (:class:`PushRunner`), and never block it on the
network:

* statsd and socket (:mod:`~gateway.pushers.statsd`): datagrams on a non-blocking UDP (or
  UNIX datagram) socket, dropped when the socket buffer is full;
* file (:mod:`~gateway.pushers.file_pusher`): the stats document appended to a local file;
* carbon (:mod:`~gateway.pushers.carbon`): one short TCP connection per server and
  period, connected and written as the selector reports it writable, abandoned after
  ``--carbon-timeout`` seconds without progress.

Host names are resolved once, here, at startup (uWSGI resolves them at every push,
blocking its pusher thread).  What is pushed comes from
:class:`~gateway.subsystems.metrics_source.MetricsSource` (the scoreboard and ``--metric`` values;
the same values the metrics subsystem holds when metrics are enabled).

    pushers.attach(master, cfg)   # before master.run(); None when nothing is configured
"""

from __future__ import annotations

import socket
import time
from typing import Any, List, Optional, Sequence, Tuple

from gateway.logs import gen_log
from gateway.pushers.carbon import (
    CarbonPusher,
    CarbonReport,
    CarbonServer,
    CarbonSettings,
    carbon_hostname,
    carbon_id,
    carbon_root,
)
from gateway.pushers.file_pusher import FilePusher
from gateway.pushers.schedule import Schedule
from gateway.pushers.specs import Endpoint, FileSpec, PushSpecError, numeric_host, parse_carbon, parse_stats_push
from gateway.pushers.statsd import StatsdPusher
from gateway.subsystems.metrics_source import MetricsSource, source_of

#: uWSGI's defaults
DEFAULT_FREQ = 3
CARBON_FREQ = 60
CARBON_TIMEOUT = 3
CARBON_RETRY_DELAY = 7
#: seconds between two looks at the schedules (uWSGI's pusher thread wakes once a second)
MAX_SLEEP = 1.0


class PusherConfigError(ValueError):
    """A pusher that cannot work as configured (the CLI prints it and exits)."""


def configured(cfg: Any) -> bool:
    return bool(cfg.stats_push or cfg.carbon)


def resolve(endpoint: Endpoint, socktype: int, *, names: bool, option: str) -> Tuple[int, Any]:
    """(address family, sockaddr) of ``endpoint``; names only when ``names`` (a startup lookup)."""
    if endpoint.family == "unix":
        return socket.AF_UNIX, endpoint.host
    flags = 0
    if numeric_host(endpoint.host) is None:
        if not names:
            raise PusherConfigError("%s %s: %s is not an IP address (add --carbon-name-resolve to use "
                                    "host names)" % (option, endpoint, endpoint.host))
    else:
        flags = socket.AI_NUMERICHOST
    try:
        infos = socket.getaddrinfo(endpoint.host, endpoint.port, 0, socktype, 0, flags)
    except OSError as e:
        raise PusherConfigError("%s %s: cannot resolve %s: %s" % (option, endpoint, endpoint.host,
                                                                   e.strerror or e)) from None
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


def _stats_pushers(cfg: Any, freq: int) -> Tuple[List[StatsdPusher], List[Tuple[FilePusher, Schedule]]]:
    """The ``--stats-push`` pushers: the datagram ones, and the file ones with their own period."""
    datagram, files = [], []
    for text in cfg.stats_push:
        try:
            spec = parse_stats_push(text)
        except PushSpecError as e:
            raise PusherConfigError("--stats-push %s: %s" % (text, e)) from None
        if isinstance(spec, FileSpec):
            every = spec.freq or freq
            gen_log.info("[uwsgi-stats-pusher] file %s, every %ds", spec.path, every)
            files.append((FilePusher(spec.path, spec.separator), Schedule(every)))
            continue
        family, sockaddr = resolve(spec.endpoint, socket.SOCK_DGRAM, names=True, option="--stats-push")
        datagram.append(StatsdPusher(str(spec.endpoint), family, sockaddr, spec.prefix, kind=spec.kind,
                                     all_gauges=bool(cfg.statsd_all_gauges), no_workers=bool(cfg.statsd_no_workers)))
        gen_log.info("[uwsgi-stats-pusher] %s %s (prefix %s), every %ds", spec.kind, spec.endpoint, spec.prefix, freq)
    return datagram, files


def _carbon(master: Any, cfg: Any) -> Optional[CarbonPusher]:
    if not cfg.carbon:
        return None
    servers = []
    for text in cfg.carbon:
        try:
            endpoint = parse_carbon(text)
        except PushSpecError as e:
            raise PusherConfigError("--carbon %s: %s" % (text, e)) from None
        family, sockaddr = resolve(endpoint, socket.SOCK_STREAM, names=bool(cfg.carbon_name_resolve),
                                   option="--carbon")
        servers.append(CarbonServer(str(endpoint), family, sockaddr))
        gen_log.info("[carbon] added server %s", endpoint)
    ident = cfg.carbon_id
    if not ident:
        if not master.sockets:
            raise PusherConfigError("--carbon: no socket to name this instance after; give --carbon-id")
        from gateway.server.listeners import listen_address

        ident = carbon_id(listen_address(master.sockets[0]))
    freq = int(cfg.carbon_freq or 0) or CARBON_FREQ
    timeout = int(cfg.carbon_timeout or 0) or CARBON_TIMEOUT
    retry_delay = int(cfg.carbon_retry_delay or 0) or CARBON_RETRY_DELAY
    max_retries = int(cfg.carbon_max_retry or 0)
    settings = CarbonSettings(
        root=carbon_root(cfg.carbon_root), hostname=carbon_hostname(socket.gethostname(), cfg.carbon_hostname_dots),
        id=ident, freq=freq, no_workers=bool(cfg.carbon_no_workers), idle_avg=cfg.carbon_idle_avg or "last",
        memory=bool(cfg.memory_report or cfg.reload_on_rss or cfg.reload_on_as or cfg.evil_reload_on_rss
                    or cfg.evil_reload_on_as),
        cheaper=bool(cfg.cheaper), use_metrics=bool(cfg.carbon_use_metrics))
    gen_log.info("[carbon] carbon plugin started, %is frequency, %is timeout, max retries %i, retry delay %is",
                 freq, timeout, max_retries, retry_delay)
    return CarbonPusher(servers, CarbonReport(settings), Schedule(freq, max_retries, retry_delay), timeout, master)


class PushRunner:
    """The pushers of one master, on its timers (see the module docstring)."""

    def __init__(self, master: Any, source: MetricsSource, statsd: List[StatsdPusher], freq: int,
                 carbon: Optional[CarbonPusher], files: Sequence[Tuple[FilePusher, Schedule]] = ()) -> None:
        self.master = master
        self.source = source
        self.statsd = [(p, Schedule(freq)) for p in statsd]
        self.carbon = carbon
        self.files = list(files)
        self._next_overload_check = 0.0

    def start(self) -> None:
        master = self.master
        master.call_later(0, self._tick)
        master.on_fork_child(self._close_in_child)
        if self.carbon is not None:
            master.on_shutdown(self._final_push)

    def _tick(self) -> None:
        now = time.monotonic()
        try:
            self.run_due(now)
        finally:
            self.master.call_later(self._sleep(time.monotonic()), self._tick)

    def run_due(self, now: float) -> None:
        """Run every pusher whose time has come (uWSGI's pusher loop, one pass)."""
        if now >= self._next_overload_check:
            self._next_overload_check = now + 1.0
            self.source.tick(now)
        carbon = self.carbon
        due_files = [(p, s) for p, s in self.files if s.due(now)]
        if due_files:
            from gateway.stats import render

            document = render(self.master, bool(self.master.config.stats_minified))
            for file_pusher, schedule in due_files:
                schedule.start(now)
                file_pusher.push(document, now)
                schedule.finish(now, False)  # uWSGI's file pusher never asks for a retry
        due_statsd = [(p, s) for p, s in self.statsd if s.due(now)]
        carbon_due = carbon is not None and carbon.schedule.due(now)
        if not due_statsd and not carbon_due:
            return
        workers = self.source.workers()
        metrics = self.source.metrics(workers)
        for pusher, schedule in due_statsd:
            schedule.start(now)
            pusher.push(metrics, now)
            schedule.finish(now, False)  # uWSGI's statsd pusher never asks for a retry
        if carbon is not None and carbon_due:
            retry = carbon.schedule.start(now)
            carbon.push(workers, metrics, now, retry)

    def _sleep(self, now: float) -> float:
        dues = [s.next_due() for _, s in self.statsd + self.files]
        if self.carbon is not None and not self.carbon.schedule.running:
            dues.append(self.carbon.schedule.next_due())
        dues.append(self._next_overload_check)
        return max(0.0, min(MAX_SLEEP, min(dues) - now))

    def _final_push(self) -> None:
        """At shutdown, one more carbon round (uWSGI's ``master_cleanup``), if none is running;
        it completes while the workers stop, or is dropped when the master exits."""
        carbon = self.carbon
        if carbon is None or carbon.schedule.running:
            return
        now = time.monotonic()
        workers = self.source.workers()
        carbon.schedule.start(now)
        carbon.push(workers, self.source.metrics(workers), now, False)

    def _close_in_child(self) -> None:
        for pusher, _ in self.statsd:
            pusher.close()
        if self.carbon is not None:
            self.carbon.close_in_child()


def attach(master: Any, cfg: Any) -> Optional[PushRunner]:
    """Give ``master`` the pushers ``cfg`` declares (None if none); raises PusherConfigError."""
    if not configured(cfg):
        return None
    freq = int(cfg.stats_pusher_default_freq or 0) or DEFAULT_FREQ
    statsd, files = _stats_pushers(cfg, freq)
    runner = PushRunner(master, source_of(master, cfg), statsd, freq, _carbon(master, cfg), files)
    runner.start()
    return runner
