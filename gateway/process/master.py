"""The master: forks the workers, respawns them, reloads, shuts down, enforces harakiri.

The master is a small ``selectors`` loop and nothing else: no IOLoop, no thread, no
Erlang node (an IOLoop created before ``fork`` is shared by the children's epoll:
uWSGI's workers crash-loop on exactly that).  What it watches:

* the signal pipe (:mod:`gateway.process.signals`): SIGHUP reloads, SIGTERM/SIGINT
  shut down gracefully, SIGQUIT immediately, SIGCHLD reaps;
* one :mod:`~gateway.process.channel` socket per child (``ready`` from workers,
  messages for subsystems);
* the stats server's sockets (:mod:`gateway.stats`), if ``--stats``;
* the metrics collector's timer (uWSGI's built-in metrics, stored once a second:
  :mod:`gateway.subsystems.metrics_source`), if metrics are enabled;
* the metrics pushers' timers and carbon connections (:mod:`gateway.pushers`), if
  ``--stats-push`` or ``--carbon``;
* with ``--log-master``, one output pipe per child and the log target when it is slow
  (:mod:`gateway.process.log_master`);
* a tick (``TICK`` s): harakiri and mercy deadlines from the shared
  :mod:`~gateway.process.scoreboard`, delayed respawns, and once a second the
  ``--cheaper`` algorithm (:mod:`gateway.process.cheaper`): a cheaped worker id keeps
  its :class:`Proc` with no process, and is spawned again when the algorithm asks.

Sockets are bound before the master starts (by the CLI), so every worker inherits
them, ``=N`` shared sockets and privileged ports work, and a reload never closes a
listening socket: connections arriving while workers change wait in the backlog.

Extra children (uWSGI's ``--http`` routers, mules...) are :class:`ChildSpec` s: the
master forks them after the workers and respawns each one when it dies::

    master = Master(config, sockets, app=app)
    master.add_child(ChildSpec("uWSGI http 1", run_router))   # run_router() -> exit status
    master.on_message("signal", lambda worker_id, payload: ...)
    sys.exit(master.run())

Lifecycle lines follow uWSGI's wording (``spawned uWSGI worker 1 (pid: 123, cores:
100)``, ``DAMN ! worker 2 (pid: 456) died, killed by signal 9 :( trying respawn ...``,
byte for byte), so what operators grep for keeps working.
"""

from __future__ import annotations

import errno
import functools
import os
import selectors
import signal
import socket
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from gateway.app_loader import FAILED_APP_CODE
from gateway.config.model import Config
from gateway.emperor.vassal import has_emperor
from gateway.logs import gen_log
from gateway.mounts import app_mountpoints
from gateway.process import channel as _channel
from gateway.process import policy
from gateway.process.cheaper import Cheaper, Slot
from gateway.process.cheaper_busyness import busyness_options
from gateway.process.log_master import wants_log_master
from gateway.process.scoreboard import (
    C_IN_REQUEST,
    C_REQUEST_START,
    C_USER_HARAKIRI,
    ST_STOPPING,
    W_HARAKIRI_COUNT,
    W_HEARTBEAT,
    W_REQUESTS,
    W_RUNNING_TIME,
    W_STATUS,
    W_THREAD_CORES,
    Scoreboard,
    now_us,
)
from gateway.process.signals import SignalQueue, describe_status, reaped

#: Seconds between two checks of the scoreboard (harakiri, mercy, delayed respawns).
TICK = 0.25
#: uWSGI's default ``--worker-reload-mercy``.
DEFAULT_MERCY = 60

#: Functions ``hook(master)`` called when a master starts, before it forks (how
#: subsystems attach master-side timers or message handlers without editing this file).
master_hooks: List[Callable[["Master"], None]] = []


class ChildSpec:
    """An extra process the master forks and respawns: ``target()`` returns its exit status.

    ``target`` runs in the child after fork, with the master's signal handlers reset
    to their defaults; the child is sent SIGTERM at shutdown.  The child's channel is
    :func:`gateway.process.channel.current` (a :class:`~channel.WorkerChannel` it may
    ``attach`` to its own loop).

    The keyword arguments serve the other extra children (the external daemons of
    :mod:`gateway.process.daemons`, the cron commands, the spoolers):

    * ``stop_signal``: sent at a graceful shutdown instead of SIGTERM; ``0`` means the
      child is left running and the master does not wait for it;
    * ``own_group``: the child made itself a process group leader (``setsid``), so every
      signal goes to the whole group (a shell and what it started);
    * ``stop_timeout``: seconds after ``stop_signal`` before SIGKILL (default: the
      master's mercy);
    * ``reload_signal``: sent when the master reloads (0: a reload leaves it alone);
    * ``autostart``: spawned with the workers (otherwise only by :meth:`Master.start_child`);
    * ``on_death(pid, status)``: called in the master when the child died while the
      instance runs; returning True means "handled": no respawn, no log line;
    * ``max_respawn_delay``: caps the respawn back-off of :mod:`~gateway.process.policy`;
    * ``spawn_line(pid)``: the log line of its spawn (default ``spawned <name> (pid: N)``);
      None logs nothing (a cron command logs its start in its own words);
    * ``death_line``: the log line of an unexpected death, with ``%(pid)d`` and ``%(how)s``
      (default "DAMN ! ...");
    * ``on_exit(pid)``: called in the master with the pid of the child just reaped, whatever
      the reason (the spoolers clear their shared pid);
    * ``reload``: restarted (its stop, then spawned again) by a graceful reload, so it runs
      the reloaded code (the spoolers);
    * ``own_user``: the child switches to its own user (a daemon's ``uid=``), so
      ``--master-as-root`` does not drop its privileges first.
    """

    def __init__(self, name: str, target: Callable[[], int], respawn: bool = True, *,
                 stop_signal: int = signal.SIGTERM, own_group: bool = False,
                 stop_timeout: Optional[float] = None, reload_signal: int = 0, autostart: bool = True,
                 on_death: Optional[Callable[[int, int], bool]] = None,
                 max_respawn_delay: Optional[float] = None,
                 spawn_line: Optional[Callable[[int], Optional[str]]] = None, death_line: Optional[str] = None,
                 on_exit: Optional[Callable[[int], None]] = None, reload: bool = False,
                 own_user: bool = False) -> None:
        self.name = name
        self.target = target
        self.respawn = respawn
        self.stop_signal = stop_signal
        self.own_group = own_group
        self.stop_timeout = stop_timeout
        self.reload_signal = reload_signal
        self.autostart = autostart
        self.on_death = on_death
        self.max_respawn_delay = max_respawn_delay
        self.spawn_line = spawn_line
        self.death_line = death_line
        self.on_exit = on_exit
        self.reload = reload
        self.own_user = own_user


#: a worker still there when its reload or shutdown mercy is over, SIGKILLed (uWSGI's line)
NO_MERCY = "worker %d (pid: %d) is taking too much time to die...NO MERCY !!!"


class Proc:
    """A child the master knows: a worker (``worker_id`` > 0) or an extra child."""

    def __init__(self, kind: str, ident: int, generation: int, spec: Optional[ChildSpec] = None) -> None:
        self.kind = kind  # "worker" | "child"
        self.ident = ident
        self.generation = generation
        self.spec = spec
        self.pid = 0
        self.sock: Optional[socket.socket] = None
        self.spawned_at = 0.0
        self.ready = False
        self.retiring = False
        self.kill_at = 0.0  # mercy deadline once retiring
        self.fast_deaths = 0
        self.respawn_at = 0.0
        self.log_fd = -1  # --log-master: the read end of its output pipe
        self.spawns = 0
        self.cheaped = False  # --cheaper: stopped (or stopping) on purpose, not respawned
        self.quiet_death = False  # --idle's cheap mode stopped it: its death is not logged (as uWSGI)
        #: the pid a harakiri was fired at (its respawned successor, under the same id, has its own)
        self.harakiri_pid = 0
        self.restarting = False  # an extra child stopped by a reload, to be spawned again
        self.first_spawn = False  # the first process ever of this worker id (--hook-accepting-once)
        self.cursed_at = 0  # epoch second it was first told to stop (uWSGI's "buried after N seconds")

    @property
    def label(self) -> str:
        return "worker %d" % self.ident if self.kind == "worker" else self.spec.name  # type: ignore[union-attr]


class Master:
    """Runs ``config.processes`` workers serving ``sockets``; see the module docstring."""

    def __init__(self, config: Config, sockets: List[socket.socket], *, app: Any = None,
                 app_loader: Optional[Callable[[], Any]] = None,
                 children: Any = (), workers: Optional[int] = None) -> None:
        self.config = config
        self.sockets = sockets
        self.app = app
        self.app_loader = app_loader
        self.numproc = max(int(config.processes or 1), 1) if workers is None else workers
        self.cores = int(config.tornado or config.threads or 1)
        self.mercy = float(config.worker_reload_mercy or DEFAULT_MERCY)
        if config.reload_mercy:  # uWSGI's cap on the whole reload or shutdown
            self.mercy = min(self.mercy, float(config.reload_mercy))
        self.harakiri = float(config.harakiri or 0)
        self.harakiri_verbose = bool(config.harakiri_verbose)
        #: --idle N --die-on-idle: shut down after N seconds without a request
        #: --idle N: after N seconds without a request, cheap mode (every worker stopped until a
        #: connection arrives), or with --die-on-idle the end of the instance
        self.idle = float(config.idle or 0)
        self.die_on_idle = bool(config.die_on_idle)
        self.is_cheap = False
        #: SIGTSTP toggled the instance into pause (:meth:`suspend_resume`)
        self.suspended = False
        #: the master FIFO's ``S`` (``--start-unsubscribed``): no subscription announce is sent
        self.subscriptions_blocked = bool(getattr(config, "start_unsubscribed", False))
        self._idle_since = time.monotonic()
        self._idle_since_wall = int(time.time())
        self._idle_seen = -1
        #: --harakiri-graceful-timeout/-signal: a graceful attempt before the SIGKILL
        self.harakiri_graceful = float(getattr(config, "harakiri_graceful_timeout", 0) or 0)
        self.harakiri_signal = int(getattr(config, "harakiri_graceful_signal", 0) or signal.SIGTERM)
        self.pid = os.getpid()
        # Two slots per worker id: during a reload the old and the new process of the
        # same id write their own counters.
        self.board = Scoreboard(2 * max(self.numproc, 1), self.cores, app_mountpoints(config))
        self.generation = 0
        self.workers: Dict[int, Proc] = {}        # id -> current process
        self.retiring: List[Proc] = []            # old processes finishing their requests
        self.children: List[Proc] = []
        self.by_pid: Dict[int, Proc] = {}
        self._handlers: Dict[str, Callable[[int, bytes], None]] = {}
        self._timers: List[Any] = []
        #: callbacks run when the instance starts stopping / reloading (see on_shutdown, on_reload)
        self._shutdown_hooks: List[Callable[[], None]] = []
        self._reload_hooks: List[Callable[[], None]] = []
        #: callbacks run in every forked child before it becomes a worker (see on_fork_child)
        self._child_hooks: List[Callable[[], None]] = []
        #: --master-as-root: ``child_privileges(is_worker)`` drops them in each child after the fork
        self.child_privileges: Optional[Callable[[bool], None]] = None
        self._ready_hooks: List[Callable[[], None]] = []
        #: callbacks waiting for the running reload to be over (see after_reload)
        self._after_reload: List[Callable[[], None]] = []
        #: ``hook(document)``: sections a part of the master adds to the --stats document
        #: after the workers (the spoolers', the daemons', the crons')
        self.stats_hooks: List[Callable[[Dict[str, Any]], None]] = []
        self.sel = selectors.DefaultSelector()
        self.signals = SignalQueue()
        self.state = "starting"  # running | stopping
        self.stop_deadline = 0.0
        self.exit_code = 0
        self.ready_announced = False
        self.erlang_nodes: Dict[int, str] = {}
        self.stats_server: Any = None
        self.subsystems: Any = None
        #: the built-in metrics' reader (:mod:`gateway.subsystems.metrics_source`), shared by
        #: the metrics collector and the pushers; None without either
        self.metrics_source: Any = None
        #: (when, pid, log line with %s label and %d pid, or None): SIGKILL then unless reaped
        self._pending_kill: List[Tuple[float, int, Optional[str]]] = []
        self._touch: Dict[str, float] = {}
        #: --touch-chain-reload/--touch-logrotate/--touch-logreopen: path -> (mtime seen, action, what)
        self._touch_actions: Dict[str, Tuple[float, Callable[[], None], Optional[str]]] = {}
        self._next_touch_check = 0.0
        #: --check-interval: seconds between two checks of the touch files
        self.check_interval = float(getattr(config, "check_interval", 1) or 1)
        #: --harakiri-queue-threshold: harakiri only while this many connections wait (0: always)
        self.harakiri_queue_threshold = int(getattr(config, "harakiri_queue_threshold", 0) or 0)
        self._harakiri_skip_logged: Dict[int, float] = {}
        self.log_master: Any = None
        #: pids the master did not fork as a child (alarm commands): pid -> callback(status) at reaping
        self._watched: Dict[int, Callable[[int], None]] = {}
        #: the logger plugins' routing, opened by the CLI before the app loads (log_master.build_routing)
        self.log_routing: Any = None
        #: set to replace the process once every child is gone (a vassal's binary reload)
        self.reexec: Optional[Callable[[], None]] = None
        for spec in children:
            self.add_child(spec)
        self.on_message("ready", self._on_ready)
        self.on_message("chain_reload", lambda worker_id, payload: self.chain_reload())
        self.on_message("fatal", self._on_fatal)
        #: worker ids forked at least once (--hook-accepting-once runs on the first spawn only)
        self._ever_spawned: Set[int] = set()
        from gateway.hooks import TouchHooks

        #: --hook-touch FILE ACTION:ARGS, checked with the other touch files
        self._touch_hooks = TouchHooks(config.hook_touch or (), _mtime)
        #: the child that runs the master's hooks off its loop (see hook_runner())
        self._hook_runner: Any = None
        if self._touch_hooks:
            self.hook_runner()
        #: chain reload: the worker ids still to replace, and the one whose successor we wait for
        self._chain: List[int] = []
        self._chain_waiting = 0
        #: --cheaper: the algorithm (None without it), the FIFO's pending + and -, the next cycle
        self.cheaper: Optional[Cheaper] = None
        #: the workers started at boot (--cheaper-initial, clamped, with --cheaper)
        self._cheaper_initial = self.numproc
        if config.cheaper and self.numproc:
            self.cheaper = Cheaper(int(config.cheaper), self.numproc, algo=str(config.cheaper_algo or "spare"),
                                   step=int(config.cheaper_step or 1), overload=int(config.cheaper_overload or 3),
                                   idle=int(config.cheaper_idle or 10),
                                   rss_soft=int(config.cheaper_rss_limit_soft or 0),
                                   rss_hard=int(config.cheaper_rss_limit_hard or 0),
                                   busyness=busyness_options(config) if config.cheaper_algo == "busyness" else None)
            # (uWSGI's warning about --cheaper-initial first, as its option check logs it)
            self._cheaper_initial = self.cheaper.initial(int(config.cheaper_initial or 0))
            if self.cheaper.note:
                gen_log.warning("%s", self.cheaper.note)
            for line in self.cheaper.settings():
                gen_log.info("%s", line)
        self._cheaper_delta = 0
        self._cheaper_next = 0.0
        #: --evil-reload-on-rss/-as: limits in bytes, checked once a second from /proc
        self.evil_rss = int(config.evil_reload_on_rss or 0) * 1024 * 1024
        self.evil_as = int(config.evil_reload_on_as or 0) * 1024 * 1024
        self._evil_next = 0.0
        self._listen_next = 0.0  # the next look at the listen queues (once a second, as uWSGI)
        self._start_stats()
        self.fifo: Any = None
        if config.master_fifo:
            from gateway.process.master_fifo import FifoError, MasterFifo
            from gateway.server.listeners import ListenError

            try:
                self.fifo = MasterFifo(config.master_fifo, self._fifo_commands())
            except FifoError as e:
                raise ListenError(str(e)) from None

    # -- public interface for subsystems --------------------------------------------------

    def add_child(self, spec: ChildSpec) -> None:
        self.children.append(Proc("child", len(self.children) + 1, 0, spec))

    def start_child(self, spec: ChildSpec) -> int:
        """Spawn the child of ``spec`` (added with :meth:`add_child`) unless it runs; its pid.

        For children spawned on demand (``autostart=False``) or not respawned by the master;
        0 while the instance is stopping.
        """
        for proc in self.children:
            if proc.spec is spec:
                if not proc.pid and self.state == "running":
                    proc.respawn_at = 0.0
                    self._spawn(proc)
                return proc.pid
        raise ValueError("start_child: %s was never added" % spec.name)

    def child_pid(self, spec: ChildSpec) -> int:
        """The pid of the running child of ``spec``, 0 if none."""
        for proc in self.children:
            if proc.spec is spec:
                return proc.pid
        return 0

    def signal_child(self, spec: ChildSpec, sig: int) -> bool:
        """Send ``sig`` to the running child of ``spec`` (its group if ``own_group``)."""
        for proc in self.children:
            if proc.spec is spec and proc.pid:
                self._signal(proc, sig)
                return True
        return False

    def hook_runner(self) -> Any:
        """The :class:`~gateway.process.hook_runner.HookRunner` that runs the master's hooks
        (``--hook-touch``, ``as-user-atexit`` at a reload) in a child; made on first use,
        which must come before :meth:`run`."""
        if self._hook_runner is None:
            from gateway.process.hook_runner import HookRunner

            self._hook_runner = HookRunner(self)
        return self._hook_runner

    def on_shutdown(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once when the instance starts stopping (before the children are signalled)."""
        self._shutdown_hooks.append(callback)

    def on_reload(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at every graceful reload of the workers."""
        self._reload_hooks.append(callback)

    def on_fork_child(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` in every child right after fork: close the master's own
        descriptors there (a connection in flight must not outlive the master's copy)."""
        self._child_hooks.append(callback)

    def on_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once, when every worker first serves (the readiness line)."""
        self._ready_hooks.append(callback)

    def reloading(self) -> bool:
        """True while a reload runs: old workers still finishing their requests, or a chain
        reload waiting for a new worker (another reload meanwhile is ignored)."""
        return bool(self.retiring or self._chain_waiting)

    def after_reload(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once, in the master loop, when the running reload is over (its
        old workers buried); at the next turn if none runs."""
        self._after_reload.append(callback)
        self._reload_over()

    def _reload_over(self) -> None:
        if self.reloading() or not self._after_reload:
            return
        callbacks, self._after_reload = self._after_reload, []
        for callback in callbacks:
            self.call_later(0, callback)

    def on_message(self, kind: str, handler: Callable[[int, bytes], None]) -> None:
        """``handler(worker_id, payload)`` for messages of ``kind`` from workers
        (extra children report ``-n`` for the n-th child)."""
        self._handlers[kind] = handler

    def send(self, worker_id: int, kind: str, payload: bytes = b"") -> bool:
        proc = self.workers.get(worker_id)
        if proc is None or proc.sock is None:
            return False
        return _channel.send(proc.sock, kind, payload)

    def broadcast(self, kind: str, payload: bytes = b"") -> None:
        for proc in list(self.workers.values()):
            if proc.sock is not None and proc.pid:
                _channel.send(proc.sock, kind, payload)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback()`` in the master loop after ``delay`` seconds (tick precision)."""
        self._timers.append((time.monotonic() + delay, callback))

    def add_reader(self, fd: Any, callback: Callable[[], None]) -> None:
        """Call ``callback()`` in the master loop whenever ``fd`` is readable."""
        self.sel.register(fd, selectors.EVENT_READ, ("reader", callback))

    def remove_reader(self, fd: Any) -> None:
        self.sel.unregister(fd)

    def add_writer(self, fd: Any, callback: Callable[[], None]) -> None:
        """Call ``callback()`` in the master loop whenever ``fd`` is writable."""
        self.sel.register(fd, selectors.EVENT_WRITE, ("reader", callback))

    def watch_pid(self, pid: int, callback: Callable[[int], None]) -> None:
        """``callback(status)`` once the master reaps ``pid``, a process started outside
        :meth:`_spawn` (it reaps every child with ``waitpid(-1)``)."""
        self._watched[pid] = callback

    def slot(self, worker_id: int, generation: int) -> int:
        """Scoreboard slot of worker ``worker_id`` in reload generation ``generation``."""
        return worker_id + self.numproc * (generation % 2)

    def current_slots(self) -> List[int]:
        return [self.slot(wid, proc.generation) for wid, proc in sorted(self.workers.items())]

    # -- main loop ------------------------------------------------------------------------

    def capture_log(self) -> None:
        """With ``--log-master`` (or an option implying it): create the log master, and this
        process's output goes through it from now on (the CLI calls this before loading the
        app, so what the app prints at import reaches the encoders and loggers too)."""
        if self.log_master is not None or not wants_log_master(self.config):
            return
        from gateway.process.log_master import LogMaster

        cfg = self.config
        self.log_master = LogMaster(max_line=int(cfg.log_master_bufsize), backlog=int(cfg.log_master_backlog),
                                    path=cfg.logto, maxsize=int(cfg.log_maxsize or 0),
                                    backupname=cfg.log_backupname, routing=self.log_routing)
        self.log_master.capture()

    def run(self) -> int:
        self.board.ints[1] = self.pid
        self._name_process("uWSGI master")
        self.signals.install()
        self.sel.register(self.signals.fd, selectors.EVENT_READ, ("signals", None))
        if self.fifo is not None:
            fifo = self.fifo
            for fd in fifo.fds():
                self.add_reader(fd, functools.partial(fifo.on_readable, fd))
        self.capture_log()
        if self.log_master is not None:
            self.log_master.start(self.add_reader, self.remove_reader, self.add_writer, self.remove_reader)
        gen_log.info("spawned uWSGI master process (pid: %d)", self.pid)
        from gateway.process.privileges import warn_if_root

        warn_if_root(self.config, gen_log)
        from gateway import subsystems

        self.subsystems = subsystems.current
        if self.subsystems is not None:
            for fd in self.subsystems.master_fds():
                self.sel.register(fd, selectors.EVENT_READ,
                                  ("reader", lambda fd=fd: self.subsystems.on_master_readable(fd)))
        for hook in list(master_hooks):
            hook(self)
        if self.stats_server is not None:
            self.stats_server.attach(self.sel)
        # The touch files' baselines before the first worker exists: a touch right after the
        # "spawned uWSGI worker" lines (a deploy script's, a test's) must not become the
        # baseline itself and be missed, as it was when read after the spawns and hooks.
        self._touch = {path: _mtime(path) for path in (self.config.touch_reload or [])}
        for path in self.config.touch_chain_reload or []:
            self._touch_actions[path] = (_mtime(path), self._touched_chain_reload, "chain reload !!!")
        for path in self.config.touch_workers_reload or []:
            self._touch_actions[path] = (_mtime(path), self.reload_workers, "workers reload !!!")
        if self.log_master is not None:  # (uWSGI logs no "touched" line for these: the log's own lines say it)
            for path in self.config.touch_logrotate or []:
                self._touch_actions[path] = (_mtime(path), self.log_master.rotate, None)
            for path in self.config.touch_logreopen or []:
                self._touch_actions[path] = (_mtime(path), self.log_master.reopen, None)
        self._next_touch_check = time.monotonic() + self.check_interval
        initial = self._cheaper_initial
        if getattr(self.config, "cheap", False):
            initial = 0  # --cheap: no worker until the first connection
        for wid in range(1, self.numproc + 1):
            proc = Proc("worker", wid, self.generation)
            self.workers[wid] = proc
            if wid <= initial:
                self._spawn(proc)
            else:
                self._cheap_slot(proc)
        for proc in self.children:
            if proc.spec is None or proc.spec.autostart:
                self._spawn(proc)
        if self.stats_server is not None:
            self.stats_server.announce()
        self.state = "running"
        if getattr(self.config, "cheap", False) and self.numproc:
            self.is_cheap = True
            self._wait_for_connection()
            self._instance_ready()  # the sockets listen: connections wait in the backlog
        self._master_start_hooks()
        subs = self.subsystems
        while True:
            timeout = TICK if subs is None else min(TICK, subs.next_timeout())
            for key, _ in self.sel.select(timeout):
                kind, obj = key.data
                if kind == "signals":
                    for sig in self.signals.drain():
                        self._dispatch_signal(sig)
                elif kind == "channel":
                    self._read_channel(obj)
                elif kind == "reader":
                    obj()
            self._reap()
            self._tick()
            if subs is not None:
                try:
                    subs.master_tick()
                except Exception:
                    gen_log.exception("error in the subsystems' master tick")
            if self.state == "stopping" and not self.by_pid:
                break
        self._finish(goodbye=self.reexec is None)
        if self.reexec is not None:
            self.reexec()  # returns only if the exec failed
            return 1
        return self.exit_code

    def _master_start_hooks(self) -> None:
        """``--hook-master-start``, once the first workers are forked (as uWSGI's master loop
        starts); a failure destroys the instance."""
        from gateway.hooks import HookFailed, run_phase

        try:
            run_phase(self.config, "master-start")
        except HookFailed as e:
            gen_log.error("%s", e)
            self._destroy("FATAL hook failed, destroying instance")

    def _on_fatal(self, ident: int, payload: bytes) -> None:
        """A fatal hook failed in a worker (``ident`` > 0) or a child (it said so on its
        channel, then exited)."""
        who = "worker %d" % ident if ident > 0 else next(
            (p.label for p in self.children if p.ident == -ident), "a child")
        self._destroy("FATAL hook failed in %s, destroying instance" % who)

    def _destroy(self, why: str) -> None:
        gen_log.error("%s", why)
        self.exit_code = 1
        self.shutdown(graceful=True, why="FATAL hook")

    def _finish(self, goodbye: bool = True) -> None:
        if self.stats_server is not None:
            self.stats_server.close()
        if self.fifo is not None:
            self.fifo.close(vacuum=bool(self.config.vacuum))
        if goodbye:
            gen_log.info("goodbye to uWSGI.")
        if self.log_master is not None:
            self.log_master.finish(self.mercy)

    # -- spawning ---------------------------------------------------------------------------

    def _spawn(self, proc: Proc) -> None:
        master_end, child_end = _channel.pair()
        if proc.kind == "worker":
            self.board.spawned(self.slot(proc.ident, proc.generation), 0, proc.generation)
            proc.first_spawn = proc.ident not in self._ever_spawned
            self._ever_spawned.add(proc.ident)
        log_pipe = self.log_master.pipe() if self.log_master is not None else None
        sys.stdout.flush()
        sys.stderr.flush()
        # The master's signals wait (blocked) across the fork: a SIGTERM sent to a child the
        # instant it is born (a shutdown right after a spawn) must not hit the master's handler
        # the child inherited, and be lost there, but the default the child resets to.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, self.signals.signals)
        pid = -1
        try:
            pid = os.fork()
        except OSError:  # nothing made for this child may outlive the failed fork
            master_end.close()
            child_end.close()
            if log_pipe is not None:
                self.log_master.discard(log_pipe)
            raise
        finally:
            if pid != 0:  # the master (the fork done, or failed); the child unblocks below
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                self.signals.close_in_child()
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                if log_pipe is not None:
                    os.close(log_pipe[0])
                    self.log_master.in_child(log_pipe[1])
                master_end.close()
                code = self._child_main(proc, child_end)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:
                gen_log.exception("%s failed", proc.label)
                code = 1
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        child_end.close()
        if log_pipe is not None:
            os.close(log_pipe[1])
            self.log_master.add_source(log_pipe[0])
            proc.log_fd = log_pipe[0]
        proc.pid = pid
        proc.sock = master_end
        proc.spawned_at = time.monotonic()
        proc.ready = False
        proc.spawns += 1
        self.by_pid[pid] = proc
        self.sel.register(master_end, selectors.EVENT_READ, ("channel", proc))
        if proc.kind == "worker":
            self.board.ints[self.board.wbase(self.slot(proc.ident, proc.generation))] = pid
            if proc.spawns > 1:  # uWSGI's one line for a worker spawned again (after a death, a cheap...)
                gen_log.info("Respawned uWSGI worker %d (new pid: %d)", proc.ident, pid)
            else:
                gen_log.info("spawned uWSGI worker %d (pid: %d, cores: %d)", proc.ident, pid, self.cores)
        elif proc.spec is not None and proc.spec.spawn_line is not None:
            line = proc.spec.spawn_line(pid)
            if line is not None:
                gen_log.info("%s", line)
        else:  # uWSGI's wording for its gateways: "respawned uWSGI http 2 (pid: 123)" after a death
            gen_log.info("%s %s (pid: %d)", "respawned" if proc.spawns > 1 else "spawned", proc.label, pid)

    def _child_main(self, proc: Proc, sock: socket.socket) -> int:
        """In the child: drop the master's state, then become a worker or run the target."""
        try:
            self.sel.close()
        except OSError:
            pass
        for other in list(self.by_pid.values()):
            if other.sock is not None:
                other.sock.close()
        if self.stats_server is not None:
            self.stats_server.close_in_child()
        if self.fifo is not None:
            self.fifo.close()
        for hook in self._child_hooks:
            hook()
        if self.child_privileges is not None and not (proc.spec is not None and proc.spec.own_user):
            self.child_privileges(proc.kind == "worker")  # --master-as-root
        ch = _channel.WorkerChannel(sock)
        _channel._set_current(ch)
        self._name_process("uWSGI " + proc.label if proc.kind == "worker" else proc.label)
        if proc.kind == "child":
            return int(proc.spec.target() or 0)  # type: ignore[union-attr]
        from gateway.process.scoreboard import WorkerBoard
        from gateway.process.worker import Worker

        board = WorkerBoard(self.board, self.slot(proc.ident, proc.generation))
        worker = Worker(
            self.config, self.sockets, worker_id=proc.ident, app=self.app, board=board, channel=ch,
            masterpid=self.pid if self.config.master or wants_log_master(self.config) or has_emperor() else 0,
            scoreboard=self.board, slots=self.board.current_slots, first_spawn=proc.first_spawn,
        )
        from gateway.app_loader import AppLoadError

        try:  # under --need-app the master stops the instance with the same status
            return worker.run()
        except AppLoadError as e:
            if not self.config.need_app:
                raise
            # --lazy-apps: uWSGI's worker exits with UWSGI_FAILED_APP_CODE, the master ends it all
            gen_log.error("%s\n*** no app loaded. GAME OVER ***", e)
            return FAILED_APP_CODE

    def _name_process(self, label: str) -> None:
        """``--auto-procname`` and ``--procname-*``: this process's name in ps and top."""
        from gateway.process.procname import process_title, set_process_title

        title = process_title(self.config, label)
        if title is not None:
            set_process_title(title)

    # -- channel ------------------------------------------------------------------------------

    def _read_channel(self, proc: Proc) -> None:
        sock = proc.sock
        if sock is None:
            return
        while True:
            try:
                data = sock.recv(_channel.MAX_PACKET)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self._close_channel(proc)
                return
            kind, payload = _channel.decode(data)
            handler = self._handlers.get(kind)
            ident = proc.ident if proc.kind == "worker" else -proc.ident
            if handler is None:
                gen_log.warning("message %r from %s: no handler in the master", kind, proc.label)
                continue
            try:
                handler(ident, payload)
            except Exception:
                gen_log.exception("error handling message %r from %s", kind, proc.label)

    def _close_channel(self, proc: Proc) -> None:
        if proc.sock is not None:
            try:
                self.sel.unregister(proc.sock)
            except (KeyError, ValueError):
                pass
            proc.sock.close()
            proc.sock = None

    def _on_ready(self, worker_id: int, payload: bytes) -> None:
        proc = self.workers.get(worker_id)
        if proc is None:
            return
        proc.ready = True
        proc.fast_deaths = 0
        if self._chain_waiting == worker_id and proc.generation == self.generation:
            self._chain_next()
        if payload:
            self.erlang_nodes[worker_id] = payload.decode("utf-8", "replace")
        if not self.ready_announced and all(p.ready for p in self.workers.values() if not p.cheaped):
            self._instance_ready()

    def _instance_ready(self) -> None:
        """The readiness line and the ready hooks, once: every worker serves, or (``--cheap``)
        the sockets listen and the first connection will start the workers."""
        self.ready_announced = True
        self._announce_ready()
        for hook in self._ready_hooks:
            try:
                hook()
            except Exception:
                gen_log.exception("error in a ready hook of the master")

    def _announce_ready(self) -> None:
        from gateway.server.listeners import ready_addresses

        addrs = ready_addresses(self.sockets)
        extra = ""
        if self.erlang_nodes:
            extra = " erlang=" + ",".join(self.erlang_nodes[k] for k in sorted(self.erlang_nodes))
        if self.stats_server is not None:
            extra += " stats=" + self.stats_server.address
        sys.stderr.write("gateway ready: pid=%d %s%s\n" % (self.pid, addrs, extra))
        sys.stderr.flush()

    # -- reaping and respawning -----------------------------------------------------------------

    def _reap(self) -> None:
        for pid, status in reaped():
            proc = self.by_pid.pop(pid, None)
            if proc is None:
                watcher = self._watched.pop(pid, None)
                if watcher is not None:
                    try:
                        watcher(status)
                    except Exception:
                        gen_log.exception("error in the watcher of pid %d", pid)
                continue
            # A signal that came after this turn's select() decides first: Ctrl-C sends SIGINT
            # to the whole process group, and when the workers exit before the master's next
            # turn they must be buried, not respawned (then left starting while we stop).
            for sig in self.signals.drain():
                self._dispatch_signal(sig)
            self._read_channel(proc)  # what it said last (a fatal hook) decides before its death
            self._close_channel(proc)
            self._on_death(proc, status)

    def _on_death(self, proc: Proc, status: int) -> None:
        if self.log_master is not None and proc.log_fd >= 0:
            self.log_master.drain(proc.log_fd)  # its last lines before the line about its death
            proc.log_fd = -1
        lifetime = time.monotonic() - proc.spawned_at
        # uWSGI counts from the stop request (its cursed_at), in whole epoch seconds
        buried = int(time.time()) - proc.cursed_at if proc.cursed_at else (max(int(lifetime), 1) if lifetime >= 1 else 0)
        how = describe_status(status)
        if proc.kind == "worker":
            self.board.died(self.slot(proc.ident, proc.generation))
            if self.subsystems is not None and not proc.retiring:
                self.subsystems.worker_died(proc.ident)
        elif proc.spec is not None and proc.spec.on_exit is not None:
            try:
                proc.spec.on_exit(proc.pid)
            except Exception:
                gen_log.exception("error in the exit hook of %s", proc.label)
        if proc.restarting and self.state != "stopping":
            proc.restarting = False
            proc.pid = 0
            self._respawn(proc)
            return
        if proc.retiring or self.state == "stopping":
            gen_log.info("%s buried after %d seconds (pid: %d, %s)", proc.label, buried, proc.pid, how)
            proc.pid = 0
            if proc in self.retiring:
                self.retiring.remove(proc)
                self._reload_over()
            return
        if proc.kind == "worker" and self.config.need_app and os.WIFEXITED(status) \
                and os.WEXITSTATUS(status) == FAILED_APP_CODE:
            gen_log.error("OOPS ! failed loading app in worker %d (pid %d)", proc.ident, proc.pid)
            gen_log.error("need-app requested, destroying the instance...")
            proc.pid = 0
            self.exit_code = FAILED_APP_CODE
            self.shutdown(graceful=False, why="need-app")
            return
        if proc.kind == "worker" and proc.cheaped:
            if proc.quiet_death:
                proc.quiet_death = False
            else:  # the --cheaper algorithm's victim, told to stop: uWSGI's two lines
                if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                    gen_log.info("worker %d killed successfully (pid: %d)", proc.ident, proc.pid)
                gen_log.info("uWSGI worker %d cheaped.", proc.ident)
            self._cheap_slot(proc)
            return
        spec = proc.spec
        if spec is not None and spec.on_death is not None and spec.on_death(proc.pid, status):
            proc.pid = 0
            return
        if spec is not None and not spec.respawn:
            gen_log.info("%s (pid: %d) exited, %s", proc.label, proc.pid, how)
            proc.pid = 0
            return
        quiet = proc.kind == "worker" and os.WIFEXITED(status) and os.WEXITSTATUS(status) == policy.QUIET_EXIT
        clean = quiet or (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0)
        if quiet:
            pass  # a worker past --max-worker-lifetime: uWSGI's master said why, and says no more
        elif clean and proc.kind == "worker":
            gen_log.info("worker %d killed successfully (pid: %d)", proc.ident, proc.pid)  # uWSGI's line
        elif proc.spec is not None and proc.spec.death_line is not None:
            gen_log.warning(proc.spec.death_line, {"pid": proc.pid, "how": how})
        elif proc.kind == "worker":
            # uWSGI's two lines exactly (log parsers match them); the exit status on a line before
            if os.WIFSIGNALED(status):
                gen_log.warning("DAMN ! worker %d (pid: %d) died, killed by signal %d :( trying respawn ...",
                                proc.ident, proc.pid, os.WTERMSIG(status))
            else:
                gen_log.warning("worker %d (pid: %d) %s", proc.ident, proc.pid, how)
                gen_log.warning("DAMN ! worker %d (pid: %d) died :( trying respawn ...", proc.ident, proc.pid)
        else:
            gen_log.warning("DAMN ! %s (pid: %d) died, %s :( trying respawn ...", proc.label, proc.pid, how)
        # A worker's clean exit is a recycle (--max-requests...); any other child that exits at
        # once, even with status 0 (a daemon running `true`), must back off like a crash.
        recycled = clean and proc.kind == "worker"
        proc.fast_deaths = policy.next_fast_deaths(proc.fast_deaths, lifetime) if not recycled else 0
        delay = policy.respawn_delay(proc.fast_deaths)
        if spec is not None and spec.max_respawn_delay is not None:
            delay = min(delay, spec.max_respawn_delay)
        proc.pid = 0
        if delay:
            gen_log.warning("%s respawning too fast !!! i have to sleep a bit (%.1f seconds)...", proc.label, delay)
            proc.respawn_at = time.monotonic() + delay
        else:
            self._respawn(proc)

    def _respawn(self, proc: Proc) -> None:
        proc.respawn_at = 0.0
        if self.state == "stopping":
            return
        self._spawn(proc)

    # -- periodic checks --------------------------------------------------------------------------

    def _tick(self) -> None:
        mono = time.monotonic()
        if self._timers:
            due = [t for t in self._timers if t[0] <= mono]
            if due:
                self._timers = [t for t in self._timers if t[0] > mono]
                for _, callback in due:
                    try:
                        callback()
                    except Exception:
                        gen_log.exception("error in a master timer")
        for proc in list(self.workers.values()) + self.children:
            if proc.respawn_at and mono >= proc.respawn_at and not proc.pid:
                self._respawn(proc)
        for proc in list(self.retiring):
            if proc.pid and proc.kill_at and mono >= proc.kill_at:
                gen_log.warning(NO_MERCY, proc.ident, proc.pid)
                proc.kill_at = 0.0
                self._kill(proc.pid, signal.SIGKILL)
        if self.state == "stopping" and self.stop_deadline and mono >= self.stop_deadline:
            self.stop_deadline = 0.0
            for pid, proc in list(self.by_pid.items()):
                if proc.kind == "worker":
                    gen_log.warning(NO_MERCY, proc.ident, pid)
                else:
                    gen_log.warning("%s (pid: %d) still running after %ds: killing it", proc.label, pid, int(self.mercy))
                self._signal(proc, signal.SIGKILL)
        if self.state == "stopping":
            for proc in self.children:
                if proc.pid and proc.kill_at and mono >= proc.kill_at:
                    proc.kill_at = 0.0
                    gen_log.warning("%s (pid: %d) did not die in time: killing it", proc.label, proc.pid)
                    self._signal(proc, signal.SIGKILL)
        self._check_harakiri()  # --harakiri, and the deadlines of uwsgi.set_user_harakiri
        if self.state == "running" and mono >= self._listen_next:
            self._listen_next = mono + 1.0
            self._check_listen_queues()
        if (self.evil_rss or self.evil_as) and mono >= self._evil_next:
            self._evil_next = mono + float(getattr(self.config, "mem_collector_freq", 1) or 1)
            self._check_evil_memory()
        if (self.cheaper is not None and self.state == "running" and not self.is_cheap and not self.suspended
                and mono >= self._cheaper_next):
            self._cheaper_next = mono + 1.0
            self._cheaper_cycle()
        if self.idle and self.state == "running" and not self.is_cheap:
            self._check_idle(mono)
        if (self._touch or self._touch_actions or self._touch_hooks) and mono >= self._next_touch_check:
            self._next_touch_check = mono + self.check_interval
            try:
                due = self._touch_hooks.due()
                if due:  # in a child: a hook may take a minute, the master's loop must not
                    from gateway.hooks import run_touch_hooks

                    self.hook_runner().run(lambda: run_touch_hooks(due))
            except Exception:  # a hook must never end the master
                gen_log.exception("error in --hook-touch")
            for path, (seen, action, what) in list(self._touch_actions.items()):
                now = _mtime(path)
                if now != seen:
                    self._touch_actions[path] = (now, action, what)
                    if what is None:  # the log rotated or reopened: its own lines say so
                        action()
                    elif what.endswith("!!!"):  # a reload: uWSGI's line first, then the reload's lines
                        gen_log.info("*** %s has been touched... %s ***", path, what)
                        action()
                    else:
                        action()
                        gen_log.info("*** %s has been touched... %s ***", path, what)
            for path, seen in list(self._touch.items()):
                now = _mtime(path)
                if now != seen:
                    self._touch[path] = now
                    gen_log.info("*** %s has been touched... grace them all !!! ***", path)
                    self.reload()
                    break
        if self._pending_kill:
            keep = []
            for at, pid, message in self._pending_kill:
                if mono >= at:
                    if pid in self.by_pid:  # not reaped yet: never a pid the kernel gave to another process
                        if message:
                            gen_log.error(message, self.by_pid[pid].label, pid)
                        self._kill(pid, signal.SIGKILL)
                else:
                    keep.append((at, pid, message))
            self._pending_kill = keep

    def _check_evil_memory(self) -> None:
        """``--evil-reload-on-rss``/``-as``: SIGKILL a worker over the limit (uWSGI's line); the
        master measures it itself, so a worker whose loop is stuck cannot escape."""
        for proc in list(self.workers.values()):
            if not proc.pid:
                continue
            vsz, rss = _statm(proc.pid)
            if self.evil_as and vsz >= self.evil_as:
                gen_log.warning("*** EVIL RELOAD ON WORKER %d ADDRESS SPACE: %d (pid: %d) ***", proc.ident, vsz, proc.pid)
                self._kill(proc.pid, signal.SIGKILL)
            elif self.evil_rss and rss >= self.evil_rss:
                gen_log.warning("*** EVIL RELOAD ON WORKER %d RSS: %d (pid: %d) ***", proc.ident, rss, proc.pid)
                self._kill(proc.pid, signal.SIGKILL)

    # -- --cheaper -------------------------------------------------------------------------------

    def _cheap_slot(self, proc: Proc) -> None:
        """Leave worker id ``proc.ident`` without a process until the algorithm wants it."""
        proc.cheaped = True
        proc.pid = 0
        self.board.cheaped(self.slot(proc.ident, proc.generation), proc.generation)

    def _busy(self, proc: Proc) -> bool:
        board = self.board
        base = self.slot(proc.ident, proc.generation)
        return any(board.ints[board.cbase(base, core) + C_IN_REQUEST] for core in range(board.cores))

    def _cheaper_cycle(self) -> None:
        """One decision of the ``--cheaper`` algorithm (or of the FIFO's ``+``/``-``), applied."""
        assert self.cheaper is not None
        if self.retiring or self._chain_waiting:
            return  # not while a reload replaces workers (as uWSGI)
        procs = [self.workers[wid] for wid in sorted(self.workers)]
        slots = [Slot(bool(p.pid) and not p.cheaped, bool(p.pid) and not p.cheaped and self._busy(p),
                      p.cheaped and not p.pid, self.board.get(self.slot(p.ident, p.generation), W_RUNNING_TIME))
                 for p in procs]
        requested, self._cheaper_delta = self._cheaper_delta, 0
        backlog = (listen_backlog(self.sockets) if self.cheaper.algo in ("backlog", "busyness") and not requested
                   else 0)
        rss = 0
        if self.cheaper.rss_soft:
            rss = sum(_statm(p.pid)[1] for p, s in zip(procs, slots) if s.running)
        delta = self.cheaper.decide(slots, backlog, rss, requested, now=time.monotonic())
        if self.cheaper.note:
            gen_log.warning("%s", self.cheaper.note)
        for line in self.cheaper.lines:
            gen_log.info("%s", line)
        if delta > 0:
            for proc, slot in zip(procs, slots):
                if delta and slot.spawnable:
                    proc.cheaped = False
                    proc.generation = self.generation
                    self._spawn(proc)
                    delta -= 1
        while delta < 0:
            delta += 1
            idle = [p for p, s in zip(procs, slots) if s.running and not s.busy and not p.cheaped]
            if not idle:
                return
            victim = min(idle, key=lambda p: p.spawned_at)  # the oldest, as uWSGI
            victim.cheaped = True
            self._kill(victim.pid, signal.SIGHUP)  # its graceful stop: requests in flight finish
            self._pending_kill.append((time.monotonic() + self.mercy, victim.pid,
                                       "%%s (pid: %%d) still running %ds after it was cheaped: killing it"
                                       % int(self.mercy)))

    def cheaper_more(self) -> None:
        """The master FIFO's ``+``: one more worker at the next cycle (``--cheaper`` only)."""
        if self.cheaper is None:
            gen_log.warning("[master-fifo] '+' needs --cheaper")
        else:
            self._cheaper_delta += 1

    def cheaper_less(self) -> None:
        """The master FIFO's ``-``: one worker fewer at the next cycle (never below ``--cheaper``)."""
        if self.cheaper is None:
            gen_log.warning("[master-fifo] '-' needs --cheaper")
        else:
            self._cheaper_delta -= 1

    def _check_idle(self, mono: float) -> None:
        """``--die-on-idle``: no request started or running for ``--idle`` seconds ends the instance."""
        board = self.board
        ints = board.ints
        started = 0
        busy = False
        for proc in self.workers.values():
            slot = self.slot(proc.ident, proc.generation)
            started += board.get(slot, W_REQUESTS)
            for core in range(board.cores):
                if ints[board.cbase(slot, core) + C_IN_REQUEST]:
                    busy = True
        if busy or started != self._idle_seen:
            self._idle_seen = started
            self._idle_since = mono
            self._idle_since_wall = int(time.time())
        elif mono - self._idle_since > self.idle and int(time.time()) - self._idle_since_wall > self.idle:
            # uWSGI's check, in whole seconds, and its line with both times
            gen_log.info("workers have been inactive for more than %d seconds (%d-%d)", int(self.idle),
                         int(time.time()), self._idle_since_wall)
            if self.die_on_idle:
                self.shutdown(graceful=True, why="die-on-idle")
            else:
                self._go_cheap(mono)

    def _go_cheap(self, mono: float) -> None:
        """``--idle`` without ``--die-on-idle``: stop every worker and wait for a connection on
        any socket (it waits in the backlog for the worker started for it)."""
        self.is_cheap = True
        for proc in self.workers.values():
            proc.cheaped = True
            if proc.pid:
                proc.quiet_death = True  # uWSGI logs nothing more until the workers come back
                self._kill(proc.pid, signal.SIGHUP)  # idle: its graceful stop is immediate
                self._pending_kill.append((mono + 3.0, proc.pid, None))  # uWSGI's 3 seconds, then SIGKILL
        self._wait_for_connection()

    def go_cheap(self) -> None:
        """The master FIFO's ``C``: cheap mode now, as ``--idle`` would enter it, but the
        workers killed at once with uWSGI's lines (``going cheap...``, ``killing worker 1 (pid:
        4242)``, ``cheap mode enabled: waiting for socket connection...``)."""
        if self.is_cheap or self.state != "running":
            return
        gen_log.info("going cheap...")
        self.is_cheap = True
        for wid, proc in sorted(self.workers.items()):
            proc.cheaped = True
            if proc.pid:
                gen_log.info("killing worker %d (pid: %d)", wid, proc.pid)
                proc.quiet_death = True
                self._kill(proc.pid, signal.SIGKILL)
        self._wait_for_connection()

    def toggle_subscriptions(self) -> None:
        """The master FIFO's ``S``: stop (or start again) sending the subscription announces,
        uWSGI's toggle (``--start-unsubscribed`` starts stopped); nothing is sent meanwhile,
        not even an unsubscribe (:mod:`gateway.process.subscriber`)."""
        self.subscriptions_blocked = not self.subscriptions_blocked
        gen_log.info("subscriptions blocked" if self.subscriptions_blocked else "subscriptions re-enabled")

    def ask_for_reinforcements(self) -> None:
        """The master FIFO's ``B``: uWSGI's SOS to the Emperor (one byte, 30, on its channel)."""
        from gateway.emperor import protocol, vassal

        if vassal.current is None:
            gen_log.info("[broodlord] instance not governed by an Emperor !!!")
        elif not vassal.current.send(protocol.SOS):
            gen_log.warning("vassal_sos()/write(): the Emperor cannot take it")

    def _wait_for_connection(self) -> None:
        """Cheap mode: the first connection on any socket spawns the workers."""
        for sock in self.sockets:
            self.add_reader(sock, self._wake_from_cheap)
        gen_log.info("cheap mode enabled: waiting for socket connection...")

    def _wake_from_cheap(self) -> None:
        if not self.is_cheap:
            return
        self.is_cheap = False
        for sock in self.sockets:
            self.remove_reader(sock)
        needed = self.cheaper.minimum if self.cheaper is not None else self.numproc
        for wid in sorted(self.workers)[:needed]:
            proc = self.workers[wid]
            proc.cheaped = False  # one still stopping is respawned when it exits (a clean exit)
            if not proc.pid:
                proc.generation = self.generation
                self._spawn(proc)
        self._idle_since = time.monotonic()
        self._idle_since_wall = int(time.time())
        self._idle_seen = -1

    def _check_listen_queues(self) -> None:
        """uWSGI's warning, once a second, for each TCP socket whose accept queue is full
        (``--listen``): ``*** uWSGI listen queue of socket "127.0.0.1:8000" (fd: 3) full !!!
        (101/100) ***`` (``--alarm-backlog`` raises its alarms on the same check)."""
        from gateway.alarms.core import backlog_message
        from gateway.server.listeners import listen_address
        from gateway.stats import listen_queue

        limit = int(getattr(self.config, "listen", 0) or 100)
        for sock in self.sockets:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            queue = listen_queue(sock)
            if queue > 0 and queue >= limit:
                gen_log.warning("*** uWSGI %s ***", backlog_message(listen_address(sock), sock.fileno(), queue, limit))

    def _check_harakiri(self) -> None:
        board = self.board
        ints = board.ints
        now = now_us()
        for proc in list(self.workers.values()) + list(self.retiring):
            if not proc.pid or proc.harakiri_pid == proc.pid:  # this process is being killed already
                continue
            slot = self.slot(proc.ident, proc.generation)
            starts = []
            user: Dict[int, int] = {}
            for core in range(board.cores):
                c = board.cbase(slot, core)
                if ints[c + C_IN_REQUEST]:
                    starts.append((core, ints[c + C_REQUEST_START]))
                    if ints[c + C_USER_HARAKIRI]:
                        user[core] = ints[c + C_USER_HARAKIRI]
            if not starts or (self.harakiri <= 0 and not user):
                continue
            beat = board.get(slot, W_HEARTBEAT)
            mask = board.get(slot, W_THREAD_CORES)
            threads = {core for core, _start in starts if mask >> core & 1} if mask else set()
            blamed = policy.harakiri_verdict(self.harakiri, now, beat, starts, user, threads)
            if blamed and self._harakiri_queue_below(proc):
                continue
            if blamed:
                # uWSGI's "(user)": the request's own deadline decided, --harakiri alone would not yet
                alone = policy.harakiri_verdict(self.harakiri, now, beat, starts, None, threads) or []
                by_user = bool(user) and blamed[0] not in alone
                self._harakiri(proc, slot, blamed, by_user)

    def _harakiri_queue_below(self, proc: Proc) -> bool:
        """``--harakiri-queue-threshold``: True (no harakiri now) while fewer connections than
        the threshold wait in the listen queues; logged once a second per worker, as uWSGI."""
        if not self.harakiri_queue_threshold:
            return False
        backlog = listen_backlog(self.sockets)
        if backlog >= self.harakiri_queue_threshold:
            return False
        mono = time.monotonic()
        if mono - self._harakiri_skip_logged.get(proc.ident, 0.0) >= 1.0:  # (by worker id: pids come and go)
            self._harakiri_skip_logged[proc.ident] = mono
            gen_log.warning("HARAKIRI: Skipping harakiri on worker %d. Listen queue is smaller than the "
                            "threshold (%d < %d)", proc.ident, backlog, self.harakiri_queue_threshold)
        return True

    def _harakiri(self, proc: Proc, slot: int, blamed: List[int], user: bool = False) -> None:
        """Kill ``proc`` for the requests of cores ``blamed`` (``user``: past the deadline a
        request set with ``uwsgi.set_user_harakiri``, not ``--harakiri``'s), with uWSGI's lines."""
        board = self.board
        proc.harakiri_pid = proc.pid
        board.ints[board.wbase(slot) + W_HARAKIRI_COUNT] += 1
        graceful = self.harakiri_graceful > 0
        gen_log.error("*** HARAKIRI ON WORKER %d (pid: %d, try: 1, graceful: %s) ***", proc.ident, proc.pid,
                      "yes" if graceful else "no")
        if self.harakiri_verbose:  # uWSGI's two lines from /proc; the stacks follow (below)
            for what in ("syscall", "wchan"):
                try:
                    with open("/proc/%d/%s" % (proc.pid, what)) as f:
                        found = f.read(4096).strip()
                except OSError:
                    continue
                if found:
                    gen_log.error("HARAKIRI: -- %s> %s", what, found)
        # uWSGI's dump of the worker: every core in a request, not only the blamed ones
        gen_log.error("HARAKIRI !!! worker %d status !!!", proc.ident)
        for core in range(board.cores):
            if not board.core_get(slot, core, C_IN_REQUEST):
                continue
            vars_ = dict(v.split("=", 1) for v in board.core_vars(slot, core) if "=" in v)
            start = board.core_get(slot, core, C_REQUEST_START) / 1e6
            gen_log.error("HARAKIRI [core %d] %s - %s %s since %d", core, vars_.get("REMOTE_ADDR", ""),
                          vars_.get("REQUEST_METHOD", ""), vars_.get("REQUEST_URI", ""), int(start))
        gen_log.error("HARAKIRI !!! end of worker %d status !!!", proc.ident)
        if graceful:
            gen_log.error("HARAKIRI: graceful termination attempt on worker %d with signal %d. Next harakiri: %d",
                          proc.ident, self.harakiri_signal, int(time.time() + self.harakiri_graceful))
        gen_log.error("HARAKIRI %striggered by worker %d core %d !!!", "(user) " if user else "", proc.ident,
                      blamed[0])
        if self.harakiri_verbose:
            # The worker dumps every thread's stack from its SIGUSR2 handler (faulthandler:
            # works while its loop is blocked), then dies.
            self._kill(proc.pid, signal.SIGUSR2)
        if graceful:
            # uWSGI's graceful harakiri: the signal (SIGTERM: the worker's graceful stop, which
            # finishes once the stuck request returns; or a handler the app installed), then
            # SIGKILL if the worker is still there when the timeout is over.
            self._kill(proc.pid, self.harakiri_signal)
            self._pending_kill.append((time.monotonic() + self.harakiri_graceful, proc.pid,
                                       "HARAKIRI: %%s (pid: %%d) still running %gs after signal %d: killing it"
                                       % (self.harakiri_graceful, self.harakiri_signal)))
        elif self.harakiri_verbose:
            self._pending_kill.append((time.monotonic() + 0.3, proc.pid, None))
        else:
            self._kill(proc.pid, signal.SIGKILL)

    def _signal(self, proc: Proc, sig: int) -> None:
        """``sig`` to ``proc`` (a live, not yet reaped child), to its whole group if it leads one."""
        if proc.spec is not None and proc.spec.own_group:
            try:
                os.killpg(proc.pid, sig)
                return
            except OSError:
                pass  # not a group leader yet (it calls setsid right after fork): the process alone
        self._kill(proc.pid, sig)

    def _kill(self, pid: int, sig: int) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        except OSError as e:
            if e.errno != errno.ESRCH:
                gen_log.warning("kill(%d, %d): %s", pid, sig, e)

    # -- signals ------------------------------------------------------------------------------------

    def _dispatch_signal(self, sig: int) -> None:
        if sig == signal.SIGCHLD:
            return  # the loop reaps after every wake-up
        name = signal.Signals(sig).name.lower()
        handler = getattr(self, "handle_" + name, None)
        if handler is not None:
            handler()

    def handle_sighup(self) -> None:
        self.reload()

    def handle_sigterm(self) -> None:
        self.shutdown(graceful=True, why="SIGTERM")

    def handle_sigint(self) -> None:
        self.shutdown(graceful=True, why="SIGINT")

    def handle_sigquit(self) -> None:
        self.shutdown(graceful=False, why="SIGQUIT")

    def handle_sigtstp(self) -> None:
        self.suspend_resume()

    def suspend_resume(self) -> None:
        """SIGTSTP (``--pause``, ``--suspend``, ``--resume``, the master FIFO's ``p``): uWSGI's
        toggle.  Paused, every worker finishes what it is doing and accepts nothing new
        (connections wait in the listen queue) until the next SIGTSTP; the flag is in the
        scoreboard, so a worker respawned meanwhile starts paused, and --cheaper waits."""
        if self.state != "running":
            return
        self.suspended = not self.suspended
        if self.suspended:
            gen_log.info("*** PAUSE (press start to resume, if you do not have a joypad send SIGTSTP) ***")
        else:
            gen_log.info("*** (SIGTSTP received) resuming workers ***")
        self.board.set_suspended(self.suspended)
        if self.subsystems is not None:
            self.subsystems.router.suspended = self.suspended
        for proc in list(self.workers.values()):
            if proc.pid:
                self._kill(proc.pid, signal.SIGTSTP)

    def handle_sigusr1(self) -> None:
        """uWSGI's statistics in the log: the configuration, then each worker's request
        counters (:mod:`gateway.process.stats_log`), with or without ``--stats``."""
        from gateway.process.stats_log import stats_text

        rows = []
        for wid, proc in sorted(self.workers.items()):
            snap = self.board.snapshot(self.slot(wid, proc.generation))
            rows.append((wid, snap["requests"], snap["exceptions"]))
        gen_log.info("%s", stats_text(self.config, rows))

    def shutdown(self, graceful: bool, why: str, line: Optional[str] = None) -> None:
        """Stop every child and end the instance (``graceful``: the workers finish their
        requests first); ``why`` names the cause in the first line, or ``line`` replaces it."""
        if self.state == "stopping":
            if graceful:
                gen_log.warning("%s received again: killing workers now", why)
            graceful = False
        first = self.state != "stopping"
        self.state = "stopping"
        for proc in list(self.workers.values()) + self.children:
            proc.respawn_at = 0.0
        if first:
            for hook in self._shutdown_hooks:
                try:
                    hook()
                except Exception:
                    gen_log.exception("error in a shutdown hook of the master")
        for proc in self.children:
            if proc.pid and proc.spec is not None and not proc.spec.stop_signal:
                # left running (a smart daemon's command still in the foreground): not waited for
                self.by_pid.pop(proc.pid, None)
                self._close_channel(proc)
                proc.pid = 0
        mono = time.monotonic()
        for proc in self.by_pid.values():
            proc.cursed_at = proc.cursed_at or int(time.time())
        if graceful:
            gen_log.info("%s", line or "%s received...gracefully killing workers (mercy: %ds)..." % (why, int(self.mercy)))
            self.stop_deadline = mono + self.mercy
            for proc in list(self.by_pid.values()):
                spec = proc.spec
                if spec is None:
                    if proc.kind == "worker":
                        gen_log.info("Gracefully killing worker %d (pid: %d)...", proc.ident, proc.pid)  # uWSGI's
                    self._kill(proc.pid, signal.SIGTERM)
                    continue
                if spec.stop_timeout is not None and not proc.kill_at:
                    proc.kill_at = mono + spec.stop_timeout
                self._signal(proc, spec.stop_signal)
        else:
            gen_log.info("%s", line or "%s received...brutally killing workers..." % why)
            for proc in list(self.by_pid.values()):
                self._signal(proc, signal.SIGKILL)

    def reload(self, line: str = "...gracefully killing workers...") -> None:
        """Graceful reload: new workers (re-importing the app) take over, old ones finish;
        ``line`` is uWSGI's first line (a brutal reload's is ``...brutally killing workers...``)."""
        if not self._may_reload("reload"):
            return
        if getattr(self.config, "exit_on_reload", False):
            # uWSGI stops where it would exec itself again: the instance ends, status 0
            gen_log.info("uWSGI: GAME OVER (insert coin)")
            self.shutdown(graceful=True, why="reload with --exit-on-reload")
            return
        if self.config.log_reopen and self.log_master is not None:
            self.log_master.reopen()
        gen_log.info("%s", line)
        if not self._reload_app():
            return
        for proc in self.children:
            if proc.pid and proc.spec is not None and proc.spec.reload_signal:
                self._signal(proc, proc.spec.reload_signal)
        for hook in self._reload_hooks:
            try:
                hook()
            except Exception:
                gen_log.exception("error in a reload hook of the master")
        if self.suspended:  # uWSGI's reload (a new master) starts unpaused
            self.suspended = False
            self.board.set_suspended(False)
            if self.subsystems is not None:
                self.subsystems.router.suspended = False
        self._replace_all()
        self._restart_children()
        gen_log.info("gracefully (RE)spawned uWSGI master process (pid: %d)", self.pid)

    def _restart_children(self) -> None:
        """Extra children that asked for it (the spoolers) run the reloaded code: stopped now,
        spawned again (forked from this master, which has the new app) when reaped."""
        self.restart_children([proc.spec for proc in self.children if proc.spec is not None and proc.spec.reload])

    def restart_children(self, specs: List[ChildSpec]) -> None:
        """Stop the running children of ``specs`` (SIGTERM) and spawn each again once reaped."""
        for proc in self.children:
            if proc.spec is not None and proc.spec in specs and proc.pid and not proc.restarting:
                proc.restarting = True
                self._kill(proc.pid, signal.SIGTERM)

    def brutal_reload(self) -> None:
        """``--fs-brutal-reload``: a reload whose old workers are killed (SIGKILL) at once
        instead of finishing their requests."""
        if not self._may_reload("brutal reload"):
            return
        self.reload(line="...brutally killing workers...")
        self._kill_retiring()

    def _kill_retiring(self) -> None:
        """SIGKILL the workers a reload has just replaced (a brutal reload's second half)."""
        for proc in list(self.retiring):
            if proc.pid:
                gen_log.info("brutally killing worker %d (pid: %d)...", proc.ident, proc.pid)
                self._kill(proc.pid, signal.SIGKILL)

    def on_touch(self, path: str, action: Callable[[], None], what: str) -> None:
        """Run ``action()`` whenever ``path``'s modification time changes (checked once a
        second, as ``--touch-reload``), logging ``*** PATH has been touched... WHAT ***``."""
        self._touch_actions[path] = (_mtime(path), action, what)

    def reload_workers(self) -> None:
        """``--touch-workers-reload``: replace every worker gracefully, without loading the
        app again in the master (so new code only with ``--lazy-apps``, as in uWSGI)."""
        if not self._may_reload("workers reload"):
            return
        self._replace_all()  # each worker's "Gracefully killing worker N" only, as uWSGI

    def brutal_reload_workers(self) -> None:
        """The master FIFO's ``W``: every worker replaced at once, the old ones killed (SIGKILL)
        with their requests in flight; the app is not loaded again in the master."""
        if not self._may_reload("brutal workers reload"):
            return
        self._replace_all()
        self._kill_retiring()

    def _replace_all(self) -> None:
        self.generation += 1
        mono = time.monotonic()
        for wid in sorted(self.workers):
            self._replace_worker(wid, mono)

    def chain_reload(self, announce: bool = True) -> None:
        """uWSGI's chain reload: one worker at a time is replaced, the next only once the new
        one serves (with ``--lazy-apps`` each loads the new code itself), so all but one
        worker keep serving throughout."""
        if not self._may_reload("chain reload"):
            return
        if not self._reload_app():
            return
        self.generation += 1
        self._chain = sorted(self.workers)
        if announce:
            gen_log.info("chain reload starting...")
        self._chain_next()

    def _touched_chain_reload(self) -> None:
        """``--touch-chain-reload``: after uWSGI's ``touched... chain reload !!!`` line, the
        chain without the ``starting`` line (uWSGI logs that one for the FIFO's ``c`` only)."""
        self.chain_reload(announce=False)

    def _chain_next(self) -> None:
        self._chain_waiting = 0
        while self._chain:
            wid = self._chain.pop(0)
            if wid not in self.workers or self.workers[wid].generation == self.generation:
                continue  # gone, or already replaced (respawned meanwhile)
            if self.workers[wid].cheaped:
                self._replace_worker(wid, time.monotonic())  # no process to wait for
                continue
            gen_log.info("chain next victim is worker %d", wid)
            self._chain_waiting = wid
            self._replace_worker(wid, time.monotonic())
            return
        gen_log.info("chain reloading complete")
        self._reload_over()

    def _may_reload(self, what: str) -> bool:
        if self.state != "running":
            return False
        if self.reloading():
            gen_log.warning("%s requested while the previous reload is still running: ignored", what)
            return False
        return True

    def _reload_app(self) -> bool:
        """Import the app again in the master (unless --lazy-apps); False if it no longer loads."""
        if self.app_loader is not None and self.app is not None:
            try:
                self.app = self.app_loader()
            except BaseException as e:  # an app that no longer imports keeps the old workers
                gen_log.error("reload aborted: the app failed to load again (%s); the running "
                              "workers keep serving", e)
                return False
        return True

    def _replace_worker(self, wid: int, mono: float) -> None:
        """Retire worker ``wid`` gracefully and spawn its successor of the current generation."""
        old = self.workers[wid]
        new = Proc("worker", wid, self.generation)
        new.fast_deaths = 0
        if old.pid:
            old.retiring = True
            old.cursed_at = int(time.time())
            old.kill_at = mono + self.mercy
            self.retiring.append(old)
            self._copy_counters(old, new)
            gen_log.info("Gracefully killing worker %d (pid: %d)...", wid, old.pid)
            self._kill(old.pid, signal.SIGHUP)
        self.workers[wid] = new
        if old.cheaped:
            self._cheap_slot(new)  # a cheaped id stays cheaped across a reload
        else:
            self._spawn(new)

    def _copy_counters(self, old: Proc, new: Proc) -> None:
        self.board.copy_counters(self.slot(old.ident, old.generation), self.slot(new.ident, new.generation))

    def _fifo_commands(self) -> Dict[str, Callable[[], None]]:
        """``--master-fifo``'s commands (:mod:`gateway.process.master_fifo`)."""

        def log_action(name: str) -> Callable[[], None]:
            def run() -> None:
                if self.log_master is None or self.log_master.path is None:
                    gen_log.warning("[master-fifo] %r needs --log-master and --logto", name)
                elif name == "l":
                    self.log_master.reopen()
                else:
                    self.log_master.rotate()
            return run

        def pidfiles() -> None:
            """``P``: each pidfile written again, with uWSGI's line, in its order."""
            from gateway.process.pidfile import write_pidfiles

            for name in ("pidfile", "pidfile2", "safe-pidfile", "safe-pidfile2"):
                if self.config.get(name):
                    gen_log.info("writing pidfile to %s", self.config.get(name))
                    if write_pidfiles(self.config, (name,)):
                        gen_log.warning("could not write pidfile.")  # uWSGI's

        return {
            "r": self.reload,
            "R": self.brutal_reload,
            "w": self.reload_workers,
            "W": self.brutal_reload_workers,
            "c": self.chain_reload,
            "q": lambda: self.shutdown(graceful=True, why="master FIFO 'q'",
                                       line="graceful shutdown triggered..."),
            "Q": lambda: self.shutdown(graceful=False, why="master FIFO 'Q'",
                                       line="SIGINT/SIGTERM received...killing workers..."),
            "s": self.handle_sigusr1,
            "l": log_action("l"),
            "L": log_action("L"),
            "P": pidfiles,
            "+": self.cheaper_more,
            "-": self.cheaper_less,
            "p": self.suspend_resume,
            "C": self.go_cheap,
            "S": self.toggle_subscriptions,
            "B": self.ask_for_reinforcements,
            "E": lambda: None,  # uWSGI's rescan of the Emperor its master runs: never one here
        }

    # -- stats -----------------------------------------------------------------------------------------

    def _start_stats(self) -> None:
        addr = self.config.stats
        if not addr:
            return
        from gateway.stats import StatsServer

        self.stats_server = StatsServer(self, addr, http=bool(self.config.stats_http),
                                        minified=bool(self.config.stats_minified),
                                        timeout=float(self.config.socket_timeout or 4))
        if self.config.vacuum and self.stats_server.sock.family == socket.AF_UNIX and not addr.startswith("@"):
            from gateway.process import vacuum

            vacuum.add_stats_socket(addr)


def listen_backlog(sockets: List[socket.socket]) -> int:
    """Connections waiting in the listen queues of the TCP sockets (Linux ``TCP_INFO``: for a
    listening socket ``tcpi_unacked`` is the accept queue's length); UNIX sockets count 0."""
    total = 0
    for sock in sockets:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            info = sock.getsockopt(socket.IPPROTO_TCP, getattr(socket, "TCP_INFO", 11), 104)
        except OSError:
            continue
        if len(info) >= 28:
            total += int.from_bytes(info[24:28], sys.byteorder)
    return total


def _statm(pid: int) -> Tuple[int, int]:
    """(address space, resident set) of ``pid`` in bytes; (0, 0) once it is gone."""
    try:
        with open("/proc/%d/statm" % pid, "rb") as f:
            size, resident = f.read().split()[:2]
    except (OSError, ValueError):
        return 0, 0
    page = os.sysconf("SC_PAGE_SIZE")
    return int(size) * page, int(resident) * page


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0


def stopping_status() -> int:
    return ST_STOPPING


__all__ = ["ChildSpec", "Master", "master_hooks", "W_STATUS"]

