"""Receivers for the metrics pushers' tests: a UDP socket for datagrams (statsd, socket) and a
TCP listener for carbon lines, each collecting in a thread of its own."""

from __future__ import annotations

import re
import socket
import threading
from typing import Dict, List


class StatsdSink:
    """A UDP socket collecting datagrams in a thread: ``latest`` maps name -> (value, type)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.datagrams: List[bytes] = []
        self.latest: Dict[str, tuple] = {}
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            self.datagrams.append(data)
            m = re.fullmatch(rb"(.+):(-?\d+)\|([gc])", data)
            if m:
                self.latest[m.group(1).decode()] = (int(m.group(2)), m.group(3).decode())

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


class CarbonSink:
    """A TCP listener collecting carbon lines: ``connections`` counts the pushes received."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: List[str] = []
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            conn.settimeout(5)
            data = b""
            with conn:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            self.lines.extend(data.decode().splitlines())
            self.connections += 1

    def value(self, path: str):
        """The latest (value, timestamp) of ``path``, or None."""
        for line in reversed(self.lines):
            name, value, stamp = line.split(" ")
            if name == path:
                return int(value), int(stamp)
        return None

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()
