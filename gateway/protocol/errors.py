"""Exceptions raised by the sans-IO protocol machines, saying who broke the protocol.

The parsers in :mod:`gateway.protocol` never write to a socket or a log: when the
bytes they are given cannot be a valid message, they raise.  The class tells the
I/O layer *whose* fault it was, and ``status_hint`` what to answer with:

* :class:`RemoteProtocolError`: the peer sent garbage (answer ``status_hint``,
  typically 400, then close the connection; log at INFO, no traceback);
* :class:`LocalProtocolError`: the code driving the machine misused it (a bug
  on our side: log it as an error).

``exc.args[0]`` is a one-line human message.  It never contains raw CR/LF from
the peer (offending bytes are shown with ``repr``), so it is safe to log.
"""

from __future__ import annotations

__all__ = ["ProtocolError", "RemoteProtocolError", "LocalProtocolError"]


class ProtocolError(Exception):
    """Base class: a message that cannot be processed, with the status to answer.

    ``status_hint`` is an HTTP status code (400, 413, 414, 431, 501, 505, ...);
    transports that are not HTTP map it to their own error reply.
    """

    status_hint: int

    def __init__(self, msg: str, status_hint: int = 400) -> None:
        super().__init__(msg)
        self.status_hint = status_hint

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args[0]!r}, status_hint={self.status_hint})"


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol; ``status_hint`` is the status to answer with."""


class LocalProtocolError(ProtocolError):
    """We broke the protocol: the caller drove a machine in a way it does not allow."""

    def __init__(self, msg: str, status_hint: int = 500) -> None:
        super().__init__(msg, status_hint)
