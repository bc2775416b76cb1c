"""Real uWSGI and gateway side by side, for the differential tests of the master's lifecycle
and limits (``test_lifecycle_vs_uwsgi.py``, ``test_limits_vs_uwsgi.py``).

:class:`LoggedPair` starts both servers with the same options, each on its own port and
logging to its own file (``--logto``), and reads what a user sees of each: the log, the
master's children, the answers.  :func:`comparable` turns a log line into the form both
servers share: uWSGI's date prefix and every number gone.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from typing import Any, Callable, Dict, List, Optional, Set

from peers import require_uwsgi, stop_uwsgi
from server import ServerProcess, spawn
from support.router import free_port
from support.waits import wait_until

SERVERS = ("uwsgi", "gateway")

#: ``uwsgi_log_verbose``'s prefix (``Sat Dec  5 04:51:17 2026 - ``)
_DATE = re.compile(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} - ")


def at_once(drivers: Dict[str, Callable[[], Any]], timeout: float) -> Dict[str, Any]:
    """Run each ``drivers[who]()`` in a thread of its own, all at once (one real uWSGI and one
    gateway driven by the same sequence): their results by ``who``.  The first exception (a
    failed assertion, or pytest's skip when uWSGI is not built) is raised again here, in the
    test's thread, where pytest sees it; a driver still running after ``timeout`` fails."""
    results: Dict[str, Any] = {}
    errors: List[BaseException] = []

    def run(who: str) -> None:
        try:
            results[who] = drivers[who]()
        except BaseException as e:  # raised again below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(who,), daemon=True) for who in drivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if errors:
        raise errors[0]
    late = sorted(set(drivers) - set(results))
    assert not late, "still running after %gs: %s" % (timeout, late)
    return results


def start_server(server: str, args: List[str], cwd: Optional[str] = None) -> subprocess.Popen:
    """``uwsgi ARGS`` (real uWSGI) or ``gateway ARGS``, its output left to ``--logto``."""
    if server == "uwsgi":
        return subprocess.Popen([require_uwsgi()] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return spawn(args, cwd=cwd)


def stop_server(server: str, proc: subprocess.Popen) -> None:
    """Stop what :func:`start_server` started, by its pid (uWSGI: SIGINT, its shutdown)."""
    if server == "uwsgi":
        stop_uwsgi(proc)
    else:
        ServerProcess(proc).stop()


def read_log(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def process_age(pid: int) -> float:
    """Seconds since process ``pid`` started (its /proc start time)."""
    with open("/proc/%d/stat" % pid) as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def comparable(line: str) -> str:
    """``line`` without uWSGI's date prefix, every number as ``N``."""
    return re.sub(r"\d+", "N", _DATE.sub("", line))


class LoggedPair:
    """Real uWSGI and gateway started with the same ``options`` (plus their own
    ``--http-socket`` (``socket``: another socket option, ``--socket``) and ``--logto``;
    ``{server}`` in an option is the server's name, for a file of its own), ready once each
    logged ``workers`` worker spawns."""

    def __init__(self, tmp: str, options: List[str], workers: int = 1, socket: str = "--http-socket") -> None:
        self.logs = {s: os.path.join(tmp, s + ".log") for s in SERVERS}
        self.ports = {s: free_port() for s in SERVERS}
        self.options = options
        self.procs: Dict[str, subprocess.Popen] = {}
        try:
            for server in SERVERS:
                self.procs[server] = start_server(
                    server, [socket, "127.0.0.1:%d" % self.ports[server], "--logto", self.logs[server]]
                    + [o.replace("{server}", server) for o in options], cwd=tmp)
            for server in SERVERS:
                wait_until(lambda s=server: self.text(s).count("spawned uWSGI worker") >= workers, timeout=30,
                           what="%s's workers" % server)
        except BaseException:
            self.stop()
            raise

    def text(self, server: str) -> str:
        return read_log(self.logs[server])

    def lines(self, server: str) -> List[str]:
        """The log's lines, without the request log lines (``[pid: ...``)."""
        return [ln for ln in self.text(server).splitlines() if not ln.startswith("[pid: ")]

    def master_pid(self, server: str) -> int:
        return self.procs[server].pid

    def worker_pids(self, server: str) -> Set[int]:
        """The pids of the master's children, from /proc (its workers: no other child runs)."""
        master = self.master_pid(server)
        with open("/proc/%d/task/%d/children" % (master, master)) as f:
            return {int(p) for p in f.read().split()}

    def stop(self) -> None:
        for server, proc in self.procs.items():
            stop_server(server, proc)

    def __enter__(self) -> "LoggedPair":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
