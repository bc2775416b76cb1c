"""The mule queues: datagram socketpairs made in the master before any fork.

Each queue is one ``AF_UNIX``/``SOCK_DGRAM`` socketpair, as uWSGI's ``create_msg_pipe``
(which picks ``SOCK_SEQPACKET`` on Linux; both keep message boundaries):

* the *message* queues: one shared by every mule (the first free mule takes a message),
  one per mule, one per farm (shared by the farm's mules);
* the *signal* queues, one byte per datagram: one shared ("any mule"), one per mule,
  one per farm.

Every process inherits both ends.  Senders write the ``send`` end with
``MSG_DONTWAIT``, so a full queue is an immediate ``False`` for the sender (a worker's
IOLoop never blocks); mules read the ``recv`` end, also with ``MSG_DONTWAIT``: several
mules poll a shared queue and only one gets each datagram, the others go back to
waiting.  The bound is the kernel's: the send buffer is ``4 × --mule-msg-size``
(doubled by Linux, capped by ``net.core.wmem_max``), so a queue holds a few messages
of the largest size or many small ones.  A mule's signal socket also carries the
other way: the mule writes a signal number there to ask the master to route it
(``uwsgi.signal(n)`` in a mule).
"""

from __future__ import annotations

import socket
from typing import Dict, Optional

from gateway.logs import gen_log
from gateway.mules.spec import QueueKey

#: queue depth: the send buffer asked for, in messages of --mule-msg-size
DEPTH = 4


class Queue:
    """One socketpair: ``send`` end for the producers, ``recv`` end for the mules."""

    __slots__ = ("key", "send_end", "recv_end")

    def __init__(self, key: QueueKey, bufsize: int) -> None:
        self.key = key
        self.send_end, self.recv_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        for sock in (self.send_end, self.recv_end):
            sock.setblocking(False)
            if bufsize:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, bufsize)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, bufsize)
                except OSError as e:  # pragma: no cover - the defaults still work
                    gen_log.warning("mule queue: setsockopt(): %s", e.strerror or e)

    def put(self, data: bytes) -> bool:
        """Queue one datagram without blocking; False (and uWSGI's log line) when full."""
        try:
            self.send_end.send(data, socket.MSG_DONTWAIT)
            return True
        except BlockingIOError:
            size = self.send_end.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            gen_log.warning("*** MULE MSG QUEUE IS FULL: buffer size %d bytes (you can tune it with "
                            "--mule-msg-size) ***", size)
        except OSError as e:
            gen_log.warning("mule_send_msg(): %s", e.strerror or e)
        return False

    def get(self, size: int) -> Optional[bytes]:
        """One datagram (truncated to ``size``, as a short read() is), None if another
        reader took it first."""
        try:
            return self.recv_end.recv(size, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return None

    def close(self) -> None:
        self.send_end.close()
        self.recv_end.close()


class Queues:
    """Every message and signal queue of the instance, by :data:`QueueKey`."""

    def __init__(self, mules: int, farms: int, msg_size: int) -> None:
        self.msg_size = msg_size
        keys = [("shared", 0)] + [("mule", n) for n in range(1, mules + 1)] + [("farm", i) for i in range(farms)]
        self.messages: Dict[QueueKey, Queue] = {k: Queue(k, DEPTH * msg_size) for k in keys}
        self.signals: Dict[QueueKey, Queue] = {k: Queue(k, 0) for k in keys}

    def close(self) -> None:
        for q in list(self.messages.values()) + list(self.signals.values()):
            q.close()
