"""``--http-subscription-server``: the HTTP router routes each request by its ``Host`` to the
nodes subscribed under it (the real uWSGI node is in test_fastrouter_interop.py).

* gateway nodes ``--subscribe-to`` the router: each Host reaches its node, an unknown one is a
  502, the stats list the subscriptions, a node leaves at its shutdown (unsubscribe);
* a node that sends no announce for ``--subscription-tolerance`` seconds expires, and
  ``--http-subscription-fallback-key`` serves the Hosts without a node;
* a refused node is dropped until it announces again, the request served by another node;
* with ``--http-to-gateway`` the pooled keep-alive connections are per node, and a node that
  leaves the table (while still running) gets no request through its pooled connections;
* one instance can be the router and its node (the key: the Host with its port);
* a bad address fails at startup naming the option.
"""

from __future__ import annotations

import os
import socket
from collections import Counter

from gateway.router.subscription import SUBSCRIBE, UNSUBSCRIBE, Subscription, encode_subscription
from server import ROOT, run_cli, run_server
from support.httpclient import Conn, request
from support.router import free_port, run_router
from support.stats import fetch_stats
from support.waits import wait_until

APP = os.path.join(ROOT, "tests", "apps", "fastrouter_node.py")
QUIET = ["--disable-logging"]


def node_args(name: str, *extra: str) -> list:
    return ["--socket", "127.0.0.1:0", "--wsgi-file", APP, "--env", "NODE=" + name, *QUIET, *extra]


def router_args(*extra: str) -> list:
    return ["--http", "127.0.0.1:0", "--http-subscription-server", "127.0.0.1:0", *extra]


def announce(server: str, key: str, address: str, command: int = SUBSCRIBE, weight: int = 1) -> None:
    """One announce datagram, as a node's master sends it."""
    host, port = server.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(encode_subscription(Subscription(command, key, address, weight=weight)), (host, int(port)))


def get(port: int, host: str, path: str = "/") -> tuple:
    r = request(port, path, headers={"Host": host}, timeout=10)
    return r.status, r.body


def count(router, text: str) -> int:
    return len([ln for ln in list(router.lines) if text in ln])


def test_nodes_are_served_by_host_and_leave_at_shutdown():
    stats_port = free_port()
    with run_router(router_args("--http-stats", "127.0.0.1:%d" % stats_port)) as http:
        sub = http.subscription
        assert sub and "subscription=" in "\n".join(http.lines)
        with run_server(node_args("one", "--subscribe-to", sub + ":one.example")) as one, \
                run_server(node_args("two", "--subscribe2", "server=%s,key=two.example" % sub)), \
                run_server(node_args("heavy", "--subscribe-to", sub + ":two.example", "--weight", "3")):
            wait_until(lambda: count(http, "=> new node") == 3, 10, "three nodes subscribed")
            assert get(http.port, "one.example", "/p") == (200, b"one 0 /p")
            answers = Counter(get(http.port, "two.example")[1].split()[0] for _ in range(8))
            assert answers == {b"heavy": 6, b"two": 2}  # weighted round-robin, per key
            r = request(http.port, "/up", method="POST", headers={"Host": "one.example"}, body=b"x" * 200000,
                        timeout=10)
            assert (r.status, r.body) == (200, b"one 200000 /up")
            status, body = get(http.port, "unknown.example")
            assert status == 502 and b"no node is subscribed" in body
            doc = fetch_stats(stats_port)
            assert {e["key"]: e["hits"] for e in doc["subscriptions"]} == {"one.example": 2, "two.example": 8}
            one.stop()
            http.wait_for_line(r"\[http-subscription\] one\.example => removing node 127\.0\.0\.1:%d"
                               % one.uwsgi_port, 10)
            assert get(http.port, "one.example")[0] == 502
            assert get(http.port, "two.example")[0] == 200


def test_expiry_and_the_fallback_key():
    with run_router(router_args("--subscription-tolerance", "2",
                                "--http-subscription-fallback-key", "default.example")) as http, \
            run_server(node_args("fb", "--subscribe-to", http.subscription + ":default.example",
                                 "--subscribe-freq", "1")), \
            run_server(node_args("once")) as once:
        address = "127.0.0.1:%d" % once.uwsgi_port
        wait_until(lambda: count(http, "default.example => new node") == 1, 10, "the fallback node")
        announce(http.subscription, "once.example", address)  # one announce, never refreshed
        wait_until(lambda: count(http, "once.example => new node") == 1, 10, "the one-shot node")
        assert get(http.port, "once.example", "/a") == (200, b"once 0 /a")
        assert get(http.port, "other.example", "/b") == (200, b"fb 0 /b")  # no node: the fallback key's
        http.wait_for_line(r"once\.example => marking %s as failed \(no announce received" % address, 10)
        assert get(http.port, "once.example", "/c") == (200, b"fb 0 /c")
        assert count(http, "default.example => marking") == 0  # refreshed every second: kept


def test_a_refused_node_is_dropped_until_it_announces_again():
    dead = "127.0.0.1:%d" % free_port()
    with run_router(router_args()) as http, run_server(node_args("live")) as live:
        announce(http.subscription, "a.example", dead)
        announce(http.subscription, "a.example", "127.0.0.1:%d" % live.uwsgi_port)
        wait_until(lambda: count(http, "a.example => new node") == 2, 10, "both nodes")
        assert [get(http.port, "a.example")[1] for _ in range(3)] == [b"live 0 /"] * 3
        http.wait_for_line(r"a\.example => marking %s as failed" % dead, 5)
        announce(http.subscription, "a.example", dead)  # back in the table until it refuses again
        wait_until(lambda: count(http, "a.example => new node: %s" % dead) == 2, 10, "the new announce")
        assert [get(http.port, "a.example")[1] for _ in range(2)] == [b"live 0 /"] * 2


def test_pooled_connections_are_per_node_and_end_when_the_node_leaves():
    with run_router(router_args("--http-to-gateway")) as http, \
            run_server(node_args("a")) as a, run_server(node_args("b")) as b:
        a_addr, b_addr = "127.0.0.1:%d" % a.uwsgi_port, "127.0.0.1:%d" % b.uwsgi_port
        announce(http.subscription, "a.example", a_addr)
        announce(http.subscription, "b.example", b_addr)
        wait_until(lambda: count(http, "=> new node") == 2, 10, "both nodes")
        with Conn(http.port, timeout=10) as c:
            for i in range(6):  # one client connection, alternating Hosts: each to its own node
                host = "ab"[i % 2]
                c.send(b"GET /%d HTTP/1.1\r\nHost: %s.example\r\n\r\n" % (i, host.encode()))
                resp = c.read_response()
                assert (resp.status, resp.body) == (200, b"%s 0 /%d" % (host.encode(), i))
            # node a leaves the table while it still runs (and its pooled connection is still open)
            announce(http.subscription, "a.example", a_addr, UNSUBSCRIBE)
            http.wait_for_line(r"a\.example => removing node %s" % a_addr, 10)
            c.send(b"GET /gone HTTP/1.1\r\nHost: a.example\r\n\r\n")
            assert c.read_response().status == 502
            c.send(b"GET /still HTTP/1.1\r\nHost: b.example\r\n\r\n")
            assert c.read_response().body == b"b 0 /still"


def test_a_router_only_instance_and_a_bad_address():
    res = run_cli(["--http", "127.0.0.1:0", "--http-subscription-server", "nowhere"])
    assert res.returncode == 1 and "--http-subscription-server" in res.stderr
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port))
        res = run_cli(["--http", "127.0.0.1:0", "--http-subscription-server", "127.0.0.1:%d" % port])
    assert res.returncode == 1 and "--http-subscription-server: cannot bind 127.0.0.1:%d" % port in res.stderr


def test_one_instance_serves_itself_by_a_host_with_its_port():
    """The router and a node in one instance; the key is the Host as sent, port included."""
    http_port, sub_port = free_port(), free_port()
    host = "127.0.0.1:%d" % http_port
    args = ["--http", host, "--http-subscription-server", "127.0.0.1:%d" % sub_port,
            *node_args("self", "--subscribe-to", "127.0.0.1:%d:%s" % (sub_port, host))]
    with run_router(args) as http:
        http.wait_for_line(r"\[http-subscription\] %s => new node: 127\.0\.0\.1:\d+" % host, 20)
        assert get(http.port, host, "/x") == (200, b"self 0 /x")
        assert get(http.port, "127.0.0.1")[0] == 502  # another key: no node
