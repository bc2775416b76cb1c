"""A spooler process: scan its directory, run each due task, sleep until woken.

Forked by the master (after it loaded the app, so the app's functions are here) as an
extra child named "uWSGI spooler" (:func:`child_specs`), respawned when it dies.  No
IOLoop: a plain loop, as uWSGI's ``spooler()``::

    scan (readdir order, or numeric priorities first with --spooler-ordered)
      for each due task file: lock it, read it, call uwsgi.spooler(env), act on the verdict
    wait --spooler-frequency seconds, or less when a worker spools (SIGUSR1)

Several spooler processes may share a directory: each task file is locked
(``fcntl`` write lock, as uWSGI, so a uWSGI spooler on the same directory agrees) while
it runs, and the others skip it.  A file deleted meanwhile is noticed after locking.

A task file that cannot be read as a task is renamed ``malformed_<name>`` (the spooler
never looks at it again) and logged; a file over ``--spooler-max-size`` is left alone
and logged once per spooler process.  SIGTERM and SIGINT end the process at once (uWSGI's
``end_me``): a task interrupted that way keeps its file and runs again later.
"""

from __future__ import annotations

import errno
import faulthandler
import fcntl
import os
import select
import signal
import stat
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Set

from gateway.config.model import Config
from gateway.logs import gen_log
from gateway.protocol.spool_file import MalformedTask, decode_task, is_priority_name, is_task_name, scan_order
from gateway.spooler import Spoolers
from gateway.spooler.tasks import Verdict, run_task, task_dict

#: seconds a spooler may die before its recorded harakiri deadline and still be logged as
#: killed by it (the watchdog's clock and the wall clock of the deadline are not the same)
HARAKIRI_SLACK = 0.5


#: the SpoolerProcess of this process, once it runs (None elsewhere)
current: Optional["SpoolerProcess"] = None


class SpoolerProcess:
    """Spooler ``slot`` of ``spoolers``, in its own process (:meth:`run` never returns
    normally: it exits when recycled or signalled)."""

    def __init__(self, spoolers: Spoolers, slot: int, spooler_callable: Callable[[], Any]) -> None:
        self.spoolers = spoolers
        self.slot = slot
        self.dir = spoolers.slots[slot]
        self.pid = os.getpid()
        #: returns the current ``uwsgi.spooler`` (the app may set it at any time)
        self.spooler_callable = spooler_callable
        self.tasks = 0
        self._wake_r = -1
        self._too_big: Set[str] = set()

    # -- process setup -------------------------------------------------------------------------

    def install_signals(self) -> None:
        """SIGUSR1 wakes the loop (through a wakeup pipe, so a sleeping ``select`` returns);
        SIGHUP and SIGUSR2 are ignored, as in uWSGI's spooler."""
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        self._wake_r = r
        signal.signal(signal.SIGUSR1, lambda signum, frame: None)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        for sig in (signal.SIGHUP, signal.SIGUSR2, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)

    def run(self) -> int:
        global current
        current = self
        self.install_signals()
        self.pid = os.getpid()
        self.spoolers.set_tasks(self.slot, 0)  # per process, as uWSGI resets it at each spawn
        self.spoolers.set_running(self.slot, False)
        self.spoolers.set_pid(self.slot, self.pid)  # only now can a worker's SIGUSR1 reach us safely
        if self.spoolers.signals is not None:
            self.spoolers.signals.in_spooler()
        try:
            fd = os.open(os.devnull, os.O_RDONLY)
            os.dup2(fd, 0)
            os.close(fd)
        except OSError:
            pass
        while True:
            before = self.tasks
            self.scan()
            if self.spoolers.cheap and self.tasks == before:
                gen_log.info("cheaping spooler %s ...", self.dir)  # nothing left to do: exit until needed
                return 0
            if self.exhausted():
                gen_log.info("[spooler %s pid: %d] maximum number of tasks reached (%d) recycling ...",
                             self.dir, self.pid, self.spoolers.max_tasks)
                return 0
            self.wait(self.spoolers.current_frequency)

    def arm_harakiri(self, seconds: float) -> None:
        """Exit in ``seconds`` unless called again first (0: disarm).  A watchdog thread in
        C dumps every stack and exits even if the task never returns to the interpreter; the
        master respawns us and the file stays.  The deadline is in the shared table, so the
        master that reaps us logs uWSGI's ``*** HARAKIRI ON THE SPOOLER (pid: N) ***``."""
        if seconds > 0:
            self.spoolers.set_harakiri_deadline(self.slot, time.time() + seconds)
            faulthandler.dump_traceback_later(seconds, exit=True, file=sys.stderr)
        else:
            faulthandler.cancel_dump_traceback_later()
            self.spoolers.set_harakiri_deadline(self.slot, 0)

    def exhausted(self) -> bool:
        """Has this process run its ``--spooler-max-tasks``?  Checked after each task, as
        uWSGI does: the scan stops there and the process is recycled, the remaining tasks
        left to the next one."""
        return bool(self.spoolers.max_tasks) and self.tasks >= self.spoolers.max_tasks

    def wait(self, timeout: float) -> None:
        """Sleep until ``timeout`` or a SIGUSR1, whichever first; run the handlers of the
        uWSGI signals routed to the spoolers meanwhile."""
        signals = self.spoolers.signals
        watched = [self._wake_r] if signals is None else [self._wake_r, signals.fileno()]
        try:
            ready, _, _ = select.select(watched, [], [], timeout)
        except InterruptedError:
            ready = [self._wake_r]
        if signals is not None and signals.fileno() in ready:
            signals.receive(self.pid)
            ready.remove(signals.fileno())
        if ready:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except (BlockingIOError, InterruptedError):
                pass

    # -- scanning ------------------------------------------------------------------------------

    def scan(self) -> None:
        """One pass over the directory (priority subdirectories first when ordered)."""
        self._scan_dir(self.dir, top=True)

    def _scan_dir(self, directory: str, top: bool) -> None:
        try:
            names = os.listdir(directory)
        except OSError as e:
            gen_log.error("[spooler %s pid: %d] cannot read %s: %s", self.dir, self.pid, directory, e.strerror or e)
            return
        if self.spoolers.ordered:
            names.sort(key=scan_order)
        now = time.time()
        for name in names:
            if self.exhausted():
                return
            if top and is_priority_name(name):
                path = os.path.join(directory, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    self._scan_dir(path, top=False)
                continue
            if is_task_name(name):
                self.manage(os.path.join(directory, name), now)

    def manage(self, path: str, now: Optional[float] = None) -> Optional[Verdict]:
        """Run the task in ``path`` if it is due and no other spooler holds it: its verdict,
        or None when it was not run."""
        try:
            st = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_mtime > (time.time() if now is None else now):
            return None  # not a file, or a task for the future (``at``)
        if st.st_size > self.spoolers.max_size:
            if path not in self._too_big:
                self._too_big.add(path)
                gen_log.error("[spooler %s pid: %d] %s: %d bytes, over --spooler-max-size (%d): left alone",
                              self.dir, self.pid, path, st.st_size, self.spoolers.max_size)
            return None
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError as e:
            if e.errno != errno.ENOENT:
                gen_log.error("[spooler %s pid: %d] open %s: %s", self.dir, self.pid, path, e.strerror or e)
            return None
        try:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return None  # another spooler runs it (or a uWSGI writer is still writing it)
            # Deleted (done by another spooler) between our open and our lock?
            if not os.access(path, os.R_OK | os.W_OK) or os.fstat(fd).st_nlink == 0:
                return None
            self.spoolers.set_running(self.slot, True)  # the stats' "running", as uWSGI: once locked
            data = _read_bounded(fd, self.spoolers.max_size)
            try:
                task = decode_task(data)
            except MalformedTask as e:
                self._set_aside(path, str(e))
                return None
            return self._run(path, task)
        finally:
            os.close(fd)  # releases the lock
            self.spoolers.set_running(self.slot, False)

    def _run(self, path: str, task: Any) -> Verdict:
        quiet = self.spoolers.quiet
        if not quiet:
            gen_log.info("[spooler %s pid: %d] managing request %s ...", self.dir, self.pid, os.path.basename(path))
        try:
            os.chdir(self.spoolers.chdir or os.path.dirname(path))
        except OSError as e:
            gen_log.error("[spooler %s pid: %d] chdir: %s", self.dir, self.pid, e.strerror or e)
        started = time.time()
        func = self.spooler_callable()
        if self.spoolers.harakiri > 0:
            self.arm_harakiri(self.spoolers.harakiri)
        try:
            outcome = run_task(func, task_dict(os.path.basename(path), task))
        finally:
            if self.spoolers.harakiri > 0:
                self.arm_harakiri(0)
        if outcome is Verdict.IGNORED:
            if func is None:
                gen_log.warning("unable to find the spooler function, have you loaded it into the spooler process ?")
            return outcome
        self.tasks += 1
        self.spoolers.set_tasks(self.slot, self.tasks)
        if outcome is Verdict.DONE:
            if not quiet:
                gen_log.info("[spooler %s pid: %d] done with task %s after %d seconds", self.dir, self.pid,
                             os.path.basename(path), int(time.time() - started))
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        return outcome

    def _set_aside(self, path: str, why: str) -> None:
        aside = os.path.join(os.path.dirname(path), "malformed_" + os.path.basename(path))
        try:
            os.rename(path, aside)
        except OSError as e:
            gen_log.error("[spooler %s pid: %d] %s: %s; cannot move it aside: %s", self.dir, self.pid, path, why,
                          e.strerror or e)
            return
        gen_log.error("[spooler %s pid: %d] %s: %s; moved to %s", self.dir, self.pid, path, why, aside)


def _read_bounded(fd: int, limit: int) -> bytes:
    chunks: List[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


# -- in the master: the children ---------------------------------------------------------------


def attach(master: Any, cfg: Config, spoolers: Spoolers) -> None:
    """The master's side beyond the children: ``--touch-spoolers-reload`` and, with
    ``--spooler-cheap``, a check every ``--spooler-frequency`` seconds that spawns the
    spooler of a directory holding tasks (uWSGI's ``uwsgi_spooler_cheap_check``)."""
    master.stats_hooks.append(stats_section(master, spoolers))
    from gateway import subsystems

    if subsystems.current is not None:  # signals with the target "spooler"
        from gateway.spooler import signals

        spoolers.signals = signals.attach(master, subsystems.current.router)
    for path in cfg.touch_spoolers_reload:
        master.on_touch(path, lambda: master.restart_children(spoolers.specs), "spoolers reload")
    if spoolers.cheap and spoolers.specs:
        def check() -> None:
            started = set()
            for spec, directory in zip(spoolers.specs, spoolers.slots):
                if directory in started or master.child_pid(spec):
                    continue
                if has_tasks(directory):
                    master.start_child(spec)
                    started.add(directory)  # one more per directory and cycle, as uWSGI
            master.call_later(spoolers.current_frequency, check)

        master.call_later(spoolers.current_frequency, check)


def has_tasks(directory: str, top: bool = True) -> bool:
    """Does ``directory`` hold a task file, at its top level or in a priority subdirectory
    (``DIR/N/``, one level down, as the spooler's scan finds them)?  uWSGI's master looks at
    the top level only, so a task spooled with a ``priority`` never starts a cheap spooler
    there."""
    priorities = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if is_task_name(name):
                    return True
                if top and is_priority_name(name):
                    priorities.append(entry)
    except OSError:
        return False
    for entry in priorities:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)  # the spooler's scan skips symlinks too
        except OSError:
            continue
        if is_dir and has_tasks(entry.path, top=False):
            return True
    return False


def stats_section(master: Any, spoolers: Spoolers) -> Callable[[Dict[str, Any]], None]:
    """The master's ``stats_hooks`` entry: uWSGI's ``spoolers`` list (directory, pid, tasks run
    by the current process, respawns, 1 while a task runs), and each spooler process's lock in
    ``locks`` (``spooler on DIR``, after the others, as uWSGI registers them last)."""

    def section(doc: Dict[str, Any]) -> None:
        spawns = {proc.pid: proc.spawns for proc in master.children if proc.pid}
        doc["spoolers"] = [{"dir": directory, "pid": spoolers.pid(slot), "tasks": spoolers.tasks(slot),
                            "respawns": max(spawns.get(spoolers.pid(slot), 1) - 1, 0),
                            "running": spoolers.running(slot)}
                           for slot, directory in enumerate(spoolers.slots)]
        doc["locks"] = doc.get("locks", []) + [{"spooler on %s" % d: 0} for d in spoolers.slots]

    return section


def child_specs(cfg: Config, spoolers: Spoolers) -> List[Any]:
    """One :class:`~gateway.process.master.ChildSpec` per spooler process."""
    from gateway.process.master import ChildSpec

    def spawn_line(directory: str) -> Callable[[int], str]:
        return lambda pid: "spawned the uWSGI spooler on dir %s with pid %d" % (directory, pid)

    def on_exit(slot: int) -> Callable[[int], None]:
        def forget(pid: int) -> None:
            deadline = spoolers.harakiri_deadline(slot)
            if deadline and deadline <= time.time() + HARAKIRI_SLACK:  # (before the master's death line)
                gen_log.error("*** HARAKIRI ON THE SPOOLER (pid: %d) ***", pid)
            spoolers.set_harakiri_deadline(slot, 0)
            if spoolers.pid(slot) == pid:  # no SIGUSR1 to a pid the kernel may give to another process
                spoolers.set_pid(slot, 0)
        return forget

    def ended(directory: str) -> Callable[[int, int], bool]:
        def log(pid: int, status: int) -> bool:
            gen_log.info("spooler %s ended", directory)  # --spooler-cheap: spawned again when needed
            return True
        return log

    cheap = spoolers.cheap
    spoolers.specs = [
        ChildSpec("uWSGI spooler", _target(cfg, spoolers, slot), spawn_line=spawn_line(directory),
                  death_line="OOOPS the spooler is no more...trying respawn... (pid: %(pid)d, %(how)s)",
                  on_exit=on_exit(slot), reload=True, autostart=not cheap,
                  on_death=ended(directory) if cheap else None)
        for slot, directory in enumerate(spoolers.slots)]
    return list(spoolers.specs)


def _target(cfg: Config, spoolers: Spoolers, slot: int) -> Callable[[], int]:
    def main() -> int:
        from gateway import uwsgi_module
        from gateway.app_loader import import_modules

        uwsgi_module._configure_spooler_process(cfg, spoolers, slot)
        uwsgi_module.run_postfork_hooks()
        if spoolers.imports:
            import_modules(spoolers.imports)
        return SpoolerProcess(spoolers, slot, lambda: getattr(uwsgi_module, "spooler", None)).run()

    return main
