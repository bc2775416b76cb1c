"""The Emperor process: scans the vassal files, starts and governs one vassal per file.

A small ``selectors`` loop, as the master's (no IOLoop, no thread).  What it watches:

* the signal pipe: SIGTERM/SIGINT/SIGQUIT stop every vassal (uWSGI's "RAGNAROK"), SIGHUP
  reloads them all, SIGUSR1 logs their state, SIGURG empties the blacklist, SIGCHLD reaps;
* one socketpair per vassal (:mod:`~gateway.emperor.protocol`): the vassal says it is
  spawned, accepting, loyal; the Emperor tells it to reload or stop;
* the ``--emperor-stats`` listener;
* a clock: the scan every ``--emperor-freq`` seconds (sooner after a death, so a respawn
  waits only for its throttle), the ``--emperor-curse-tolerance`` deadline of a vassal asked to
  stop, the ``--emperor-required-heartbeat`` silence of a vassal that sends heartbeats
  (:mod:`~gateway.emperor.heartbeat`), and uWSGI's 30 s mercy at shutdown.

Each vassal is ``python -m gateway --ini FILE`` (the flag chosen by the extension), started in
the vassal directory (a glob's vassals in the Emperor's directory) with stdin on ``/dev/null``,
the Emperor's stdout/stderr, and ``UWSGI_EMPEROR_FD`` naming its end of the socketpair.
Lines follow uWSGI's ``core/emperor.c`` wording (``[emperor] vassal app.ini has been spawned``,
``[emperor] reload the uwsgi instance app.ini``...).
"""

from __future__ import annotations

import errno
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from gateway import UWSGI_COMPAT_VERSION
from gateway.emperor import protocol
from gateway.emperor.heartbeat import Beats
from gateway.emperor.monitor import Found, Known, Source, decide, scan, vassal_args, vassal_environ
from gateway.emperor.throttle import Blacklist
from gateway.logs import gen_log
from gateway.process.signals import SignalQueue, describe_status, reaped
from gateway.process.worker_exec import keep_safe_fds
from gateway.self_command import self_command, without_cwd_on_path

#: Seconds between two looks at the clock-driven work (curse deadlines, timers).
TICK = 0.25
#: uWSGI's mercy for the vassals at the Emperor's shutdown when --reload-mercy is not given.
DEFAULT_MERCY = 30
#: Bytes read from a vassal's channel per wake-up (each message is one byte).
MAX_READ = 64
EMPEROR_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGCHLD,
                   signal.SIGUSR1, signal.SIGURG)


class EmperorError(Exception):
    """A bad ``--emperor*`` setting, reported by the CLI as one line."""


class Vassal:
    """One governed instance (uWSGI's ``struct uwsgi_instance``)."""

    def __init__(self, found: Found) -> None:
        self.found = found
        self.name = found.name
        self.key = found.key
        self.last_mod = found.mtime
        self.uid = found.uid
        self.gid = found.gid
        self.pid = 0
        self.popen: Optional[subprocess.Popen] = None
        self.sock: Optional[socket.socket] = None
        self.stopping = False          # uWSGI's status 1: stopped or cursed, not respawned
        self.stop_asked = False        # stopped by the Emperor (not a vassal that went away)
        self.cursed_at = 0.0
        self.loyal = self.ready = self.accepting = False
        self.born = int(found.mtime)
        self.first_run = self.last_run = int(time.time())
        self.last_loyal = self.last_ready = self.last_accepting = 0
        self.last_heartbeat = 0        # wall-clock second of the last heartbeat (the stats' field)
        self.respawns = 0

    def known(self) -> Known:
        return Known(self.found.source, self.last_mod, self.uid, self.gid, self.stopping)


class Emperor:
    """Governs the vassals of ``config.emperor``; :meth:`run` returns the exit status.

    ``link``: the channel to a parent Emperor when this one is itself a vassal (uWSGI's
    sub-Emperor), from :func:`gateway.emperor.vassal.from_environ`.
    """

    def __init__(self, config: Any, *, link: Any = None, python: str = sys.executable) -> None:
        self.config = config
        self.link = link
        self.python = python
        cwd = os.getcwd()
        try:
            self.sources = [Source.parse(raw, cwd) for raw in config.emperor]
        except ValueError as e:
            raise EmperorError(str(e)) from None
        self.freq = int(config.emperor_freq)
        self.tyrant = bool(config.emperor_tyrant)
        if self.tyrant and os.geteuid() != 0:
            raise EmperorError("--emperor-tyrant needs the Emperor to run as root")
        self.blacklist = Blacklist(int(config.emperor_throttle), int(config.emperor_max_throttle))
        self.no_blacklist = bool(config.emperor_no_blacklist)
        self.curse_tolerance = float(config.emperor_curse_tolerance)
        self.beats = Beats(float(config.emperor_required_heartbeat))
        self.mercy = float(config.reload_mercy or DEFAULT_MERCY)
        # templates given relative to the Emperor's directory (vassals start elsewhere)
        self.templates = {name: [_absolute_spec(v, cwd) for v in config.get(name)]
                          for name in ("vassals-inherit", "vassals-include", "vassals-inherit-before",
                                       "vassals-include-before")}
        wrapper = config.emperor_wrapper
        #: --emperor-wrapper: a path is taken from the Emperor's directory, a bare name from PATH
        self.wrapper = os.path.join(cwd, wrapper) if wrapper and "/" in wrapper else wrapper
        self.vassals: Dict[str, Vassal] = {}
        self.by_pid: Dict[int, Vassal] = {}
        self.sel = selectors.DefaultSelector()
        self.signals = SignalQueue(EMPEROR_SIGNALS)
        self.next_scan = 0.0
        self.ragnarok_at = 0.0
        self.no_mercy_sent = False
        self._timers: List[Tuple[float, Callable[[], None]]] = []
        self.stats: Any = None
        if config.emperor_stats:
            from gateway.server.listeners import ListenError

            try:
                self.stats = EmperorStats(self, config.emperor_stats, http=bool(config.stats_http),
                                          timeout=float(config.socket_timeout or 4))
            except ListenError as e:
                raise EmperorError("--emperor-stats %s: %s" % (config.emperor_stats, str(e).rsplit(": ", 1)[-1])) \
                    from None

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        self.signals.install()
        self.sel.register(self.signals.fd, selectors.EVENT_READ, ("signals", None))
        if self.config.emperor_procname:
            from gateway.process.procname import set_process_title

            set_process_title(str(self.config.emperor_procname))
        if self.config.emperor_pidfile:
            from gateway.process.pidfile import write_pidfile

            try:
                write_pidfile(self.config.emperor_pidfile, vacuum=bool(self.config.vacuum),
                              name="emperor-pidfile")
            except OSError as e:
                raise EmperorError("--emperor-pidfile %s: %s" % (self.config.emperor_pidfile, e.strerror or e)) \
                    from None
        gen_log.info("*** starting uWSGI %s ***", "sub-Emperor" if self.link is not None else "Emperor")
        if self.stats is not None:
            self.stats.attach(self.sel)
            gen_log.info("*** Emperor stats server enabled on %s fd: %d ***", self.stats.address,
                         self.stats.sock.fileno())
        if self.link is not None:
            self.link.attach_emperor(self)
        extra = " stats=" + self.stats.address if self.stats is not None else ""
        sys.stderr.write("gateway ready: pid=%d emperor=%s%s\n"
                         % (os.getpid(), ",".join(s.arg for s in self.sources), extra))
        sys.stderr.flush()
        while True:
            now = time.monotonic()
            wake = [now + TICK]
            if not self.ragnarok_at:
                wake.append(self.next_scan)
            timeout = max(0.0, min(wake) - now)
            for key, _ in self.sel.select(timeout):
                kind, obj = key.data
                if kind == "signals":
                    for sig in self.signals.drain():
                        self._dispatch_signal(sig)
                elif kind == "vassal":
                    self._read_vassal(obj)
                elif kind == "reader":
                    obj()
            self._reap()
            self._run_timers()
            if self.ragnarok_at:
                if not self.vassals:
                    break
                self._no_mercy()
                continue
            if time.monotonic() >= self.next_scan:
                self.scan()
            self._check_curses()
            self._check_heartbeats()
        if self.stats is not None:
            self.stats.close()
        gen_log.info("The Emperor is buried.")
        return 0

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback()`` in the loop after ``delay`` seconds (tick precision)."""
        self._timers.append((time.monotonic() + delay, callback))

    def _run_timers(self) -> None:
        if not self._timers:
            return
        mono = time.monotonic()
        due = [t for t in self._timers if t[0] <= mono]
        if due:
            self._timers = [t for t in self._timers if t[0] > mono]
            for _, callback in due:
                callback()

    # -- scanning -----------------------------------------------------------------------------

    def scan(self) -> None:
        """One pass over every source: start, reload and stop as :func:`decide` says."""
        mono = time.monotonic()
        self.next_scan = mono + self.freq
        found: List[Found] = []
        for source in self.sources:
            found.extend(scan(source, nofollow=bool(self.config.emperor_nofollow), tyrant=self.tyrant))
        known = {key: v.known() for key, v in self.vassals.items()}
        for action, a, b in decide(known, found, self.sources, tyrant=self.tyrant):
            if action == "start":
                assert isinstance(a, Found)
                self._start(a)
            elif action == "reload":
                assert isinstance(a, str) and isinstance(b, Found)
                self.respawn(self.vassals[a], b.mtime)
            elif action == "stop":
                assert isinstance(a, str)
                vassal = self.vassals[a]
                if b == "permissions":
                    gen_log.warning("!!! permissions of file %s changed. stopping the instance... !!!", vassal.name)
                self.stop(vassal)
        release = self.blacklist.next_release(time.time())
        if release is not None:  # a throttled vassal starts when its delay is over, not at the next scan
            self.next_scan = min(self.next_scan, mono + (release - time.time()) + 0.01)

    def _start(self, found: Found) -> None:
        now = time.time()
        if not self.no_blacklist and self.blacklist.wait(found.key, now) > 0:
            return  # throttled: a later scan starts it
        if self.tyrant and (found.uid == 0 or found.gid == 0):
            gen_log.warning("[emperor-tyrant] invalid permissions for vassal %s", found.name)
            return
        if self.tyrant and found.foreign_link:
            gen_log.warning("[emperor-tyrant] a symlink on the path of vassal %s is not owned by %d %d "
                            "(the file's owner) nor root: not started", found.name, found.uid, found.gid)
            return
        vassal = Vassal(found)
        if self._spawn(vassal):
            self.vassals[vassal.key] = vassal

    def _spawn(self, vassal: Vassal) -> bool:
        cfg = self.config
        emperor_end, vassal_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        args = vassal_args(vassal.name, inherit_before=self.templates["vassals-inherit-before"],
                           include_before=self.templates["vassals-include-before"], sets=list(cfg.vassal_set),
                           inherit=self.templates["vassals-inherit"], include=self.templates["vassals-include"])
        kwargs: Dict[str, Any] = {}
        if self.tyrant:
            gen_log.info("[emperor-tyrant] dropping privileges to %d %d for instance %s",
                         vassal.uid, vassal.gid, vassal.name)
            kwargs.update(user=vassal.uid, group=vassal.gid, extra_groups=[])
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            # never the vassal directory on sys.path: its files are not the server's code
            command = [self.wrapper] if self.wrapper else self_command(self.python)
            popen = subprocess.Popen(
                command + args, cwd=vassal.found.cwd,
                env=without_cwd_on_path(vassal_environ(os.environ, vassal_end.fileno())), stdin=subprocess.DEVNULL,
                pass_fds=(vassal_end.fileno(), *keep_safe_fds(cfg.safe_fd)), **kwargs)
        except (OSError, subprocess.SubprocessError) as e:
            gen_log.error("[emperor] unable to spawn vassal %s: %s", vassal.name, e)
            emperor_end.close()
            vassal_end.close()
            self._died_unloyal(vassal)
            return False
        vassal_end.close()
        emperor_end.setblocking(False)
        vassal.popen = popen
        vassal.pid = popen.pid
        vassal.sock = emperor_end
        vassal.last_run = int(time.time())
        vassal.ready = vassal.accepting = False
        self.by_pid[popen.pid] = vassal
        self.sel.register(emperor_end, selectors.EVENT_READ, ("vassal", vassal))
        return True

    # -- commands to vassals (uWSGI's emperor_stop / emperor_respawn / emperor_curse) --------------

    def _send(self, vassal: Vassal, byte: int) -> bool:
        if vassal.sock is None:
            return False
        try:
            return vassal.sock.send(bytes((byte,))) == 1
        except OSError:
            return False

    def stop(self, vassal: Vassal) -> None:
        """Ask ``vassal`` to stop gracefully (SIGTERM if its channel is gone); SIGKILL after
        ``--emperor-curse-tolerance`` seconds."""
        if vassal.stopping:
            return
        if vassal.pid and not self._send(vassal, protocol.GRACEFUL_STOP):
            _kill(vassal.pid, signal.SIGTERM)
        vassal.stopping = vassal.stop_asked = True
        vassal.cursed_at = time.monotonic()
        gen_log.info("[emperor] stop the uwsgi instance %s", vassal.name)

    def respawn(self, vassal: Vassal, mtime: float) -> None:
        """Reload ``vassal`` because its file changed (in place, or a binary reload when its
        configuration changed: the vassal decides, :mod:`gateway.emperor.reexec`)."""
        if vassal.stopping:
            return
        if not self._send(vassal, protocol.RELOAD):
            # the vassal is probably dying already: curse it
            self.curse(vassal)
            return
        vassal.respawns += 1
        vassal.last_mod = mtime
        self.beats.forget(vassal.key)  # a reloaded vassal may have dropped --heartbeat: re-armed by its next beat
        vassal.last_run = int(time.time())
        # unlike uWSGI's re-exec, the master stays and its old workers serve until the new
        # ones do: the vassal stays ready and accepting
        gen_log.info("[emperor] reload the uwsgi instance %s", vassal.name)

    def curse(self, vassal: Vassal) -> None:
        if vassal.stopping:
            return
        vassal.stopping = True
        vassal.cursed_at = time.monotonic()
        gen_log.info("[emperor] curse the uwsgi instance %s (pid: %d)", vassal.name, vassal.pid)

    def _check_curses(self) -> None:
        mono = time.monotonic()
        for vassal in list(self.vassals.values()):
            if vassal.cursed_at and vassal.pid and mono - vassal.cursed_at >= self.curse_tolerance:
                vassal.cursed_at = mono
                gen_log.warning("[emperor] vassal %s (pid: %d) did not stop in %ds: killing it",
                                vassal.name, vassal.pid, int(self.curse_tolerance))
                _kill(vassal.pid, signal.SIGKILL)

    def _check_heartbeats(self) -> None:
        """Kill the vassals whose heartbeats stopped (uWSGI's "brutally respawning it"): their
        death is then handled as any other.  A vassal being stopped is left to the curse."""
        for key in self.beats.overdue(time.monotonic()):
            vassal = self.vassals.get(key)
            if vassal is None or not vassal.pid or vassal.stopping:
                continue
            gen_log.warning("[emperor] vassal %s sent no heartbeat in last %d seconds, brutally respawning it...",
                            vassal.name, int(self.beats.tolerance))
            _kill(vassal.pid, signal.SIGKILL)

    # -- the channel --------------------------------------------------------------------------------

    def _read_vassal(self, vassal: Vassal) -> None:
        sock = vassal.sock
        if sock is None:
            return
        try:
            data = sock.recv(MAX_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_channel(vassal)
            if self.vassals.get(vassal.key) is vassal:
                self.curse(vassal)  # its master closed the channel: it is going away
            return
        for byte in data:
            self._on_message(vassal, byte)

    def _on_message(self, vassal: Vassal, byte: int) -> None:
        now = int(time.time())
        if byte == protocol.LOYAL:
            vassal.loyal = True
            vassal.last_loyal = now
            gen_log.info("[emperor] vassal %s is now loyal", vassal.name)
            self.blacklist.loyal(vassal.key)
        elif byte == protocol.ACCEPTING:
            vassal.accepting = True
            vassal.last_accepting = now
            gen_log.info("[emperor] vassal %s is ready to accept requests", vassal.name)
        elif byte == protocol.READY:
            vassal.ready = True
            vassal.last_ready = now
            gen_log.info("[emperor] vassal %s has been spawned", vassal.name)
        elif byte == protocol.STOP_ME:
            self.stop(vassal)
        elif byte == protocol.HEARTBEAT:
            vassal.last_heartbeat = now
            if not vassal.stopping:
                self.beats.beat(vassal.key, time.monotonic())
        elif byte == protocol.SOS:
            pass  # a vassal's call for reinforcements: only a broodlord Emperor answers, as uWSGI's
        else:
            gen_log.warning("[emperor] unknown message %d from vassal %s", byte, vassal.name)

    def _close_channel(self, vassal: Vassal) -> None:
        if vassal.sock is not None:
            try:
                self.sel.unregister(vassal.sock)
            except (KeyError, ValueError):
                pass
            vassal.sock.close()
            vassal.sock = None

    # -- deaths ---------------------------------------------------------------------------------------

    def _reap(self) -> None:
        for pid, status in reaped():
            vassal = self.by_pid.pop(pid, None)
            if vassal is None:
                continue
            vassal.pid = 0  # reaped: never signal that pid again (the kernel may reuse it)
            # A signal that came after this turn's select() decides first: Ctrl-C sends SIGINT to
            # the whole group, and a vassal that exits before our next turn must not be respawned.
            for sig in self.signals.drain():
                self._dispatch_signal(sig)
            if vassal.popen is not None:
                vassal.popen.returncode = status  # reaped here: Popen must never wait for it
            self._on_death(vassal, pid, status)

    def _on_death(self, vassal: Vassal, pid: int, status: int) -> None:
        self._close_channel(vassal)
        if self.vassals.get(vassal.key) is vassal:
            self.beats.forget(vassal.key)
        if not vassal.stop_asked:
            gen_log.warning("[emperor] vassal %s (pid: %d) died, %s", vassal.name, pid, describe_status(status))
        if self.vassals.get(vassal.key) is vassal:
            del self.vassals[vassal.key]
        gen_log.info("[emperor] removed uwsgi instance %s", vassal.name)
        if not vassal.loyal and not vassal.stop_asked:  # a stop asked for is no misbehaviour
            self._died_unloyal(vassal)
        if not self.ragnarok_at:
            self.next_scan = time.monotonic()  # respawn (file still there) as soon as allowed

    def _died_unloyal(self, vassal: Vassal) -> None:
        if self.no_blacklist:
            return
        for line in self.blacklist.died_unloyal(vassal.key, vassal.name, time.time()):
            gen_log.warning("%s", line)

    # -- signals ---------------------------------------------------------------------------------------

    def _dispatch_signal(self, sig: int) -> None:
        if sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            self.ragnarok()
        elif sig == signal.SIGHUP:
            self.reload_all()
        elif sig == signal.SIGUSR1:
            for v in self.vassals.values():
                gen_log.info("vassal instance %s (last modified %d) status %d loyal %d zerg 0",
                             v.name, int(v.last_mod), int(v.stopping), int(v.loyal))
        elif sig == signal.SIGURG:
            gen_log.info("[emperor] cleaning up blacklist ...")
            self.blacklist.clear()

    def ragnarok(self) -> None:
        """Stop every vassal; after the mercy (``--reload-mercy``, default 30 s) kill them."""
        if self.ragnarok_at:
            left = max(0, int(self.ragnarok_at + self.mercy - time.monotonic()))
            gen_log.warning("[emperor] *** RAGNAROK ALREADY EVOKED (mercyless in %d seconds)***", left)
            return
        gen_log.info("[emperor] *** RAGNAROK EVOKED ***")
        self.ragnarok_at = time.monotonic()
        for vassal in list(self.vassals.values()):
            self.stop(vassal)

    def _no_mercy(self) -> None:
        if self.no_mercy_sent or time.monotonic() - self.ragnarok_at < self.mercy:
            return
        self.no_mercy_sent = True
        for vassal in list(self.vassals.values()):
            gen_log.warning("[emperor] NO MERCY for vassal %s !!!", vassal.name)
            if vassal.pid:
                _kill(vassal.pid, signal.SIGKILL)
            else:
                del self.vassals[vassal.key]

    def reload_all(self) -> None:
        """SIGHUP: reload every vassal (uWSGI's ``emperor_massive_reload``)."""
        for vassal in list(self.vassals.values()):
            self.respawn(vassal, vassal.last_mod)

    # -- stats ---------------------------------------------------------------------------------------------

    def document(self) -> Dict[str, Any]:
        """The ``--emperor-stats`` document, in uWSGI 2.0's shape (its keys, in its order; not
        the later ``suspended``/``adopted``/``attrs``, which 2.0 does not have)."""
        vassals = []
        for v in self.vassals.values():
            vassals.append({
                "id": v.name, "pid": v.pid or -1, "born": v.born, "last_mod": int(v.last_mod),
                "last_heartbeat": v.last_heartbeat, "loyal": int(v.loyal), "ready": int(v.ready),
                "accepting": int(v.accepting), "last_loyal": v.last_loyal, "last_ready": v.last_ready,
                "last_accepting": v.last_accepting, "first_run": v.first_run, "last_run": v.last_run,
                "cursed": int(v.cursed_at > 0), "zerg": 0, "on_demand": "",
                "uid": v.uid, "gid": v.gid, "monitor": v.found.source.arg, "respawns": v.respawns,
            })
        blacklist = [{"id": e.id, "throttle_level": int(e.throttle * 1000), "attempt": e.attempt,
                      "first_attempt": int(e.first_attempt), "last_attempt": int(e.last_attempt)}
                     for e in self.blacklist.entries.values()]
        return {
            "version": UWSGI_COMPAT_VERSION, "pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid(),
            "cwd": os.getcwd(), "emperor": [s.arg for s in self.sources], "emperor_tyrant": int(self.tyrant),
            # uWSGI's global fork-rate throttle, which gateway has not ("zero for now" in 2.0 too)
            "throttle_level": 0, "vassals": vassals, "blacklist": blacklist,
        }


def _absolute_spec(spec: str, cwd: str) -> str:
    """A template ``FILE[:SECTION]`` with FILE made absolute (vassals start in their directory)."""
    path, section = spec, ""
    if ":" in spec and not os.path.exists(os.path.join(cwd, spec)):
        path, _, section = spec.rpartition(":")
    return os.path.join(cwd, path) + (":" + section if section else "")


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except OSError as e:
        if e.errno != errno.ESRCH:
            gen_log.warning("kill(%d, %d): %s", pid, sig, e)


class EmperorStats:
    """``--emperor-stats ADDR``: one JSON document per connection, as the master's stats
    server (:class:`gateway.stats.StatsServer`, whose non-blocking plumbing it reuses)."""

    def __init__(self, emperor: Emperor, address: str, *, http: bool = False, timeout: float = 4.0) -> None:
        from gateway.stats import StatsServer

        class _Server(StatsServer):
            def __init__(self) -> None:  # binds, without the master's log lines
                self.master = emperor  # type: ignore[assignment]
                self.spec = address
                self.http = http
                self.minified = False
                self.timeout = timeout
                self.sel = None
                self.sock = self._bind(address)
                self._pending = {}

            def render(self) -> bytes:
                return json.dumps(emperor.document(), indent=1).encode()

        self.server = _Server()

    @property
    def sock(self) -> socket.socket:
        return self.server.sock

    @property
    def address(self) -> str:
        return self.server.address

    def attach(self, sel: selectors.BaseSelector) -> None:
        self.server.attach(sel)

    def close(self) -> None:
        self.server.close()
