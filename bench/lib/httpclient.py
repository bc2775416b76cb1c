"""A small blocking HTTP/1.1 client: readiness polls, correctness probes and custom loads in benchmarks.

Deliberately independent of gateway's own parser, so a bench never measures a server with the code under test.
"""

import socket
import time
from typing import Dict, Iterable, Optional, Tuple

HOST = "127.0.0.1"


class Reader:
    """Buffered reads from a socket: until a separator, exactly n bytes, or until EOF."""

    def __init__(self, sock: socket.socket):
        self.sock, self.buf, self.eof = sock, b"", False

    def fill(self) -> bool:
        d = self.sock.recv(65536)
        if not d:
            self.eof = True
        self.buf += d
        return bool(d)

    def until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            if not self.fill():
                raise EOFError("closed before %r" % sep)
        head, self.buf = self.buf.split(sep, 1)
        return head

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self.fill():
                raise EOFError("closed with %d/%d bytes" % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self) -> bytes:
        while self.fill():
            pass
        out, self.buf = self.buf, b""
        return out


def read_response(rd: Reader, head_only: bool = False) -> Tuple[str, Dict[str, str], bytes, str]:
    """Parse one HTTP/1.x response: (status line, headers (lowercase names), body, framing).

    framing is ``chunked``, ``content-length`` or ``close``; ``head_only`` (a HEAD request) reads no body.
    """
    head = rd.until(b"\r\n\r\n").decode("latin-1")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if head_only:
        return lines[0], headers, b"", "none"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size = int(rd.until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                rd.until(b"\r\n")  # no trailers expected
                break
            body += rd.exactly(size)
            rd.exactly(2)
        return lines[0], headers, body, "chunked"
    if "content-length" in headers:
        return lines[0], headers, rd.exactly(int(headers["content-length"])), "content-length"
    return lines[0], headers, rd.rest(), "close"


def request(port: int, path: str = "/", method: str = "GET", headers: Iterable[str] = (), body: bytes = b"",
            timeout: float = 5.0, host: str = HOST) -> Tuple[str, Dict[str, str], bytes]:
    """One request on a fresh connection (``Connection: close``): (status line, headers, body)."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost", "Connection: close"] + list(headers)
    if body:
        lines.append("Content-Length: %d" % len(body))
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        status, hdrs, data, _ = read_response(Reader(s), head_only=method == "HEAD")
    return status, hdrs, data


def probe(port: int, expected_body: bytes, timeout: float = 3.0) -> dict:
    """Correctness check before a load: body, framing, and whether a 2nd request on the connection works."""
    req = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    res: dict = {"ok": False}
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            rd = Reader(s)
            s.sendall(req)
            status, headers, body, framing = read_response(rd)
            res.update(status=status, framing=framing, body_ok=body == expected_body,
                       ok=" 200 " in status + " " and body == expected_body)
            if not res["body_ok"]:
                res["body"] = body[:80].decode("latin-1")
            if framing == "close" or headers.get("connection", "").lower() == "close":
                res["keepalive"] = False
            else:
                try:
                    s.sendall(req)
                    status2, _, body2, _ = read_response(rd)
                    res["keepalive"] = " 200 " in status2 + " " and body2 == expected_body
                except (OSError, EOFError, ValueError):
                    res["keepalive"] = False
    except (OSError, EOFError, ValueError) as e:
        res["error"] = repr(e)
    return res


def http_ok(port: int, timeout: float = 2.0, path: str = "/") -> bool:
    """True when ``GET path`` answers 200."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path.encode())
            first = Reader(s).until(b"\r\n")
        return b" 200 " in first + b" "
    except (OSError, EOFError):
        return False


def wait_ready(port: int, proc, deadline_s: float, check=None) -> bool:
    """Poll until ``check(port)`` (default: a GET answers 200), the process dies, or the deadline passes.

    No fixed sleeps: the poll interval is 50 ms.  ``proc`` is a ``subprocess.Popen`` (or None).
    """
    check = check or http_ok
    t0 = time.time()
    while time.time() - t0 < deadline_s:
        if proc is not None and proc.poll() is not None:
            return False
        if check(port):
            return True
        time.sleep(0.05)
    return False


def port_free(port: int, host: str = HOST) -> bool:
    s = socket.socket()
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def first_line(port: int, raw: bytes, timeout: float = 5.0) -> Optional[bytes]:
    """Send raw bytes, return the response's status line (None on EOF/timeout): for hostile-input benches."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.sendall(raw)
            return Reader(s).until(b"\r\n")
    except (OSError, EOFError):
        return None
