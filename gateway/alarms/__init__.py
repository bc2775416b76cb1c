"""uWSGI's alarm subsystem (``--alarm`` and the options that raise alarms), run by the master.

uWSGI (core/alarm.c) runs its alarms in a thread of the master.  Ours has no thread: the
master is a ``selectors`` loop (:mod:`gateway.process.master`), so everything here is a
callback on that loop that returns at once:

* **log lines** (``--log-alarm``, ``--not-log-alarm``): matched where uWSGI matches them,
  in the master as it collects the log (:class:`~gateway.process.log_master.LogMaster`,
  which ``--log-alarm`` turns on): every whole line of every process, the master's own
  included, before ``--log-drain``/``--log-filter`` and the loggers; not the request
  lines of ``--req-logger``, which travel on their own pipes (uWSGI's neither);
* **the listen queue** (``--alarm-backlog``): once a second, each TCP socket's accept
  queue (Linux ``TCP_INFO``, as the stats) against ``--listen``;
* **metrics** (``--metric-alarm``): once a second, as uWSGI's metrics collector;
* **descriptors** (``--alarm-fd``): a reader on the master's loop;
* **``uwsgi.alarm(name, msg)``**: a message from a worker or mule over its channel.

The instances, anti-flood and plugins are :mod:`gateway.alarms.core`; the commands
(``cmd:``, ``curl:``) run as child processes (:mod:`gateway.alarms.runner`).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from gateway.alarms.core import AlarmSet, backlog_message
from gateway.alarms.runner import CommandRunner
from gateway.alarms.spec import (
    AlarmSpecError,
    FdAlarm,
    LogAlarm,
    MetricThreshold,
    log_alarms_for,
    parse_alarm,
    parse_alarm_fd,
    parse_log_alarm,
    parse_metric_threshold,
)
from gateway.config.model import Config
from gateway.logs import gen_log

#: The AlarmSet of this master (None without --alarm).
current: Optional[AlarmSet] = None


class AlarmConfigError(ValueError):
    """An alarm option that names what does not exist (the CLI prints it and exits)."""


def configured(cfg: Config) -> bool:
    """Whether the configuration declares an alarm (uWSGI's alarms need the master)."""
    return bool(cfg.alarm)


def _check_names(alarms: AlarmSet, names: List[str], option: str) -> None:
    for name in names:
        if name not in alarms:
            raise AlarmConfigError("--%s: no alarm named '%s' (declare it: --alarm '%s PLUGIN:ARGS')"
                                   % (option, name, name))


def build(cfg: Config, master: Any = None) -> Optional[AlarmSet]:
    """The alarms of ``cfg`` (None when there are none); raises :class:`AlarmConfigError`."""
    if not cfg.alarm:
        for option in ("log-alarm", "not-log-alarm", "alarm-fd", "alarm-backlog"):
            if cfg.get(option):
                raise AlarmConfigError("--%s needs an alarm: declare one with --alarm 'NAME PLUGIN:ARGS'" % option)
        if any(parse_metric_threshold(raw).alarm for raw in cfg.metric_threshold):
            raise AlarmConfigError("--metric-alarm alarm=NAME needs an alarm: declare one with --alarm 'NAME PLUGIN:ARGS'")
        return None
    from gateway import mules, subsystems

    specs = [parse_alarm(raw) for raw in cfg.alarm]
    for spec in specs:
        if spec.plugin == "mule":
            count = mules.current.count if mules.current is not None else 0
            n = int(spec.arg or 0)
            if not count or n > count:
                raise AlarmConfigError("--alarm %s mule:%s: %s" % (
                    spec.name, spec.arg, "no mule is configured (--mules N)" if not count
                    else "there are %d mules" % count))
    subs = subsystems.current
    mule_set = mules.current

    def mule_send(msg: bytes, target: Any) -> bool:
        assert mule_set is not None
        return mule_set.send(msg, target)

    runner = CommandRunner(master.watch_pid) if master is not None else None
    return AlarmSet(specs, freq=float(cfg.alarm_freq), msg_size=int(cfg.alarm_msg_size), runner=runner,
                    route_signal=subs.router.route if subs is not None else None,
                    mule_send=mule_send if mule_set is not None else None,
                    socket_timeout=float(cfg.socket_timeout or 4))


class _Sources:
    """What raises the alarms in the master (see the module docstring)."""

    def __init__(self, master: Any, cfg: Config, alarms: AlarmSet) -> None:
        self.master = master
        self.alarms = alarms
        self.log_rules: List[LogAlarm] = [parse_log_alarm(value, negate=(name == "not-log-alarm"))
                                          for name, value in cfg.in_order("log-alarm", "not-log-alarm")]
        for rule in self.log_rules:
            _check_names(alarms, list(rule.names), "not-log-alarm" if rule.negate else "log-alarm")
        self.backlog: List[str] = list(cfg.alarm_backlog)
        _check_names(alarms, self.backlog, "alarm-backlog")
        self.max_queue = int(cfg.listen or 100)
        self.fds: List[FdAlarm] = [parse_alarm_fd(raw) for raw in cfg.alarm_fd]
        _check_names(alarms, [f.name for f in self.fds], "alarm-fd")
        for fa in self.fds:
            try:
                os.fstat(fa.fd)
            except OSError as e:
                raise AlarmConfigError("--alarm-fd %s %d: %s" % (fa.name, fa.fd, e.strerror or e)) from None
        self.thresholds: List[MetricThreshold] = [parse_metric_threshold(raw) for raw in cfg.metric_threshold]
        _check_names(alarms, [t.alarm for t in self.thresholds if t.alarm], "metric-alarm")
        self._last_alarm: Dict[int, float] = {}

    def check_metrics(self, metrics: Any) -> None:
        for t in self.thresholds:
            if t.key not in metrics.index:
                raise AlarmConfigError("--metric-alarm key=%s: no such metric (declare it with --metric "
                                       "name=%s, or name a built-in one)" % (t.key, t.key))

    # -- in the master --------------------------------------------------------------------

    def start(self) -> None:
        master = self.master
        if self.log_rules and master.log_master is not None:
            master.log_master.line_hook = self.on_log_line
        for fa in self.fds:
            os.set_blocking(fa.fd, False)
            master.add_reader(fa.fd, lambda fa=fa: self.on_fd(fa))
            gen_log.info("[uwsgi-alarm] added fd %d", fa.fd)
        master.call_later(1.0, self.every_second)

    def on_log_line(self, line: bytes) -> None:
        alarms = self.alarms
        if alarms.running or b"[uwsgi-alarm" in line[:128]:  # (after a --logdate prefix too)
            return
        for name in log_alarms_for(self.log_rules, line):
            alarms.raise_alarm(name, line)

    def on_fd(self, fa: FdAlarm) -> None:
        try:
            data = os.read(fa.fd, fa.size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            data = b""
            gen_log.warning("[uwsgi-alarm-fd] read(): %s", e.strerror or e)
        if not data:
            gen_log.warning("[uwsgi-alarm-fd] i will stop monitoring fd %d", fa.fd)
            self.master.remove_reader(fa.fd)
            return
        self.alarms.raise_alarm(fa.name, fa.message.encode("utf-8"))

    def every_second(self) -> None:
        master = self.master
        try:
            if self.alarms.runner is not None:
                self.alarms.runner.tick()
            if self.backlog:
                self.check_backlog()
            if self.thresholds:
                subs = master.subsystems
                if subs is not None:
                    self.apply_thresholds(subs.metrics)
        finally:
            if master.state != "stopping":
                master.call_later(1.0, self.every_second)

    def check_backlog(self) -> None:
        import socket

        from gateway.server.listeners import listen_address
        from gateway.stats import listen_queue

        for sock in self.master.sockets:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            queue = listen_queue(sock)
            if queue > 0 and queue >= self.max_queue:
                msg = backlog_message(listen_address(sock), sock.fileno(), queue, self.max_queue)
                for name in self.backlog:  # (the master logs uWSGI's line itself, alarm or not)
                    self.alarms.raise_alarm(name, msg.encode("utf-8"))

    def apply_thresholds(self, metrics: Any, now: Optional[float] = None) -> None:
        import time

        from gateway.alarms.spec import crossed

        now = time.monotonic() if now is None else now
        for i, t in enumerate(self.thresholds):
            reset, alarm = crossed(t, metrics.get(t.key), now, self._last_alarm.get(i, -1e18))
            if reset:
                metrics.op(t.key, "set", t.reset)
            if alarm and t.alarm:
                self._last_alarm[i] = now
                self.alarms.raise_alarm(t.alarm, (t.msg or t.key).encode("utf-8"))


def attach(master: Any, cfg: Config) -> Optional[AlarmSet]:
    """Set up the alarms of ``cfg`` in ``master`` (before it runs); raises :class:`AlarmConfigError`."""
    global current
    try:
        alarms = build(cfg, master)
    except AlarmSpecError as e:  # (the options were checked when read: only a Config built by hand)
        raise AlarmConfigError(str(e)) from None
    if alarms is None:
        if not cfg.metric_threshold:
            return None
        alarms = AlarmSet([])  # thresholds that only reset their metric
    sources = _Sources(master, cfg, alarms)
    if sources.thresholds:
        subs = master.subsystems
        if subs is None:
            from gateway import subsystems

            subs = subsystems.current
        if subs is None:
            raise AlarmConfigError("--metric-alarm needs the metrics subsystem")
        sources.check_metrics(subs.metrics)
    current = alarms
    master.on_message("alarm", lambda worker_id, payload: _from_channel(alarms, payload))
    from gateway.process.master import master_hooks

    def start(m: Any) -> None:
        if m is master:
            sources.start()

    master_hooks.append(start)
    return alarms


def _from_channel(alarms: AlarmSet, payload: bytes) -> None:
    name, _, msg = payload.partition(b"\0")
    alarms.raise_alarm(name.decode("utf-8", "replace"), msg)
