"""The client of remote caches: ``uwsgi.cache_*(..., cache="name@host:port")``.

One connection per operation (uWSGI servers close after answering), the request of
:mod:`gateway.protocol.uwsgi_cache`, each wait bounded by ``--socket-timeout``:

* from an async core only that core is suspended (the socket waits on the IOLoop);
* from a plain thread that thread blocks (``poll``);
* from the IOLoop itself (a callback or coroutine) it raises ``RuntimeError``: waiting
  there would stall every core.

As in uWSGI every failure (refused, timeout, the server closing without an answer,
a malformed reply) gives ``None`` to the caller; one line on ``gateway.error`` says
why.  A value larger than ``--rpc-max-reply`` is refused.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Any, Generator, Optional, Tuple

from gateway import rpc
from gateway.logs import gen_log
from gateway.protocol import uwsgi_cache as wire
from gateway.socket_steps import READ, WRITE, drive_blocking, drive_in_core

_READ, _WRITE = READ, WRITE
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK, errno.EALREADY)

Outcome = Tuple[str, Optional[bytes]]


def split(cache: str) -> Tuple[Optional[bytes], str]:
    """``"name@host:port"`` -> (b"name" or None, "host:port")."""
    name, _, server = cache.partition("@")
    return (name.encode() if name else None), server


def _exchange(sock: socket.socket, address: Any, request: bytes, parser: Any) -> Generator[str, None, Outcome]:
    # Not rpc._exchange: that one skips the wait for the connect and maps errors to RPCError.
    err = sock.connect_ex(address[1])
    if err in _IN_PROGRESS:
        yield _WRITE
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise ConnectionError("cannot connect to %s: %s" % (address[2], errno.errorcode.get(err, err)))
    view = memoryview(request)
    while view:
        try:
            view = view[sock.send(view):]
        except BlockingIOError:
            yield _WRITE
    while True:
        try:
            chunk = sock.recv(262144)
        except BlockingIOError:
            yield _READ
            continue
        except ConnectionResetError:
            chunk = b""
        out = parser.receive_data(chunk)
        if out is not None:
            return out


def _socket(address: Any) -> socket.socket:
    sock = socket.socket(address[0], socket.SOCK_STREAM)
    sock.setblocking(False)
    return sock


def roundtrip(what: str, server: str, payload: bytes, parser: Any) -> Outcome:
    """Send ``payload`` to ``server`` (``host:port`` or a UNIX path) and feed the reply
    to ``parser`` (``receive_data(bytes) -> None | outcome``); ("failed", None) on any
    error (logged)."""
    from loop_engine import current_core

    core = current_core()
    if core is None and asyncio._get_running_loop() is not None:
        raise RuntimeError("uwsgi.%s(..., %r) called from the IOLoop (a callback or coroutine): "
                           "it would stall every core; call it from a request" % (what, server))
    try:
        address = rpc.node_address(server)
    except (rpc.RPCError, ValueError) as e:
        gen_log.warning("uwsgi.%s: %r: %s", what, server, e)
        return ("failed", None)
    sock = _socket(address)
    wait = rpc.settings.timeout
    try:
        steps = _exchange(sock, address, payload, parser)
        if core is not None:
            out = drive_in_core(core, sock, steps, wait)
        else:
            out = drive_blocking(sock, steps, wait)
    except (OSError, ValueError) as e:  # StepTimeout is an OSError (TimeoutError)
        gen_log.warning("uwsgi.%s: %r: %s", what, server, e)
        return ("failed", None)
    finally:
        sock.close()
    return out


def request(what: str, cache: str, cmd: str, key: bytes = b"", value: Optional[bytes] = None,
            expires: int = 0) -> Outcome:
    """Run ``cmd`` on the remote cache ``cache`` (``name@host:port``): ("ok", value or
    None) or ("failed", None)."""
    name, server = split(cache)
    try:
        payload = wire.encode_request(cmd, key, name, value, expires)
    except ValueError as e:
        gen_log.warning("uwsgi.%s: remote cache %r: %s", what, cache, e)
        return ("failed", None)
    out = roundtrip(what, server, payload, wire.ReplyParser(rpc.settings.max_reply))
    return out if out[0] == "ok" else ("failed", None)
