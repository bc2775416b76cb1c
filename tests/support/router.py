"""Start the real ``gateway --http ...`` CLI and wait for its router's readiness line.

::

    with run_router(["--http", "127.0.0.1:0", "--http-to", addr]) as r:
        r.port, r.https_port, r.pid (the CLI's), r.router_pid, r.output()
    with run_router(["--http", "127.0.0.1:0", "--http-subscription-server", "127.0.0.1:0"]) as r:
        r.subscription (HOST:PORT of the first subscription server, from the ready line)
    with run_router([..., "--http-processes", "3"], routers=3) as r:
        r.router_pids (one per ready line, in order), r.router_names() ({"uWSGI http 1": pid, ...})

Readiness is the router's machine-readable stderr line
``gateway router ready: pid=<pid> http=<addr> [https=<addr>] upstream=<addrs>`` (one per router
process: ``routers`` of them are awaited).
Teardown sends SIGTERM to the CLI's pid only (it stops its router), SIGKILL after a timeout.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

from server import ServerProcess, spawn

ROUTER_READY = re.compile(r"gateway router ready: pid=(\d+)(?: http=(\S+))?(?: https=(\S+))?")
#: the ready line's subscription servers (--http-subscription-server)
ROUTER_SUBSCRIPTION = re.compile(r" subscription=(\S+)")
#: the master's line for each router process it forks (uWSGI's wording)
ROUTER_SPAWNED = re.compile(r"(?:re)?spawned (uWSGI http \d+) \(pid: (\d+)\)")


class RouterProcess(ServerProcess):
    def __init__(self, proc: subprocess.Popen) -> None:
        self.kind = ""
        self.router_pid = 0
        self.https_port = 0
        self.subscription = ""
        self.ready_count = 0
        #: the pid of every ready line, in order (a respawned router adds one)
        self.router_pids: List[int] = []
        self._router_ready = threading.Event()
        super().__init__(proc)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            m = ROUTER_READY.search(line)
            if m:
                self.router_pid = int(m.group(1))
                self.router_pids.append(self.router_pid)
                if m.group(2):
                    self.port = int(m.group(2).split(",")[0].rsplit(":", 1)[1])
                if m.group(3):
                    self.https_port = int(m.group(3).split(",")[0].rsplit(":", 1)[1])
                sub = ROUTER_SUBSCRIPTION.search(line)
                if sub:
                    self.subscription = sub.group(1).split(",")[0]
                self.ready_count += 1
                self._router_ready.set()
        self._router_ready.set()

    def wait_ready(self, timeout: float, routers: int = 1) -> None:
        if not self._router_ready.wait(timeout) or not self.router_pid:
            self.stop()
            raise AssertionError("router did not become ready in %.0fs; output:\n%s" % (timeout, self.output()))
        if routers > 1:
            self.wait_routers(routers, timeout)

    def wait_routers(self, count: int, timeout: float = 20.0) -> List[int]:
        """Wait until ``count`` ready lines were printed in all; returns their pids."""
        end = time.monotonic() + timeout
        while len(self.router_pids) < count:
            if time.monotonic() > end or self.proc.poll() is not None:
                self.stop()
                raise AssertionError("%d of %d router ready lines after %.0fs; output:\n%s"
                                     % (len(self.router_pids), count, timeout, self.output()))
            time.sleep(0.02)
        return list(self.router_pids)

    def router_names(self) -> Dict[str, int]:
        """``{"uWSGI http 1": pid, ...}`` from the master's (re)spawn lines, the latest pid of each."""
        return {m.group(1): int(m.group(2)) for m in map(ROUTER_SPAWNED.search, list(self.lines)) if m}


@contextmanager
def run_router(args: List[str], ready_timeout: float = 20.0, cwd: Optional[str] = None,
               routers: int = 1) -> Iterator[RouterProcess]:
    r = RouterProcess(spawn(args, cwd=cwd))
    try:
        r.wait_ready(ready_timeout, routers)
        yield r
    finally:
        r.stop()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port: int, timeout: float = 20.0, proc: Optional[subprocess.Popen] = None) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("process exited with %s before listening on %d" % (proc.returncode, port))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listening on port %d after %.0fs" % (port, timeout))


def make_self_signed(directory: str, openssl: str) -> tuple:
    """A self-signed certificate for 127.0.0.1/localhost made with the ``openssl`` binary: (cert, key)."""
    cert, key = directory + "/cert.pem", directory + "/key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key
