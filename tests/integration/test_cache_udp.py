"""Cache replication over UDP through the real CLI: two gateway nodes replicating to
each other, and a real uWSGI 2.0.31 node both ways (its datagrams are the format)."""

from __future__ import annotations

import json
import socket

import pytest

from server import run_cli, run_server
from support.httpclient import request
from support.waits import wait_for
from tests.peers import RealUWSGI
from tests.support.router import wait_listening

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/cache_policies_app.py", "--tornado", "4", "--greenlet"]


def udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def out(port: int, path: str):
    r = request(port, path)
    assert r.status == 200, (r, r.body)
    body = r.body.decode()
    return json.loads(body)["out"] if body.startswith("{") else body


def node_args(listen: int, send: int, extra: str = "") -> list:
    return APP + ["--cache2", "name=r,items=20,blocksize=64,udp=127.0.0.1:%d,nodes=127.0.0.1:%d%s"
                  % (listen, send, extra)]


def test_two_gateway_nodes_replicate_sets_updates_and_deletes():
    pa, pb = udp_port(), udp_port()
    with run_server(node_args(pa, pb) + ["--master", "--processes", "2"]) as a, run_server(node_args(pb, pa)) as b:
        a.wait_for_line('udp server for cache "r" running on 127.0.0.1:%d' % pa)
        assert out(a.port, "/set?c=r&k=x&v=from-a") is True
        assert wait_for(lambda: out(b.port, "/get?c=r&k=x") == "from-a")
        assert out(b.port, "/update?c=r&k=x&v=from-b") is True
        assert wait_for(lambda: out(a.port, "/get?c=r&k=x") == "from-b")
        assert out(a.port, "/del?c=r&k=x") is True
        assert wait_for(lambda: out(b.port, "/get?c=r&k=x") is None)
        # an expiry travels as the absolute time: both nodes' sweepers drop it
        assert out(a.port, "/set?c=r&k=short&v=1&e=1") is True
        assert wait_for(lambda: out(b.port, "/get?c=r&k=short") == "1")
        assert wait_for(lambda: out(b.port, "/get?c=r&k=short") is None, timeout=15)
        # received changes are not sent back: no ping-pong (a's copy was never touched again)
        assert out(b.port, "/keys?c=r") == [] and out(a.port, "/keys?c=r") == []


def test_legacy_options_and_bad_addresses():
    pa, pb = udp_port(), udp_port()
    args_a = APP + ["--cache", "10", "--cache-blocksize", "64", "--cache-udp-server", "127.0.0.1:%d" % pa,
                    "--cache-udp-node", "127.0.0.1:%d" % pb]
    args_b = APP + ["--cache", "10", "--cache-blocksize", "64", "--cache-udp-server", "127.0.0.1:%d" % pb]
    with run_server(args_a) as a, run_server(args_b) as b:
        assert out(a.port, "/set?k=legacy&v=ok") is True
        assert wait_for(lambda: out(b.port, "/get?k=legacy") == "ok")
    r = run_cli(["--http-socket", "127.0.0.1:0"] + APP + ["--cache2", "name=r,items=5,nodes=nowhere"])
    assert r.returncode != 0 and "invalid udp address 'nowhere'" in r.stderr + r.stdout
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    try:
        r = run_cli(["--http-socket", "127.0.0.1:0"] + APP +
                    ["--cache2", "name=r,items=5,udp=127.0.0.1:%d" % blocker.getsockname()[1]])
        assert r.returncode != 0 and 'cache "r": cannot bind the udp server' in r.stderr + r.stdout
    finally:
        blocker.close()


def test_a_real_uwsgi_node_replicates_with_gateway_both_ways():
    pg, pu = udp_port(), udp_port()
    http = socket.socket()
    http.bind(("127.0.0.1", 0))
    uport = http.getsockname()[1]
    http.close()
    node = RealUWSGI(["--http-socket", "127.0.0.1:%d" % uport, "--master", "--die-on-term",
                      "--wsgi-file", "tests/apps/cache_policies_app.py",
                      "--cache2", "name=r,items=20,blocksize=64,udp=127.0.0.1:%d,nodes=127.0.0.1:%d" % (pu, pg)])
    try:
        wait_listening(uport, proc=node.proc)
        with run_server(node_args(pg, pu)) as gw:
            # gateway -> uWSGI (uWSGI's udp server thread starts with its master: retry until it listens)
            assert wait_for(lambda: out(gw.port, "/update?c=r&k=g&v=from-gateway") and
                            out(uport, "/get?c=r&k=g") == "from-gateway")
            # uWSGI -> gateway
            assert out(uport, "/set?c=r&k=u&v=from-uwsgi") is True
            assert wait_for(lambda: out(gw.port, "/get?c=r&k=u") == "from-uwsgi")
            assert out(uport, "/del?c=r&k=u") is True
            assert wait_for(lambda: out(gw.port, "/get?c=r&k=u") is None)
            assert out(gw.port, "/del?c=r&k=g") is True
            assert wait_for(lambda: out(uport, "/get?c=r&k=g") is None)
    finally:
        node.stop()
