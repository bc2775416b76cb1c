"""External daemons the master runs beside the workers: uWSGI's ``--attach-daemon`` family.

Two kinds, as in uWSGI's ``core/daemons.c``:

* **plain** daemons (``--attach-daemon CMD``, ``--attach-control-daemon CMD``,
  ``--attach-daemon2 cmd=CMD,...`` without ``pidfile``) stay in the foreground: the master
  forks a child that runs ``/bin/sh -c CMD`` (the same :class:`~gateway.process.master.ChildSpec`
  mechanism as the HTTP routers), respawns it when it dies (with the workers' back-off) and
  stops it at shutdown with its stop signal, sent to its whole process group, then SIGKILL
  after ``--reload-mercy`` seconds (3 by default, as uWSGI);
* **smart** daemons (``--smart-attach-daemon PIDFILE CMD``, ``--smart-attach-daemon2``,
  ``--attach-daemon2 ...,pidfile=PIDFILE``) are watched through their pidfile: once a second
  the master reads it, and when the pid in it is gone the command is run again.  The
  command daemonizes itself (``--smart-attach-daemon``), or the master does it for the
  command and writes the pidfile (``--smart-attach-daemon2``, ``daemonize=1``).  A smart
  daemon outlives the instance unless ``notifypid=1`` (then it gets its stop signal),
  exactly as in uWSGI.

Every daemon runs with the master's user (after ``--uid``/``--gid``) unless ``uid=``/``gid=``
say otherwise, in a session of its own, with stdin on ``/dev/null`` (unless ``stdin=1`` or
``--daemons-honour-stdin``), with no file descriptor of the instance but 0, 1 and 2 (the
log: the instance's stderr, ``--logto`` or the ``--log-master`` pipe)::

    [uwsgi]
    master = true
    attach-daemon = memcached -p 11311 -u nobody
    smart-attach-daemon = /tmp/nginx.pid nginx -c /etc/nginx/site.conf
    attach-daemon2 = cmd=celery worker,stopsignal=2,touch=/tmp/restart-celery

The parsers (:func:`parse_keyval`, :func:`parse_smart`, :func:`parse_plain`) are pure and
raise :class:`DaemonConfigError` naming the key at fault; the option table calls them, so a
bad value is refused when the configuration loads.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from gateway.logs import gen_log

#: Seconds a plain daemon has to stop after its stop signal before SIGKILL (uWSGI's default
#: when --reload-mercy is not set).
STOP_TIMEOUT = 3.0
#: Seconds between two checks of the pidfiles and the touch files.
CHECK_INTERVAL = 1.0


class DaemonConfigError(ValueError):
    """A daemon's option value is wrong; the message names the key or the part at fault."""


@dataclass(frozen=True)
class DaemonSpec:
    """One daemon, as the options describe it (see :func:`parse_keyval` for the keys)."""

    command: str
    pidfile: Optional[str] = None
    daemonize: bool = False
    control: bool = False
    stop_signal: int = int(signal.SIGTERM)
    reload_signal: int = 0
    touch: Tuple[str, ...] = ()
    freq: int = 10
    uid: Optional[str] = None
    gid: Optional[str] = None
    honour_stdin: bool = False
    chdir: Optional[str] = None
    max_throttle: Optional[int] = None
    notifypid: bool = False

    @property
    def smart(self) -> bool:
        """Watched through its pidfile rather than as a child of the master."""
        return self.pidfile is not None


# -- parsing --------------------------------------------------------------------------------

_TRUE = ("", "1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")

#: attach-daemon2 keys: spelling -> DaemonSpec field (uWSGI's aliases included)
_KEYS: Dict[str, str] = {
    "command": "command", "cmd": "command", "exec": "command",
    "freq": "freq",
    "pidfile": "pidfile",
    "control": "control",
    "daemonize": "daemonize", "daemon": "daemonize",
    "touch": "touch",
    "stopsignal": "stop_signal", "stop_signal": "stop_signal",
    "reloadsignal": "reload_signal", "reload_signal": "reload_signal",
    "stdin": "honour_stdin",
    "uid": "uid",
    "gid": "gid",
    "chdir": "chdir",
    "max_throttle": "max_throttle",
    "notifypid": "notifypid",
}
#: keys uWSGI knows that gateway refuses, and why
_REFUSED = {
    "ns_pid": "PID namespaces (ns_pid) are not supported by gateway",
    "legion": "legions are not supported by gateway",
}


def split_keyval(text: str) -> List[Tuple[str, str]]:
    """``k=v,k2=v2`` -> ``[(k, v), (k2, v2)]``, uWSGI's ``kvlist`` syntax: a backslash makes
    the next character literal (``cmd=a\\,b`` is the command ``a,b``)."""
    items: List[List[str]] = [[]]
    escaped = False
    for ch in text:
        if escaped:
            items[-1].append("\\" + ch)  # kept escaped until the split at "="
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            items.append([])
        else:
            items[-1].append(ch)
    pairs = []
    for parts in items:
        if not parts:
            continue
        key, value, seen = [], [], False
        for tok in parts:
            if tok == "=" and not seen:
                seen = True
            elif seen:
                value.append(tok[-1])
            else:
                key.append(tok[-1])
        if not seen:
            raise DaemonConfigError("expected KEY=VALUE items separated by commas, got %r" % "".join(
                t[-1] for t in parts))
        pairs.append(("".join(key).strip(), "".join(value)))
    return pairs


def _flag(key: str, value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise DaemonConfigError("key '%s' expects 1/0 (true/false, yes/no), got %r" % (key, value))


def parse_signal(key: str, value: str) -> int:
    """``15``, ``TERM`` or ``SIGTERM`` -> 15."""
    text = value.strip()
    if text.isdigit():
        num = int(text)
        if 1 <= num < signal.NSIG:
            return num
    else:
        name = text.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        sig = getattr(signal.Signals, name, None) if name.isidentifier() else None
        if sig is not None:
            return int(sig)
    raise DaemonConfigError("key '%s' expects a signal number or name (15, TERM), got %r" % (key, value))


def _count(key: str, value: str, minimum: int) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) < minimum:
        raise DaemonConfigError("key '%s' expects an integer of at least %d, got %r" % (key, minimum, value))
    return int(text)


def _account(key: str, value: str) -> str:
    from gateway.process.privileges import PrivilegeError, resolve_group, resolve_user

    text = value.strip()
    try:
        resolve_user(text) if key == "uid" else resolve_group(text)
    except PrivilegeError:
        raise DaemonConfigError("key '%s': no such %s %r" % (key, "user" if key == "uid" else "group", text)) \
            from None
    return text


def parse_keyval(text: str) -> DaemonSpec:
    """``--attach-daemon2``: ``cmd=COMMAND[,pidfile=FILE][,daemonize=1][,control=1]...``.

    Keys (uWSGI's spellings): ``cmd``/``command``/``exec``; ``pidfile`` (a smart daemon);
    ``daemonize``/``daemon`` (the master daemonizes the command and writes ``pidfile``);
    ``freq`` (checks of a missing pidfile before the command is run again, default 10);
    ``control`` (its death stops the instance); ``stopsignal``/``stop_signal`` (default 15);
    ``reloadsignal``/``reload_signal`` (sent at a reload); ``touch`` (``;``-separated files
    whose modification restarts it); ``stdin`` (keep the instance's stdin); ``uid``,
    ``gid``, ``chdir``; ``max_throttle`` (cap of the respawn back-off, seconds);
    ``notifypid`` (a smart daemon gets the stop/reload signals too).  Any other key is an
    error naming it (uWSGI ignores unknown keys silently).
    """
    fields: Dict[str, Any] = {}
    for key, value in split_keyval(text):
        lowered = key.lower()
        if lowered in _REFUSED:
            raise DaemonConfigError(_REFUSED[lowered])
        field = _KEYS.get(lowered)
        if field is None:
            raise DaemonConfigError("unknown key %r (known: %s)" % (key, ", ".join(sorted(set(_KEYS)))))
        if field in ("control", "daemonize", "honour_stdin", "notifypid"):
            fields[field] = _flag(key, value)
        elif field in ("stop_signal", "reload_signal"):
            fields[field] = parse_signal(key, value)
        elif field == "freq":
            fields[field] = _count(key, value, 1)
        elif field == "max_throttle":
            fields[field] = _count(key, value, 0)
        elif field == "touch":
            paths = tuple(p.strip() for p in value.split(";") if p.strip())
            if not paths:
                raise DaemonConfigError("key 'touch' expects FILE[;FILE...]")
            fields[field] = paths
        elif field in ("uid", "gid"):
            fields[field] = _account(field, value)
        else:
            if not value.strip():
                raise DaemonConfigError("key '%s' expects a value" % key)
            fields[field] = value.strip() if field != "command" else value
    command = fields.pop("command", "")
    if not command.strip():
        raise DaemonConfigError("the 'cmd' key (the command to run) is missing")
    spec = DaemonSpec(command=command.strip(), **fields)
    if spec.daemonize and not spec.pidfile:
        raise DaemonConfigError("daemonize=1 needs pidfile=FILE (where the daemon's pid is written)")
    return spec


def parse_smart(text: str, daemonize: bool = False) -> DaemonSpec:
    """``--smart-attach-daemon PIDFILE[,FREQ] COMMAND`` (``daemonize``: the ``2`` variant)."""
    head, sep, command = text.strip().partition(" ")
    if not sep or not command.strip():
        raise DaemonConfigError("expected PIDFILE COMMAND, got %r" % text)
    pidfile, comma, freq = head.partition(",")
    if not pidfile:
        raise DaemonConfigError("expected PIDFILE COMMAND, got %r" % text)
    return DaemonSpec(command=command.strip(), pidfile=pidfile, daemonize=daemonize,
                      freq=_count("freq", freq, 1) if comma else 10)


def parse_plain(text: str, control: bool = False) -> DaemonSpec:
    """``--attach-daemon COMMAND`` (``control``: ``--attach-control-daemon``)."""
    if not text.strip():
        raise DaemonConfigError("expected a command")
    return DaemonSpec(command=text.strip(), control=control)


def specs_from_config(cfg: Any) -> List[DaemonSpec]:
    """Every daemon the configuration declares (plain, control, smart, smart2, keyval, in
    that order), with ``--daemons-honour-stdin`` applied."""
    specs = [parse_plain(t) for t in cfg.attach_daemon]
    specs += [parse_plain(t, control=True) for t in cfg.attach_control_daemon]
    specs += [parse_smart(t) for t in cfg.smart_attach_daemon]
    specs += [parse_smart(t, daemonize=True) for t in cfg.smart_attach_daemon2]
    specs += [parse_keyval(t) for t in cfg.attach_daemon2]
    if cfg.daemons_honour_stdin:
        specs = [replace(s, honour_stdin=True) for s in specs]
    return specs


# -- the master side ----------------------------------------------------------------------------

def pidfile_pid(path: str) -> int:
    """The pid written in ``path`` if that process is alive (a zombie is not), else 0."""
    try:
        with open(path, "rb") as f:
            text = f.read(64)
        pid = int(text.split()[0]) if text.split() else 0
    except (OSError, ValueError):
        return 0
    return pid if pid > 0 and _alive(pid) else 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, someone else's
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            # "pid (comm) S ...": a dead daemon nobody reaped yet still answers kill(pid, 0)
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _signal_group(pid: int, sig: int) -> None:
    """``sig`` to the group ``pid`` leads, or to ``pid`` alone (uWSGI does the same)."""
    try:
        os.killpg(pid, sig)
        return
    except OSError:
        pass
    try:
        os.kill(pid, sig)
    except OSError as e:
        gen_log.warning("[uwsgi-daemons] kill(%d, %d): %s", pid, sig, e)


class Daemon:
    """One daemon in the master: its :class:`ChildSpec`, and for a smart daemon the pid its
    pidfile names and uWSGI's states (0 never started, 1 just started, 2 monitored)."""

    def __init__(self, master: Any, spec: DaemonSpec) -> None:
        from gateway.process.master import ChildSpec

        self.master = master
        self.spec = spec
        self.respawns = 0
        self.pid = 0            # smart: the pid the pidfile names (or the command's, just started)
        self.status = 0
        self.checks = 0
        self.has_daemonized = False
        self.touched: Dict[str, float] = {path: _mtime(path) for path in spec.touch}
        smart = spec.smart
        self.child = ChildSpec(
            'daemon "%s"' % spec.command, self._target, respawn=not smart,
            stop_signal=0 if smart else spec.stop_signal, own_group=True,
            stop_timeout=float(getattr(master.config, "reload_mercy", 0) or STOP_TIMEOUT),
            reload_signal=0 if smart else spec.reload_signal, autostart=not smart,
            on_death=self._on_death, own_user=bool(spec.uid),
            max_respawn_delay=float(spec.max_throttle) if spec.max_throttle is not None else None)

    # in the child ------------------------------------------------------------------------------

    def _target(self) -> int:  # pragma: no cover - runs in the forked child
        return run_command(self.spec, respawning=self.respawns > 0)

    # in the master -------------------------------------------------------------------------

    def _on_death(self, pid: int, status: int) -> bool:
        if self.spec.smart:
            # the command returned: it daemonized (or failed); the pidfile tells which
            self.has_daemonized = True
            return True
        self.respawns += 1
        if self.spec.control:
            from gateway.process.signals import describe_status

            gen_log.error('[uwsgi-daemons] control daemon "%s" (pid: %d) died, %s: stopping the instance',
                          self.spec.command, pid, describe_status(status))
            self.master.shutdown(graceful=True, why="control daemon death")
            return True
        return False

    def start(self) -> None:
        """At the master's start: a smart daemon whose pidfile names a live process is adopted."""
        if not self.spec.smart:
            return
        pid = pidfile_pid(self.spec.pidfile or "")
        if pid:
            # alive now: monitored at once (uWSGI waits for the next check, and a daemon dying
            # in between is then never restarted, only reported as "did not daemonize")
            self.pid, self.status = pid, 2
            gen_log.info('[uwsgi-daemons] found valid/active pidfile for "%s" (pid: %d)', self.spec.command, pid)
        else:
            self.spawn()

    def spawn(self) -> None:
        if self.status:
            self.respawns += 1
        self.pid = self.master.start_child(self.child)
        self.status = 1 if self.pid else 0
        self.checks = 0
        self.has_daemonized = False

    def check(self) -> None:
        """Once a second: the touch files, then (smart) the pidfile, as uWSGI's
        ``uwsgi_daemons_smart_check``."""
        for path, seen in list(self.touched.items()):
            now = _mtime(path)
            if now != seen:
                self.touched[path] = now
                self._restart_touched(path)
        if not self.spec.smart or self.master.state != "running":
            return
        cmd = self.spec.command
        pid = pidfile_pid(self.spec.pidfile or "")
        if not pid:
            if self.status == 2:
                gen_log.warning('[uwsgi-daemons] daemon "%s" (pid: %d) is gone: respawning', cmd, self.pid)
                self.spawn()
                return
            self.checks += 1
            if self.checks >= self.spec.freq:
                if not self.has_daemonized:
                    gen_log.warning('[uwsgi-daemons] "%s" (pid: %d) did not daemonize !!!', cmd, self.pid)
                    self.checks = 0
                else:
                    gen_log.warning('[uwsgi-daemons] found changed pidfile for "%s" (old_pid: %d new_pid: 0)',
                                    cmd, self.pid)
                    self.spawn()
        elif pid != self.pid:
            gen_log.info('[uwsgi-daemons] found changed pid for "%s" (old_pid: %d new_pid: %d)', cmd, self.pid, pid)
            self.pid, self.status = pid, 2  # alive: monitored from now on (uWSGI: from the next check)
        else:
            self.status = 2

    def _restart_touched(self, path: str) -> None:
        pid = self.pid if self.spec.smart else self.master.child_pid(self.child)
        if not pid or (self.spec.smart and not _alive(pid)):
            return
        gen_log.info('*** %s has been touched... reloading daemon "%s" (pid: %d) !!! ***', path,
                     self.spec.command, pid)
        if self.spec.smart:
            _signal_group(pid, self.spec.stop_signal)   # the pidfile check runs it again
        else:
            self.master.signal_child(self.child, self.spec.stop_signal)  # respawned by the master

    def on_shutdown(self) -> None:
        spec = self.spec
        if not spec.smart:
            pid = self.master.child_pid(self.child)
            if pid:
                gen_log.info("[uwsgi-daemons] stopping daemon (pid: %d): %s", pid, spec.command)
        elif spec.notifypid and self.pid and _alive(self.pid):
            _signal_group(self.pid, spec.stop_signal)

    def on_reload(self) -> None:
        spec = self.spec
        if not spec.smart:
            pid = self.master.child_pid(self.child)
            if pid and spec.reload_signal:
                gen_log.info("[uwsgi-daemons] reloading daemon (pid: %d, signal %d): %s", pid,
                             spec.reload_signal, spec.command)
        elif spec.notifypid and self.pid and _alive(self.pid):
            _signal_group(self.pid, spec.reload_signal or int(signal.SIGHUP))


class DaemonSupervisor:
    """The master's daemons: adds their children, checks pidfiles and touch files every
    :data:`CHECK_INTERVAL` seconds on the master's timers, signals them at stop and reload."""

    def __init__(self, master: Any, specs: List[DaemonSpec]) -> None:
        self.master = master
        self.daemons = [Daemon(master, spec) for spec in specs]
        for daemon in self.daemons:
            master.add_child(daemon.child)
        master.on_shutdown(self._on_shutdown)
        master.on_reload(self._on_reload)
        master.stats_hooks.append(self._stats)
        # runs at the master's first tick: after the workers and the plain daemons spawned
        master.call_later(0, self._start)

    def _stats(self, doc: Dict[str, Any]) -> None:
        """uWSGI's ``daemons`` list in the --stats document."""
        doc["daemons"] = [{"cmd": d.spec.command, "pid": (d.pid if d.spec.smart else self.master.child_pid(d.child)),
                           "respawns": d.respawns} for d in self.daemons]

    def _start(self) -> None:
        for daemon in self.daemons:
            daemon.start()
        self.master.call_later(CHECK_INTERVAL, self._check)

    def _check(self) -> None:
        if self.master.state == "stopping":
            return
        for daemon in self.daemons:
            try:
                daemon.check()
            except Exception:
                gen_log.exception('error checking daemon "%s"', daemon.spec.command)
        self.master.call_later(CHECK_INTERVAL, self._check)

    def _on_shutdown(self) -> None:
        for daemon in self.daemons:
            daemon.on_shutdown()

    def _on_reload(self) -> None:
        for daemon in self.daemons:
            daemon.on_reload()


def attach(master: Any, cfg: Any) -> Optional[DaemonSupervisor]:
    """Give ``master`` the daemons ``cfg`` declares (None if it declares none)."""
    specs = specs_from_config(cfg)
    return DaemonSupervisor(master, specs) if specs else None


def configured(cfg: Any) -> bool:
    """Does ``cfg`` declare a daemon (so the instance needs a master)?"""
    return bool(cfg.attach_daemon or cfg.attach_control_daemon or cfg.smart_attach_daemon
                or cfg.smart_attach_daemon2 or cfg.attach_daemon2)


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0


# -- the child side ------------------------------------------------------------------------------

#: Dispositions Python changes at startup (SIG_IGN survives exec): the command gets the defaults.
_RESET_SIGNALS = tuple(getattr(signal, n) for n in ("SIGPIPE", "SIGXFSZ", "SIGXFZ") if hasattr(signal, n))


def run_command(spec: DaemonSpec, respawning: bool = False,
                execv: Callable[[str, List[str]], Any] = os.execv) -> int:  # pragma: no cover - child
    """In the forked child: become the daemon's process and exec ``/bin/sh -c COMMAND``.

    Returns an exit status only when something failed (logged, as uWSGI's "unable to spawn").
    """
    cmd = spec.command
    master_pid = os.getppid()
    try:
        if spec.chdir:
            os.chdir(spec.chdir)
        from gateway.process.privileges import resolve_group, resolve_user

        if spec.gid:
            os.setgid(resolve_group(spec.gid))
        if spec.uid:
            os.setuid(resolve_user(spec.uid)[0])
        if spec.daemonize:
            if os.fork():
                os._exit(0)  # the master sees the command "return": it daemonized
            from gateway.process.pidfile import write_pidfile

            write_pidfile(spec.pidfile or "", atomic=True)
        if not spec.honour_stdin:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
        os.setsid()
        if not spec.smart:
            _die_with_parent(master_pid)
    except Exception as e:
        gen_log.error('[uwsgi-daemons] unable to spawn "%s": %s', cmd, e)
        return 1
    gen_log.info('[uwsgi-daemons] %sspawning "%s" (uid: %d gid: %d)', "re" if respawning else "", cmd,
                 os.getuid(), os.getgid())
    exec_shell(cmd, "[uwsgi-daemons]", execv)
    return 1


def exec_shell(command: str, log_prefix: str,
               execv: Callable[[str, List[str]], Any] = os.execv) -> None:  # pragma: no cover - child
    """In a forked child of the master: ``/bin/sh -c command`` with the default signal
    dispositions and no descriptor above 2 (not the listening sockets, not the master's
    channels).  Returns only if the exec failed (logged under ``log_prefix``)."""
    for sig in _RESET_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    _close_fds()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        from gateway.process.startup import binsh

        shell = binsh()
        execv(shell, [shell, "-c", command])
    except OSError as e:
        gen_log.error('%s unable to spawn "%s": %s', log_prefix, command, e)


def _close_fds() -> None:  # pragma: no cover - child
    """Close every descriptor above 2: the listening sockets, the master's channels and pipes."""
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(3, 65536)
        return
    for fd in fds:
        if fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass


def _die_with_parent(master_pid: int) -> None:  # pragma: no cover - child
    """Linux: SIGKILL when the master dies, even by SIGKILL (uWSGI does this for plain daemons)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != master_pid:  # the master died before the prctl
        os._exit(1)


__all__ = ["DaemonConfigError", "DaemonSpec", "DaemonSupervisor", "attach", "configured", "exec_shell", "parse_keyval",
           "parse_plain", "parse_smart", "pidfile_pid", "specs_from_config"]
