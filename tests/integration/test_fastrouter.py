"""``--fastrouter``: the uwsgi proxy process, its static nodes and its subscription server,
with gateway on both sides (the real uWSGI interop is in test_fastrouter_interop.py).

* ``--fastrouter-to``: requests (and their bodies) reach the node and its answer comes back;
  a node that refuses is skipped; ``--fastrouter-fallback`` is tried last;
* ``--fastrouter-use-socket``: one instance routes to its own ``--socket`` (port 0 resolved);
* ``--fastrouter-subscription-server`` with ``--subscribe-to``/``--subscribe2``: nodes appear
  under their key, share the requests by ``--weight``, leave at shutdown (unsubscribe) or after
  ``--subscription-tolerance`` seconds of silence; an unknown key closes the connection;
* ``--fastrouter-stats`` shows the subscriptions; ``--fastrouter-timeout`` closes a silent node;
* bad values fail at startup with one line naming the option.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections import Counter

import pytest

from gateway.router.subscription import SUBSCRIBE, Subscription, encode_subscription
from server import ROOT, run_cli, run_server
from support.fastrouter import run_fastrouter, uwsgi_request
from support.httpclient import request
from support.router import free_port, run_router
from support.stats import fetch_stats
from support.waits import wait_until

APP = os.path.join(ROOT, "tests", "apps", "fastrouter_node.py")
QUIET = ["--disable-logging"]


def node_args(name: str, *extra: str) -> list:
    return ["--socket", "127.0.0.1:0", "--wsgi-file", APP, "--env", "NODE=" + name, *QUIET, *extra]


def dead_address() -> str:
    return "127.0.0.1:%d" % free_port()  # nothing listens there: connections are refused


def test_static_nodes_round_robin_with_failover_and_bodies():
    with run_server(node_args("n1")) as n1, run_server(node_args("n2")) as n2:
        nodes = ["127.0.0.1:%d" % n1.uwsgi_port, dead_address(), "127.0.0.1:%d" % n2.uwsgi_port]
        args = ["--fastrouter", "127.0.0.1:0", *[a for n in nodes for a in ("--fastrouter-to", n)]]
        with run_fastrouter(args) as fr:
            answers = Counter(uwsgi_request(fr.port)[1].split()[0] for _ in range(6))
            assert answers == {b"n1": 3, b"n2": 3}  # the refused node is skipped, never answered for
            body = os.urandom(300000)
            assert uwsgi_request(fr.port, path="/up", body=body)[0] == 200
            status, answer = uwsgi_request(fr.port, path="/up", body=body)
            assert status == 200 and answer.split()[1:] == [b"300000", b"/up"]
            fr.wait_for_line(r"\[fastrouter\] cannot connect to node 127\.0\.0\.1:\d+")


def test_fallback_is_tried_when_every_node_refused():
    with run_server(node_args("fb")) as fb:
        args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-to", dead_address(),
                "--fastrouter-fallback", "127.0.0.1:%d" % fb.uwsgi_port]
        with run_fastrouter(args) as fr:
            assert uwsgi_request(fr.port) == (200, b"fb 0 /")


def test_use_socket_routes_to_the_instances_own_socket():
    args = node_args("self", "--fastrouter", "127.0.0.1:0", "--fastrouter-use-socket")
    with run_fastrouter(args) as fr:
        fr.wait_for_line(r"gateway ready: ", 20)
        assert uwsgi_request(fr.port, path="/x") == (200, b"self 0 /x")


def test_subscribed_nodes_share_requests_by_weight_and_leave_at_shutdown():
    stats_port = free_port()
    args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-subscription-server", "127.0.0.1:0",
            "--fastrouter-stats", "127.0.0.1:%d" % stats_port]
    with run_fastrouter(args) as fr:
        sub = fr.subscription
        with run_server(node_args("heavy", "--subscribe-to", sub + ":a.example", "--weight", "3")) as heavy, \
                run_server(node_args("light", "--subscribe2", "server=%s,key=a.example,weight=1" % sub)) as light:
            fr.wait_for_line(r"a\.example => new node: 127\.0\.0\.1:%d" % heavy.uwsgi_port, 10)
            wait_until(lambda: len([ln for ln in fr.lines if "a.example => new node" in ln]) == 2, 10,
                       "both nodes subscribed")
            assert Counter(uwsgi_request(fr.port)[1].split()[0] for _ in range(8)) == {b"heavy": 6, b"light": 2}
            # UWSGI_FASTROUTER_KEY wins over HTTP_HOST
            assert uwsgi_request(fr.port, host="b.example", extra=(("UWSGI_FASTROUTER_KEY", "a.example"),))[0] == 200
            assert uwsgi_request(fr.port, host="unknown.example") == (0, b"")
            doc = fetch_stats(stats_port)
            (entry,) = doc["subscriptions"]
            assert entry["key"] == "a.example" and entry["hits"] == 9
            assert sorted(n["weight"] for n in entry["nodes"]) == [1, 3]
            assert {n["name"]: n["weight"] for n in entry["nodes"]} == {
                "127.0.0.1:%d" % heavy.uwsgi_port: 3, "127.0.0.1:%d" % light.uwsgi_port: 1}
            assert sum(n["requests"] for n in entry["nodes"]) == 9
            heavy.stop()
            fr.wait_for_line(r"a\.example => removing node 127\.0\.0\.1:%d" % heavy.uwsgi_port, 10)
            assert all(uwsgi_request(fr.port)[1].startswith(b"light") for _ in range(3))


def test_the_http_router_in_front_of_the_fastrouter_routes_by_host():
    """--http-to a subscription FastRouter routes by Host too (the HTTP router's own subscription
    server is in test_router_subscription.py)."""
    args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-subscription-server", "127.0.0.1:0"]
    with run_fastrouter(args) as fr:
        with run_server(node_args("one", "--subscribe-to", fr.subscription + ":one.example")), \
                run_server(node_args("two", "--subscribe-to", fr.subscription + ":two.example")):
            wait_until(lambda: len([ln for ln in fr.lines if "=> new node" in ln]) == 2, 10, "both nodes")
            with run_router(["--http", "127.0.0.1:0", "--http-to", "127.0.0.1:%d" % fr.port]) as http:
                for name in ("one", "two"):
                    r = request(http.port, "/p", headers={"Host": name + ".example"}, timeout=10)
                    assert (r.status, r.body) == (200, name.encode() + b" 0 /p")


def test_a_paused_or_reloading_node_unsubscribes_then_comes_back():
    """SIGTSTP pauses the node: it unsubscribes, and subscribes again when resumed; with
    --unsubscribe-on-graceful-reload a SIGHUP does the same around the reload."""
    args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-subscription-server", "127.0.0.1:0"]
    with run_fastrouter(args) as fr:
        with run_server(node_args("n", "--subscribe-to", fr.subscription + ":a.example",
                                  "--unsubscribe-on-graceful-reload")) as node:
            address = "127.0.0.1:%d" % node.uwsgi_port

            def count(what: str) -> int:
                return len([ln for ln in fr.lines if "a.example => %s %s" % (what, address) in ln])

            wait_until(lambda: count("new node:") == 1, 10, "the first announce")
            for round_, sig in enumerate((signal.SIGTSTP, signal.SIGHUP), 1):
                os.kill(node.pid, sig)
                wait_until(lambda n=round_: count("removing node") == n, 10, "the unsubscribe")
                if sig == signal.SIGTSTP:
                    assert uwsgi_request(fr.port) == (0, b"")
                    os.kill(node.pid, signal.SIGTSTP)  # resume
                wait_until(lambda n=round_: count("new node:") == n + 1, 10, "the new announce")
                assert uwsgi_request(fr.port) == (200, b"n 0 /")


@pytest.mark.parametrize("option", ["--fastrouter-force-key", "--fastrouter-subscription-fallback-key"])
def test_forced_and_fallback_keys(option):
    args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-subscription-server", "127.0.0.1:0", option, "d.example"]
    with run_fastrouter(args) as fr:
        with run_server(node_args("d", "--subscribe-to", fr.subscription + ":d.example")), \
                run_server(node_args("x", "--subscribe-to", fr.subscription + ":x.example")):
            wait_until(lambda: len([ln for ln in fr.lines if "=> new node" in ln]) == 2, 10, "both nodes")
            assert uwsgi_request(fr.port, host="unknown.example") == (200, b"d 0 /")
            expected = b"d 0 /" if option == "--fastrouter-force-key" else b"x 0 /"
            assert uwsgi_request(fr.port, host="x.example") == (200, expected)


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_a_unix_datagram_subscription_server(tmp_path, kind):
    server = str(tmp_path / "sub.sock") if kind == "path" else "@gateway-test-sub-%d" % os.getpid()
    args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-subscription-server", server]
    with run_fastrouter(args) as fr:
        assert fr.subscription == server
        with run_server(node_args("u", "--subscribe-to", server + ":u.example")):
            fr.wait_for_line(r"u\.example => new node: ", 10)
            assert uwsgi_request(fr.port, host="u.example") == (200, b"u 0 /")


def test_a_node_that_stops_announcing_expires_after_the_tolerance():
    args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-subscription-server", "127.0.0.1:0",
            "--subscription-tolerance", "1"]
    with run_fastrouter(args) as fr:
        host, port = fr.subscription.rsplit(":", 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.sendto(encode_subscription(Subscription(SUBSCRIBE, "gone.example", "127.0.0.1:9")), (host, int(port)))
            tx.sendto(b"\xe0\x00\x00\x00garbage", (host, int(port)))
        fr.wait_for_line(r"gone\.example => new node: 127\.0\.0\.1:9", 5)
        fr.wait_for_line(r"datagram from 127\.0\.0\.1 refused", 5)
        started = time.monotonic()
        fr.wait_for_line(r"gone\.example => marking 127\.0\.0\.1:9 as failed \(no announce received in 1 seconds\)", 6)
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("on_no_key", [False, True])
def test_fallback_and_subscriptions(on_no_key):
    """A subscribed node that refuses is dropped ("marking ... as failed") and the fallback
    answers; a key with no node reaches the fallback only with --fastrouter-fallback-on-no-key."""
    with run_server(node_args("fb")) as fb:
        args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-subscription-server", "127.0.0.1:0",
                "--fastrouter-fallback", "127.0.0.1:%d" % fb.uwsgi_port]
        with run_fastrouter(args + ["--fastrouter-fallback-on-no-key"] * on_no_key) as fr:
            dead = dead_address()
            host, port = fr.subscription.rsplit(":", 1)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                tx.sendto(encode_subscription(Subscription(SUBSCRIBE, "dead.example", dead)), (host, int(port)))
            fr.wait_for_line(r"dead\.example => new node: %s" % dead, 5)
            assert uwsgi_request(fr.port, host="dead.example") == (200, b"fb 0 /")
            fr.wait_for_line(r"dead\.example => marking %s as failed" % dead, 5)
            expected = (200, b"fb 0 /") if on_no_key else (0, b"")
            assert uwsgi_request(fr.port, host="dead.example") == expected  # the node is gone: no key now
            assert uwsgi_request(fr.port, host="other.example") == expected


def test_a_silent_node_is_closed_after_the_timeout():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog; nothing is ever answered
    try:
        args = ["--fastrouter", "127.0.0.1:0", "--fastrouter-to", "127.0.0.1:%d" % silent.getsockname()[1],
                "--fastrouter-timeout", "1"]
        with run_fastrouter(args) as fr:
            started = time.monotonic()
            assert uwsgi_request(fr.port, timeout=10) == (0, b"")
            assert 0.9 < time.monotonic() - started < 5
    finally:
        silent.close()


@pytest.mark.parametrize("args, message", [
    (["--fastrouter", "127.0.0.1:0"], "--fastrouter needs somewhere to route"),
    (["--fastrouter", "127.0.0.1:0", "--fastrouter-use-socket", "2", "--socket", "127.0.0.1:0", "--wsgi-file", APP],
     "--fastrouter-use-socket 2: there is no uwsgi --socket 2"),
    (["--fastrouter", "127.0.0.1:0", "--fastrouter-subscription-server", "nope"], "--fastrouter-subscription-server"),
    (node_args("x", "--subscribe-to", "127.0.0.1:7000"), "--subscribe-to 127.0.0.1:7000: expected SERVER:KEY"),
    (node_args("x", "--subscribe2", "key=k"), "--subscribe2 key=k: server= and key= are required"),
    (node_args("x", "--subscribe-to", "=3=127.0.0.1:7000:k"), "--subscribe-to: this instance has no socket 3"),
    (node_args("x", "--subscription-algo", "lrc"), "subscription-algo"),
])
def test_bad_values_fail_at_startup_naming_the_option(args, message):
    result = run_cli(args)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
