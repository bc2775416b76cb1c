"""``--log-master``: every process's output reaches the log target through the master.

uWSGI's ``--log-master`` (core/logging.c) points the workers' fd 1 and 2 into one
socketpair that the master reads and writes to the log target, so the log has a single
writer.  Ours keeps that idea and differs where it matters:

* **one pipe per child** (worker, router), created by the master just before it forks
  that child; the child's fd 1 and 2 become the pipe's write end.  The master reads each
  pipe into its own :class:`LineAssembler`, so a line is written only once it is whole
  and the lines of two workers never mix, even when a worker's block-buffered
  ``print()`` output arrives cut anywhere (uWSGI's one shared socket cannot reassemble
  a line written in two pieces).
* **bounded**: a line longer than ``--log-master-bufsize`` (8192 as in uWSGI) is split
  into pieces of that size, each written as a line (uWSGI truncates); a child killed in
  the middle of a line gets its last bytes written with a newline added.
* **the log target never blocks the master**: the master writes to a pipe, terminal
  or socket only when ``poll()`` says it accepts bytes, at most ``PIPE_BUF`` at a time
  (such a write cannot block), and waits for writability in its ``selectors`` loop
  otherwise.  Meanwhile up to ``--log-master-backlog`` bytes wait in memory; beyond
  that new lines are dropped and counted, and one line says how many once the target
  accepts again.  The master keeps reading the pipes in all cases, so a worker never
  waits on a stuck log target (uWSGI's non-blocking log socket drops lines silently
  instead).  A regular file (``--logto FILE``) is always writable: written at once.

**Rotation** (``--log-maxsize``, ``--touch-logrotate``, ``--touch-logreopen``,
``--log-reopen``, each implying ``--log-master``): the master is the one writer of the
``--logto`` file, so it alone renames and reopens it, and no process keeps writing into
the renamed file.  Past ``--log-maxsize`` bytes, after a batch of whole lines, it writes
uWSGI's dated ``Sat Dec  5 08:17:45 2026 - logsize: N, triggering rotation to
FILE.1733318400...`` line, renames the file
(``--log-backupname`` replaces one backup; the default name gets ``.2``, ``.3`` ... when
a second rotation falls in the same second) and ``dup2`` s a new empty file onto its
descriptor.  A rename that fails is one line in the log, tried again after another
``--log-maxsize`` bytes.

**Logger plugins** (``--logger``, ``--req-logger``, encoders, routes; see
:mod:`gateway.log_plugins`): each whole line goes through a :class:`~gateway.log_plugins.Channel`
that says which targets get which (encoded) bytes; ``stdio`` is the queue above, the other
targets are :mod:`gateway.log_sinks` (datagrams sent with ``MSG_DONTWAIT``, appended files),
which never block either.  With ``--req-logger`` each child gets a second pipe, for its request
lines only (``gateway.access``), read and routed the same way by their own channel.

The master's own lines (lifecycle, readiness) enter the same queue, through its
``sys.stdout``/``sys.stderr`` and logging handler, which :meth:`LogMaster.start`
replaces in the master only (a child gets the real streams back after fork).
At exit (:meth:`LogMaster.finish`) the pipes are drained and the queue written,
waiting for a slow target at most the given timeout (the master's mercy).
"""

from __future__ import annotations

import io
import logging
import os
import re
import select
import stat
import sys
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Set, Tuple

from gateway.log_plugins import Channel, LoggerSpec, SpecError, logto_logger, parse_encoder, parse_logger, parse_route

#: Most bytes written to a non-file target per write: a pipe that polls writable takes
#: this many without blocking.
PIPE_CHUNK = select.PIPE_BUF
#: Bytes per write to a regular file.
FILE_CHUNK = 256 * 1024
#: Bytes read from a child's pipe per wake-up (the lines in them are bounded by the assembler).
READ_CHUNK = 64 * 1024


class LineAssembler:
    """Sans-IO: bytes of one source in, whole lines out (each ending with ``\\n``).

    A line of more than ``max_line`` bytes (newline excluded) comes out as pieces of
    ``max_line`` bytes, each with a newline; the bytes held between calls never exceed
    ``max_line``.
    """

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._partial = b""

    def feed(self, data: bytes) -> List[bytes]:
        buf = self._partial + data if self._partial else data
        limit = self.max_line
        out: List[bytes] = []
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            while nl - start > limit:
                out.append(buf[start:start + limit] + b"\n")
                start += limit
            out.append(buf[start:nl + 1])
            start = nl + 1
        while len(buf) - start > limit:
            out.append(buf[start:start + limit] + b"\n")
            start += limit
        self._partial = buf[start:]
        return out

    def close(self) -> List[bytes]:
        """The source ended: its unterminated last bytes, as a line."""
        rest, self._partial = self._partial, b""
        return [rest + b"\n"] if rest else []


class _MasterStream(io.TextIOBase):
    """The master's ``sys.stdout``/``sys.stderr`` under ``--log-master``: text into the queue."""

    def __init__(self, owner: "LogMaster") -> None:
        self._owner = owner

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self._owner.own(s.encode("utf-8", "backslashreplace"))
        return len(s)

    def fileno(self) -> int:
        return self._owner.fd

    def isatty(self) -> bool:
        return False


def _opened_path(fd: int, given: str) -> str:
    """The absolute path of the file open on ``fd``: ``--logto`` was opened before ``--chdir``,
    so a relative ``given`` no longer names it (Linux says through /proc; else ``given``)."""
    try:
        link = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        return given
    if os.path.isabs(link) and os.path.exists(link) and os.path.samestat(os.stat(link), os.fstat(fd)):
        return link
    return given


#: The options that need the master as the ``--logto`` file's one writer.
_LOG_FILE_OPTIONS = ("log-maxsize", "touch-logrotate", "touch-logreopen", "log-reopen")


def wants_log_master(cfg: Any) -> bool:
    """``--log-master``, or an option that needs the master as the log's one writer (rotation,
    logger plugins, encoders, routes) or its reader (``--log-alarm``)."""
    return (bool(cfg.log_master or cfg.threaded_logger or cfg.log_alarm) or any(cfg.get(name) for name in _LOG_FILE_OPTIONS)
            or routes_log_lines(cfg) or requests_via_master(cfg))


def logger_specs(cfg: Any, option: str = "logger") -> List[LoggerSpec]:
    """The ``--logger`` (or ``--req-logger``) values, parsed."""
    return [parse_logger(raw) for raw in cfg.get(option) or ()]


def routes_log_lines(cfg: Any) -> bool:
    """Whether the log lines go elsewhere than the one log target (stderr or ``--logto``):
    a logger besides one ``file:``/``stdio``, an encoder, a route, a drain or a filter."""
    specs = logger_specs(cfg)
    mapped = logto_logger(specs)
    rest = [s for s in specs if s is not mapped and not (s.plugin == "stdio" and s.id is None)]
    return bool(rest or cfg.log_encoder or cfg.log_route or cfg.log_drain or cfg.log_filter)


def requests_via_master(cfg: Any) -> bool:
    """Whether the request lines travel to the master on their own pipes (``--req-logger``):
    not for one ``file:PATH`` (every process appends to it) nor for ``stdio`` alone when the
    other lines go to the same place."""
    specs = logger_specs(cfg, "req-logger")
    if not specs:
        return False
    if cfg.log_req_encoder or cfg.log_req_route or len(specs) > 1 or specs[0].id is not None:
        return True
    return not (specs[0].plugin == "file" or (specs[0].plugin == "stdio" and not routes_log_lines(cfg)))


class _FdTarget:
    def __repr__(self) -> str:
        return "FD_TARGET"


#: The target of ``stdio`` (and of every line when no logger is given): the log master's
#: own fd, through its bounded queue.
FD_TARGET: Any = _FdTarget()


class LogRouting:
    """The loggers of the log lines (``main``) and, with ``--req-logger``, of the request
    lines (``requests``); ``sinks`` are their open sockets and files."""

    def __init__(self, main: Channel, requests: Optional[Channel], sinks: List[Any]) -> None:
        self.main = main
        self.requests = requests
        self.sinks = sinks

    def close(self) -> None:
        """In a child: it writes to its pipes, never to a sink."""
        for sink in self.sinks:
            sink.close()
        self.sinks = []


def build_routing(cfg: Any) -> Optional[LogRouting]:
    """Open the sinks of the configured loggers (in the master, before any fork), or None when
    every line goes to the one log target.  Raises :class:`SpecError` naming what cannot work."""
    via_master = requests_via_master(cfg)
    if not (routes_log_lines(cfg) or via_master):
        return None
    import socket

    from gateway.log_sinks import open_sink

    hostname = socket.gethostname()
    sinks: List[Any] = []

    def targets(specs: List[LoggerSpec], option: str, mapped: Optional[LoggerSpec]) -> List[Tuple[LoggerSpec, Any]]:
        pairs: List[Tuple[LoggerSpec, Any]] = []
        for spec in specs:
            if (spec.plugin == "stdio") or (mapped is not None and spec is mapped):
                pairs.append((spec, FD_TARGET))
                continue
            try:
                sink = open_sink(spec, hostname, int(cfg.rsyslog_packet_size), bool(cfg.rsyslog_split_messages))
            except SpecError as e:
                raise SpecError("--%s %s" % (option, e)) from None
            sinks.append(sink)
            pairs.append((spec, sink))
        return pairs

    try:
        specs = logger_specs(cfg)
        main = Channel(targets(specs, "logger", logto_logger(specs)), FD_TARGET,
                       [parse_encoder(raw) for raw in cfg.log_encoder],
                       [parse_route(raw) for raw in cfg.log_route],
                       [re.compile(raw) for raw in cfg.log_drain], [re.compile(raw) for raw in cfg.log_filter])
        requests = None
        if via_master:
            requests = Channel(targets(logger_specs(cfg, "req-logger"), "req-logger", None), FD_TARGET,
                               [parse_encoder(raw) for raw in cfg.log_req_encoder],
                               [parse_route(raw) for raw in cfg.log_req_route], named_fallback=main.named)
    except SpecError:
        for sink in sinks:
            sink.close()
        raise
    return LogRouting(main, requests, sinks)


def rotation_problem(cfg: Any) -> Optional[str]:
    """Why the log options cannot work (no ``--logto`` file to rotate), or None."""
    for name in _LOG_FILE_OPTIONS + ("log-backupname",):
        if cfg.get(name) and not cfg.logto:
            return "--%s needs --logto FILE: there is no log file to rotate or reopen" % name
    return None


def logger_problem(cfg: Any) -> Optional[str]:
    """Why the request-line options cannot work (no ``--req-logger`` to apply them to), or None."""
    for name in ("log-req-encoder", "log-req-route"):
        if cfg.get(name) and not cfg.req_logger:
            return "--%s needs --req-logger: the request lines go with the others (use --log-%s)" % (
                name, name[8:])
    return None


class LogMaster:
    """The master side of ``--log-master`` (see the module docstring)::

        lm = LogMaster(max_line=8192, backlog=1 << 20)
        lm.start(add_reader, remove_reader, add_writer, remove_writer)  # in the master, before forking
        read_end, write_end = lm.pipe()                   # before each fork
        lm.in_child(write_end)                            # in the child, first thing
        lm.add_source(read_end)                           # in the master, after the fork
        lm.finish(timeout)                                # at the master's exit

    With ``path`` (the ``--logto`` file open on ``fd``): ``maxsize`` rotates it past that
    many bytes, :meth:`rotate` and :meth:`reopen` on demand (touch files, reloads).
    """

    def __init__(self, max_line: int = 8192, backlog: int = 1024 * 1024, fd: int = 2, path: Optional[str] = None,
                 maxsize: int = 0, backupname: Optional[str] = None, routing: Optional[LogRouting] = None) -> None:
        self.fd = fd
        #: the logger plugins (None: every line to ``fd``)
        self.routing = routing
        #: ``hook(line)`` for every whole log line before it is routed (not the request lines of
        #: --req-logger): the log alarms (:mod:`gateway.alarms`)
        self.line_hook: Optional[Callable[[bytes], None]] = None
        #: request-log pipes (``--req-logger``): their read ends, and each child's by its log fd
        self._request_fds: Set[int] = set()
        self._request_of: Dict[int, int] = {}
        self._pending_request: Optional[Tuple[int, int]] = None
        self.max_line = max_line
        self.backlog = backlog
        info = os.fstat(fd)
        self._regular = stat.S_ISREG(info.st_mode)
        #: the log file's path, for rotations (None: the target is not a file we named)
        self.path = _opened_path(fd, path) if self._regular and path else None
        self.maxsize = maxsize
        self.backupname = backupname
        #: bytes in the current log file (its size at start, then what we wrote)
        self.size = info.st_size if self._regular else 0
        #: rotations done (for tests and the curious)
        self.rotations = 0
        self._queue: Deque[bytes] = deque()
        self._queued = 0
        self.dropped_lines = 0
        self.dropped_bytes = 0
        self._sources: Dict[int, LineAssembler] = {}
        self._own = LineAssembler(max_line)
        self._add_reader: Optional[Callable[[int, Callable[[], None]], None]] = None
        self._remove_reader: Optional[Callable[[int], None]] = None
        self._add_writer: Optional[Callable[[int, Callable[[], None]], None]] = None
        self._remove_writer: Optional[Callable[[int], None]] = None
        self._waiting_writable = False
        self._saved: List[Tuple[Any, str, Any]] = []
        self._poll = select.poll()
        self._poll.register(fd, select.POLLOUT)
        # The master runs no thread, but an app loaded in it may start one that prints.
        self._lock = threading.RLock()

    # -- setup ------------------------------------------------------------------------

    def start(self, add_reader: Callable[[int, Callable[[], None]], None], remove_reader: Callable[[int], None],
              add_writer: Callable[[int, Callable[[], None]], None], remove_writer: Callable[[int], None]) -> None:
        """In the master: take over its own output (unless :meth:`capture` did), hook into its
        selectors loop, and write what waited for it."""
        self.capture()
        self._add_reader, self._remove_reader = add_reader, remove_reader
        self._add_writer, self._remove_writer = add_writer, remove_writer
        self._pump()

    def capture(self) -> None:
        """In the master, before it loads the app: its output (``print()``, the logging
        handlers) goes through the queue, encoders and loggers from now on, as in uWSGI, whose
        log master exists before the app is imported.  Until :meth:`start` a target that is
        not writable at once keeps the lines queued."""
        if self._saved:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        stream = _MasterStream(self)
        real = (sys.stdout, sys.stderr)
        for name in ("stdout", "stderr"):
            self._saved.append((sys, name, getattr(sys, name)))
            setattr(sys, name, stream)
        for logger in (logging.getLogger(), logging.getLogger("gateway")):
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream in real:
                    self._saved.append((handler, "stream", handler.stream))
                    handler.stream = stream

    def _restore(self) -> None:
        for obj, attr, value in reversed(self._saved):
            setattr(obj, attr, value)
        self._saved = []

    def pipe(self) -> Tuple[int, int]:
        """A new pipe for a child about to be forked: ``(read end, write end)``.

        With a request-log channel a second pipe waits for :meth:`add_source` (the fork
        done) or :meth:`discard` (the fork failed)."""
        self._close_pending()  # a pipe never claimed must not leak under the new one
        r, w = os.pipe()
        if self.routing is not None and self.routing.requests is not None:
            try:
                self._pending_request = os.pipe()
            except OSError:
                os.close(r)
                os.close(w)
                raise
            os.set_blocking(self._pending_request[0], False)
        os.set_blocking(r, False)
        return r, w

    def discard(self, pipe: Tuple[int, int]) -> None:
        """In the master when the fork for ``pipe`` (from :meth:`pipe`) failed: close it and
        its request-log pipe."""
        for fd in pipe:
            try:
                os.close(fd)
            except OSError:
                pass
        self._close_pending()

    def _close_pending(self) -> None:
        pending, self._pending_request = self._pending_request, None
        for fd in pending or ():
            try:
                os.close(fd)
            except OSError:
                pass

    def add_source(self, fd: int) -> None:
        """In the master after the fork: read ``fd`` (the child's pipe) from now on."""
        self._add_source(fd)
        if self._pending_request is not None:
            r, w = self._pending_request
            self._pending_request = None
            os.close(w)
            self._request_fds.add(r)
            self._request_of[fd] = r
            self._add_source(r)

    def _add_source(self, fd: int) -> None:
        self._sources[fd] = LineAssembler(self.max_line)
        assert self._add_reader is not None
        self._add_reader(fd, lambda: self._on_readable(fd))

    def in_child(self, write_end: int) -> None:
        """In a child right after fork: its fd 1 and 2 become ``write_end``; the master's
        streams and read ends are dropped."""
        self._restore()
        for fd in list(self._sources):
            os.close(fd)
        self._sources.clear()
        self._queue.clear()
        if self.routing is not None:
            self.routing.close()
        if self._pending_request is not None:
            r, w = self._pending_request
            self._pending_request = None
            os.close(r)
            from gateway import logs

            logs.requests_to_fd(w)
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        out = sys.stdout
        if isinstance(out, io.TextIOWrapper):
            # print() reaches the log at each newline, not per 8 KiB block.
            out.reconfigure(line_buffering=True)

    # -- reading ----------------------------------------------------------------------

    def _on_readable(self, fd: int) -> None:
        try:
            data = os.read(fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        assembler = self._sources.get(fd)
        if assembler is None:
            return
        requests = fd in self._request_fds
        if not data:  # every writer closed (the child and what it spawned are gone)
            self._emit(assembler.close(), requests)
            del self._sources[fd]
            self._request_fds.discard(fd)
            if self._remove_reader is not None:
                self._remove_reader(fd)
            os.close(fd)
            return
        lines = assembler.feed(data)
        if lines:
            self._emit(lines, requests)

    def own(self, data: bytes) -> None:
        """The master's own output (through its replaced streams)."""
        with self._lock:
            lines = self._own.feed(data)
            if lines:
                self._emit_locked(lines)

    # -- writing ----------------------------------------------------------------------

    def _emit(self, lines: List[bytes], requests: bool = False) -> None:
        with self._lock:
            self._emit_locked(lines, requests)

    def _emit_locked(self, lines: List[bytes], requests: bool = False) -> None:
        hook = self.line_hook
        if hook is not None and not requests:
            for line in lines:
                hook(line)
        routing = self.routing
        if routing is None:
            self._queue_locked(lines)
            return
        channel = routing.requests if requests and routing.requests is not None else routing.main
        mine: List[bytes] = []
        for line in lines:
            for target, data in channel.route(line):
                if target is FD_TARGET:
                    mine.append(data)
                else:
                    target.send(data)
        self._queue_locked(mine)

    def _queue_locked(self, lines: List[bytes]) -> None:
        for line in lines:
            if self._queued + len(line) > self.backlog:
                self.dropped_lines += 1
                self.dropped_bytes += len(line)
                continue
            if self.dropped_lines:
                self._queue_dropped_notice()  # where the gap is, before the next line kept
            self._queue.append(line)
            self._queued += len(line)
        self._pump()

    def _queue_dropped_notice(self) -> None:
        notice = ("gateway: --log-master dropped %d lines (%d bytes): the log target did not accept "
                  "them (--log-master-backlog %d)\n"
                  % (self.dropped_lines, self.dropped_bytes, self.backlog)).encode()
        self.dropped_lines = self.dropped_bytes = 0
        self._queue.append(notice)
        self._queued += len(notice)

    def _writable(self) -> bool:
        if self._regular:
            return True
        try:
            return bool(self._poll.poll(0))
        except InterruptedError:
            return False

    def _pump(self) -> None:
        """Write what the target accepts now; wait for writability in the loop otherwise."""
        with self._lock:
            self._pump_locked()

    def _pump_locked(self) -> None:
        queue = self._queue
        chunk = FILE_CHUNK if self._regular else PIPE_CHUNK
        while queue:
            if not self._writable():
                self._wait_writable(True)
                return
            head = queue[0]
            piece = head[:chunk]
            try:
                n = os.write(self.fd, piece)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                # The target is gone (EPIPE, EIO): nothing can be logged any more.
                self.dropped_lines += len(queue)
                self.dropped_bytes += self._queued
                queue.clear()
                self._queued = 0
                break
            self._queued -= n
            self.size += n
            if n >= len(head):
                queue.popleft()
            elif n:
                queue[0] = head[n:]
        self._wait_writable(False)
        if self.maxsize and self.size > self.maxsize and self.path is not None:
            self._rotate_locked()

    # -- rotation ---------------------------------------------------------------------

    def rotate(self) -> None:
        """Rename the log file and go on in a new empty one (``--touch-logrotate``)."""
        with self._lock:
            self._pump_locked()  # (which rotates by itself past --log-maxsize)
            if self.path is not None and self.size > 0:
                self._rotate_locked()

    def reopen(self) -> None:
        """Open the log file's path again (appending), for when something else moved it."""
        with self._lock:
            self._pump_locked()
            if self.path is not None:  # uWSGI's two lines, in the old file and in the new one
                self._raw(b"[%d] logsize: %d, triggering log-reopen...\n" % (int(time.time()), self.size))
                if self._reopen(os.O_APPEND):
                    self._raw(b"[%d] %s reopened.\n" % (int(time.time()), os.fsencode(self.path)))

    def _backup_name(self) -> str:
        if self.backupname:
            return self.backupname
        base = "%s.%d" % (self.path, int(time.time()))
        name, n = base, 1
        while os.path.lexists(name):
            n += 1
            name = "%s.%d" % (base, n)
        return name

    def _rotate_locked(self) -> None:
        assert self.path is not None
        target = self._backup_name()
        # written as uWSGI's uwsgi_logfile_write() does: always dated, ctime() style
        self._raw(b"%s - logsize: %d, triggering rotation to %s...\n"
                  % (time.ctime().encode(), self.size, os.fsencode(target)))
        try:
            os.rename(self.path, target)
        except OSError as e:
            self._raw(b"gateway: cannot rotate the log to %s: %s\n" % (os.fsencode(target), (e.strerror or str(e)).encode()))
            self.size = 0  # tried again after another --log-maxsize bytes, not at every line
            return
        self.rotations += 1
        self._reopen(os.O_TRUNC)

    def _reopen(self, mode: int) -> bool:
        """Open the path again in place of the current file; False (and a line) if it cannot."""
        assert self.path is not None
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | mode, 0o640)
        except OSError as e:
            self._raw(b"gateway: cannot reopen the log %s: %s\n" % (os.fsencode(self.path), (e.strerror or str(e)).encode()))
            return False
        try:
            old = os.fstat(self.fd)
            # the master's raw stdout (C extensions, subprocesses) follows its stderr to the new file
            if self.fd != 1 and os.path.samestat(os.fstat(1), old):
                os.dup2(fd, 1)
            os.dup2(fd, self.fd)
            self.size = os.fstat(self.fd).st_size
        finally:
            os.close(fd)
        return True

    def _raw(self, data: bytes) -> None:
        """A line straight into the current file (the rotation's own notices)."""
        try:
            self.size += os.write(self.fd, data)
        except OSError:
            pass

    def _wait_writable(self, on: bool) -> None:
        if on == self._waiting_writable or self._add_writer is None or self._remove_writer is None:
            return
        self._waiting_writable = on
        if on:
            self._add_writer(self.fd, self._pump)
        else:
            self._remove_writer(self.fd)

    # -- exit ---------------------------------------------------------------------------

    def finish(self, timeout: float) -> None:
        """At the master's exit: read what the pipes still hold, write the queue (waiting
        at most ``timeout`` s for a slow target), give the master its streams back.  What
        a stuck target has not taken by then is lost: nothing else could report it."""
        for fd in list(self._sources):
            self.drain(fd)
        for fd, assembler in list(self._sources.items()):
            self._emit(assembler.close(), fd in self._request_fds)
        self._emit(self._own.close())
        if self.dropped_lines:
            self._queue_dropped_notice()
        self._wait_writable(False)
        self._add_writer = self._remove_writer = None
        deadline = time.monotonic() + timeout
        while self._queue:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._regular or self._poll.poll(int(left * 1000) + 1):
                self._pump()
        self._restore()
        for fd in list(self._sources):
            os.close(fd)
        self._sources.clear()

    def drain(self, fd: int) -> None:
        """Read what source ``fd`` holds now (a child just died: its last lines first)."""
        while fd in self._sources and self._has_input(fd):
            self._on_readable(fd)
        request_fd = self._request_of.pop(fd, None)
        if request_fd is not None:
            self.drain(request_fd)

    @staticmethod
    def _has_input(fd: int) -> bool:
        """Bytes or the EOF wait on ``fd``."""
        p = select.poll()
        p.register(fd, select.POLLIN)
        return bool(p.poll(0))
