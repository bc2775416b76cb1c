"""The master's watchers from uWSGI's long tail: descriptors that reload, mount points that must
answer, and the notification socket.

The CLI calls :func:`attach` in the master before any fork; everything then runs in the master's
``selectors`` loop through its public hooks (``add_reader``, ``call_later``), so nothing blocks it:

* ``--reload-on-fd FD[:BYTES] [MESSAGE]`` / ``--brutal-reload-on-fd``: when the inherited
  descriptor FD is readable, the master reads BYTES from it (default 1), logs
  ``*** fd FD ready: MESSAGE ***`` (``*** fd FD ready !!! ***`` without one) and reloads
  gracefully (brutally).  A descriptor at its end (the writer closed it) is logged once and no
  longer watched, where uWSGI would reload in a loop.  No read blocks the master: a pipe is read
  through a description of its own (:func:`_own_nonblocking_pipe`), a socket with
  ``MSG_DONTWAIT``, anything else right after a ``poll``;
* ``--check-mountpoint PATH`` (``--mount-check``, ...): every ``--check-interval`` seconds a
  helper thread ``statfs``-es each PATH; when one fails (``ENOENT``, ``ENOTCONN`` for a FUSE
  daemon gone, ``ESTALE``...), or takes longer than ``MOUNT_CHECK_TIMEOUT`` seconds (a dead NFS
  server: a stat there can hang for good, so it never runs in the master's loop), the master logs
  ``mountpoint PATH failed, triggering detonation...``, kills every process (SIGKILL) and exits
  with status 1, as uWSGI's does;
* ``--notify-socket PATH``: a UNIX datagram socket bound at PATH (a socket there is replaced,
  another file refused);
  each datagram is logged as ``[notify-socket] TEXT`` (control characters escaped).  uWSGI's subscription servers send their
  notifications there; gateway has no subscription system, so it receives what local programs
  send (``socat - UNIX-SENDTO:PATH``).
"""

from __future__ import annotations

import errno
import functools
import os
import queue
import select
import socket
import stat
import threading
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

from gateway.config.model import Config
from gateway.config.options import MOUNT_CHECK_TIMEOUT
from gateway.logs import gen_log
from gateway.server.listeners import ListenError

__all__ = ["MountChecker", "attach", "needs_master", "notification_text"]

#: At most this many datagrams are read from the notification socket per wake-up of the master.
NOTIFY_BATCH = 64
#: The largest datagram read from the notification socket (uWSGI's buffer).
NOTIFY_MAX = 8192


def needs_master(cfg: Config) -> bool:
    """These options are uWSGI's ``UWSGI_OPT_MASTER`` ones."""
    return bool(cfg.reload_on_fd or cfg.brutal_reload_on_fd or cfg.check_mountpoint or cfg.notify_socket)


def attach(master: Any, cfg: Config) -> None:
    """Wire the watchers of ``cfg`` into ``master``; raises :class:`ListenError` naming the
    option for a descriptor that cannot be watched or a socket that cannot be bound."""
    for option, specs, brutal in (("reload-on-fd", cfg.reload_on_fd, False),
                                  ("brutal-reload-on-fd", cfg.brutal_reload_on_fd, True)):
        for fd, nbytes, message in specs:
            _watch_fd(master, option, fd, nbytes, message, brutal)
    if cfg.check_mountpoint:
        checker = MountChecker(list(cfg.check_mountpoint), timeout=MOUNT_CHECK_TIMEOUT)
        interval = float(cfg.check_interval or 1)

        def check() -> None:
            failure = checker.verdict()
            if failure is not None:
                path, why = failure
                gen_log.error("mountpoint %s failed (%s), triggering detonation...", path, why)
                master.exit_code = 1
                master.shutdown(graceful=False, why="mountpoint check")
                return
            checker.start_round()
            master.call_later(interval, check)

        master.call_later(0, check)
    if cfg.notify_socket:
        sock = bind_notify_socket(str(cfg.notify_socket))
        master.add_reader(sock, functools.partial(_read_notifications, sock))
        master.on_fork_child(sock.close)


def _watch_fd(master: Any, option: str, fd: int, nbytes: int, message: str, brutal: bool) -> None:
    try:
        mode = os.fstat(fd).st_mode
    except OSError as e:
        raise ListenError("--%s %d: the descriptor is not open (%s)" % (option, fd, e.strerror)) from None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        raise ListenError("--%s %d: a regular file or directory is always readable: give a pipe, "
                          "a socket, an eventfd..." % (option, fd))
    action: Callable[[], None] = master.brutal_reload if brutal else master.reload
    sock = stat.S_ISSOCK(mode)
    watched = _own_nonblocking_pipe(fd) if stat.S_ISFIFO(mode) else None

    def readable() -> None:
        # never a blocking read in the master: the descriptor may be blocking (it is not ours to
        # change: its file status is shared with whoever passed it) and its data may be gone
        # since the loop saw it ready (another reader; a UDP datagram dropped for its checksum)
        try:
            data = os.read(watched, nbytes) if watched is not None else _read_now(fd, nbytes, sock)
        except BlockingIOError:
            return  # nothing there any more
        except OSError as e:
            data = b""
            gen_log.error("[%s] read() on fd %d: %s", option, fd, e.strerror)
        if not data:
            gen_log.error("[%s] fd %d is at its end: no longer watched", option, fd)
            master.remove_reader(watched if watched is not None else fd)
            return
        if message:
            gen_log.info("*** fd %d ready: %s ***", fd, message)
        else:
            gen_log.info("*** fd %d ready !!! ***", fd)
        action()

    try:
        master.add_reader(watched if watched is not None else fd, readable)
        if watched is not None:
            master.on_fork_child(functools.partial(os.close, watched))
    except (OSError, ValueError, KeyError) as e:
        raise ListenError("--%s %d: cannot watch the descriptor (%s)" % (option, fd, e)) from None
    gen_log.info("added %s reload monitor for fd %d (read size: %d)", "brutal" if brutal else "graceful",
                 fd, nbytes)


def _own_nonblocking_pipe(fd: int) -> Optional[int]:
    """The master's own non-blocking open file description of the pipe (or FIFO) ``fd``,
    through ``/proc/self/fd`` (None where that is not possible).

    ``fd``'s description is shared with whoever passed it, so the master cannot make it
    non-blocking, and "poll, then read" leaves a window: another reader of the same pipe may
    drain it in between, and the read then blocks the master.  A read on a description of
    its own with ``O_NONBLOCK`` returns ``EAGAIN`` instead, whatever the others do."""
    try:
        return os.open("/proc/self/fd/%d" % fd, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None


def _read_now(fd: int, nbytes: int, sock: bool) -> bytes:
    """Up to ``nbytes`` from ``fd`` without blocking; :class:`BlockingIOError` when nothing is
    there.  A socket is read with ``MSG_DONTWAIT`` (for this call only); anything else only
    once ``poll`` says, right now, that a read returns at once."""
    if sock:
        try:
            view: Optional[socket.socket] = socket.socket(fileno=fd)  # detached (not closed) after
        except OSError:
            view = None  # a family Python does not know: as any descriptor
        if view is not None:
            try:
                return view.recv(nbytes, socket.MSG_DONTWAIT)
            finally:
                view.detach()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    if not poller.poll(0):
        raise BlockingIOError(errno.EAGAIN, "no data")
    return os.read(fd, nbytes)


def bind_notify_socket(path: str) -> socket.socket:
    """The ``--notify-socket`` datagram socket, bound at ``path`` (a socket there is replaced,
    any other file refused, as for gateway's own UNIX sockets)."""
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise ListenError("--notify-socket %s: a file that is not a socket is in the way" % path)
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise ListenError("--notify-socket %s: %s" % (path, e.strerror or e)) from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
    except OSError as e:
        sock.close()
        raise ListenError("--notify-socket %s: %s" % (path, e.strerror or e)) from None
    sock.setblocking(False)
    gen_log.info("notification socket enabled on %s (fd: %d)", path, sock.fileno())
    return sock


def _read_notifications(sock: socket.socket) -> None:
    for _ in range(NOTIFY_BATCH):
        try:
            data = sock.recv(NOTIFY_MAX)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            gen_log.error("[notify-socket] recv(): %s", e.strerror)
            return
        if data:
            gen_log.info("[notify-socket] %s", notification_text(data))


#: the control characters a notification may not put in the log as they are
_CONTROL = {c: "\\x%02x" % c for c in (*range(0x20), 0x7f) if c != 0x09}


def notification_text(data: bytes) -> str:
    """A datagram as one log line: UTF-8 (bad bytes replaced), trailing newlines cut, and any
    other control character escaped (``\\x0a``), so a sender cannot write lines of its own
    into the master's log (a forged ``mountpoint ... failed`` for a log alarm) nor terminal
    escape sequences."""
    return data.decode("utf-8", "replace").rstrip("\r\n").translate(_CONTROL)


class MountChecker:
    """``statfs`` of each path in a helper thread, judged from the master's loop.

    :meth:`start_round` queues one check of every path unless the previous round is still
    running; :meth:`verdict` returns ``(path, why)`` once a check failed, or has been running
    longer than ``timeout`` seconds (the thread is then abandoned in its system call: it is a
    daemon, and the instance is going away).  ``statfs`` and ``clock`` are injectable for tests.
    """

    def __init__(self, paths: Sequence[str], timeout: float,
                 statfs: Callable[[str], Any] = os.statvfs, clock: Callable[[], float] = time.monotonic) -> None:
        self.paths = list(paths)
        self.timeout = timeout
        self._statfs = statfs
        self._clock = clock
        self._lock = threading.Lock()
        self._todo: "queue.Queue[Optional[List[str]]]" = queue.Queue()
        #: the path being checked and since when
        self._current: Optional[Tuple[str, float]] = None
        self._failed: Optional[Tuple[str, str]] = None
        self._busy = False
        self._thread: Optional[threading.Thread] = None

    def start_round(self) -> None:
        with self._lock:
            if self._busy or self._failed is not None:
                return
            self._busy = True
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mountpoint check", daemon=True)
            self._thread.start()
        self._todo.put(list(self.paths))

    def verdict(self) -> Optional[Tuple[str, str]]:
        with self._lock:
            if self._failed is not None:
                return self._failed
            if self._current is not None and self._clock() - self._current[1] > self.timeout:
                return self._current[0], "no answer in %g seconds" % self.timeout
        return None

    def stop(self) -> None:
        """End the helper thread after its round (tests)."""
        self._todo.put(None)

    def _run(self) -> None:
        while True:
            paths = self._todo.get()
            if paths is None:
                return
            for path in paths:
                with self._lock:
                    self._current = (path, self._clock())
                try:
                    self._statfs(path)
                except OSError as e:
                    with self._lock:
                        self._failed = (path, os.strerror(e.errno) if e.errno else str(e))
                        self._current = None
                        self._busy = False
                    return
            with self._lock:
                self._current = None
                self._busy = False

