"""``wsgi.input``: a request body stream that parks only the current core while it waits.

Reads pull body events from the connection's parser.  When no body bytes are buffered
the core suspends (a :class:`loop_engine.Waiter` fired by the connection's
``data_received``) for at most ``--socket-timeout`` seconds per wait, as uWSGI does;
a stalled client then gets ``OSError("timeout during read(N) on wsgi.input")`` in the
app, the same message uWSGI raises.  Every read stops at the end of the body
(Content-Length or the chunked terminator), so ``read()`` with no size is safe.

A per-wait bound alone lets a client that sends one byte every few seconds hold a core
for as long as it likes, so the whole body has a deadline too (:class:`BodyDeadline`,
the idea of Apache's ``mod_reqtimeout``): ``--body-timeout`` seconds from the app's first
read, plus one second per ``--body-min-rate`` bytes received.  Past it the app gets the
same ``OSError`` (a ``BodyError`` with status 408, which the runner answers when the app
lets it through) and the connection is closed.  This lives here, not in a protocol, so
every protocol's ``wsgi.input`` (HTTP, uwsgi) has the same bounds: a connection only
implements :class:`BodySource`.

``Expect: 100-continue`` is answered lazily, on the first read, so a client waiting
for it never sends a body the app does not want (gevent's design).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterator, List, Optional, Protocol

from gateway.logs import gen_log

if TYPE_CHECKING:  # pragma: no cover
    from gateway.server.settings import ServerSettings


class BodySource(Protocol):
    """What a protocol's connection offers :class:`WSGIInput` (HTTP and uwsgi alike)."""

    #: who is on the other side, for log lines (``127.0.0.1``, ``127.0.0.1:41000``, ``unix``)
    peer: str

    def read_body_chunk(self, want: int, timeout: Optional[float], nb: bool = False) -> Optional[bytes]:
        """The next body bytes, suspending the current core at most ``timeout`` seconds
        (None: no bound) while none are buffered; None at the end of the body.  Raises
        :class:`BodyTimeout` when the wait times out (without logging: the caller knows
        which bound it was) and :class:`BodyError` on truncation or a protocol error.
        With ``nb`` it never waits: ``b""`` when no body bytes have arrived yet (reading
        from the peer is resumed, so they will)."""


class BodyError(OSError):
    """Reading the request body failed; ``status`` is the response a server should give."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class BodyTimeout(BodyError):
    """A wait for body bytes timed out (408)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 408)


class BodyDeadline:
    """How long a request body may take: ``allowance`` seconds plus one per ``min_rate`` bytes.

    ``BodyDeadline(now, allowance=30, min_rate=500)``: at ``now + 30 s`` the body must be
    complete unless bytes came in, each 500 bytes buying one more second (so a client that
    keeps sending at 500 bytes/s or more is never cut, and one sending 1 byte/s is cut
    after about 30 s).  ``allowance`` 0 disables the deadline; ``min_rate`` 0 makes it a
    fixed total.  Pure (``now`` is passed in): the caller owns the clock.
    """

    __slots__ = ("start", "allowance", "min_rate")

    def __init__(self, now: float, allowance: float, min_rate: int) -> None:
        self.start = now
        self.allowance = allowance
        self.min_rate = min_rate

    def remaining(self, now: float, received: int) -> Optional[float]:
        """Seconds left after ``received`` bytes (negative when past it); None: no deadline."""
        if self.allowance <= 0:
            return None
        limit = self.start + self.allowance
        if self.min_rate > 0:
            limit += received / self.min_rate
        return limit - now


class ClientDisconnected(OSError):
    """The client went away while the app was still reading or producing a response."""


class WSGIInput:
    """File-like, read-only view of one request body (PEP 3333 ``wsgi.input``)."""

    # One is made per request: the state is kept to these slots (the bytes received are
    # derived, see _received; where a chunk ends is the parser's, see read_chunk).
    __slots__ = ("_conn", "_settings", "_deadline", "_buf", "_pos", "_eof", "consumed", "_warn_at")

    def __init__(self, conn: BodySource, eof: bool, settings: "ServerSettings") -> None:
        self._conn = conn
        self._settings = settings
        self._deadline: Optional[BodyDeadline] = None  # started by the first read
        self._buf = b""
        self._pos = 0
        self._eof = eof
        #: Body bytes handed to the app so far.
        self.consumed = 0
        # --body-read-warning MB: a read returning more is logged, once per request (None: done)
        self._warn_at: Optional[int] = settings.body_read_warning

    @property
    def at_end(self) -> bool:
        """Nothing left to read: no body, or all of it handed out."""
        return self._eof and self._pos >= len(self._buf)

    @property
    def _received(self) -> int:
        """Body bytes pulled from the connection: those handed to the app plus those buffered."""
        return self.consumed + len(self._buf) - self._pos

    # -- the pull ---------------------------------------------------------------

    def _fill(self, want: int, stall: Optional[float] = -1.0, nb: bool = False) -> bool:
        """Append the next body bytes to the buffer; False at the end of the body (and,
        with ``nb``, when none have arrived yet).  ``stall``: the bound of one wait
        (-1: ``--socket-timeout``, None: none, only the body's deadline)."""
        if self._eof:
            return False
        settings = self._settings
        if stall is not None and stall < 0:
            stall = settings.socket_timeout
        timeout = stall
        now = time.monotonic()
        deadline = self._deadline
        if deadline is None:
            deadline = self._deadline = BodyDeadline(now, settings.body_timeout, settings.body_min_rate)
        remaining = deadline.remaining(now, self._received)
        if remaining is not None and (stall is None or remaining < stall):
            timeout = max(remaining, 0.0)
        try:
            data = self._conn.read_body_chunk(want, timeout, nb)
        except BodyTimeout:
            peer = self._conn.peer
            if stall is None or (timeout is not None and timeout < stall):
                gen_log.info(
                    "[body-read] request body from %s too slow: %d bytes in %.1fs (--body-timeout %s"
                    " + 1 s per --body-min-rate %d bytes): 408",
                    peer, self._received, time.monotonic() - deadline.start, settings.body_timeout,
                    settings.body_min_rate,
                )
            else:
                gen_log.info("[body-read] timeout reading %d bytes of the request body from %s after %ss",
                             want, peer, stall)
            raise
        if data is None:
            self._eof = True
            return False
        if not data:
            return False  # nb: nothing yet
        if self._pos:
            self._buf = self._buf[self._pos :] + data
            self._pos = 0
        else:
            self._buf = self._buf + data if self._buf else data
        return True

    def _available(self) -> int:
        return len(self._buf) - self._pos

    def _take(self, n: int) -> bytes:
        pos = self._pos
        if pos == 0 and n >= len(self._buf):
            out = self._buf
            self._buf = b""
        else:
            out = self._buf[pos : pos + n]
            self._pos = pos + len(out)
            if self._pos >= len(self._buf):
                self._buf = b""
                self._pos = 0
        self.consumed += len(out)
        if self._warn_at is not None and len(out) > self._warn_at << 20:
            self._warn(len(out))
        return out

    def _warn(self, size: int) -> None:
        """``--body-read-warning MB``: one read this large holds the whole of it in memory."""
        self._warn_at = None
        gen_log.warning("[uwsgi-warning] you are using read() on request body allocating over than %d MB, "
                        "that is really bad and can be avoided...", size >> 20)

    # -- uwsgi.chunked_read() ---------------------------------------------------------

    def read_chunk(self, stall: Optional[float], nb: bool = False, limit: int = 0) -> Optional[bytes]:
        """The next chunk of a chunked body, whole, as the client framed it
        (``uwsgi.chunked_read``); ``b""`` at the end of the body.  ``stall`` bounds each
        wait (None: only the body's deadline); ``limit`` (> 0) is the largest chunk, a
        larger one raises :class:`BodyError` (413).  With ``nb`` it never waits: None while
        the chunk is incomplete (what has arrived stays buffered for the next call)."""
        # the parser says whether the last bytes pulled completed a chunk; one that cannot
        # tell (FastCGI, SCGI) makes each piece one.  Bytes left buffered by a read() count.
        parser = getattr(self._conn, "parser", None)
        ended = self._available() > 0 and getattr(parser, "chunk_ended", True)
        while not (ended and self._available()):
            if self._eof:
                return self._take(self._available())
            if not self._fill(65536, stall, nb):
                if self._eof:
                    continue
                return None
            ended = getattr(parser, "chunk_ended", True)
            if limit and self._available() > limit:
                raise BodyError("a chunk of the request body is over --chunked-input-limit (%d bytes)" % limit, 413)
        return self._take(self._available())

    # -- PEP 3333 ---------------------------------------------------------------

    def read(self, size: Optional[int] = -1) -> bytes:
        if size is None or size < 0:
            while self._fill(65536):
                pass
            return self._take(self._available())
        if size == 0:
            return b""
        while self._available() < size and self._fill(size - self._available()):
            pass
        return self._take(size)

    def readline(self, size: Optional[int] = -1) -> bytes:
        limit = size if size is not None and size >= 0 else None
        start = 0
        while True:
            avail = self._available()
            idx = self._buf.find(b"\n", self._pos + start, self._pos + (limit if limit is not None else avail))
            if idx >= 0:
                return self._take(idx - self._pos + 1)
            if limit is not None and avail >= limit:
                return self._take(limit)
            start = avail
            if not self._fill(65536):
                return self._take(self._available())

    def readlines(self, hint: Optional[int] = -1) -> List[bytes]:
        lines: List[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        """No-op: the server owns the stream (some frameworks call it)."""
