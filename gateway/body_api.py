"""The ``uwsgi`` module's request-body and response-file calls: ``chunked_read``,
``chunked_read_nb`` and ``sendfile``.

::

    while True:                               # a Transfer-Encoding: chunked upload
        chunk = uwsgi.chunked_read(30)        # IOError after 30 s without bytes
        if not chunk:
            break                             # b"": the body is complete
        consume(chunk)

    start_response("200 OK", [("Content-Type", "text/plain")])
    uwsgi.sendfile("/srv/report.txt")         # the file goes out now, as the body (so far)
    return []

Signatures and return values are uWSGI 2.0.31's (``plugins/python/uwsgi_pymodule.c``).
Each call acts on the request the caller serves (:mod:`gateway.server.current_request`)
and raises uWSGI's ``SystemError`` outside one.

``chunked_read`` reads through ``wsgi.input`` (:class:`gateway.server.wsgi_input.WSGIInput`),
so a wait parks only the calling core and the body's bounds (``--body-timeout``,
``--limit-post``) apply; it returns each chunk whole, as the client framed it (the parser
says where a chunk ends: ``chunk_ended``), at most ``--chunked-input-limit`` bytes.  A body
that is not chunked (a ``CONTENT_LENGTH`` or no ``Transfer-Encoding: chunked``) raises
uWSGI's ``IOError("unable to receive chunked part")`` (uWSGI fails to parse it as chunks).
``chunked_read_nb`` never waits; ``wait_fd_read(connection_fd())`` then waits for the
body's next bytes (:class:`BodyWatch`), so uWSGI's non-blocking loop works.  In a
``--threads`` thread the read is done by the core and ``sendfile`` writes through the
thread's ``write()`` (:func:`respond_callables`).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional, Tuple

from gateway.logs import gen_log
from gateway.regular_files import open_regular
from gateway.server.app_threads import THREAD_RESPOND
from gateway.server.current_request import current_environ, environ_or_none
from gateway.server.wsgi_input import BodyError, WSGIInput

#: what uWSGI's IOError says when a chunk cannot be read
CHUNK_ERROR = "unable to receive chunked part"
#: bytes one ``sendfile`` block reads when the app gives no ``chunk`` (and the largest it may give)
SENDFILE_BLOCK = 65536
SENDFILE_MAX_BLOCK = 4 * 1048576


def respond_callables(environ: Dict[str, Any]) -> Tuple[Callable[..., Any], Callable[[bytes], Any]]:
    """``(start_response, write)`` for a ``uwsgi`` call that answers: the response's own in a
    core; in a ``--threads`` thread the thread's, which hand the bytes to its core."""
    pair = environ.get(THREAD_RESPOND)
    if pair is not None:
        return pair
    response = environ["gateway.response"]
    return response.start_response, response.write


def _is_chunked(environ: Dict[str, Any]) -> bool:
    return (not environ.get("CONTENT_LENGTH")
            and environ.get("HTTP_TRANSFER_ENCODING", "").strip().lower() == "chunked")


def _stall(settings: Any, timeout: int) -> Optional[float]:
    """The bound of one wait: ``timeout`` > 0 seconds; 0: ``--chunked-input-timeout``, else
    ``--socket-timeout`` (-1); < 0: none, only the body's deadline (``--body-timeout``)."""
    if timeout > 0:
        return float(timeout)
    if timeout < 0:
        return None
    configured = getattr(settings, "chunked_input_timeout", 0.0)
    return float(configured) if configured > 0 else -1.0


def _read(what: str, timeout: int, nb: bool) -> Optional[bytes]:
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise TypeError("%s() argument must be int, not %s" % (what, type(timeout).__name__))
    environ = current_environ(what)
    if not _is_chunked(environ):
        raise OSError(CHUNK_ERROR)  # the app's mistake: a 500, as uWSGI
    source = environ.get("wsgi.input")
    if not hasattr(source, "read_chunk"):  # WSGIInput, or a --threads thread's view of it
        # --post-buffering already read the (decoded) body into a file
        return source.read(SENDFILE_BLOCK) if source is not None else b""
    assert source is not None
    settings = getattr(environ.get("gateway.response"), "settings", None)
    try:
        return source.read_chunk(_stall(settings, timeout), nb, getattr(settings, "chunked_input_limit", 0))
    except BodyError as e:
        gen_log.error("uwsgi.%s(): %s", what, e.args[0] if e.args else e)
        raise BodyError(CHUNK_ERROR, e.status) from e


class BodyWatch:
    """``uwsgi.wait_fd_read(uwsgi.connection_fd())`` while a chunked body is still coming
    (uWSGI's ``chunked_read_nb()`` loop): "readable" when body bytes that the parser can
    use are there, or the body ended, or the client left.  The bytes are pulled into
    ``wsgi.input``'s buffer (so a partial chunk does not make the fd readable forever);
    the wait itself is the connection's body waiter, woken by its ``data_received``."""

    def __init__(self, source: WSGIInput) -> None:
        self.source = source
        self.conn: Any = source._conn
        self.callback: Optional[Any] = None

    def _ready_now(self) -> bool:
        source = self.source
        if source.at_end or self.conn.closed:
            return True
        try:
            return source._fill(65536, None, True) or source._eof
        except OSError:
            return True  # a broken body: the next chunked_read_nb() raises

    def watch(self, callback: Optional[Any]) -> None:
        """Call ``callback`` once readable (at once if so already); None cancels."""
        conn = self.conn
        if callback is None:
            if conn._body_waiter is self:
                conn._body_waiter = None
            self.callback = None
            return
        if self._ready_now():
            callback()
            return
        self.callback = callback
        conn._resume_reading()
        conn._body_waiter = self  # woken by wake_body() / fail_waiters(), as a parked read

    def fire(self, *args: Any) -> None:
        callback, self.callback = self.callback, None
        if callback is not None:
            callback()

    throw = fire


def body_watch_for_fd(fd: int) -> Optional[BodyWatch]:
    """For ``wait_fd_read(fd)`` in a core: a :class:`BodyWatch` when ``fd`` is the request's
    connection and its chunked body has not all been read, else None."""
    from gateway.api_sockets import _connection_fd

    environ = environ_or_none()
    if environ is None or fd < 0 or fd != _connection_fd() or not _is_chunked(environ):
        return None
    source = environ.get("wsgi.input")
    if not isinstance(source, WSGIInput) or source.at_end:
        return None
    return BodyWatch(source)


def chunked_read(timeout: int = 0) -> bytes:
    """The next chunk of this request's chunked body, whole, waiting for it (parking only
    this core) at most ``timeout`` seconds per wait (0: ``--chunked-input-timeout`` or
    ``--socket-timeout``; negative: no bound of its own); ``b""`` at the end of the body.
    ``IOError("unable to receive chunked part")`` on a timeout, a broken body, a chunk
    over ``--chunked-input-limit`` or a body that is not chunked."""
    data = _read("chunked_read", timeout, False)
    return data if data is not None else b""


def chunked_read_nb() -> Optional[bytes]:
    """:func:`chunked_read` without waiting: None while the next chunk is incomplete (what
    arrived stays buffered; ``wait_fd_read(connection_fd())`` + ``suspend()`` and try again)."""
    return _read("chunked_read_nb", 0, True)


def sendfile(what: Any, chunk: int = 0, pos: int = 0, filesize: int = 0) -> Optional[bool]:
    """Send a file as (the next part of) this request's response body; True when sent.

    ``what`` is a path (str or bytes) or a file object or descriptor (not closed here,
    unlike uWSGI, which closes the descriptor under its Python file object).  ``pos`` is
    where to start, ``filesize`` how many bytes (0: to the end of the file), ``chunk``
    how many each read takes (0: 64 KiB, at most 4 MiB).  The bytes go through the
    response's ``write()`` (headers first, framing, ``--limit``s, a slow client parking
    this core), as a ``wsgi.file_wrapper`` body does without ``--offload-threads``.
    A path that cannot be opened is logged and gives None, as uWSGI; so does a path that
    is not a regular file (a FIFO, a device), which uWSGI would block on.
    """
    for name, value in (("chunk", chunk), ("pos", pos), ("filesize", filesize)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("sendfile() %s must be int, not %s" % (name, type(value).__name__))
        if value < 0:
            raise ValueError("sendfile() %s must not be negative" % name)
    environ = current_environ("sendfile")
    response = environ["gateway.response"]
    write = respond_callables(environ)[1]
    if isinstance(what, (str, bytes)):
        try:
            fd = open_regular(what)[0]  # a FIFO or a device would block this core's loop
        except OSError as e:
            gen_log.error("uwsgi.sendfile(): open(%r): %s", what, e.strerror or e)
            return None
        owned = True
    else:
        fd = what if isinstance(what, int) and not isinstance(what, bool) else what.fileno()
        owned = False
    try:
        if filesize:
            left = filesize
        else:
            left = max(os.fstat(fd).st_size - pos, 0)
        block = min(chunk or SENDFILE_BLOCK, SENDFILE_MAX_BLOCK)
        response.note().from_file = True  # --log-sendfile, as uWSGI's sendfile responses
        while left > 0:
            data = os.pread(fd, min(block, left), pos)
            if not data:
                break  # the file is shorter than filesize
            write(data)
            pos += len(data)
            left -= len(data)
    finally:
        if owned:
            os.close(fd)
    return True
