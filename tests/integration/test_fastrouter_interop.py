"""The FastRouter and the subscription system against a real uWSGI 2.0.31 (the cached build of
``tests/support/build_uwsgi.sh``), each side with the other's implementation:

* a real uWSGI node ``--subscribe-to`` our ``--fastrouter-subscription-server``: our FastRouter
  serves its requests, and drops it when it unsubscribes at shutdown (SIGINT);
* our node ``--subscribe-to`` a real uWSGI FastRouter's subscription server: uWSGI serves our
  requests through it, and marks the node dead when we unsubscribe at shutdown;
* our FastRouter ``--fastrouter-to`` a real uWSGI node;
* a real uWSGI node ``--subscribe-to`` our HTTP router's ``--http-subscription-server``: served
  by its Host, dropped when it unsubscribes at shutdown.

Every process is stopped by the pid this test started.
"""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import contextmanager
from typing import Iterator, List

from peers import require_uwsgi, stop_uwsgi
from server import ROOT, run_server
from support.fastrouter import run_fastrouter, uwsgi_request
from support.httpclient import request
from support.router import free_port, run_router, wait_listening
from support.stats import fetch_stats
from support.waits import wait_until

APP = os.path.join(ROOT, "tests", "apps", "fastrouter_node.py")


@contextmanager
def real_uwsgi(args: List[str], log: str) -> Iterator[subprocess.Popen]:
    """A real uWSGI (``--master``) logging to ``log``; stopped with SIGINT (uWSGI 2.0's shutdown:
    SIGTERM would reload it), SIGKILL after a timeout."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([require_uwsgi(), "--master", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop_uwsgi(proc)


def read_log(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def live_nodes(port: int, key: str) -> List[str]:
    """The nodes uWSGI's FastRouter would route ``key`` to (its stats: not death-marked)."""
    for entry in fetch_stats(port).get("subscriptions", []):
        if entry["key"] == key:
            return [n["name"] for n in entry["nodes"] if not n["death_mark"]]
    return []


def test_a_real_uwsgi_node_subscribes_to_our_fastrouter(tmp_path):
    args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-subscription-server", "127.0.0.1:0"]
    with run_fastrouter(args) as fr:
        port = free_port()
        log = str(tmp_path / "uwsgi.log")
        with real_uwsgi(["--socket", "127.0.0.1:%d" % port, "--wsgi-file", APP, "--env", "NODE=real",
                         "--subscribe-to", fr.subscription + ":real.example", "--weight", "2"], log) as node:
            wait_listening(port, 20, node)
            fr.wait_for_line(r"real\.example => new node: 127\.0\.0\.1:%d" % port, 20)
            assert uwsgi_request(fr.port, host="real.example", path="/a") == (200, b"real 0 /a")
            body = os.urandom(100000)
            assert uwsgi_request(fr.port, host="real.example", body=body)[1] == b"real 100000 /"
            stop_uwsgi(node)
            assert "unsubscribing from" in read_log(log)
            fr.wait_for_line(r"real\.example => removing node 127\.0\.0\.1:%d" % port, 10)
            assert uwsgi_request(fr.port, host="real.example") == (0, b"")


def test_a_real_uwsgi_node_subscribes_to_our_http_router(tmp_path):
    with run_router(["--http", "127.0.0.1:0", "--http-subscription-server", "127.0.0.1:0"]) as http:
        port = free_port()
        log = str(tmp_path / "uwsgi.log")
        with real_uwsgi(["--socket", "127.0.0.1:%d" % port, "--wsgi-file", APP, "--env", "NODE=real",
                         "--subscribe-to", http.subscription + ":real.example"], log) as node:
            wait_listening(port, 20, node)
            http.wait_for_line(r"\[http-subscription\] real\.example => new node: 127\.0\.0\.1:%d" % port, 20)
            r = request(http.port, "/a", headers={"Host": "real.example"}, timeout=10)
            assert (r.status, r.body) == (200, b"real 0 /a")
            r = request(http.port, "/b", method="POST", headers={"Host": "real.example"}, body=b"y" * 100000,
                        timeout=10)
            assert (r.status, r.body) == (200, b"real 100000 /b")
            stop_uwsgi(node)
            assert "unsubscribing from" in read_log(log)
            http.wait_for_line(r"real\.example => removing node 127\.0\.0\.1:%d" % port, 10)
            assert request(http.port, "/", headers={"Host": "real.example"}, timeout=10).status == 502


def test_our_node_subscribes_to_a_real_uwsgi_fastrouter(tmp_path):
    router, subscription, stats_port = free_port(), free_port(), free_port()
    log = str(tmp_path / "uwsgi.log")
    with real_uwsgi(["--fastrouter", "127.0.0.1:%d" % router,
                     "--fastrouter-subscription-server", "127.0.0.1:%d" % subscription,
                     "--fastrouter-stats", "127.0.0.1:%d" % stats_port], log) as fr:
        wait_listening(router, 20, fr)
        wait_listening(stats_port, 20, fr)
        with run_server(["--socket", "127.0.0.1:0", "--wsgi-file", APP, "--env", "NODE=ours", "--disable-logging",
                         "--subscribe-to", "127.0.0.1:%d:ours.example" % subscription]) as node:
            address = "127.0.0.1:%d" % node.uwsgi_port
            wait_until(lambda: live_nodes(stats_port, "ours.example") == [address], 10,
                       "uWSGI's FastRouter to list our node")
            assert uwsgi_request(router, host="ours.example", path="/b") == (200, b"ours 0 /b")
            assert uwsgi_request(router, host="ours.example", body=b"x" * 70000)[1] == b"ours 70000 /"
            node.stop()
            wait_until(lambda: live_nodes(stats_port, "ours.example") == [], 10,
                       "uWSGI's FastRouter to drop our node after its unsubscribe")
        assert "ours.example => marking %s as failed" % address in read_log(log)
        assert uwsgi_request(router, host="ours.example") == (0, b"")


def test_our_fastrouter_forwards_to_a_real_uwsgi_node(tmp_path):
    port = free_port()
    with real_uwsgi(["--socket", "127.0.0.1:%d" % port, "--wsgi-file", APP, "--env", "NODE=static"],
                    str(tmp_path / "uwsgi.log")) as node:
        wait_listening(port, 20, node)
        with run_fastrouter(["--fastrouter", "127.0.0.1:0", "--fastrouter-to", "127.0.0.1:%d" % port]) as fr:
            started = time.monotonic()
            assert uwsgi_request(fr.port, path="/c") == (200, b"static 0 /c")
            assert time.monotonic() - started < 5
