"""The metrics pushers against real uWSGI 2.0.31's: ``--stats-push socket:`` and ``--carbon``.

Both servers run the same app with the same options (a master, two workers, a ``--metric``),
push to receivers the test owns, and get the same requests; what they push must agree: the
metric names in order, their types, and the values the traffic decides.  (uWSGI's statsd and
file pushers are plugins PyPI's build leaves out, so ``statsd:`` is checked on its own in
``test_pushers.py`` and ``file`` below against our own ``--stats`` document.)
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Dict, List, Tuple

import pytest

from peers import require_uwsgi, stop_uwsgi
from server import ROOT, ServerProcess, spawn
from support.httpclient import request
from support.push_sinks import CarbonSink, StatsdSink
from support.router import free_port
from support.stats import fetch_stats
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = os.path.join(ROOT, "tests", "apps", "hello.py")
REQUESTS = 5
#: values that differ between any two processes: compared by presence only
#: (memory: gateway always measures it, uWSGI only with --memory-report and the like: README "Stats")
VOLATILE = ("rss_size", "vsz_size", "total_rss", "total_vsz", "avg_response_time", "running_time", "total_tx")


class Pair:
    """Real uWSGI and gateway pushing to their own sinks, after :data:`REQUESTS` requests each."""

    def __init__(self, tmp: str) -> None:
        self.sinks: Dict[str, Tuple[StatsdSink, CarbonSink]] = {}
        self.ports: Dict[str, int] = {}
        self.procs: Dict[str, object] = {}
        try:
            for server in ("uwsgi", "gateway"):
                datagrams, carbon = StatsdSink(), CarbonSink()
                self.sinks[server] = (datagrams, carbon)
                self.ports[server] = free_port()
                base = os.path.join(tmp, server)
                os.makedirs(base)
                args = ["--master", "--processes", "2", "--http-socket", "127.0.0.1:%d" % self.ports[server],
                        "--wsgi-file", APP, "--disable-logging", "--logto", os.path.join(base, "log"),
                        "--metric", "name=mine,type=gauge,initial_value=5",
                        "--stats-push", "socket:127.0.0.1:%d,myapp" % datagrams.port,
                        "--stats-pusher-default-freq", "1",
                        "--carbon", "127.0.0.1:%d" % carbon.port, "--carbon-freq", "1", "--carbon-id", "node"]
                if server == "uwsgi":
                    self.procs[server] = subprocess.Popen(
                        [require_uwsgi()] + args, cwd=base, stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                else:
                    self.procs[server] = ServerProcess(spawn(args, cwd=base))
            for server in ("uwsgi", "gateway"):
                wait_until(lambda s=server: self._answers(s), timeout=30, what="%s's workers" % server)
                for _ in range(REQUESTS - 1):
                    assert request(self.ports[server], "/").status == 200
        except BaseException:
            self.stop()
            raise

    def _answers(self, server: str) -> bool:
        try:
            return request(self.ports[server], "/", timeout=2).status == 200
        except OSError:
            return False

    def socket_round(self, server: str) -> List[Tuple[str, int, int]]:
        """The first whole round of ``socket:`` datagrams pushed after the requests were counted."""
        sink = self.sinks[server][0]

        def settled():
            rounds = split_rounds(sink.datagrams)
            for r in rounds[1:]:  # (the first may have been cut by the start of the receiver)
                values = {name: value for name, _, value in r}
                if sum(values.get("myapp.worker.%d.requests" % w, 0) for w in (1, 2)) == REQUESTS:
                    return r
            return None

        return wait_until(settled, timeout=15, what="%s's socket round" % server)

    def carbon_round(self, server: str) -> List[Tuple[str, int]]:
        """The lines of the first carbon push that counts every request, (name, value)."""
        sink = self.sinks[server][1]

        def settled():
            pushes, current, last_stamp = [], [], None
            for line in list(sink.lines):
                name, value, stamp = line.split(" ")
                if stamp != last_stamp and current:
                    pushes.append(current)
                    current = []
                last_stamp = stamp
                current.append((name, int(value)))
            pushes.append(current)
            for push in pushes:
                if dict(push).get(carbon_name(server, "requests")) == REQUESTS:
                    return push
            return None

        return wait_until(settled, timeout=15, what="%s's carbon push" % server)

    def stop(self) -> None:
        for server, proc in self.procs.items():
            if server == "uwsgi":
                stop_uwsgi(proc)  # type: ignore[arg-type]
            else:
                proc.stop()  # type: ignore[attr-defined]
        for sinks in self.sinks.values():
            for sink in sinks:
                sink.close()


def split_rounds(datagrams: List[bytes]) -> List[List[Tuple[str, int, int]]]:
    """``PREFIX.NAME TYPE VALUE`` datagrams cut into rounds (a round ends when a name repeats)."""
    rounds: List[List[Tuple[str, int, int]]] = [[]]
    for data in list(datagrams):
        name, kind, value = data.decode().split(" ")
        if any(name == n for n, _, _ in rounds[-1]):
            rounds.append([])
        rounds[-1].append((name, int(kind), int(value)))
    return rounds


def carbon_name(server: str, metric: str) -> str:
    import socket

    return "uwsgi.%s.node.%s" % (socket.gethostname().replace(".", "_"), metric)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    servers = Pair(str(tmp_path_factory.mktemp("pushers")))
    try:
        yield servers
    finally:
        servers.stop()


def comparable(round_: List[Tuple[str, int, int]]) -> List[Tuple[str, int, object]]:
    """The round with the values no traffic decides masked: memory and times, and each worker's
    own (which worker took which request is the kernel's)."""
    return [(name, kind, None if name.endswith(VOLATILE) or ".worker.1." in name or ".worker.2." in name
             else value) for name, kind, value in round_]


def test_socket_pusher_sends_uwsgis_lines(pair):
    ours, theirs = pair.socket_round("gateway"), pair.socket_round("uwsgi")
    assert comparable(ours) == comparable(theirs)
    for round_ in (ours, theirs):
        values = {name: value for name, _, value in round_}
        assert values["myapp.worker.1.requests"] + values["myapp.worker.2.requests"] == REQUESTS
        assert values["myapp.worker.0.requests"] == REQUESTS and values["myapp.mine"] == 5


#: carbon lines of uWSGI's current plugin that 2.0.31's does not send (README "Metrics pushers")
NEWER_CARBON = (".respawns", ".exceptions", ".busy_workers", ".idle_workers")


def test_carbon_lines_match_uwsgis(pair):
    ours, theirs = pair.carbon_round("gateway"), pair.carbon_round("uwsgi")
    assert {n.rsplit(".", 1)[-1] for n, _ in ours if n.endswith(NEWER_CARBON)} == {
        "respawns", "exceptions", "busy_workers", "idle_workers"}
    ours = [(n, v) for n, v in ours if not n.endswith(NEWER_CARBON)]
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    volatile = ("rss", "vsz", "avg_rt", "tx", "running_time")
    assert [(n, v) for n, v in ours if not n.endswith(volatile) and ".worker" not in n] == \
        [(n, v) for n, v in theirs if not n.endswith(volatile) and ".worker" not in n]


def test_file_pusher_appends_the_stats_document(tmp_path):
    target = tmp_path / "pushed.stats"
    stats = free_port()
    srv = ServerProcess(spawn(["--master", "--http-socket", "127.0.0.1:0", "--wsgi-file", APP,
                               "--stats", "127.0.0.1:%d" % stats, "--stats-minified",
                               "--stats-push", "file:path=%s,separator=@@,freq=1" % target], cwd=str(tmp_path)))
    try:
        srv.wait_ready(20)
        docs = wait_until(lambda: [d for d in (target.read_text().split("@@") if target.exists() else ())][:2]
                          if target.exists() and target.read_text().count("@@") >= 2 else None,
                          timeout=10, what="two pushes")
        served = fetch_stats(stats)
    finally:
        srv.stop()
    assert "\n" not in docs[0]  # --stats-minified applies, as in uWSGI
    pushed = [json.loads(d) for d in docs]
    assert [list(d) for d in pushed] == [list(served)] * 2
    assert pushed[0]["pid"] == served["pid"] and pushed[0]["workers"][0]["id"] == 1
    assert os.stat(target).st_mode & 0o777 == 0o640
