"""The alarm instances and their plugins, in the master (no thread, nothing that blocks).

An :class:`AlarmSet` holds one :class:`Instance` per ``--alarm``.  :meth:`AlarmSet.raise_alarm`
is the one entry point of every source (log lines, the listen queue, metrics, ``--alarm-fd``,
``uwsgi.alarm()``).  Before a plugin runs, three bounds apply, each costing only the alarm
that hits it:

* **anti-flood** (uWSGI's rule): the same message as the instance's last one, within
  ``--alarm-freq`` seconds of it, is skipped;
* **rate**: at most :data:`MAX_RUNS_PER_MINUTE` runs per instance in any 60 seconds (a log
  line with a changing timestamp defeats the same-message rule); beyond it the alarms are
  dropped, one line says so once per minute;
* **size**: a message is cut to ``--alarm-msg-size`` bytes.

The plugins: ``log`` writes ``ALARM: [ARG ]MESSAGE`` to the log; ``signal:N`` routes uWSGI
signal N (as ``uwsgi.signal(N)``); ``mule[:N]`` queues the message for mule N (0: the first
free one); ``cmd:COMMAND`` and ``curl:...`` start a child process with the message on its
stdin (:class:`~gateway.alarms.runner.CommandRunner`: bounded, never waited for).  A plugin
that fails logs one line, then nothing more until it works again (one line says so).

The lines the alarm subsystem writes itself start with ``[uwsgi-alarm`` (as uWSGI's), and
the ``log`` plugin's lines are written while :attr:`AlarmSet.running` is set: a log alarm
never matches either, so an alarm cannot feed itself.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional

from gateway.alarms.spec import AlarmSpec, mule_number, redacted, signal_number
from gateway.logs import gen_log

#: Runs of one alarm instance in any 60 seconds; more are dropped (and counted).
MAX_RUNS_PER_MINUTE = 30
#: ``--alarm-msg-size`` default (uWSGI's) and ceiling: a message must fit in a pipe's buffer
#: (64 KiB on Linux) so that handing it to a command never blocks.
DEFAULT_MSG_SIZE = 8192
MAX_MSG_SIZE = 60000


class Instance:
    """One ``--alarm``: its spec and its anti-flood, rate and failure state."""

    def __init__(self, spec: AlarmSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.last_msg: Optional[bytes] = None
        self.last_run = -1e18
        self.runs: Deque[float] = deque()
        self.raised = 0
        self.ran = 0
        self.flood_skipped = 0
        self.rate_dropped = 0
        self._rate_noted = -1e18
        #: consecutive failures (0: working); only the first is logged
        self.failures = 0

    def admit(self, msg: bytes, now: float, freq: float) -> bool:
        """Whether ``msg`` may run now (anti-flood, then the rate); records the run if so."""
        self.raised += 1
        if msg == self.last_msg and now - self.last_run < freq:
            self.flood_skipped += 1
            return False
        runs = self.runs
        while runs and runs[0] <= now - 60:
            runs.popleft()
        if len(runs) >= MAX_RUNS_PER_MINUTE:
            self.rate_dropped += 1
            if now - self._rate_noted >= 60:
                self._rate_noted = now
                gen_log.warning("[uwsgi-alarm] alarm %s raised more than %d times in a minute: the next ones "
                                "are dropped for a while", self.name, MAX_RUNS_PER_MINUTE)
            return False
        runs.append(now)
        self.last_msg = msg
        self.last_run = now
        self.ran += 1
        return True

    def done(self, ok: bool, why: str = "") -> None:
        """The outcome of one run: the first failure is logged, and the recovery."""
        # (never the credentials of a curl: argument: the log is not the place for them)
        label = "%s (%s:%s)" % (self.name, self.spec.plugin, redacted(self.spec.plugin, self.spec.arg))
        if ok:
            if self.failures:
                gen_log.info("[uwsgi-alarm] alarm %s works again (after %d failures)", label, self.failures)
            self.failures = 0
            return
        self.failures += 1
        if self.failures == 1:
            gen_log.warning("[uwsgi-alarm] alarm %s failed: %s (its next failures are not logged until it "
                            "works again)", label, why)


class AlarmSet:
    """The configured alarms (see the module docstring).

    ``runner`` starts commands (:class:`~gateway.alarms.runner.CommandRunner` or a stand-in);
    ``route_signal(n)`` and ``mule_send(msg, mule)`` are the master's signal router and the
    mules' queue (None when there are none)."""

    def __init__(self, specs: List[AlarmSpec], *, freq: float = 3.0, msg_size: int = DEFAULT_MSG_SIZE,
                 runner: Any = None, route_signal: Optional[Callable[[int], int]] = None,
                 mule_send: Optional[Callable[[bytes, Any], bool]] = None, socket_timeout: float = 4.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.instances: Dict[str, Instance] = {}
        for spec in specs:
            self.instances[spec.name] = Instance(spec)  # the same name again: the last one wins
        self.freq = freq
        self.msg_size = msg_size
        self.runner = runner
        self.route_signal = route_signal
        self.mule_send = mule_send
        self.socket_timeout = socket_timeout
        self.clock = clock
        #: True while plugins run (the ``log`` plugin's own lines must not raise log alarms)
        self.running = False
        self._unknown_noted: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self.instances

    def raise_alarm(self, name: str, msg: bytes) -> bool:
        """Raise alarm ``name`` with ``msg``; True when its plugin ran (or was started)."""
        inst = self.instances.get(name)
        if inst is None:
            if name not in self._unknown_noted and len(self._unknown_noted) < 64:
                self._unknown_noted.add(name)
                gen_log.warning("[uwsgi-alarm] no alarm named %r (--alarm '%s PLUGIN:ARGS')", name, name)
            return False
        msg = msg[:self.msg_size]
        if not inst.admit(msg, self.clock(), self.freq):
            return False
        self.running = True
        try:
            self._run(inst, msg)
        except Exception as e:  # a plugin's bug costs this alarm only
            inst.done(False, "%s: %s" % (type(e).__name__, e))
        finally:
            self.running = False
        return True

    def _run(self, inst: Instance, msg: bytes) -> None:
        spec = inst.spec
        plugin = spec.plugin
        if plugin == "log":
            text = msg.decode("utf-8", "backslashreplace").rstrip("\n")
            if spec.arg:
                gen_log.info("ALARM: %s %s", spec.arg, text)
            else:
                gen_log.info("ALARM: %s", text)
            inst.done(True)
        elif plugin == "signal":
            if self.route_signal is None:
                inst.done(False, "no signal subsystem")
                return
            sent = self.route_signal(signal_number(spec.arg))
            inst.done(sent > 0, "signal %s reached no process" % spec.arg)
        elif plugin == "mule":
            if self.mule_send is None:
                inst.done(False, "no mule is configured")
                return
            mule = mule_number(spec.arg)
            ok = self.mule_send(msg, mule or None)
            inst.done(ok, "the queue of mule %s is full" % (mule or "(any)"))
        elif plugin == "cmd":
            if self.runner is None:
                inst.done(False, "no command runner")
                return
            self.runner.start(["/bin/sh", "-c", spec.arg], msg, inst.done)
        else:  # curl
            if self.runner is None:
                inst.done(False, "no command runner")
                return
            import json

            from gateway.self_command import INTERPRETER  # (sys.executable may be --py-sys-executable's)

            head = json.dumps({"spec": spec.arg, "timeout": self.socket_timeout}).encode("utf-8") + b"\n"
            self.runner.start([INTERPRETER, "-m", "gateway.alarms.curl"], head + msg, inst.done, _curl_env())

    def stats(self) -> List[Dict[str, Any]]:
        """Per alarm: raised, ran, skipped by anti-flood, dropped by the rate, failing."""
        return [{"name": i.name, "plugin": i.spec.plugin, "raised": i.raised, "ran": i.ran,
                 "flood_skipped": i.flood_skipped, "rate_dropped": i.rate_dropped, "failures": i.failures}
                for i in self.instances.values()]


def _curl_env() -> Dict[str, str]:
    """The sender's environment: this one, with gateway importable whatever ``--chdir`` did."""
    import os

    import gateway

    root = os.path.dirname(os.path.dirname(os.path.abspath(gateway.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def backlog_message(name: str, fd: int, queue: int, max_queue: int) -> str:
    """uWSGI's listen-queue alarm message (core/master.c)."""
    return 'listen queue of socket "%s" (fd: %d) full !!! (%d/%d)' % (name, fd, queue, max_queue)
