"""The master's triggers: touch files, filesystem monitors, config timers, die-on-no-workers.

The CLI calls :func:`attach` in the master before the app is loaded and before any fork.
Everything here runs in the master's ``selectors`` loop through its public hooks
(:meth:`~gateway.process.master.Master.on_touch`, ``add_reader``, ``call_later``), so
nothing blocks it and no thread is started:

* ``--touch-signal FILE SIGNAL``, ``--touch-exec FILE COMMAND``, ``--touch-mules-reload FILE``:
  the ``--touch-reload`` mechanism (the file's modification time, checked every
  ``--check-interval`` seconds); ``--touch-exec`` runs its command in the master's hook child
  (:mod:`gateway.process.hook_runner`), never in the master;
* ``--fs-reload``, ``--fs-brutal-reload``, ``--fs-signal``: :mod:`gateway.process.fsmon`
  (inotify, or bounded polling where it is missing);
* ``--timer``/``--signal-timer`` and ``--rbtimer``/``--signal-rbtimer``: the timers of
  ``uwsgi.add_timer``/``uwsgi.add_rb_timer`` in the shared signal table, pinned there so a
  reload that imports the app again keeps them;
* ``--die-on-no-workers``: the master exits (status 1) once no worker runs.
"""

from __future__ import annotations

import functools
import subprocess
from typing import Any, Callable, Dict, List

from gateway.config.model import Config
from gateway.logs import gen_log

__all__ = ["attach", "needs_master"]

#: Seconds between two --die-on-no-workers checks.
NO_WORKERS_CHECK = 0.25


def needs_master(cfg: Config) -> bool:
    """The options here that only a master carries out (uWSGI's ``UWSGI_OPT_MASTER``)."""
    return bool(cfg.touch_signal or cfg.touch_exec or cfg.touch_mules_reload or cfg.fs_reload
                or cfg.fs_brutal_reload or cfg.fs_signal or cfg.signal_timer or cfg.signal_rbtimer
                or cfg.cheap or cfg.die_on_no_workers or cfg.stats_no_cores)


def attach(master: Any, cfg: Config) -> None:
    """Wire the triggers of ``cfg`` into ``master`` (see the module docstring)."""
    _config_timers(cfg)
    _touches(master, cfg)
    monitors = _fs_actions(master, cfg)
    if monitors:
        FsWatcher(master, monitors, float(cfg.check_interval or 1))
    if cfg.die_on_no_workers:
        master.call_later(NO_WORKERS_CHECK, functools.partial(_check_workers, master))


# -- config timers ------------------------------------------------------------------------------


def _config_timers(cfg: Config) -> None:
    if not (cfg.signal_timer or cfg.signal_rbtimer):
        return
    from gateway import subsystems
    from gateway.usignals.table import RB_TIMER, TIMER

    subs = subsystems.current
    if subs is None:
        return
    for kind, specs in ((TIMER, cfg.signal_timer), (RB_TIMER, cfg.signal_rbtimer)):
        for sig, seconds in specs:
            subs.table.add_source(kind, sig, (seconds, 0, 0, 0, 0))
    subs.table.pin_sources()


# -- touch files ---------------------------------------------------------------------------------


def _raise(sig: int, why: str) -> None:
    """Route uWSGI signal ``sig`` from the master, as ``uwsgi.signal`` does from a worker."""
    from gateway import subsystems

    gen_log.info("[uwsgi-%s] raising %d", why, sig)
    subs = subsystems.current
    if subs is not None:
        subs.router.route(sig)


def _run_command(command: str) -> None:  # pragma: no cover - runs in the hook child
    subprocess.call(["/bin/sh", "-c", command])


def _exec(master: Any, command: str) -> None:
    gen_log.info("[uwsgi-touch-exec] running %s", command)
    master.hook_runner().run(functools.partial(_run_command, command))


def _touches(master: Any, cfg: Config) -> None:
    """One ``on_touch`` per file, running every action given for it in the order given."""
    actions: Dict[str, List[Callable[[], None]]] = {}
    whats: Dict[str, List[str]] = {}

    def add(path: str, action: Callable[[], None], what: str) -> None:
        actions.setdefault(path, []).append(action)
        whats.setdefault(path, []).append(what)

    if cfg.touch_mules_reload:
        from gateway import mules

        for path in cfg.touch_mules_reload:
            if mules.control is not None:
                add(path, mules.control.reload, "mules reload !!!")
            else:
                gen_log.warning("--touch-mules-reload %s: there is no mule to reload", path)
    for path, command in cfg.touch_exec:
        master.hook_runner()  # made now: it must exist before the master runs
        add(path, functools.partial(_exec, master, command), "running %s" % command)
    for path, sig in cfg.touch_signal:
        add(path, functools.partial(_raise, sig, "touch-signal"), "raising signal %d" % sig)
    for path, todo in actions.items():
        master.on_touch(path, functools.partial(_run_all, todo), ", ".join(whats[path]))


def _run_all(todo: List[Callable[[], None]]) -> None:
    for action in todo:
        action()


# -- filesystem monitors --------------------------------------------------------------------------


def _fs_actions(master: Any, cfg: Config) -> Dict[str, List[Callable[[], None]]]:
    out: Dict[str, List[Callable[[], None]]] = {}
    for path in cfg.fs_reload:
        out.setdefault(path, []).append(master.reload)
    for path in cfg.fs_brutal_reload:
        out.setdefault(path, []).append(master.brutal_reload)
    for path, sig in cfg.fs_signal:
        out.setdefault(path, []).append(functools.partial(_raise, sig, "fsmon"))
    return out


class FsWatcher:
    """The master's filesystem monitors: inotify in its loop, polling for the rest."""

    def __init__(self, master: Any, actions: Dict[str, List[Callable[[], None]]], interval: float) -> None:
        from gateway.process.fsmon import PollingWatch, watch_all

        self.master = master
        self.actions = actions
        self.interval = interval
        self.inotify, self.by_wd, polled = watch_all(list(actions))
        self.polled = {path: PollingWatch(path) for path in polled}
        for paths in self.by_wd.values():
            for path in paths:
                gen_log.info("[uwsgi-fsmon] registered monitor for \"%s\"", path)
        if self.inotify is not None:
            master.add_reader(self.inotify.fd, self._on_events)
            master.on_fork_child(self.inotify.close)  # children never read it
        for path in polled:
            gen_log.info("[uwsgi-fsmon] polling \"%s\" every %gs%s", path, interval,
                         "" if self.inotify is None else " (inotify could not watch it)")
        if self.polled:
            master.call_later(interval, self._poll)

    def _on_events(self) -> None:
        from gateway.process.fsmon import IN_IGNORED, IN_Q_OVERFLOW, PollingWatch

        assert self.inotify is not None
        touched: List[str] = []
        for wd, mask, _name in self.inotify.read():
            if mask & IN_Q_OVERFLOW:  # events were lost: every monitor may have changed
                touched.extend(p for paths in self.by_wd.values() for p in paths)
                continue
            paths = self.by_wd.get(wd, [])
            if mask & IN_IGNORED:  # deleted or replaced: the watch is gone, poll the path from now on
                for path in self.by_wd.pop(wd, []):
                    self.polled[path] = PollingWatch(path)
                    if len(self.polled) == 1:
                        self.master.call_later(self.interval, self._poll)
                continue
            touched.extend(p for p in paths if p not in touched)
        for path in dict.fromkeys(touched):  # one action per path per batch of events
            self._fire(path)

    def _poll(self) -> None:
        for path, watch in list(self.polled.items()):
            if watch.changed():
                self._fire(path)
        if self.polled:
            self.master.call_later(self.interval, self._poll)

    def _fire(self, path: str) -> None:
        gen_log.info("[uwsgi-fsmon] detected event on \"%s\"", path)
        for action in self.actions.get(path, []):
            try:
                action()
            except Exception:
                gen_log.exception("error in the monitor of %s", path)


# -- --die-on-no-workers ------------------------------------------------------------------------


def _check_workers(master: Any) -> None:
    """uWSGI's ``master_check_processes``: no worker alive (every one waiting for a delayed
    respawn) ends the instance with status 1.  Cheap mode (``--cheap``, ``--idle``) is not
    "no workers": the master stopped them on purpose."""
    if master.state == "stopping":
        return
    if master.state == "running" and not master.is_cheap:
        alive = [p for p in master.workers.values() if p.pid and not p.cheaped]
        cheaped = all(p.cheaped for p in master.workers.values())
        if not alive and not cheaped:
            gen_log.error("no more processes running, auto-killing ...")
            master.exit_code = 1
            master.shutdown(graceful=False, why="die-on-no-workers")
            return
    master.call_later(NO_WORKERS_CHECK, functools.partial(_check_workers, master))
