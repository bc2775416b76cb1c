"""The targets of uWSGI's logger plugins: datagram sockets and files, never blocking.

Each sink takes one encoded line at a time (:meth:`Sink.send`) in the log master
(see :mod:`gateway.process.log_master`), which must never wait for a log target:

* ``socket:ADDR[,PREFIX]``: one datagram per line to a UDP ``HOST:PORT`` or a UNIX
  datagram socket path (``PREFIX`` first, as uWSGI's ``iovec``).
* ``syslog[:IDENT[,FACILITY]]``: one RFC 3164 datagram per line to ``/dev/log``, as
  ``syslog(3)`` formats it (``<30>Dec  4 17:21:10 uwsgi: the line``).  We send the
  datagram ourselves instead of calling the stdlib :mod:`syslog` module, whose
  ``syslog()`` blocks when the syslog daemon stops reading, and whose one
  ``openlog()`` per process cannot serve two syslog loggers with different idents.
* ``rsyslog:HOST[:PORT][,IDENT[,PRIORITY]]``: the same datagram to a remote syslog
  (UDP, port 514; a path starting with ``/`` is a UNIX datagram socket), at most
  ``--rsyslog-packet-size`` bytes (longer lines are cut, or split in several
  datagrams with ``--rsyslog-split-messages``), as uWSGI's rsyslog plugin.
* ``file:PATH`` (all but the one that is ``--logto``): appended, one ``write`` per line.
* ``fd:N``: written to the inherited descriptor N (a pipe, a socket, a file), one ``write``
  per line when ``poll()`` says it takes bytes.

Datagrams go out with ``MSG_DONTWAIT``: a target that does not take one (no one bound
to the path, a full receive queue, ``/dev/log`` missing) costs a dropped, counted line,
never a wait.  Once the target takes a datagram again, one line first says how many
were lost.  The same for a ``file:`` that is a FIFO nobody reads.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
import time
from typing import Any, Callable, List, Optional

from gateway import log_plugins
from gateway.log_plugins import LoggerSpec, SpecError

#: Where the ``syslog`` plugin sends (the local syslog daemon's socket, as ``syslog(3)``).
SYSLOG_SOCKET = "/dev/log"
#: ``--rsyslog-packet-size`` default (RFC 3164's limit, as uWSGI).
RSYSLOG_PACKET_SIZE = 1024


class Sink:
    """A logger plugin's target: :meth:`send` takes one encoded line and never blocks."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.dropped = 0
        self.sent = 0

    def send(self, data: bytes) -> None:
        if self.dropped:
            notice = ("gateway: logger %s dropped %d lines: the target did not accept them\n"
                      % (self.label, self.dropped)).encode()
            if not self._put(notice):
                self.dropped += 1
                return
            self.dropped = 0
        if self._put(data):
            self.sent += 1
        else:
            self.dropped += 1

    def _put(self, data: bytes) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass


class DatagramSink(Sink):
    """One datagram per line (``frame`` turns the line into the datagram's list of payloads)."""

    def __init__(self, label: str, family: str, address: Any,
                 frame: Optional[Callable[[bytes], List[bytes]]] = None) -> None:
        super().__init__(label)
        if family == "unix":
            self.address: Any = address
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        else:
            host, port = address
            try:
                infos = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)
            except socket.gaierror as e:
                raise SpecError("%s: cannot resolve %s: %s" % (label, host, e.strerror)) from None
            fam, _, proto, _, self.address = infos[0]
            self.sock = socket.socket(fam, socket.SOCK_DGRAM, proto)
        self.sock.setblocking(False)
        self._frame = frame

    def _put(self, data: bytes) -> bool:
        payloads = self._frame(data) if self._frame is not None else [data]
        for payload in payloads:
            try:
                self.sock.sendto(payload, socket.MSG_DONTWAIT, self.address)
            except OSError:
                # EAGAIN/ENOBUFS (full), ENOENT/ECONNREFUSED (no one there), EMSGSIZE (too big)
                return False
        return True

    def close(self) -> None:
        self.sock.close()


class FileSink(Sink):
    """``file:PATH`` besides ``--logto``: appended, one ``write`` per line (a FIFO: never waited for)."""

    def __init__(self, label: str, path: str) -> None:
        super().__init__(label)
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK, 0o640)
        except OSError as e:
            if e.errno == errno.ENXIO:
                raise SpecError("%s: a FIFO nobody reads" % label) from None
            raise SpecError("%s: %s" % (label, e.strerror or e)) from None

    def _put(self, data: bytes) -> bool:
        try:
            return os.write(self.fd, data) == len(data)
        except OSError:
            return False

    def close(self) -> None:
        os.close(self.fd)


class FdSink(Sink):
    """``fd:N``: an inherited descriptor, written when it polls writable (at most ``PIPE_BUF``
    bytes per ``write``, which then cannot block a pipe); never closed, it is not ours."""

    def __init__(self, label: str, fd: int) -> None:
        super().__init__(label)
        try:
            info = os.fstat(fd)
        except OSError:
            raise SpecError("%s: descriptor %d is not open" % (label, fd)) from None
        self.fd = fd
        self._regular = stat.S_ISREG(info.st_mode)
        self._poll = select.poll()
        self._poll.register(fd, select.POLLOUT)

    def _put(self, data: bytes) -> bool:
        try:
            while data:
                if not self._regular and not self._poll.poll(0):
                    return False
                n = os.write(self.fd, data if self._regular else data[:select.PIPE_BUF])
                data = data[n:]
        except OSError:
            return False
        return True


def open_sink(spec: LoggerSpec, hostname: str, packet_size: int = RSYSLOG_PACKET_SIZE, split: bool = False,
              syslog_socket: str = SYSLOG_SOCKET, clock: Callable[[], float] = time.time) -> Sink:
    """The sink of one ``file``/``socket``/``syslog``/``rsyslog`` spec (``stdio`` has none:
    it is the log master's own target).  Raises :class:`SpecError` (naming the spec)."""
    label = str(spec)
    if spec.plugin == "file":
        assert spec.arg is not None
        return FileSink(label, spec.arg)
    if spec.plugin == "fd":
        assert spec.arg is not None
        return FdSink(label, int(spec.arg))
    if spec.plugin == "socket":
        assert spec.arg is not None
        addr, comma, prefix = spec.arg.partition(",")
        family, address = log_plugins.socket_address(addr, "socket")
        pre = prefix.encode() if comma else b""
        return DatagramSink(label, family, address, (lambda line: [pre + line]) if pre else None)
    if spec.plugin == "syslog":
        ident, facility = log_plugins.syslog_args(spec.arg)
        priority = facility * 8 + log_plugins.SYSLOG_SEVERITY
        return DatagramSink(label, "unix", syslog_socket,
                            lambda line: [log_plugins.syslog_datagram(priority, ident, line, clock())])
    if spec.plugin == "rsyslog":
        assert spec.arg is not None
        (family, address), tag, prio = log_plugins.rsyslog_args(spec.arg, hostname)
        room = max(packet_size - 30, 1)  # uWSGI's message size: the packet less its header

        def frame(line: bytes) -> List[bytes]:
            now = clock()
            if split:
                return [log_plugins.syslog_datagram(prio, tag, piece, now, packet_size)
                        for piece in log_plugins.split_for_packets(line, room)]
            body = line[:-1] if line.endswith(b"\n") else line
            return [log_plugins.syslog_datagram(prio, tag, body[:room], now, packet_size)]

        return DatagramSink(label, family, address, frame)
    raise SpecError("%s: no sink for the '%s' plugin" % (label, spec.plugin))
