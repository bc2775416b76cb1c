"""``wsgi.input``: a request body stream that parks only the current core while it waits.

Reads pull body events from the connection's parser.  When no body bytes are buffered
the core suspends (a :class:`loop_engine.Waiter` fired by the connection's
``data_received``) for at most ``--socket-timeout`` seconds per wait, as uWSGI does;
a stalled client then gets ``OSError("timeout during read(N) on wsgi.input")`` in the
app, the same message uWSGI raises.  Every read stops at the end of the body
(Content-Length or the chunked terminator), so ``read()`` with no size is safe.

``Expect: 100-continue`` is answered lazily, on the first read, so a client waiting
for it never sends a body the app does not want (gevent's design).
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Protocol


class BodySource(Protocol):
    """What a protocol's connection offers :class:`WSGIInput` (HTTP and uwsgi alike)."""

    def read_body_chunk(self, want: int) -> Optional[bytes]:
        """The next body bytes, suspending the current core while none are buffered;
        None at the end of the body.  Raises :class:`BodyError` on timeout or truncation."""


class BodyError(OSError):
    """Reading the request body failed; ``status`` is the response a server should give."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class ClientDisconnected(OSError):
    """The client went away while the app was still reading or producing a response."""


class WSGIInput:
    """File-like, read-only view of one request body (PEP 3333 ``wsgi.input``)."""

    __slots__ = ("_conn", "_buf", "_pos", "_eof", "consumed")

    def __init__(self, conn: BodySource, eof: bool) -> None:
        self._conn = conn
        self._buf = b""
        self._pos = 0
        self._eof = eof
        #: Body bytes handed to the app so far.
        self.consumed = 0

    # -- the pull ---------------------------------------------------------------

    def _fill(self, want: int) -> bool:
        """Append the next body bytes to the buffer; False at the end of the body."""
        if self._eof:
            return False
        data = self._conn.read_body_chunk(want)
        if data is None:
            self._eof = True
            return False
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
        return out

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
