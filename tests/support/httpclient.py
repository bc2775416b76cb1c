"""A tiny raw HTTP/1.x client for tests: exact bytes out, responses parsed strictly."""

from __future__ import annotations

import socket
import time
from typing import Dict, List, Optional, Tuple


class Response:
    def __init__(self, version: str, status: int, reason: str, headers: List[Tuple[str, str]], body: bytes,
                 complete: bool) -> None:
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        #: False when the body ended by EOF before its declared framing said it should.
        self.complete = complete

    def header(self, name: str) -> Optional[str]:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self) -> str:
        return "<Response %d %r %d bytes>" % (self.status, self.headers, len(self.body))


class Conn:
    """A blocking client connection with a receive buffer and a deadline per read."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> bool:
        if self.eof:
            return False
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError(
                "server sent nothing for %.1fs (buffer: %r)" % (self.timeout, self.buf[:200])
            ) from None
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            if not self._more():
                raise AssertionError("EOF before %r (buffer: %r)" % (marker, self.buf[:300]))
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n: int) -> Tuple[bytes, bool]:
        while len(self.buf) < n:
            if not self._more():
                out, self.buf = self.buf, b""
                return out, False
        out, self.buf = self.buf[:n], self.buf[n:]
        return out, True

    def read_to_eof(self) -> bytes:
        while self._more():
            pass
        out, self.buf = self.buf, b""
        return out

    def at_eof(self, wait: float = 1.0) -> bool:
        """True if the server closed the connection (nothing more arrives)."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            return not self._more()
        except AssertionError:
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def read_response(self, method: str = "GET") -> Response:
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code, _, reason = rest.partition(" ")
        headers = []
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers.append((k, v.strip()))
        status = int(code)
        r = Response(version, status, reason, headers, b"", True)
        if 100 <= status < 200:
            return r
        if method == "HEAD" or status in (204, 304):
            return r
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        if te and te.lower() == "chunked":
            body = b""
            while True:
                try:
                    size_line = self.read_until(b"\r\n")
                except AssertionError:
                    r.body, r.complete = body, False
                    return r
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    self.read_until(b"\r\n")
                    break
                data, ok = self.read_exact(size + 2)
                body += data[:size]
                if not ok:
                    r.body, r.complete = body, False
                    return r
            r.body = body
        elif cl is not None:
            r.body, r.complete = self.read_exact(int(cl))
        else:
            r.body = self.read_to_eof()
        return r

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Conn":
        return self

    def __exit__(self, *a) -> None:
        self.close()


def request(port: int, path: str = "/", method: str = "GET", headers: Optional[Dict[str, str]] = None,
            body: bytes = b"", version: str = "HTTP/1.1", timeout: float = 5.0) -> Response:
    """One request on a fresh connection (``Connection: close``)."""
    hdrs = {"Host": "127.0.0.1", "Connection": "close"}
    if body:
        hdrs["Content-Length"] = str(len(body))
    hdrs.update(headers or {})
    raw = "%s %s %s\r\n" % (method, path, version) + "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
    with Conn(port, timeout=timeout) as c:
        c.send(raw.encode("latin-1") + body)
        return c.read_response(method)


def wait_port(port: int, deadline: float = 10.0) -> None:
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("port %d not listening after %.1fs" % (port, deadline))


def read_to_eof(sock: socket.socket) -> bytes:
    """Everything ``sock`` receives until the peer closes (uwsgi answers, stats documents)."""
    return b"".join(iter(lambda: sock.recv(65536), b""))
