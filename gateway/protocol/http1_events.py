"""The events of the HTTP/1.x request parser (h11's shapes): what ``RequestParser.next_event()`` returns.

:class:`Request` (a head), then :class:`Data` and :class:`EndOfMessage`; :class:`ConnectionClosed` between
requests; the sentinels :data:`NEED_DATA` and :data:`PAUSED` when there is no event to give.  Named tuples:
immutable and cheap to build on the hot path.
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Union


class Request(NamedTuple):
    """A request head.  Strings are latin-1 decodings of the bytes on the wire."""

    method: str
    #: the request-target exactly as sent
    target: str
    #: the target up to ``?`` (or ``#``), still percent-encoded (``"*"`` for ``OPTIONS *``)
    path: str
    #: what follows ``?`` up to a ``#``, raw; ``""`` when there is none
    query: str
    #: ``"HTTP/1.1"`` or ``"HTTP/1.0"``
    version: str
    #: ``(name, value)`` in arrival order, names as sent, values stripped; at most one
    #: ``Content-Length``, holding the merged decimal value
    headers: list[tuple[str, str]]
    #: may the connection carry another request after this one?
    keep_alive: bool
    #: the Content-Length header's value, ``None`` when absent
    content_length: int | None
    #: is the body chunked?  (There is a body iff ``chunked or content_length``.)
    chunked: bool
    #: HTTP/1.1, ``Expect: 100-continue`` and a body announced
    expect_continue: bool
    #: bytes of the head: request line, header lines and the blank line
    head_size: int
    #: the authority of an absolute-form target, else the Host header, else None
    host: str | None


class Data(NamedTuple):
    """Some bytes of the request body (never empty)."""

    data: bytes


class EndOfMessage(NamedTuple):
    """The request body is complete; ``trailers`` are the chunked trailer fields."""

    trailers: tuple[tuple[str, str], ...] = ()


class ConnectionClosed(NamedTuple):
    """The client closed the connection cleanly, between two requests."""


class Sentinel(enum.Enum):
    """What ``next_event()`` returns when it has no event to give."""

    NEED_DATA = "NEED_DATA"
    PAUSED = "PAUSED"

    def __repr__(self) -> str:
        return self.value


#: more bytes are needed: call ``receive_data()``
NEED_DATA = Sentinel.NEED_DATA
#: a request is complete: call ``start_next_request()`` to parse the next one
PAUSED = Sentinel.PAUSED

Event = Union[Request, Data, EndOfMessage, ConnectionClosed, Sentinel]
