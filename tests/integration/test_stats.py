"""``--stats``: uWSGI's JSON document from the master, over TCP, UNIX and HTTP, rendered by the
real ``uwsgitop`` on a pseudo-terminal."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from server import run_server
from support.httpclient import read_to_eof, request
from support.shared_dir import shared_dir
from support.stats import fetch_stats as fetch
from support.stats import stats_port
from support.uwsgitop import uwsgitop_path, uwsgitop_screen
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

PROBE = ["--wsgi-file", "tests/apps/process_probe.py", "--tornado", "3", "--greenlet", "--master",
         "--processes", "2"]


def test_document_has_uwsgis_shape_and_shows_the_request_in_a_core():
    with open(os.path.join(shared_dir(), "reference", "uwsgi-stats-sample.json")) as f:
        sample = json.load(f)
    with run_server(PROBE + ["--stats", "127.0.0.1:0"]) as srv:
        port = stats_port(srv)
        for _ in range(4):
            request(srv.port, "/")
        # counted just after the response went out
        wait_until(lambda: sum(w["requests"] for w in fetch(port)["workers"]) >= 4)
        t = threading.Thread(target=lambda: request(srv.port, "/hold?1", timeout=10))
        t.start()

        def busy():
            doc = fetch(port)
            cores = [c for w in doc["workers"] for c in w["cores"] if c["in_request"]]
            return (doc, cores[0]) if cores else None

        doc, core = wait_until(busy)
        t.join(10)
    # uWSGI counts the app's request when it starts, the worker's when it ends
    held = next(w for w in doc["workers"] if core in w["cores"])
    assert held["apps"][0]["requests"] == held["requests"] + 1
    top = [k for k in sample if k in doc]
    assert top == [k for k in doc if k in sample]  # same keys, same order
    assert set(sample) - {"daemons"} <= set(doc)
    assert doc["pid"] == srv.pid and len(doc["workers"]) == 2
    worker = doc["workers"][0]
    assert set(sample["workers"][0]) <= set(worker)
    assert set(sample["workers"][0]["cores"][0]) <= set(core)
    assert sum(w["requests"] for w in doc["workers"]) >= 4
    assert all(w["rss"] > 0 and w["respawn_count"] == 1 for w in doc["workers"])
    assert "REQUEST_URI=/hold?1" in core["vars"] and core["vars"][-1] == ""
    assert core["req_info"]["request_start"] <= time.time()
    sock = doc["sockets"][0]
    assert sock["name"] == "127.0.0.1:%d" % srv.port and sock["proto"] == "http" and sock["max_queue"] == 100


def test_unix_socket_and_http_mode(tmp_path):
    path = str(tmp_path / "stats.sock")
    with run_server(PROBE + ["--stats", path, "--stats-http"]) as srv:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(path)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            raw = read_to_eof(s)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 OK") and b"Content-Type: application/json" in head
    assert json.loads(body)["pid"] == srv.pid
    assert srv.proc.returncode == 0, srv.output()
    assert not os.path.exists(path), srv.output()  # removed at exit


def test_binding_beyond_loopback_warns():
    with run_server(PROBE + ["--stats", "0.0.0.0:0"]) as srv:
        assert "reachable beyond this machine" in srv.output()


def test_uwsgitop_renders_our_stats_on_a_pty():
    uwsgitop_path()
    with run_server(PROBE + ["--stats", "127.0.0.1:0"]) as srv:
        port = stats_port(srv)
        for _ in range(3):
            request(srv.port, "/")
        pids = [w["pid"] for w in fetch(port)["workers"]]
        text = uwsgitop_screen(port, lambda t: all(str(p) in t for p in pids) and "WID" in t)
    assert "uwsgi-2.0.31" in text and "WID" in text, text[-2000:]
    for p in pids:
        assert str(p) in text, text[-2000:]
    assert "Traceback" not in text




def test_minified_document():
    with run_server(PROBE + ["--stats", "127.0.0.1:0", "--stats-minified"]) as srv:
        with socket.create_connection(("127.0.0.1", stats_port(srv)), timeout=5) as s:
            raw = read_to_eof(s)
    assert b"\n" not in raw and b"\t" not in raw
    assert json.loads(raw)["pid"] == srv.pid


def test_spoolers_daemons_and_crons_sections(tmp_path):
    spool = tmp_path / "spool"
    args = ["--wsgi-file", "tests/apps/hello.py", "--master", "--stats", "127.0.0.1:0", "--spooler", str(spool),
            "--attach-daemon", "sleep 30", "--cron2", "minute=-1,unique=1 sleep 20"]
    with run_server(args) as srv:
        port = stats_port(srv)

        def complete():
            doc = fetch(port)
            ok = (doc.get("daemons") and doc["daemons"][0]["pid"] > 0 and doc.get("spoolers")
                  and doc["spoolers"][0]["pid"] > 0 and doc.get("crons") and doc["crons"][0]["pid"] > 0)
            return doc if ok else None

        doc = wait_until(complete, timeout=15, what="every section with a running process")
    assert doc["daemons"] == [{"cmd": "sleep 30", "pid": doc["daemons"][0]["pid"], "respawns": 0}]
    assert os.path.realpath(doc["spoolers"][0]["dir"]) == os.path.realpath(str(spool))
    assert doc["spoolers"][0]["respawns"] == 0
    cron = doc["crons"][0]
    assert (cron["minute"], cron["hour"], cron["command"], cron["unique"]) == (-1, -1, "sleep 20", 1)
    assert cron["started_at"] > 0


def test_spoolers_count_their_tasks_and_show_the_one_running(tmp_path):
    """uWSGI's ``tasks`` (run by the spooler's current process) and ``running`` (1 during one)."""
    markers = tmp_path / "markers"
    markers.mkdir()
    args = ["--wsgi-file", "tests/apps/spooler_app.py", "--master", "--stats", "127.0.0.1:0",
            "--spooler", str(tmp_path / "spool")]
    env = dict(os.environ, SPOOL_MARKERS=str(markers))
    with run_server(args, env=env) as srv:
        port = stats_port(srv)
        request(srv.port, "/spool?name=a")
        wait_until(lambda: fetch(port)["spoolers"][0]["tasks"] == 1, what="the first task counted")
        request(srv.port, "/spool?name=b&sleep=30")
        spooler = wait_until(lambda: (lambda s: s if s["running"] else None)(fetch(port)["spoolers"][0]),
                             what="the sleeping task running")
    assert spooler["tasks"] == 1 and spooler["respawns"] == 0
    assert list(spooler) == ["dir", "pid", "tasks", "respawns", "running"]
