"""uWSGI mules and farms: extra processes for background work, fed by messages and signals.

``--mules N`` / ``--mule[=SCRIPT]`` / ``--farm NAME:1,2`` / ``--mule-msg-size``.  The CLI
calls :func:`attach` in the master before the app is loaded and before any fork:

* it creates the queues (:mod:`gateway.mules.queues`), so every worker and every mule
  inherits them, and a respawned mule finds the messages queued while it was away;
* it adds one :class:`~gateway.process.master.ChildSpec` per mule, ``uWSGI mule N``:
  the master forks them after the workers (so they share the app the master loaded,
  as uWSGI without ``--lazy-apps``), respawns one that dies (with the master's
  back-off), stops them at shutdown and replaces them at a reload (SIGHUP);
* it teaches the master's signal router the mule targets (``mule``, ``mules``,
  ``muleN``, ``farm_NAME``, ``farmN``) and reads the signals a mule raises.

What a mule runs is :mod:`gateway.mules.process`; the ``uwsgi`` functions are in
:mod:`gateway.mules.api`; the pure rules (farm specs, target resolution) in
:mod:`gateway.mules.spec`.
"""

from __future__ import annotations

import functools
import mmap
import os
import signal
import socket
import struct
import time
from typing import Any, List, Optional, Set

from gateway.config.model import Config
from gateway.logs import gen_log
from gateway.mules.queues import Queues
from gateway.mules.spec import FarmSpec, FarmSpecError, message_queue, mule_scripts, parse_farms, signal_queues

#: a mule's harakiri slot: deadline (time.time()), signal
_DEADLINE = struct.Struct("dq")

#: The MuleSet of this instance (set in the master by attach(); inherited by every child).
current: Optional["MuleSet"] = None


class MuleConfigError(ValueError):
    """A ``--farm`` that names a mule that does not exist (the CLI prints it and exits)."""


def configured(cfg: Config) -> bool:
    """True when the configuration asks for at least one mule."""
    return bool(cfg.mules or cfg.mule)


class MuleSet:
    """The mules of an instance: what each runs, the farms, and the queues."""

    def __init__(self, scripts: List[str], farms: List[FarmSpec], msg_size: int, *,
                 harakiri: int = 0, recv_size: int = 65536) -> None:
        self.scripts = scripts
        self.count = len(scripts)
        self.farms = farms
        self.farm_names = [f.name for f in farms]
        self.msg_size = msg_size
        #: --mule-msg-recv-size: what the message loop reads of each message
        self.recv_size = recv_size
        self.queues = Queues(self.count, len(farms), msg_size)
        #: --mule-harakiri: seconds a signal handler may run in a mule (0: no limit)
        self.harakiri = harakiri
        #: per mule: the wall-clock deadline of the signal handler it runs (0: none) and the
        #: signal, in memory shared with the master (mule N at offset (N - 1) * 16)
        self._deadlines = mmap.mmap(-1, max(self.count, 1) * _DEADLINE.size)

    def arm_harakiri(self, mid: int, sig: int) -> None:
        """In mule ``mid``, before a signal handler runs (uWSGI arms it around signal
        handlers only, not around messages)."""
        if self.harakiri > 0:
            _DEADLINE.pack_into(self._deadlines, (mid - 1) * _DEADLINE.size, time.time() + self.harakiri, sig)

    def disarm_harakiri(self, mid: int) -> None:
        """In mule ``mid`` after its signal handler returned, and when a mule starts."""
        _DEADLINE.pack_into(self._deadlines, (mid - 1) * _DEADLINE.size, 0.0, 0)

    def harakiri_due(self, mid: int, now: float) -> int:
        """In the master: the signal whose handler mule ``mid`` runs past its deadline, or -1."""
        deadline, sig = _DEADLINE.unpack_from(self._deadlines, (mid - 1) * _DEADLINE.size)
        return sig if deadline and now > deadline else -1

    @classmethod
    def from_config(cls, cfg: Config) -> "MuleSet":
        scripts = mule_scripts([(e.key, e.value) for e in cfg.sources])
        if not scripts:  # a Config built without its sources (embedders, tests)
            scripts = [v.strip() for v in cfg.mule] + [""] * int(cfg.mules or 0)
        try:
            farms = parse_farms(list(cfg.farm), len(scripts))
        except FarmSpecError as e:
            raise MuleConfigError("--farm: %s" % e) from None
        return cls(scripts, farms, int(cfg.mule_msg_size or 65536), harakiri=int(cfg.mule_harakiri or 0),
                   recv_size=int(cfg.mule_msg_recv_size or 65536))

    def farms_of(self, mid: int) -> List[int]:
        """Indexes of the farms mule ``mid`` belongs to."""
        return [i for i, f in enumerate(self.farms) if mid in f.mules]

    # -- sending (any process) ---------------------------------------------------------

    def send(self, data: bytes, target: Any = None) -> bool:
        """Queue ``data`` for ``target`` (see :func:`~gateway.mules.spec.message_queue`);
        False when that queue is full.  Never blocks."""
        key = message_queue(target, self.count, self.farm_names)
        if len(data) > self.msg_size:
            raise ValueError("mule message of %d bytes is bigger than --mule-msg-size (%d)"
                             % (len(data), self.msg_size))
        return self.queues.messages[key].put(data)

    # -- signals (master side) -----------------------------------------------------------

    def route_signal(self, target: str, sig: int) -> Optional[int]:
        """For :class:`~gateway.usignals.router.SignalRouter`: deliver ``sig`` to the mule
        queues of ``target``; how many got it, or None when ``target`` is no mule target."""
        try:
            keys = signal_queues(target, self.count, self.farm_names)
        except ValueError as e:
            gen_log.warning("%s", e)
            return 0
        if keys is None:
            return None
        sent = 0
        for key in keys:
            try:
                self.queues.signals[key].send_end.send(bytes((sig,)), socket.MSG_DONTWAIT)
                sent += 1
            except OSError:
                what = "a mule" if key[0] == "shared" else ("mule %d" % key[1] if key[0] == "mule"
                                                             else "farm %s" % self.farm_names[key[1]])
                gen_log.warning("could not deliver signal %d to %s", sig, what)
        return sent

    def on_raised(self, mid: int) -> None:
        """In the master: mule ``mid`` raised signals (``uwsgi.signal(n)``): route them."""
        from gateway import subsystems

        sock = self.queues.signals[("mule", mid)].send_end
        while True:
            try:
                data = sock.recv(256, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            subs = subsystems.current
            for sig in data:
                if subs is not None:
                    subs.router.route(sig)


def _reloaded(master: Any, spec: Any, mid: int, reloading: Set[int], pid: int, status: int) -> bool:
    """A mule that ended because of a reload is respawned (with the reloaded app) at
    once and without the "DAMN !" line of a crash."""
    if mid not in reloading:
        return False
    reloading.discard(mid)
    master.call_later(0, lambda: master.start_child(spec))
    return True


class _MuleControl:
    """The master's side of the mules' lifecycle: ``--touch-mules-reload``,
    ``--mule-reload-mercy`` and ``--mule-harakiri``."""

    def __init__(self, master: Any, mules: MuleSet, mercy: float) -> None:
        self.master = master
        self.mules = mules
        self.mercy = mercy
        self.specs: List[Any] = []
        self.reloading: Set[int] = set()

    def cursed(self) -> None:
        """A reload signalled every mule (SIGHUP): each is respawned when it exits, and
        killed if it is still there after ``--mule-reload-mercy`` seconds."""
        for mid, spec in enumerate(self.specs, 1):
            self.reloading.add(mid)
            pid = self.master.child_pid(spec)
            if pid:
                self.master.call_later(self.mercy, functools.partial(self._no_mercy, spec, mid, pid))

    def reload(self) -> None:
        """``--touch-mules-reload``: SIGHUP to every mule (uWSGI's ``uwsgi_reload_mules``)."""
        for mid, spec in enumerate(self.specs, 1):
            if self.master.signal_child(spec, signal.SIGHUP):
                gen_log.info("reloading mule %d", mid)
        self.cursed()

    def _no_mercy(self, spec: Any, mid: int, pid: int) -> None:
        if self.master.child_pid(spec) == pid:  # not reaped yet: this very process
            gen_log.warning("mule %d (pid: %d) still running %gs after its reload: killing it",
                            mid, pid, self.mercy)
            _kill(pid)

    def check_harakiri(self) -> None:
        """Once a second in the master: a mule past its ``--mule-harakiri`` deadline dies."""
        now = time.time()
        for mid, spec in enumerate(self.specs, 1):
            sig = self.mules.harakiri_due(mid, now)
            pid = self.master.child_pid(spec)
            if sig >= 0 and pid:
                gen_log.error("*** HARAKIRI ON MULE %d HANDLING SIGNAL %d (pid: %d) ***", mid, sig, pid)
                self.mules.disarm_harakiri(mid)
                _kill(pid)
        self.master.call_later(1.0, self.check_harakiri)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


#: the master's control of the mules (set by attach; None without mules)
control: Optional[_MuleControl] = None


def attach(master: Any, cfg: Config) -> Optional[MuleSet]:
    """Create the mules of ``cfg`` as children of ``master`` (see the module docstring)."""
    global current, control
    if not configured(cfg):
        return None
    from gateway import subsystems
    from gateway.mules.process import run_mule
    from gateway.process.master import ChildSpec

    mules = MuleSet.from_config(cfg)
    current = mules
    subs = subsystems.current
    if subs is not None:
        subs.router.extra_targets.append(mules.route_signal)
    mercy = float(cfg.mule_reload_mercy if cfg.mule_reload_mercy is not None else 60)
    ctl = control = _MuleControl(master, mules, mercy)
    master.on_reload(ctl.cursed)
    for mid in range(1, mules.count + 1):
        # uWSGI's lines: a respawned mule says "spawned" again, a dead one "crippled" (whatever
        # its exit status; log parsers match them)
        spec = ChildSpec("uWSGI mule %d" % mid, functools.partial(run_mule, mules, mid, cfg, master.sockets, master.board),
                         reload_signal=signal.SIGHUP, stop_timeout=mercy,
                         spawn_line=functools.partial("spawned uWSGI mule {} (pid: {})".format, mid),
                         death_line="OOOPS mule %d (pid: %%(pid)d) crippled...trying respawn..." % mid)
        spec.on_death = functools.partial(_reloaded, master, spec, mid, ctl.reloading)
        ctl.specs.append(spec)
        master.add_child(spec)
        master.add_reader(mules.queues.signals[("mule", mid)].send_end, functools.partial(mules.on_raised, mid))
    if mules.harakiri > 0:
        master.call_later(1.0, ctl.check_harakiri)
    for i, farm in enumerate(mules.farms, 1):
        gen_log.info("created farm %d name: %s mules:%s", i, farm.name, ",".join(str(m) for m in farm.mules))
    return mules
