"""The master's lifecycle as a process manager sees it, against real uWSGI 2.0.31.

One pair of servers (``--master --processes 2``, a master FIFO) is shared by the module: the
SIGUSR1 statistics (and the FIFO's ``s``), the FIFO's workers-only reloads ``w``/``W``, its
``C`` (cheap mode), ``S``, ``B``, ``E`` and ``R``, and SIGWINCH/SIGURG (ignored) are compared
line for line and pid for pid.  Pairs of their own compare the FIFO slots (``1``) with ``q``,
``P`` then ``Q`` with ``--vacuum``'s lines, and the worker's line when its master is killed.  ``--need-app`` is compared on its exit status (22,
with uWSGI's ``*** no app loaded. GAME OVER ***``), with and without a master, with
``--lazy-apps`` too.  The deliberate differences (SIGTERM shuts gateway down; an app that
cannot load ends gateway even without ``--need-app``) are in the README, "Master and workers".
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from typing import Dict, List, Optional, Set

import pytest

from peers import require_uwsgi
from server import ROOT, ServerProcess, run_cli, spawn
from support.fifo import say
from support.httpclient import read_to_eof, request
from support.peer_pair import SERVERS, LoggedPair, comparable
from support.peer_pair import process_age as _age
from support.peer_pair import read_log as _read
from support.peer_pair import start_server as _start
from support.peer_pair import stop_server as _stop
from support.router import free_port
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = os.path.join(ROOT, "tests", "apps", "os_probe.py")
BROKEN = os.path.join(ROOT, "tests", "apps", "imports_missing.py")


class Pair(LoggedPair):
    """Real uWSGI and gateway with the same options, each logging to its own file and
    listening to its own master FIFO."""

    def __init__(self, tmp: str, options: Optional[List[str]] = None) -> None:
        self.fifos = {s: os.path.join(tmp, s + ".fifo") for s in SERVERS}
        super().__init__(tmp, ["--master-fifo", os.path.join(tmp, "{server}.fifo"), "--wsgi-file", APP, "--master",
                               "--processes", "2"] + (options or []), workers=2)
        try:
            for server in SERVERS:
                wait_until(lambda s=server: os.path.exists(self.fifos[s]), what="%s's FIFO" % server)
        except BaseException:
            self.stop()
            raise

    def say(self, server: str, command: str) -> None:
        say(self.fifos[server], command)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    servers = Pair(str(tmp_path_factory.mktemp("lifecycle")))
    try:
        yield servers
    finally:
        servers.stop()


def _stats_lines(text: str) -> List[str]:
    """The counters of the last SIGUSR1 statistics in a log (the lines after the config)."""
    tail = text.rsplit(";end of configuration\n", 1)[1]
    lines = []
    for line in tail.splitlines()[1:]:
        if not line.startswith(("\t", "-")):
            break
        lines.append(line)
    return lines


@pytest.mark.parametrize("how", ["SIGUSR1", "fifo s"])
def test_the_statistics_in_the_log_are_uwsgis(pair, how):
    counters: Dict[str, List[str]] = {}
    for server in SERVERS:
        for _ in range(3):
            assert json.loads(request(pair.ports[server], "/").body)["pid"] in pair.worker_pids(server)
        mark = pair.text(server).count(";uWSGI instance configuration")
        if how == "SIGUSR1":
            os.kill(pair.master_pid(server), signal.SIGUSR1)
        else:
            pair.say(server, "s")
        wait_until(lambda s=server, m=mark: pair.text(s).count(";uWSGI instance configuration") > m
                   and re.search(r"\tworker 2 app 0 .*\n-+\n", pair.text(s).rsplit(";end of configuration", 1)[1]),
                   what="%s's statistics" % server)
        text = pair.text(server)
        assert "\n[uwsgi]\nhttp-socket = 127.0.0.1:%d\n" % pair.ports[server] in text
        # the request counts depend on the earlier tests: compare the layout, and the total
        lines = _stats_lines(text)
        total = int(lines[0].rsplit(" ", 1)[1])
        per_worker = [int(re.search(r"requests: (\d+)", line).group(1)) for line in lines if "app 0" in line]
        assert total == sum(per_worker), lines
        counters[server] = [re.sub(r"\d+", "N", line) for line in lines]
    assert counters["gateway"] == counters["uwsgi"] == [
        "\tworkers total requests: N", "-----------------",
        "\tworker N app N [] requests: N exceptions: N", "-----------------",
        "\tworker N app N [] requests: N exceptions: N", "-----------------"]


@pytest.mark.parametrize("command, line", [("w", r"Gracefully killing worker 2 \(pid: \d+\)\.\.\."),
                                           ("W", r"killing worker 2 \(pid: \d+\)")])
def test_the_fifo_reloads_the_workers_only(pair, command, line):
    """``w``/``W``: every worker replaced (new pids), the master stays, no request refused."""
    before = {s: pair.worker_pids(s) for s in SERVERS}
    for server in SERVERS:
        pair.say(server, command)
    for server in SERVERS:
        wait_until(lambda s=server: (lambda now: len(now) == 2 and not now & before[s])(pair.worker_pids(s)),
                   timeout=20, what="%s's new workers after %r" % (server, command))
        assert re.search(line, pair.text(server)), pair.text(server)
        assert pair.procs["gateway"].poll() is None and pair.procs["uwsgi"].poll() is None
        assert json.loads(request(pair.ports[server], "/").body)["pid"] in pair.worker_pids(server)


def test_a_killed_worker_is_respawned_with_uwsgis_lines(pair):
    lines = {}
    for server in SERVERS:
        victim = min(pair.worker_pids(server))
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda s=server, v=victim: "Respawned uWSGI worker" in pair.text(s).split("(pid: %d) died" % v, 1)[-1]
                   and v not in pair.worker_pids(s), what="%s's respawn" % server)
        text = pair.text(server).split("(pid: %d) died" % victim, 1)
        damn = text[0].rsplit("\n", 1)[1] + "(pid: %d) died" % victim + text[1].split("\n", 1)[0]
        respawned = re.search(r"^Respawned uWSGI worker \d \(new pid: \d+\)$", text[1], re.M)
        assert respawned, text[1]
        lines[server] = [re.sub(r"\d+", "N", line) for line in (damn, respawned.group(0))]
    assert lines["gateway"] == lines["uwsgi"] == [
        "DAMN ! worker N (pid: N) died, killed by signal N :( trying respawn ...",
        "Respawned uWSGI worker N (new pid: N)"]


def _since(text: str, mark: int, tmp: str = "", server: str = "") -> List[str]:
    """The comparable lines (:func:`comparable`) of a log after its first ``mark`` characters
    (``tmp`` as ``TMP``, ``server`` as ``SERVER``), without the request log lines and gateway's
    worker lines (``*** running tornado loop engine...``: a worker respawned by the test before
    may print it late)."""
    text = text[mark:]
    if tmp:
        text = text.replace(tmp, "TMP").replace(server, "SERVER")
    return [comparable(line) for line in text.splitlines() if not line.startswith(("[pid: ", "*** running "))]


def test_the_fifo_goes_cheap_with_uwsgis_lines(pair):
    """``C``: every worker killed at once, then cheap mode until a connection comes."""
    marks = {s: len(pair.text(s)) for s in SERVERS}
    for server in SERVERS:
        pair.say(server, "C")
    for server in SERVERS:
        wait_until(lambda s=server: "cheap mode enabled" in pair.text(s)[marks[s]:] and not pair.worker_pids(s),
                   what="%s's cheap mode" % server)
    assert _since(pair.text("gateway"), marks["gateway"]) == _since(pair.text("uwsgi"), marks["uwsgi"]) == [
        "going cheap...", "killing worker N (pid: N)", "killing worker N (pid: N)",
        "cheap mode enabled: waiting for socket connection..."]
    for server in SERVERS:  # the first connection brings every worker back
        marks[server] = len(pair.text(server))
        assert json.loads(request(pair.ports[server], "/").body)["pid"] in pair.worker_pids(server)
        wait_until(lambda s=server: len(pair.worker_pids(s)) == 2 and pair.text(s)[marks[s]:].count("uWSGI worker") == 2,
                   what="%s's workers back" % server)
    assert _since(pair.text("gateway"), marks["gateway"]) == _since(pair.text("uwsgi"), marks["uwsgi"]) == [
        "Respawned uWSGI worker N (new pid: N)", "Respawned uWSGI worker N (new pid: N)"]


@pytest.mark.parametrize("commands, lines", [
    ("SS", ["subscriptions blocked", "subscriptions re-enabled"]),
    ("B", ["[broodlord] instance not governed by an Emperor !!!"]),
    ("E", []),
])
def test_the_fifo_commands_lines_are_uwsgis(pair, commands, lines):
    """``S`` toggles the subscription announces, ``B`` asks an Emperor for reinforcements,
    ``E`` asks the Emperor the master runs to rescan (none here: nothing happens)."""
    marks = {s: len(pair.text(s)) for s in SERVERS}
    for server in SERVERS:
        for command in commands + "s":  # the statistics mark the end of what the commands printed
            pair.say(server, command)
    for server in SERVERS:
        wait_until(lambda s=server: ";end of configuration" in pair.text(s)[marks[s]:],
                   what="%s's statistics" % server)
        printed = _since(pair.text(server), marks[server])
        assert [ln for ln in printed[:printed.index(";uWSGI instance configuration")] if ln] == lines, \
            (server, printed)


def test_sigwinch_and_sigurg_are_ignored_by_both_masters(pair):
    """No handler in either master: the default action (ignore), nothing logged."""
    marks = {s: len(pair.text(s)) for s in SERVERS}
    for server in SERVERS:
        for sig in (signal.SIGWINCH, signal.SIGURG):
            os.kill(pair.master_pid(server), sig)
        pair.say(server, "s")  # the statistics mark the end of what the signals printed
    for server in SERVERS:
        wait_until(lambda s=server: ";end of configuration" in pair.text(s)[marks[s]:],
                   what="%s's statistics" % server)
        printed = _since(pair.text(server), marks[server])
        assert [ln for ln in printed[:printed.index(";uWSGI instance configuration")] if ln] == []
        assert pair.procs[server].poll() is None


def test_the_fifo_brutal_reload_says_uwsgis_line(pair):
    """``R``: every worker replaced, the old ones killed; uWSGI's first line."""
    before = {s: pair.worker_pids(s) for s in SERVERS}
    marks = {s: len(pair.text(s)) for s in SERVERS}
    for server in SERVERS:
        pair.say(server, "R")
    for server in SERVERS:
        wait_until(lambda s=server: (lambda now: len(now) == 2 and not now & before[s])(pair.worker_pids(s))
                   and pair.text(s)[marks[s]:].count("spawned uWSGI worker") + pair.text(s)[marks[s]:].count(
                       "Respawned uWSGI worker") >= 2, timeout=20, what="%s's brutal reload" % server)
        assert _since(pair.text(server), marks[server])[0] == "...brutally killing workers...", pair.text(server)
        # uWSGI re-executes itself: its FIFO is made again
        wait_until(lambda s=server: os.path.exists(pair.fifos[s]), what="%s's FIFO" % server)


def _ended(pair: LoggedPair) -> None:
    for server in SERVERS:
        pair.procs[server].wait(20)


def test_the_fifo_slot_switch_and_q_lines_are_uwsgis(tmp_path):
    """``1``: the second ``--master-fifo`` takes the commands (uWSGI's ``active master fifo is
    now PATH``); ``q`` from it: uWSGI's graceful shutdown lines."""
    tmp = str(tmp_path)
    fifos = {s: [os.path.join(tmp, "%s-%s.fifo" % (s, n)) for n in "ab"] for s in SERVERS}
    pair = LoggedPair(tmp, ["--master-fifo", os.path.join(tmp, "{server}-a.fifo"), "--master-fifo",
                            os.path.join(tmp, "{server}-b.fifo"), "--wsgi-file", APP, "--master"])
    try:
        marks = {s: len(pair.text(s)) for s in SERVERS}
        for server in SERVERS:
            wait_until(lambda s=server: os.path.exists(fifos[s][0]), what="%s's first FIFO" % server)
            say(fifos[server][0], "1")
        for server in SERVERS:  # uWSGI makes the second one once the writer of the first is gone
            wait_until(lambda s=server: os.path.exists(fifos[s][1]) and "active master fifo" in pair.text(s),
                       what="%s's second FIFO" % server)
            say(fifos[server][1], "q")
        _ended(pair)
        # gateway's own lines left out: its readiness line, its worker's, its "buried" line (uWSGI
        # waits for each worker in silence after a q)
        printed = {s: [ln for ln in _since(pair.text(s), marks[s], tmp, s)
                       if not ln.startswith(("SIGTERM received: stopping worker", "SERVER ready: ", "worker N buried"))]
                   for s in SERVERS}
        assert printed["gateway"] == printed["uwsgi"] == [
            "active master fifo is now TMP/SERVER-b.fifo", "graceful shutdown triggered...",
            "Gracefully killing worker N (pid: N)...", "goodbye to uWSGI."]
    finally:
        pair.stop()


def test_vacuum_removes_the_files_with_uwsgis_lines(tmp_path):
    """The FIFO's ``P`` (the pidfiles written again), then ``Q``; with ``--vacuum`` the pidfiles, the UNIX sockets and the stats socket are removed at exit, each
    with uWSGI's line, in its order."""
    tmp = str(tmp_path)
    files = ["pidfile", "pidfile2", "safe-pidfile", "safe-pidfile2", "socket", "stats"]
    options = ["--vacuum"]
    for name in files:
        options += ["--" + name, os.path.join(tmp, "{server}." + name)]
    pair = Pair(tmp, options)
    try:
        for server in SERVERS:
            assert all(os.path.exists(os.path.join(tmp, server + "." + name)) for name in files)
            mark = len(pair.text(server))
            pair.say(server, "P")
            wait_until(lambda s=server, m=mark: pair.text(s)[m:].count("writing pidfile to") == 4,
                       what="%s's pidfiles" % server)
            assert _since(pair.text(server), mark, tmp, server) == [
                "writing pidfile to TMP/SERVER.pidfile", "writing pidfile to TMP/SERVER.pidfileN",
                "writing pidfile to TMP/SERVER.safe-pidfile", "writing pidfile to TMP/SERVER.safe-pidfileN"]
            mark = len(pair.text(server))
            pair.say(server, "Q")
            pair.procs[server].wait(20)
            printed = _since(pair.text(server), mark, tmp, server)
            assert printed[0] == "SIGINT/SIGTERM received...killing workers...", printed
            assert printed[printed.index("goodbye to uWSGI."):] == [
                "goodbye to uWSGI.", "VACUUM: pidfile removed.", "VACUUM: pidfileN removed.",
                "VACUUM: safe pidfile removed.", "VACUUM: safe pidfileN removed.",
                "VACUUM: unix socket TMP/SERVER.socket removed.",
                "VACUUM: unix socket TMP/SERVER.stats (stats) removed."], (server, printed)
            assert not any(os.path.exists(os.path.join(tmp, server + "." + name)) for name in files)
    finally:
        pair.stop()


def test_a_worker_whose_master_is_killed_says_uwsgis_line(tmp_path):
    """The master gone (SIGKILL), the worker notices and stops with uWSGI's line."""
    pair = LoggedPair(str(tmp_path), ["--wsgi-file", APP, "--master"])
    workers: Set[int] = set()
    try:
        for server in SERVERS:
            workers |= pair.worker_pids(server)
            os.kill(pair.master_pid(server), signal.SIGKILL)
        for server in SERVERS:
            wait_until(lambda s=server: "disconnected" in pair.text(s), timeout=15, what="%s's worker line" % server)
            line = [ln for ln in pair.lines(server) if "disconnected" in ln][0]
            assert comparable(line) == ("uWSGI worker N error: the master disconnected from this worker. "
                                        "Shutting down the worker."), line
        wait_until(lambda: not any(os.path.exists("/proc/%d" % w) for w in workers), timeout=15,
                   what="the workers' end")
    finally:
        for worker in workers:
            try:
                os.kill(worker, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pair.stop()


SLEEPER = """
import sys, time
def application(environ, start_response):
    sys.stderr.write("sleeping\\n")
    sys.stderr.flush()
    time.sleep(30)
    start_response("200 OK", [])
    return [b"late"]
"""


def test_a_worker_past_its_reload_mercy_is_killed_with_uwsgis_line(tmp_path):
    """``--worker-reload-mercy``: a worker still busy when a reload's mercy is over is killed,
    its request unanswered, in both servers; the line is uWSGI's."""
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    lines = []
    for server in SERVERS:
        port, log = free_port(), str(tmp_path / (server + ".log"))
        args = ["--http-socket", "127.0.0.1:%d" % port, "--wsgi-file", str(tmp_path / "sleeper.py"), "--master",
                "--processes", "1", "--worker-reload-mercy", "1", "--logto", log]
        master = _start(server, args)
        try:
            wait_until(lambda log=log: "spawned uWSGI worker 1" in _read(log), timeout=30, what="%s's worker" % server)
            with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                wait_until(lambda log=log: "sleeping" in _read(log), what="%s's request sleeping" % server)
                master.send_signal(signal.SIGHUP)
                found = wait_until(lambda log=log: re.search(r"(worker 1 \(pid: \d+\) .*MERCY.*)$", _read(log), re.M),
                                   timeout=15, what="%s's mercy line" % server)
                assert read_to_eof(conn) == b""  # killed in its request: no answer
            lines.append(re.sub(r"\d+", "N", found.group(1)))
        finally:
            _stop(server, master)
    assert lines[0] == lines[1] == "worker N (pid: N) is taking too much time to die...NO MERCY !!!"


def test_max_requests_recycles_with_uwsgis_lines(tmp_path):
    """``--max-requests``: the worker's goodbye and the master's lines around the respawn."""
    wanted = re.compile(r"^(\.\.\.The work of process \d+ is done\. Seeya!|worker 1 killed successfully \(pid: \d+\)"
                        r"|Respawned uWSGI worker 1 \(new pid: \d+\))$", re.M)
    lines = {}
    for server in SERVERS:
        port, log = free_port(), str(tmp_path / (server + ".log"))
        master = _start(server, ["--http-socket", "127.0.0.1:%d" % port, "--wsgi-file", APP, "--master",
                                 "--processes", "1", "--max-requests", "2", "--min-worker-lifetime", "1",
                                 "--logto", log])
        try:
            worker = int(wait_until(lambda log=log: re.search(r"spawned uWSGI worker 1 \(pid: (\d+)", _read(log)),
                                    timeout=30, what="%s's worker" % server).group(1))
            wait_until(lambda w=worker: _age(w) >= 1.2, timeout=5, what="a worker past --min-worker-lifetime")
            for _ in range(3):
                request(port, "/")
            wait_until(lambda log=log: "Respawned uWSGI worker 1" in _read(log), timeout=15,
                       what="%s's respawn" % server)
            lines[server] = [re.sub(r"\d+", "N", m.group(0)) for m in wanted.finditer(_read(log))]
        finally:
            _stop(server, master)
    assert lines["gateway"] == lines["uwsgi"] == [
        "...The work of process N is done. Seeya!", "worker N killed successfully (pid: N)",
        "Respawned uWSGI worker N (new pid: N)"]


def test_the_last_shutdown_buries_each_worker_after_the_seconds_it_took(tmp_path):
    """``worker N buried after S seconds``: S counts from the stop request, as uWSGI's, not
    from the worker's spawn (idle workers stop at once however long they ran)."""
    srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0", "--wsgi-file", APP, "--master", "--processes", "1"]))
    try:
        srv.wait_ready(20)
        worker = int(re.search(r"pid: (\d+)", srv.wait_for_line(r"spawned uWSGI worker 1")).group(1))
        wait_until(lambda: _age(worker) >= 2.5, timeout=5, what="a worker 2.5 s old")
        os.kill(srv.pid, signal.SIGINT)
        assert srv.proc.wait(20) == 0
        srv.wait_for_line("goodbye to uWSGI")
        # each worker told to stop, as in uWSGI's graceful shutdown (the FIFO's q)
        srv.wait_for_line(r"^Gracefully killing worker 1 \(pid: %d\)\.\.\.$" % worker)
    finally:
        srv.stop()
    buried = srv.wait_for_line(r"worker 1 buried after \d+ seconds")
    assert int(re.search(r"after (\d+) seconds", buried).group(1)) <= 1, srv.output()


# -- --need-app -----------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [[], ["--master", "--processes", "2"],
                                     ["--master", "--processes", "2", "--lazy-apps"]],
                         ids=["no-master", "master", "lazy-apps"])
def test_need_app_exits_22_when_the_app_does_not_load(tmp_path, options):
    args = ["--http-socket", "127.0.0.1:0", "--wsgi-file", BROKEN, "--need-app"] + options
    real = subprocess.run([require_uwsgi()] + args, cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    ours = run_cli(args, cwd=str(tmp_path), timeout=30)
    assert real.returncode == 22, real.stderr
    assert ours.returncode == 22, ours.stderr
    for result in (real, ours):
        assert "*** no app loaded. GAME OVER ***" in result.stderr
    if "--lazy-apps" in options:  # a worker failed: the master ends the instance
        for result in (real, ours):
            assert re.search(r"OOPS ! failed loading app in worker \d \(pid \d+\)", result.stderr), result.stderr
            assert "need-app requested, destroying the instance..." in result.stderr


def test_without_need_app_a_failed_app_is_status_1_here(tmp_path):
    """uWSGI 2.0 goes on in "full dynamic mode" instead (README: a deliberate difference)."""
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", BROKEN, "--master"], cwd=str(tmp_path))
    assert result.returncode == 1 and "GAME OVER" not in result.stderr, result.stderr
