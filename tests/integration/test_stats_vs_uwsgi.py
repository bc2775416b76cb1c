"""The stats document against real uWSGI 2.0.31's: uwsgitop, dashboards and exporters parse it.

Both servers run ``tests/apps/request_log_probe.py`` with the same options (a master, one
worker, a TCP and a UNIX ``--socket``, two spooler processes, a cache, metrics) and get the same uwsgi
packets, so their documents must agree key by key (presence, type, order at every level) and
value by value for what the traffic decides (requests, exceptions, tx, statuses...).  What
must differ is masked (pids, addresses, times, memory); what differs on purpose (README,
"Stats" and "Caches") is listed in :data:`DOCUMENTED`.  A second pair runs with
``--stats-http --stats-minified --threads 2`` and only ``--mount`` apps.  Each pair is shared
by the module's tests.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from typing import Any, Dict, List, Tuple

import pytest

from gateway.protocol.uwsgi import encode_request
from peers import require_uwsgi, stop_uwsgi
from server import ROOT, ServerProcess, spawn
from support.httpclient import read_to_eof
from support.router import free_port
from support.stats import fetch_stats
from support.uwsgitop import uwsgitop_screen
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = os.path.join(ROOT, "tests", "apps", "request_log_probe.py")

#: values that differ between any two runs (or machines): only their type is compared
VOLATILE = {"pid", "name", "rss", "vsz", "running_time", "last_spawn", "avg_rt", "cwd", "dir",
            "avg_response_time", "rss_size", "vsz_size", "total_rss", "total_vsz", "total_running_time",
            "load",
            # bytes sent: gateway's /boom answer is a 500 with a body (README "Logging"), so tx is
            # compared with what each server's client received instead
            "tx", "total_tx"}

#: gateway's deliberate differences (README): path -> gateway's value
DOCUMENTED = {
    "caches[0].hash": "crc32",  # djb33x in uWSGI ("Caches": the hash function)
}

#: the traffic: /boom raises before responding (gateway answers 500: README "Logging")
PATHS = ["/hello", "/404", "/big", "/boom", "/file", "/hello"]
#: the bytes of gateway's answer to /boom, where uWSGI sends none
BOOM_500 = 106


def packet(path: str) -> bytes:
    return encode_request([("REQUEST_METHOD", "GET"), ("REQUEST_URI", path), ("PATH_INFO", path),
                           ("QUERY_STRING", ""), ("SERVER_PROTOCOL", "HTTP/1.1"), ("SERVER_NAME", "localhost"),
                           ("SERVER_PORT", "80"), ("REMOTE_ADDR", "127.0.0.1"), ("HTTP_HOST", "localhost")])


def flatten(value: Any, path: str = "") -> List[Tuple[str, Any]]:
    """Every (path, leaf) of a document in order, each dict's key list and each list's length
    included as entries of their own (so key order counts); :data:`VOLATILE` leaves as types."""
    out: List[Tuple[str, Any]] = []
    if isinstance(value, dict):
        out.append((path, "{%s}" % ",".join(value)))
        for key, item in value.items():
            out += flatten(item, "%s.%s" % (path, key) if path else key)
    elif isinstance(value, list):
        out.append((path, "[%d]" % len(value)))
        for i, item in enumerate(value):
            out += flatten(item, "%s[%d]" % (path, i))
    else:
        leaf = path.rsplit(".", 1)[-1]
        if leaf in VOLATILE or leaf.endswith(("_rss", "_vsz")) or (
                path.startswith("metrics.") and path.split(".")[-2] in VOLATILE):
            value = type(value).__name__
        out.append((path, value))
    return out


class Pair:
    """Real uWSGI and gateway with the same ``options`` and a stats server each (``http``: read
    with an HTTP request, its head kept in :attr:`heads`), after the same ``paths``."""

    def __init__(self, tmp: str, options: List[str], http: bool = False, paths: List[str] = PATHS) -> None:
        self.http = http
        self.paths = paths
        self.heads: Dict[str, bytes] = {}
        self.ports: Dict[str, int] = {}
        self.stats: Dict[str, int] = {}
        self.logs: Dict[str, str] = {}
        self.received: Dict[str, int] = {}
        procs = {}
        for server in ("uwsgi", "gateway"):
            base = os.path.join(tmp, server)
            os.makedirs(os.path.join(base, "spool"))
            self.ports[server], self.stats[server] = free_port(), free_port()
            self.logs[server] = os.path.join(base, "log")
            args = ["--socket", "127.0.0.1:%d" % self.ports[server], "--socket", os.path.join(base, "s.sock"),
                    "--stats", "127.0.0.1:%d" % self.stats[server], "--logto", self.logs[server],
                    "--master", "--processes", "1"] + [
                        os.path.join(base, "spool") if o == "SPOOL" else o for o in options]
            if server == "uwsgi":
                procs[server] = subprocess.Popen([require_uwsgi()] + args, cwd=base, stdin=subprocess.DEVNULL,
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            else:
                procs[server] = ServerProcess(spawn(args, cwd=base))
        self.uwsgi, self.gateway = procs["uwsgi"], procs["gateway"]
        try:
            for server, ready in (("uwsgi", "spawned uWSGI worker"), ("gateway", "gateway ready:")):
                wait_until(lambda s=server, r=ready: r in self.text(s) and ("spooler" in self.text(s)
                                                                            or "--spooler" not in options),
                           timeout=30, what="%s's worker" % server)
            for server in ("uwsgi", "gateway"):
                self.received[server] = sum(self.exchange(server, path) for path in paths)
        except BaseException:
            self.stop()
            raise

    def text(self, server: str) -> str:
        try:
            with open(self.logs[server], encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def exchange(self, server: str, path: str) -> int:
        with socket.create_connection(("127.0.0.1", self.ports[server]), timeout=10) as s:
            s.sendall(packet(path))
            return len(read_to_eof(s))

    def document(self, server: str) -> Dict[str, Any]:
        """The document once the last request is counted (the count follows the response) and
        uWSGI's master has run its periodic checks (metrics, the TCP sockets' ``max_queue``),
        with the server's own directory written ``BASE``."""
        def settled() -> Any:
            doc = self.fetch(server)
            done = doc["workers"][0]["requests"] == len(self.paths) and doc["sockets"][0]["max_queue"] and \
                ("metrics" not in doc or doc["metrics"]["worker.1.requests"]["value"] == len(self.paths))
            return doc if done else None

        doc = wait_until(settled, timeout=10, what="%s's counters" % server)
        base = os.path.dirname(self.logs[server])
        return json.loads(json.dumps(doc).replace(json.dumps(base)[1:-1], "BASE"))

    def fetch(self, server: str) -> Dict[str, Any]:
        if not self.http:
            return fetch_stats(self.stats[server])
        with socket.create_connection(("127.0.0.1", self.stats[server]), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            self.heads[server], _, body = read_to_eof(s).partition(b"\r\n\r\n")
        return json.loads(body)

    def stop(self) -> None:
        stop_uwsgi(self.uwsgi)
        self.gateway.stop()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    servers = Pair(str(tmp_path_factory.mktemp("stats")), [
        "--wsgi-file", APP, "--spooler", "SPOOL", "--spooler-processes", "2", "--cache2", "name=c,items=10", "--metric", "name=mymetric,type=counter"])
    try:
        yield servers
    finally:
        servers.stop()


#: the mounts pair's traffic: each app of ``--wsgi-file hello.py --mount /a=APP --mount /b=hello.py``
MOUNTED_PATHS = ["/", "/a/hello", "/a/boom", "/b", "/a/hello", "/elsewhere"]


@pytest.fixture(scope="module")
def mounts_pair(tmp_path_factory):
    """A default app and two --mount apps, --manage-script-name: the apps' own counters."""
    hello = os.path.join(ROOT, "tests", "apps", "hello.py")
    servers = Pair(str(tmp_path_factory.mktemp("stats-mounts")), [
        "--wsgi-file", hello, "--mount", "/a=" + APP, "--mount", "/b=" + hello, "--manage-script-name"],
        paths=MOUNTED_PATHS)
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def http_pair(tmp_path_factory):
    """--stats-http, --stats-minified, two threads, and only --mount apps (the first is the default)."""
    servers = Pair(str(tmp_path_factory.mktemp("stats-http")), [
        "--stats-http", "--stats-minified", "--threads", "2", "--mount", "/a=" + APP,
        "--mount", "/b=" + os.path.join(ROOT, "tests", "apps", "hello.py")], http=True)
    try:
        yield servers
    finally:
        servers.stop()


def test_the_documents_have_the_same_keys_types_order_and_counters(pair):
    theirs, ours = pair.document("uwsgi"), pair.document("gateway")
    expected = [(path, DOCUMENTED[path] if path in DOCUMENTED else value) for path, value in flatten(theirs)]
    assert theirs["caches"][0]["hash"] == "djb33x" and ours["caches"][0]["hash"] == "crc32"
    assert flatten(ours) == expected


def test_tx_counts_every_byte_sent_headers_included(pair):
    for server in ("uwsgi", "gateway"):
        doc = pair.document(server)
        assert doc["workers"][0]["tx"] == pair.received[server] > 5000, server
        assert doc["metrics"]["core.total_tx"]["value"] == pair.received[server], server


def test_unix_sockets_have_no_max_queue_and_spoolers_their_lock_and_counters(pair):
    for server in ("uwsgi", "gateway"):
        doc = pair.document(server)
        assert [s["max_queue"] for s in doc["sockets"]] == [100, 0], server
        assert doc["locks"][-3:] == [{"metrics": 0}] + [{"spooler on BASE/spool": 0}] * 2, server
        assert [{k: v for k, v in sp.items() if k != "pid"} for sp in doc["spoolers"]] == [
            {"dir": "BASE/spool", "tasks": 0, "respawns": 0, "running": 0}] * 2, server


def test_stats_http_minified_with_threads_and_mounts(http_pair):
    theirs, ours = http_pair.document("uwsgi"), http_pair.document("gateway")
    # the mounts: one apps entry each, the first mount the default app (it took every request)
    assert [(a["id"], a["mountpoint"], a["requests"]) for a in theirs["workers"][0]["apps"]] == [
        (0, "/a", len(PATHS)), (1, "/b", 0)]
    # which thread took which request is the scheduler's: the cores' total is compared
    assert [sum(c.pop("requests") for c in d["workers"][0]["cores"]) for d in (theirs, ours)] == [len(PATHS)] * 2
    assert flatten(ours) == flatten(theirs)
    # every request reached the default app, the first mount: the same bytes both ways
    assert http_pair.received["gateway"] - http_pair.received["uwsgi"] == BOOM_500
    assert b"\t" not in http_pair.heads["uwsgi"]
    ours_head = http_pair.heads["gateway"].split(b"\r\n")
    assert ours_head[-1].startswith(b"Content-Length: ")  # added (README "Stats")
    assert ours_head[:-1] == http_pair.heads["uwsgi"].split(b"\r\n") == [
        b"HTTP/1.0 200 OK", b"Connection: close", b"Access-Control-Allow-Origin: *", b"Content-Type: application/json"]


def test_each_mounted_app_has_its_own_entry_counters_and_log_numbers(mounts_pair):
    docs = {server: mounts_pair.document(server) for server in ("uwsgi", "gateway")}
    apps = [(a["id"], a["mountpoint"], a["requests"], a["exceptions"]) for a in docs["gateway"]["workers"][0]["apps"]]
    assert apps == [(0, "", 2, 0), (1, "/a", 3, 1), (2, "/b", 1, 0)]
    assert flatten(docs["gateway"]) == flatten(docs["uwsgi"])

    def facts(server: str) -> List[Tuple[str, ...]]:
        text = mounts_pair.text(server)
        return re.findall(r"^(mounting \S+ on \S+)$", text, re.M) + [
            m.groups("") for m in re.finditer(
                r"^WSGI app (\d+) \(mountpoint='([^']*)'\) ready in \d+ seconds on interpreter 0x[0-9a-f]+ pid: \d+"
                r"( \(default app\))?$", text, re.M)] + re.findall(r"\|app: (\d+)\|req: (\d+)/(\d+)\]", text)

    assert facts("gateway") == facts("uwsgi") == [
        "mounting %s on /a" % APP, "mounting %s on /b" % os.path.join(ROOT, "tests", "apps", "hello.py"),
        ("0", "", " (default app)"), ("1", "/a", ""), ("2", "/b", ""),
        ("0", "1", "1"), ("1", "1", "2"), ("1", "2", "3"), ("2", "1", "4"), ("1", "3", "5"), ("0", "2", "6")]


def screen_facts(screen: str) -> Tuple[Any, ...]:
    """What uwsgitop shows that the traffic decides: the title's version, requests and listen
    queue, the column titles, and worker 1's row (WID, REQ, EXC, SIG, STATUS)."""
    text = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|\(B)", "|", screen)
    title = re.search(r"(uwsgi-[\d.]+) - .* - req: (\d+) - RPS: \d+ - lq: (\d+) - tx: ", text)
    columns = re.search(r"\| (WID .*?RSS)\|", text)
    row = re.search(r"\|(1)\|[\d.]+\s+\d+\s+(\d+)\|\d+\s+(\d+)\|(\d+)\|(\w+)\s", text)
    assert title and columns and row, text
    return title.groups(), columns.group(1).split(), row.groups()


def test_uwsgitop_shows_the_same(pair):
    facts = {}
    for server in ("uwsgi", "gateway"):
        pair.document(server)  # counted
        facts[server] = screen_facts(uwsgitop_screen(pair.stats[server], lambda t: "WID" in t and "idle" in t))
    assert facts["gateway"] == facts["uwsgi"] == (
        ("uwsgi-2.0.31", str(len(PATHS)), "0"), ["WID", "%", "PID", "REQ", "RPS", "EXC", "SIG", "STATUS", "AVG", "RSS"],
        ("1", str(len(PATHS)), "1", "0", "idle"))
