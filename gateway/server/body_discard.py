"""What is left of a request body once its response is out: dropped, never a reset.

An app may answer without reading the request body (a 401 or 413 to an upload, a
redirect after a POST it ignores).  The body is still coming.  Closing the connection
with those bytes unread makes the kernel send a TCP reset, and a reset can reach the
client before it has read the response: the client sees ``Connection reset by peer``
and never the answer (what nginx's "lingering close" exists for).  Keeping the
connection needs the rest of the body read anyway.

So, after the response, ``--http-socket`` connections, the ``--http`` router's client
connections and ``--socket`` (uwsgi) connections read and drop what is left of the body,
through the same parser (so a chunked body ends where the parser says).  Behind nginx this
is what keeps the answer: nginx still sending the body when the app's worker resets the
connection answers its client ``502``, whatever the app said.

* up to ``--discard-body-max`` bytes: the connection then goes on with the next request
  as if the app had read the body (or closes cleanly, if it was not to be kept: one
  packet per uwsgi connection);
* past it, or on a malformed body: a *lingering close*: our FIN goes out after the
  response (``write_eof``), whatever still arrives is dropped, and the connection closes
  at the client's EOF or after ``--linger-timeout`` seconds, whichever comes first.

Each wait for the body's bytes is bounded by ``--socket-timeout`` as any other.
:func:`drop_body` is the sans-IO step; :class:`BodyDiscarding` the connection side the HTTP and
router connections share (``--socket`` keeps its own, stateless one).
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1 import NEED_DATA, PAUSED, Data, EndOfMessage

#: --discard-body-max's default: bytes of an unread body dropped to keep the connection
DISCARD_MAX = 1 << 20
#: --linger-timeout's default: seconds a lingering close drops bytes before closing
LINGER_TIMEOUT = 2.0


def drop_body(parser: Any, budget: int) -> Tuple[Optional[bool], int]:
    """Drop the request body events ``parser`` has, within ``budget`` bytes.

    Returns ``(verdict, budget left)``: verdict True when the body ended (the parser is
    ready for the next request), None when more bytes are needed, False when the
    connection must be given up (over the budget, a malformed or truncated body).
    """
    while True:
        try:
            event = parser.next_event()
        except RemoteProtocolError:
            return False, budget
        kind = type(event)
        if kind is Data:
            budget -= len(event.data)
            if budget < 0:
                return False, budget
            continue
        if kind is EndOfMessage or event is PAUSED:  # (PAUSED: its EndOfMessage went by already)
            return True, budget
        if event is NEED_DATA:
            return None, budget
        return False, budget  # ConnectionClosed, PAUSED: the body will not end


def start_linger(transport: Any) -> None:
    """Our FIN after what is written (when the transport can half-close: TLS cannot)."""
    try:
        if transport.can_write_eof():
            transport.write_eof()
    except (OSError, RuntimeError):  # already closing
        pass


class BodyDiscarding:
    """Mixin: DISCARD and LINGER for a connection with a ``parser``, a ``transport`` and
    ``settings``.  It holds the connection's ``state`` (the class names its own ``DISCARD``
    and ``LINGER`` values, above its other states) and ``deadline`` (for its sweep).  The class gives ``_clock()`` (its loop's time),
    ``_resume_reading()``, ``_close()`` and ``_body_dropped(keep)`` (the body ended after
    the answer: go on with the next request when ``keep``, else close)."""

    __slots__ = ("state", "deadline", "_discard_budget", "_discard_keep")
    DISCARD: int
    LINGER: int
    parser: Any
    transport: Any
    settings: Any

    # (what the connection class gives; this mixin comes after any base that gives them)
    def _clock(self) -> float:
        raise NotImplementedError

    def _resume_reading(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _body_dropped(self, keep: bool) -> None:
        raise NotImplementedError

    def _discard_rest(self, keep: bool) -> bool:
        """The answer is out and the body may not have ended: True when it has (its
        EndOfMessage consumed: the caller goes on); False when dropping what is still on
        the wire, or lingering, took the connection over."""
        verdict, self._discard_budget = drop_body(self.parser, self.settings.discard_max)
        if verdict:
            return True
        if verdict is None:
            self._discard_keep = keep
            self.state = self.DISCARD
            self.deadline = self._clock() + self.settings.socket_timeout
            self._resume_reading()
        else:
            self._linger()
        return False

    def _drop_unread(self, data: bytes) -> None:
        """What arrived in DISCARD (fed to the parser, the body's bytes dropped) or LINGER
        (dropped)."""
        if self.state == self.LINGER:
            return
        self.parser.receive_data(data)
        self.deadline = self._clock() + self.settings.socket_timeout
        verdict, self._discard_budget = drop_body(self.parser, self._discard_budget)
        if verdict is None:
            return
        if verdict:
            self._body_dropped(self._discard_keep)
        else:
            self._linger()

    def _linger(self) -> None:
        """Close without a reset: our FIN now, the close at the peer's EOF or the deadline."""
        self.state = self.LINGER
        self.deadline = self._clock() + self.settings.linger_timeout
        start_linger(self.transport)
        self._resume_reading()
