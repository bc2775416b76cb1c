"""A datagram socket a server logs to (``--logger socket:``, ``syslog``), for the logging tests."""

from __future__ import annotations

import re
import socket
from typing import List

from support.waits import wait_until


class Receiver:
    """A datagram socket the server logs to; :meth:`wait_for` collects what arrived."""

    def __init__(self, family: int, address: object) -> None:
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.setblocking(False)
        self.datagrams: List[bytes] = []

    @property
    def address(self) -> str:
        name = self.sock.getsockname()
        return name if isinstance(name, str) else "127.0.0.1:%d" % name[1]

    def poll(self) -> List[bytes]:
        while True:
            try:
                self.datagrams.append(self.sock.recv(65536))
            except BlockingIOError:
                return self.datagrams

    def wait_for(self, pattern: bytes, timeout: float = 10.0) -> bytes:
        rx = re.compile(pattern)
        try:
            return wait_until(lambda: next((d for d in self.poll() if rx.search(d)), None), timeout=timeout,
                              what="a datagram matching %r" % pattern)
        except AssertionError as e:
            raise AssertionError("%s; the last ones: %r" % (e, self.datagrams[-5:])) from None

    def close(self) -> None:
        self.sock.close()
