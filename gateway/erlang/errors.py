"""Exceptions of the Erlang C-node, one class per way a call can fail.

Hosted code catches these around ``uwsgi.erlang_*`` calls, so each failure has its
own class: the peer is unreachable or went away (:class:`NodeDown`), it refused our
cookie (:class:`AuthenticationFailed`), it refused the connection for another reason
(:class:`ConnectionRejected`), it did not answer in time (:class:`ErlangTimeout`,
also a ``TimeoutError``), or the remote function failed (:class:`BadRPC`, carrying
Erlang's reason term).  :class:`ErlangProtocolError` means somebody broke the
distribution protocol; its ``who`` says whom ("peer", "epmd").

This module is a leaf (stdlib only) so the sans-IO modules can raise these too.
"""

from __future__ import annotations

from typing import Any


class ErlangError(Exception):
    """Base class of every error raised by ``gateway.erlang``."""


class NodeDown(ErlangError, ConnectionError):
    """The Erlang node cannot be reached, or the connection to it was lost.

    What Erlang itself reports as ``nodedown``/``noconnection``: EPMD does not know
    the name, the TCP connect failed, or the peer closed or stopped ticking.
    """


class AuthenticationFailed(ErlangError):
    """The handshake failed on the cookie: the peer's digest did not match ours, or
    the peer closed the connection right after our challenge reply (which is how an
    Erlang node answers a wrong cookie)."""


class ConnectionRejected(ErlangError):
    """The peer answered our connection request with a refusing status.

    ``status`` is the peer's word: ``"nok"`` (a simultaneous connect it keeps
    itself), ``"not_allowed"`` (our flags or name are refused) or ``"alive"``
    refused.
    """

    def __init__(self, message: str, status: str = "") -> None:
        super().__init__(message)
        self.status = status


class NotAllowed(ConnectionRejected):
    """The peer answered ``not_allowed``: it refuses our node (flags or name)."""


class ErlangTimeout(ErlangError, TimeoutError):
    """No answer within the call's timeout (the late answer, if any, is dropped)."""


class BadRPC(ErlangError):
    """The remote call failed on the Erlang side: ``{badrpc, Reason}``.

    ``reason`` is the decoded Erlang term, e.g.
    ``("EXIT", (Atom("undef"), [...]))`` for an unknown function.
    """

    def __init__(self, reason: Any) -> None:
        super().__init__("Erlang rpc failed: {badrpc, %r}" % (reason,))
        self.reason = reason


class ErlangProtocolError(ErlangError):
    """Somebody broke the distribution protocol (``who``: "peer" or "epmd")."""

    def __init__(self, message: str, who: str = "peer") -> None:
        super().__init__("%s broke the protocol: %s" % (who, message))
        self.who = who


class EPMDError(ErlangError):
    """EPMD refused a request: our name is already registered, or EPMD is absent."""


class NodeNotRunning(ErlangError, RuntimeError):
    """An ``erlang_*`` function was called but this worker runs no Erlang node
    (no ``--erlang`` option, or the node was stopped)."""
