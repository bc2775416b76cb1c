"""``--cron``, ``--unique-cron``, ``--cron2``, ``--cron-harakiri``: shell commands the master runs on a schedule.

uWSGI's command crons (``core/cron.c``), not the signal crons of ``uwsgi.add_cron``
(:mod:`gateway.usignals`), though both share the matching rule
(:func:`gateway.usignals.cron.cron_matches`: ``-1`` is any, ``-N`` every N)::

    --cron "59 2 -1 -1 -1 /usr/bin/backup --full"      # minute hour day month weekday command
    --unique-cron "-5 -1 -1 -1 -1 ./sync.sh"           # never two runs at once
    --cron2 "minute=-10,unique=1,harakiri=300 ./report.sh"

Once a second the master checks every entry; a match at most once a minute starts the
command (``/bin/sh -c``, stdin from ``/dev/null``, no inherited sockets) as a child of the
master, without waiting: ``[uwsgi-cron] running "CMD" (pid N)``, and at its end ``[uwsgi-cron]
command "CMD" running with pid N exited after S second(s)``.  ``--cron-harakiri S`` (or
``harakiri=S``) kills a run still going after S seconds (``*** HARAKIRI ON CRON "CMD" (pid: N) ***``).

A unique entry still running is passed over without using up the occurrence (uWSGI's
order: it starts again at the first check after its run ended, if the time still matches).
Deliberate difference: a plain entry has at most one run at a time too.  uWSGI starts a
plain ``--cron`` entry again while its previous run is still going; here that occurrence is
skipped with a log line.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from gateway.logs import gen_log
from gateway.usignals.cron import cron_matches

__all__ = ["CronConfigError", "CronEntry", "CronRunner", "attach", "parse_cron", "parse_cron2"]

#: Seconds between two checks of the table.
CHECK_INTERVAL = 1.0


class CronConfigError(ValueError):
    """A cron entry that cannot be parsed; ``str()`` names the option and the entry."""


@dataclass(frozen=True)
class CronEntry:
    minute: int
    hour: int
    day: int
    month: int
    week: int
    command: str
    unique: bool = False
    #: seconds before a run is killed (0: never)
    harakiri: int = 0

    @property
    def fields(self) -> Tuple[int, int, int, int, int]:
        return (self.minute, self.hour, self.day, self.month, self.week)


def parse_cron(text: str, unique: bool = False, harakiri: int = 0, option: str = "--cron") -> CronEntry:
    """``"MIN HOUR DAY MONTH WEEKDAY COMMAND..."`` (uWSGI's ``--cron``/``--unique-cron``)."""
    parts = text.split(None, 5)
    if len(parts) < 6:
        raise CronConfigError("%s %r: expected 'minute hour day month weekday command'" % (option, text))
    try:
        numbers = [int(p) for p in parts[:5]]
    except ValueError:
        raise CronConfigError("%s %r: the first five fields must be integers (-1: any, -N: every N)"
                              % (option, text)) from None
    minute, hour, day, month, week = numbers
    return _checked(CronEntry(minute, hour, day, month, week, parts[5], unique=unique, harakiri=harakiri),
                    option, text)


def parse_cron2(text: str, harakiri: int = 0) -> CronEntry:
    """``"key=val[,key=val...] COMMAND"`` with keys minute, hour, day, month, week, unique,
    harakiri (uWSGI's ``--cron2``; a missing time key is -1, any)."""
    head, _, command = text.partition(" ")
    if "=" not in head or not command.strip():
        raise CronConfigError("--cron2 %r: expected 'key=value[,key=value...] command'" % text)
    values = {"minute": -1, "hour": -1, "day": -1, "month": -1, "week": -1, "unique": 0, "harakiri": harakiri}
    for item in head.split(","):
        key, sep, value = item.partition("=")
        if not sep or key not in values:
            raise CronConfigError("--cron2 %r: unknown key %r (known: %s)" % (text, key, ", ".join(values)))
        try:
            values[key] = int(value)
        except ValueError:
            raise CronConfigError("--cron2 %r: %s=%r is not an integer" % (text, key, value)) from None
    entry = CronEntry(values["minute"], values["hour"], values["day"], values["month"], values["week"],
                      command.strip(), unique=bool(values["unique"]), harakiri=max(values["harakiri"], 0))
    return _checked(entry, "--cron2", text)


def _checked(entry: CronEntry, option: str, text: str) -> CronEntry:
    for name, value, top in (("minute", entry.minute, 59), ("hour", entry.hour, 23), ("day", entry.day, 31),
                             ("month", entry.month, 12), ("weekday", entry.week, 7)):
        if value > top or value == 0 and name in ("day", "month"):
            raise CronConfigError("%s %r: %s %d is out of range" % (option, text, name, value))
    return entry


def entries_from_config(cfg: Any) -> List[CronEntry]:
    """The entries of ``--cron``, ``--unique-cron`` and ``--cron2`` in the order they were
    given, across the three options: uWSGI's one list, which it registers, logs and runs in
    that order."""
    harakiri = int(cfg.cron_harakiri or 0)
    entries = []
    for option, text in cfg.in_order("cron", "unique-cron", "cron2"):
        if option == "cron2":
            entries.append(parse_cron2(text, harakiri=harakiri))
        else:
            entries.append(parse_cron(text, unique=option == "unique-cron", harakiri=harakiri, option="--" + option))
    return entries


class _Task:
    """One entry in the master: its child spec and the state of its current run."""

    def __init__(self, master: Any, entry: CronEntry) -> None:
        from gateway.process.master import ChildSpec

        self.master = master
        self.entry = entry
        self.last_job = 0.0
        self.started_at = 0.0
        self.pid = 0
        self.child = ChildSpec('cron "%s"' % entry.command, self._target, respawn=False, autostart=False, own_group=True,
                               on_death=self._on_death, spawn_line=lambda pid: None)

    def _target(self) -> int:  # pragma: no cover - runs in the forked child
        from gateway.process.daemons import exec_shell

        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.setsid()  # a harakiri kills the shell and what it started
        exec_shell(self.entry.command, "[uwsgi-cron]")
        return 1

    def check(self, now: float) -> None:
        entry = self.entry
        if self.pid and entry.harakiri and now - self.started_at >= entry.harakiri:
            gen_log.error('*** HARAKIRI ON CRON "%s" (pid: %d) ***', entry.command, self.pid)
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.pid and entry.unique:
            # uWSGI skips a running unique entry before matching, without a word and without
            # using up the occurrence: it starts again at the first check after its run ended,
            # if the time still matches
            return
        if now - self.last_job < 60 or not cron_matches(entry.fields, time.localtime(now)):
            return
        self.last_job = now
        if self.pid:
            gen_log.warning('[uwsgi-cron] command "%s" still running (pid %d): this run is skipped',
                            entry.command, self.pid)
            return
        pid = self.master.start_child(self.child)
        if pid:
            self.pid = pid
            self.started_at = now
            gen_log.info('[uwsgi-cron] running "%s" (pid %d)', entry.command, pid)

    def _on_death(self, pid: int, status: int) -> bool:
        gen_log.info('[uwsgi-cron] command "%s" running with pid %d exited after %d second(s)',
                     self.entry.command, pid, int(time.time() - self.started_at))
        self.pid = 0
        return True


class CronRunner:
    """The master's cron table: checked every :data:`CHECK_INTERVAL` seconds."""

    def __init__(self, master: Any, entries: List[CronEntry]) -> None:
        self.master = master
        self.tasks = [_Task(master, e) for e in entries]
        for task in self.tasks:
            master.add_child(task.child)
            gen_log.info('[uwsgi-cron] command "%s" registered as cron task', task.entry.command)
        master.call_later(CHECK_INTERVAL, self._check)
        master.stats_hooks.append(self._stats)

    def _stats(self, doc: Dict[str, Any]) -> None:
        """uWSGI's ``crons`` list in the --stats document (``pid`` -1 when not running)."""
        doc["crons"] = [{"minute": t.entry.minute, "hour": t.entry.hour, "day": t.entry.day,
                         "month": t.entry.month, "week": t.entry.week, "command": t.entry.command,
                         "unique": int(t.entry.unique), "pid": t.pid or -1, "started_at": int(t.started_at)}
                        for t in self.tasks]

    def _check(self) -> None:
        now = time.time()
        for task in self.tasks:
            task.check(now)
        self.master.call_later(CHECK_INTERVAL, self._check)


def attach(master: Any, cfg: Any) -> Optional[CronRunner]:
    """Give ``master`` the cron table ``cfg`` declares (None if it declares none)."""
    entries = entries_from_config(cfg)
    return CronRunner(master, entries) if entries else None


def configured(cfg: Any) -> bool:
    return bool(cfg.cron or cfg.unique_cron or cfg.cron2)
