"""Receivers for the metrics pushers' tests: a UDP socket for datagrams (statsd, socket) and a
TCP listener for carbon lines, each collecting in a thread of its own."""

from __future__ import annotations

import re
import socket
import threading
from typing import Dict, List


class _Sink:
    """A socket on 127.0.0.1 served by :meth:`_receive_one` in a thread until :meth:`close`."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.bind(("127.0.0.1", 0))
        if sock.type == socket.SOCK_STREAM:
            self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop:
            try:
                self._receive_one()
            except socket.timeout:
                continue

    def _receive_one(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


class StatsdSink(_Sink):
    """Datagrams as they come: ``latest`` maps a statsd name -> (value, type)."""

    def __init__(self) -> None:
        super().__init__(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        self.datagrams: List[bytes] = []
        self.latest: Dict[str, tuple] = {}
        self._thread.start()

    def _receive_one(self) -> None:
        data = self.sock.recv(65536)
        self.datagrams.append(data)
        m = re.fullmatch(rb"(.+):(-?\d+)\|([gc])", data)
        if m:
            self.latest[m.group(1).decode()] = (int(m.group(2)), m.group(3).decode())


class CarbonSink(_Sink):
    """Carbon lines, one connection per push: ``connections`` counts the pushes received
    (connections that carried lines)."""

    def __init__(self) -> None:
        super().__init__(socket.socket())
        self.lines: List[str] = []
        self.connections = 0
        self._thread.start()

    def _receive_one(self) -> None:
        conn, _ = self.sock.accept()
        conn.settimeout(5)
        data = b""
        with conn:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        lines = data.decode().splitlines()
        if not lines:
            # not a push: a test elsewhere probing a port it took for free (CI once counted one
            # here as the push at shutdown, and read the startup push's values)
            return
        self.lines.extend(lines)
        self.connections += 1

    def value(self, path: str):
        """The latest (value, timestamp) of ``path``, or None."""
        for line in reversed(self.lines):
            name, value, stamp = line.split(" ")
            if name == path:
                return int(value), int(stamp)
        return None
