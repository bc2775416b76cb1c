"""Start the real ``gateway`` CLI as a subprocess for integration tests.

::

    with run_server(["--wsgi-file", "tests/apps/hello.py", "--tornado", "10", "--greenlet"]) as srv:
        srv.port, srv.pid, srv.erlang_node, srv.output()

``--http-socket 127.0.0.1:0`` is added unless the args already bind something.
Readiness is the server's one machine-readable stderr line
``gateway ready: pid=<pid> [http-socket=<addr>] [socket=<addr>] [erlang=<node>]``, awaited with a
deadline (no fixed sleeps).  Teardown sends SIGTERM to that pid only, then SIGKILL
after a timeout.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

from support.logguard import tracebacks_in

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY = re.compile(r"gateway ready: pid=(\d+)((?: [a-z-]+=\S+)*)")


class ServerProcess:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.lines: List[str] = []
        self.port = 0
        self.addresses: List[str] = []
        #: ``--socket`` (uwsgi protocol) addresses and the first one's TCP port (0 if UNIX)
        self.uwsgi_addresses: List[str] = []
        self.uwsgi_port = 0
        self.erlang_node: Optional[str] = None
        #: every ``key=value`` of the ready line (``fastcgi-socket``, ``scgi-socket``...)
        self.ready_fields: Dict[str, str] = {}
        #: patterns of the tracebacks this test expects in the output (see check_tracebacks)
        self.expected_tracebacks: List[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            m = READY.search(line)
            if m and not self._ready.is_set():
                fields = dict(f.split("=", 1) for f in m.group(2).split())
                self.ready_fields = fields
                self.addresses = fields["http-socket"].split(",") if "http-socket" in fields else []
                self.uwsgi_addresses = fields["socket"].split(",") if "socket" in fields else []
                first = self.uwsgi_addresses[0] if self.uwsgi_addresses else ""
                if ":" in first and "/" not in first:
                    self.uwsgi_port = int(first.rsplit(":", 1)[1])
                if self.addresses:
                    self.port = int(self.addresses[0].rsplit(":", 1)[1])
                else:
                    self.port = self.uwsgi_port or -1
                self.erlang_node = fields.get("erlang")
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float) -> None:
        if not self._ready.wait(timeout) or not self.port:
            self.stop()
            raise AssertionError("server did not become ready in %.0fs; output:\n%s" % (timeout, self.output()))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 5.0) -> str:
        rx = re.compile(pattern)
        end = time.time() + timeout
        while time.time() < end:
            for line in list(self.lines):
                if rx.search(line):
                    return line
            time.sleep(0.02)
        raise AssertionError("no line matching %r in %.1fs; output:\n%s" % (pattern, timeout, self.output()))

    def expect_traceback(self, pattern: str = "") -> None:
        """Declare that the server's output may hold tracebacks whose last line matches ``pattern``."""
        self.expected_tracebacks.append(pattern)

    def check_tracebacks(self) -> None:
        """Fail on a traceback in the output that no ``expect_traceback`` pattern covers (``support/logguard``)."""
        unexpected = [last for last in tracebacks_in(self.lines)
                      if not any(re.search(p, last) for p in self.expected_tracebacks)]
        if unexpected:
            raise AssertionError("the server printed %d unexpected traceback(s) (%s); declare them with "
                                 "srv.expect_traceback(pattern). Output:\n%s"
                                 % (len(unexpected), "; ".join(unexpected), self.output()))

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._reader.join(2)
        return self.proc.returncode


def gateway_command(args: List[str]) -> List[str]:
    return [sys.executable, "-m", "gateway"] + list(args)


def spawn(args: List[str], env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None,
          pass_fds: Tuple[int, ...] = ()) -> subprocess.Popen:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, full_env.get("PYTHONPATH")) if p)
    full_env.pop("UWSGI_PROCESSES", None)
    if env:
        full_env.update(env)
    return subprocess.Popen(
        gateway_command(args), cwd=cwd or ROOT, env=full_env, stdin=subprocess.DEVNULL, pass_fds=pass_fds,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
    )


@contextmanager
def run_server(args: List[str], env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None,
               ready_timeout: float = 20.0) -> Iterator[ServerProcess]:
    args = list(args)
    binds = ("--http-socket", "--http11-socket", "--https-socket", "--ssl-socket", "--suwsgi-socket", "--socket",
             "--uwsgi-socket", "-s", "--fastcgi-socket", "--fastcgi-nph-socket", "--scgi-socket", "--scgi-nph-socket")
    if not any(a in binds or a.startswith(tuple(b + "=" for b in binds)) for a in args) \
            and not any(a.endswith(".ini") for a in args):
        args = ["--http-socket", "127.0.0.1:0"] + args
    srv = ServerProcess(spawn(args, env, cwd))
    try:
        srv.wait_ready(ready_timeout)
        yield srv
    finally:
        srv.stop()
    srv.check_tracebacks()  # not on an exception: the test's own failure says more


def run_cli(args: List[str], env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None,
            timeout: float = 20.0) -> subprocess.CompletedProcess:
    """Run the CLI to completion (for commands that must fail or print and exit)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, full_env.get("PYTHONPATH")) if p)
    if env:
        full_env.update(env)
    return subprocess.run(gateway_command(args), cwd=cwd or ROOT, env=full_env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
