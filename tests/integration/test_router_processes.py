"""``--http-processes N``: N router processes ("uWSGI http 1" to "uWSGI http N") on the same sockets.

* three routers, three pids, one port; each one serves on its own (the other two stopped with
  SIGSTOP, so the shared socket's backlog can only be drained by it), and many concurrent
  clients, keep-alive and ``Connection: close``, are all answered;
* a router killed with SIGKILL: while the master is held (SIGSTOP) the two others answer
  everything; once it runs again it respawns the dead one ("respawned uWSGI http 2"), which serves;
* a bad value fails at startup with one line naming the option;
* SIGINT/SIGTERM to the master ends every router.

Every signal goes to a pid this test started (the CLI) or one its output names (its children).
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from contextlib import contextmanager
from typing import Iterator, List

import pytest

from server import ROOT, run_cli
from support.httpclient import Conn
from support.router import run_router
from support.waits import wait_until

APP = os.path.join(ROOT, "tests", "apps", "router_app.py")
STACK = ["--http", "127.0.0.1:0", "--http-processes", "3", "--wsgi-file", APP, "--tornado", "10", "--greenlet",
         "--disable-logging"]
GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def state(pid: int) -> str:
    """The process state letter from ``/proc/<pid>/stat`` (``T`` stopped, ``Z`` zombie), ``""`` if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return ""


@contextmanager
def stopped(pids: List[int]) -> Iterator[None]:
    """SIGSTOP ``pids`` (awaited: each is in state ``T``), SIGCONT them on exit."""
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        for pid in pids:
            wait_until(lambda pid=pid: state(pid) == "T", 5, "pid %d stopped" % pid)
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def hello(port: int) -> None:
    with Conn(port, timeout=10) as c:
        c.send(GET)
        r = c.read_response()
        assert (r.status, r.body) == (200, b"hello"), r


def test_three_routers_share_one_socket_and_answer_concurrent_clients():
    with run_router(STACK, routers=3) as r:
        pids = r.router_pids
        assert len(set(pids)) == 3 and r.pid not in pids, r.output()
        assert sorted(r.router_names()) == ["uWSGI http 1", "uWSGI http 2", "uWSGI http 3"]
        assert set(r.router_names().values()) == set(pids)
        ready = [line for line in r.lines if "gateway router ready:" in line]
        assert len({re.search(r" http=(\S+)", line).group(1) for line in ready}) == 1  # one address
        assert len({re.search(r" upstream=(\S+)", line).group(1) for line in ready}) == 1  # one worker socket

        # each router alone: the other two are stopped, so only it can accept from the shared socket
        for pid in pids:
            with stopped([p for p in pids if p != pid]):
                hello(r.port)

        errors: List[str] = []
        done: List[int] = []

        def keep_alive(n: int) -> None:
            try:
                with Conn(r.port, timeout=20) as c:
                    for i in range(10):
                        c.send(b"GET /env?k%d-%d HTTP/1.1\r\nHost: t\r\n\r\n" % (n, i))
                        resp = c.read_response()
                        assert resp.status == 200 and json.loads(resp.body)["QUERY_STRING"] == "k%d-%d" % (n, i)
                        done.append(1)
            except Exception as e:  # reported below, with the server's output
                errors.append("keep-alive client %d: %r" % (n, e))

        def one_per_connection(n: int) -> None:
            try:
                for i in range(10):
                    with Conn(r.port, timeout=20) as c:
                        c.send(b"GET /env?c%d-%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % (n, i))
                        resp = c.read_response()
                        assert resp.status == 200 and json.loads(resp.body)["QUERY_STRING"] == "c%d-%d" % (n, i)
                        assert c.read_to_eof() == b""  # closed after the answer
                        done.append(1)
            except Exception as e:
                errors.append("Connection: close client %d: %r" % (n, e))

        threads = [threading.Thread(target=keep_alive, args=(n,)) for n in range(12)]
        threads += [threading.Thread(target=one_per_connection, args=(n,)) for n in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, "\n".join(errors) + "\n" + r.output()
        assert len(done) == 240
        assert all(state(pid) not in ("", "Z") for pid in pids)  # no router died on the way


def test_a_killed_router_is_respawned_and_the_others_serve_meanwhile():
    with run_router(STACK, routers=3) as r:
        names = r.router_names()
        victim = names["uWSGI http 2"]
        others = [names["uWSGI http 1"], names["uWSGI http 3"]]
        # Hold the master so the dead router stays dead (a zombie: its descriptors are closed)
        # while we send requests, then let it respawn the router.
        with stopped([r.pid]):
            os.kill(victim, signal.SIGKILL)
            wait_until(lambda: state(victim) in ("Z", ""), 10, "router %d dead" % victim)
            for _ in range(20):
                hello(r.port)
            with Conn(r.port, timeout=10) as c:
                for _ in range(20):
                    c.send(GET)
                    assert c.read_response().body == b"hello"
        new = r.wait_routers(4)[3]
        assert new not in (victim, *others)
        r.wait_for_line(r"DAMN ! uWSGI http 2 \(pid: %d\) died, killed by signal 9" % victim, timeout=10)
        r.wait_for_line(r"respawned uWSGI http 2 \(pid: %d\)" % new, timeout=10)
        assert r.router_names()["uWSGI http 2"] == new
        with stopped(others):  # the new router serves the same socket on its own
            hello(r.port)
        hello(r.port)


@pytest.mark.parametrize("args, message", [
    (["--http-processes", "0"], "option '--http-processes' expects an integer of at least 1, got '0'"),
    (["--http-processes", "abc"], "option '--http-processes' expects an integer, got 'abc'"),
    (["--http-workers", "-1"], "option '--http-workers' expects an integer of at least 1, got '-1'"),
])
def test_a_bad_value_fails_at_startup_naming_the_option(args, message):
    result = run_cli(["--http", "127.0.0.1:0", "--wsgi-file", APP] + args)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == ["gateway: " + message]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_graceful_stop_ends_every_router(sig):
    with run_router(STACK, routers=3) as r:
        pids = list(r.router_pids)
        hello(r.port)
        os.kill(r.pid, sig)
        assert r.proc.wait(30) == 0, r.output()
        for n in (1, 2, 3):
            r.wait_for_line(r"uWSGI http %d buried after \d+ seconds \(pid: %d, exit status 0\)"
                            % (n, r.router_names()["uWSGI http %d" % n]), timeout=5)
        assert [state(pid) for pid in pids] == ["", "", ""]  # reaped by the master before it exited
