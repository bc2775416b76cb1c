"""What the sans-IO request parsers of the CGI-vars protocols share (uwsgi, SCGI, FastCGI).

Each is fed bytes with :meth:`ByteStreamParser.receive_data` (``b""``: EOF) and asked for
events with :meth:`ByteStreamParser.next_event`; a malformation raises the protocol's own
:class:`~gateway.protocol.errors.RemoteProtocolError` subclass and sticks: every later call
raises it again.  A body delimited by a length (uwsgi's and SCGI's ``CONTENT_LENGTH``) is
handed out by :meth:`ByteStreamParser._read_body` as it arrives, never copied whole.
"""

from __future__ import annotations

from typing import Any, Optional, Type, Union

from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1_events import NEED_DATA, Data, EndOfMessage, Sentinel

__all__ = ["ByteStreamParser"]


class ByteStreamParser:
    """The buffer, EOF and sticky error of a parser; a subclass sets :attr:`error_class`
    and implements ``_next()`` (and ``_truncated_body`` if it uses :meth:`_read_body`)."""

    #: the protocol's base error: raised by ``_next()``, remembered, raised again
    error_class: Type[RemoteProtocolError] = RemoteProtocolError

    def __init__(self) -> None:
        self._buf = b""
        self._eof = False
        self._error: Optional[RemoteProtocolError] = None
        #: bytes of the current length-delimited body still to hand out
        self._body_left = 0

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer; ``b""`` means EOF."""
        if data:
            self._buf = self._buf + data if self._buf else data
        else:
            self._eof = True

    def buffered(self) -> int:
        """Bytes received and not yet handed out."""
        return len(self._buf)

    @property
    def eof(self) -> bool:
        """EOF was received."""
        return self._eof

    def next_event(self) -> Any:
        """The next event, :data:`NEED_DATA` or :data:`PAUSED`."""
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except self.error_class as e:
            self._error = e
            self._failed()
            raise

    def _next(self) -> Any:
        raise NotImplementedError

    def _failed(self) -> None:
        """Called once the parser has failed (a subclass may note it in its state)."""

    def _truncated_body(self, missing: int) -> RemoteProtocolError:
        """The error for EOF with ``missing`` body bytes still expected."""
        return self.error_class("EOF with %d bytes of the body missing" % missing)

    def _read_body(self) -> Union[Data, EndOfMessage, Sentinel]:
        """The next piece of a body of :attr:`_body_left` bytes: ``Data``, ``NEED_DATA``, or
        ``EndOfMessage`` once it is all out (the caller then moves to its next state)."""
        left = self._body_left
        if left == 0:
            return EndOfMessage()
        buf = self._buf
        if buf:
            if len(buf) <= left:
                self._buf = b""
                self._body_left = left - len(buf)
                return Data(buf)
            self._buf = buf[left:]
            self._body_left = 0
            return Data(buf[:left])
        if self._eof:
            raise self._truncated_body(left)
        return NEED_DATA
