"""Alarm commands (``cmd:``, ``curl:``) as child processes the master never waits for.

:meth:`CommandRunner.start` writes the message into a new pipe (it fits in the pipe's
buffer: ``--alarm-msg-size`` is at most 60000 bytes, so the write cannot block), then
``posix_spawn`` s the command with that pipe as its stdin and its stdout/stderr on the
master's (the log).  The master reaps it like its other children and hands the exit status
back (:meth:`Master.watch_pid`), which tells the alarm whether it worked.

Bounded: at most :data:`MAX_RUNNING` commands at once; up to :data:`MAX_PENDING` more wait
for a free place (the oldest first); beyond that an alarm's command is dropped and that
alarm counts a failure.  A command still running after :data:`COMMAND_TIMEOUT` seconds is
killed (SIGKILL), a failure too.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from collections import deque
from typing import Callable, Deque, Dict, List, Optional, Tuple

from gateway.logs import gen_log

#: Alarm commands running at once.
MAX_RUNNING = 8
#: Alarm commands waiting for a free place.
MAX_PENDING = 64
#: Seconds an alarm command may run before it is killed.
COMMAND_TIMEOUT = 60.0

Done = Callable[[bool, str], None]
_DEFAULT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name))


def describe(status: int) -> Tuple[bool, str]:
    """(success, why) for a ``waitpid`` status."""
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        return code == 0, "exit status %d" % code
    if os.WIFSIGNALED(status):
        return False, "killed by signal %d" % os.WTERMSIG(status)
    return False, "status %d" % status


class CommandRunner:
    """Spawns commands for the master; ``watch_pid(pid, callback(status))`` is the master's."""

    def __init__(self, watch_pid: Callable[[int, Callable[[int], None]], None],
                 clock: Callable[[], float] = time.monotonic, timeout: float = COMMAND_TIMEOUT) -> None:
        self.watch_pid = watch_pid
        self.clock = clock
        self.timeout = timeout
        #: pid -> (deadline, done)
        self.running: Dict[int, Tuple[float, Done]] = {}
        self.pending: Deque[Tuple[List[str], bytes, Done, Optional[Dict[str, str]]]] = deque()
        self.dropped = 0

    def start(self, argv: List[str], stdin: bytes, done: Done, env: Optional[Dict[str, str]] = None) -> None:
        """Run ``argv`` with ``stdin`` now, or once a place frees; ``done(ok, why)`` at its end."""
        if len(self.running) < MAX_RUNNING:
            self._spawn(argv, stdin, done, env)
        elif len(self.pending) < MAX_PENDING:
            self.pending.append((argv, stdin, done, env))
        else:
            self.dropped += 1
            done(False, "%d alarm commands already running and %d waiting" % (MAX_RUNNING, MAX_PENDING))

    def _spawn(self, argv: List[str], stdin: bytes, done: Done, env: Optional[Dict[str, str]] = None) -> None:
        r, w = os.pipe()
        try:
            os.set_blocking(w, False)
            try:
                os.write(w, stdin)  # fits in the pipe's buffer (bounded message size)
            except BlockingIOError:
                pass
            os.close(w)
            w = -1
            # the signals Python ignores (SIGPIPE, SIGXFSZ) get their default back, as
            # subprocess's restore_signals; nothing stays blocked
            pid = os.posix_spawn(argv[0], argv, env if env is not None else os.environ,
                                 file_actions=[(os.POSIX_SPAWN_DUP2, r, 0)],
                                 setsigdef=_DEFAULT_SIGNALS, setsigmask=())
        except OSError as e:
            done(False, "cannot start %s: %s" % (argv[0], e.strerror or e))
            return
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        self.running[pid] = (self.clock() + self.timeout, done)
        self.watch_pid(pid, functools.partial(self._ended, pid))

    def _ended(self, pid: int, status: int) -> None:
        entry = self.running.pop(pid, None)
        if entry is not None:
            ok, why = describe(status)
            entry[1](ok, why)
        self._next()

    def _next(self) -> None:
        while self.pending and len(self.running) < MAX_RUNNING:
            argv, stdin, done, env = self.pending.popleft()
            self._spawn(argv, stdin, done, env)

    def tick(self) -> None:
        """Kill the commands past their deadline (their end is reported when reaped)."""
        now = self.clock()
        for pid, (deadline, _) in list(self.running.items()):
            if now >= deadline:
                self.running[pid] = (now + self.timeout, self.running[pid][1])
                gen_log.warning("[uwsgi-alarm] alarm command (pid: %d) still running after %ds: killing it",
                                pid, int(self.timeout))
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
