"""Start the real ``gateway --fastrouter ...`` CLI and wait for its FastRouter's readiness line;
talk uwsgi to it as nginx's ``uwsgi_pass`` does.

::

    with run_fastrouter(["--fastrouter", "127.0.0.1:0", "--fastrouter-to", addr]) as fr:
        fr.port, fr.subscription (HOST:PORT of the first subscription server, or ""), fr.router_pid
    status, body = uwsgi_request(fr.port, host="a.example", path="/", body=b"")

Readiness is the FastRouter's stderr line
``gateway fastrouter ready: pid=<pid> fastrouter=<addrs> [subscription=<addrs>]``.
Teardown sends SIGTERM to the CLI's pid only (its master stops the FastRouter), SIGKILL after a timeout.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

from server import ServerProcess, spawn

FASTROUTER_READY = re.compile(r"gateway fastrouter ready: pid=(\d+) fastrouter=(\S+)(?: subscription=(\S+))?")


class FastRouterProcess(ServerProcess):
    def __init__(self, proc: subprocess.Popen) -> None:
        self.router_pid = 0
        self.subscription = ""
        self._fr_ready = threading.Event()
        super().__init__(proc)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            m = FASTROUTER_READY.search(line)
            if m and not self._fr_ready.is_set():
                self.router_pid = int(m.group(1))
                self.port = int(m.group(2).split(",")[0].rsplit(":", 1)[1])
                self.subscription = (m.group(3) or "").split(",")[0]
                self._fr_ready.set()
        self._fr_ready.set()

    def wait_ready(self, timeout: float) -> None:
        if not self._fr_ready.wait(timeout) or not self.router_pid:
            self.stop()
            raise AssertionError("fastrouter did not become ready in %.0fs; output:\n%s" % (timeout, self.output()))


@contextmanager
def run_fastrouter(args: List[str], ready_timeout: float = 20.0,
                   env: Optional[Dict[str, str]] = None) -> Iterator[FastRouterProcess]:
    fr = FastRouterProcess(spawn(args, env))
    try:
        fr.wait_ready(ready_timeout)
        yield fr
    finally:
        fr.stop()
    fr.check_tracebacks()


def uwsgi_request(port: int, host: str = "a.example", path: str = "/", body: bytes = b"",
                  extra: Tuple[Tuple[str, str], ...] = (), timeout: float = 10.0) -> Tuple[int, bytes]:
    """One uwsgi request (as nginx sends it); ``(status, body)`` of the HTTP answer, ``(0, b"")``
    when the connection is closed without one."""
    from gateway.protocol.uwsgi import encode_request

    pairs = [("REQUEST_METHOD", "POST" if body else "GET"), ("PATH_INFO", path), ("QUERY_STRING", ""),
             ("SERVER_NAME", "srv"), ("SERVER_PORT", "80"), ("SERVER_PROTOCOL", "HTTP/1.1"),
             ("HTTP_HOST", host), ("REMOTE_ADDR", "127.0.0.1"), ("CONTENT_LENGTH", str(len(body))), *extra]
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.sendall(encode_request(pairs, body))
        out = bytearray()
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    if not out:
        return 0, b""
    head, _, rest = bytes(out).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest
