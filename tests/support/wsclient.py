"""A minimal blocking RFC 6455 client for tests: exact frames out, every frame seen.

The ``websockets`` library (a real peer) covers normal use; this client is for what a
polite library never sends: reserved bits, bad opcodes, invalid UTF-8, dribbled
bytes, ignored PINGs.  Frames from the server are parsed by our sans-IO
``FrameReader`` in client mode (no mask required), one frame per event: it reports
what the server *sent*, fragments reassembled.
"""

from __future__ import annotations

import base64
import os
import socket
import time
from typing import List, Optional, Tuple

from gateway.protocol import websocket as ws
from gateway.protocol.websocket import NEED_DATA, Close, FrameReader, Message, Ping, Pong


class WSClient:
    def __init__(self, port: int, path: str = "/echo", timeout: float = 5.0,
                 headers: Optional[List[Tuple[str, str]]] = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port, "Upgrade: websocket",
            "Connection: Upgrade", "Sec-WebSocket-Key: " + self.key, "Sec-WebSocket-Version: 13",
        ] + ["%s: %s" % kv for kv in headers or []]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during the handshake: %r" % buf)
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        self.head = head.decode("latin-1")
        self.status = int(self.head.split(" ", 2)[1])
        self.headers = {}
        for line in self.head.split("\r\n")[1:]:
            k, v = line.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()
        self.reader = FrameReader(max_size=1 << 62, require_mask=False)
        self.reader.receive_data(rest)
        self.eof = False
        self.send_failed = False

    def send_raw(self, data: bytes) -> None:
        """Send bytes; after the server closed, further sends are dropped (as a real
        client's would fail) and remembered in ``send_failed``."""
        if self.send_failed:
            return
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            self.send_failed = True

    def frame(self, opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0) -> bytes:
        return ws.build_frame(opcode, payload, fin=fin, mask=os.urandom(4), rsv=rsv)

    def send(self, opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0) -> None:
        self.send_raw(self.frame(opcode, payload, fin, rsv))

    def event(self, timeout: Optional[float] = None):
        """The next event from the server, or "EOF" when it closed the TCP connection."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            ev = self.reader.next_event()
            if ev is not NEED_DATA:
                return ev
            if self.eof:
                return "EOF"
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no event from the server")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(262144)
            except ConnectionResetError:
                data = b""
            if not data:
                self.eof = True
            else:
                self.reader.receive_data(data)

    def close_code(self, timeout: Optional[float] = None) -> Optional[int]:
        """Skip events until the server's CLOSE; its code (None if the TCP closed first)."""
        while True:
            ev = self.event(timeout)
            if ev == "EOF":
                return None
            if type(ev) is Close:
                # A polite client: answer with a CLOSE and stop sending (RFC 6455 §5.5.1).
                code = None if ev.code == ws.NO_STATUS else ev.code
                self.send_raw(ws.close_frame(code, mask=os.urandom(4)))
                try:
                    self.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return ev.code

    def closed_tcp(self, timeout: Optional[float] = None) -> bool:
        """True once the server closed the TCP connection (after whatever it sent)."""
        try:
            while self.event(timeout) != "EOF":
                pass
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.sock.close()


__all__ = ["WSClient", "Message", "Ping", "Pong", "Close"]
