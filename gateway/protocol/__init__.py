"""Sans-IO protocol machines: bytes in, events out; events in, bytes out.

Nothing in this package touches a socket, a clock, a thread, tornado or a
logger: the I/O layers in :mod:`gateway.server` drive these machines and decide
what to log.  Errors are raised as :class:`~gateway.protocol.errors.ProtocolError`
subclasses that say who broke the protocol and which status to answer with.

Modules: :mod:`.errors`, :mod:`.http1` (HTTP/1.x request parser),
:mod:`.chunked` (chunked response encoding).
"""

from __future__ import annotations

from .errors import LocalProtocolError, ProtocolError, RemoteProtocolError

__all__ = ["ProtocolError", "RemoteProtocolError", "LocalProtocolError"]
