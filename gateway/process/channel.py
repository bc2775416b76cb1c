"""Messages between the master and each worker (or extra child): one ``SOCK_SEQPACKET`` pair.

A message is ``kind`` (a short ASCII word) and a ``payload`` (bytes), sent as one
packet ``kind + b"\\0" + payload``; packet boundaries are kept by the socket, so
there is no framing to get wrong.  The master end lives in the master's ``selectors``
loop, the worker end on the worker's IOLoop.  End of file on the worker end means
the master is gone: the worker then stops (no orphans).

Worker side (any code running in a worker: the ``uwsgi`` module, subsystems)::

    from gateway.process import channel
    ch = channel.current()           # None without a master
    ch.on("signal", lambda payload: ...)      # runs on the worker's IOLoop
    ch.send("signal", b"17")         # to the master, non-blocking

Master side: ``master.on_message(kind, handler(worker_id, payload))``,
``master.send(worker_id, kind, payload)``, ``master.broadcast(kind, payload)``.

Kinds used by the process model itself: ``ready`` (worker → master, payload: the
Erlang node name or empty), ``harakiri`` (master → worker, payload: core id), ``fatal``
(worker or child → master, just before it exits: a fatal hook failed, the instance stops).
Packets are at most :data:`MAX_PACKET` bytes; a full socket buffer drops the message
with one log line rather than blocking the loop.
"""

from __future__ import annotations

import socket
from typing import Callable, Dict, Optional, Tuple

from gateway.logs import gen_log

MAX_PACKET = 65536


def pair() -> Tuple[socket.socket, socket.socket]:
    """(master end, worker end), both non-blocking and close-on-exec."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def encode(kind: str, payload: bytes = b"") -> bytes:
    data = kind.encode("ascii") + b"\0" + payload
    if len(data) > MAX_PACKET:
        raise ValueError("channel message %r is larger than %d bytes" % (kind, MAX_PACKET))
    return data


def decode(data: bytes) -> Tuple[str, bytes]:
    kind, _, payload = data.partition(b"\0")
    return kind.decode("ascii", "replace"), payload


def send(sock: socket.socket, kind: str, payload: bytes = b"") -> bool:
    """Send one message without blocking; False (and one log line) if it could not go."""
    try:
        sock.send(encode(kind, payload))
        return True
    except (BlockingIOError, InterruptedError):
        gen_log.warning("channel full: message %r dropped", kind)
    except OSError as e:
        gen_log.debug("channel closed: message %r dropped (%s)", kind, e)
    return False


class WorkerChannel:
    """The worker's end: handlers by kind, run on the worker's IOLoop."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._handlers: Dict[str, Callable[[bytes], None]] = {}
        self.on_master_gone: Optional[Callable[[], None]] = None
        self._io_loop = None

    def on(self, kind: str, handler: Callable[[bytes], None]) -> None:
        """Call ``handler(payload)`` for each message of ``kind`` from the master."""
        self._handlers[kind] = handler

    def send(self, kind: str, payload: bytes = b"") -> bool:
        return send(self.sock, kind, payload)

    def attach(self, io_loop) -> None:  # type: ignore[no-untyped-def]
        """Start reading messages on ``io_loop`` (the worker's own, after fork)."""
        from tornado.ioloop import IOLoop

        self._io_loop = io_loop
        io_loop.add_handler(self.sock.fileno(), self._readable, IOLoop.READ)

    def _readable(self, fd: int, events: int) -> None:
        while True:
            try:
                data = self.sock.recv(MAX_PACKET)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                if self._io_loop is not None:
                    self._io_loop.remove_handler(fd)
                    self._io_loop = None
                if self.on_master_gone is not None:
                    self.on_master_gone()
                return
            kind, payload = decode(data)
            handler = self._handlers.get(kind)
            if handler is None:
                gen_log.warning("message %r from the master: no handler in this worker", kind)
                continue
            try:
                handler(payload)
            except Exception:
                gen_log.exception("error handling message %r from the master", kind)


_current: Optional[WorkerChannel] = None


def current() -> Optional[WorkerChannel]:
    """This worker's channel to the master, or None (no master)."""
    return _current


def _set_current(ch: Optional[WorkerChannel]) -> None:
    global _current
    _current = ch
