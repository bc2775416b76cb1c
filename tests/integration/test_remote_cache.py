"""Remote caches (modifier1 111) and remote signals (110) with a real uWSGI 2.0.31: our
client against its server, its client against our server (``--socket``), ours against ours."""

from __future__ import annotations

import json
import time

import pytest

from tests.peers import RealUWSGI
from tests.server import run_server
from tests.support.httpclient import request
from tests.support.router import free_port, wait_listening

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def uwsgi_cache_node():
    port = free_port()
    node = RealUWSGI(["--socket", "127.0.0.1:%d" % port, "--wsgi-file", "tests/apps/rpc_peer.py",
                      "--cache2", "name=c1,items=10,blocksize=64"])
    try:
        wait_listening(port, proc=node.proc)
        yield "127.0.0.1:%d" % port
    finally:
        node.stop()


@pytest.fixture(scope="module")
def gw():
    with run_server(["--wsgi-file", "tests/apps/subsystems_app.py", "--tornado", "4", "--greenlet",
                     "--socket-timeout", "2"]) as s:
        yield s


def remote(gw, op, cache, **kw):
    qs = "&".join("%s=%s" % kv for kv in dict(op=op, cache=cache, **kw).items())
    r = request(gw.port, "/remote?" + qs)
    assert r.status == 200, (r, r.body)
    return json.loads(r.body)["out"]


def test_remote_cache_operations_on_a_real_uwsgi(uwsgi_cache_node, gw):
    c = "c1@" + uwsgi_cache_node
    assert remote(gw, "set", c, k="k", v="hello") is True
    assert remote(gw, "set", c, k="k", v="again") is None  # uWSGI's set keeps the old value
    assert remote(gw, "get", c, k="k") == "hello"
    assert remote(gw, "update", c, k="k", v="v2") is True
    assert remote(gw, "get", c, k="k") == "v2"
    assert remote(gw, "exists", c, k="k") is True
    assert remote(gw, "exists", c, k="zz") is None
    assert remote(gw, "get", c, k="zz") is None
    assert remote(gw, "del", c, k="k") is True
    assert remote(gw, "del", c, k="k") is None
    assert remote(gw, "set", c, k="n", v="x") is True
    assert remote(gw, "clear", c) is True
    assert remote(gw, "get", c, k="n") is None
    assert remote(gw, "keys", c).startswith("ValueError")
    assert remote(gw, "get", "nope@" + uwsgi_cache_node, k="k") is None  # unknown remote cache name


def test_unreachable_remote_cache_gives_none(gw):
    assert remote(gw, "get", "c1@127.0.0.1:%d" % free_port(), k="k") is None
    gw.wait_for_line("uwsgi.cache_get: ", timeout=5)


@pytest.fixture(scope="module")
def gw_cache_node():
    """gateway serving a cache on --socket (and HTTP for the client app)."""
    port = free_port()
    with run_server(["--wsgi-file", "tests/apps/remote_cache_client.py", "--tornado", "4", "--greenlet",
                     "--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:%d" % port,
                     "--cache2", "name=c1,items=10,blocksize=64"]) as s:
        yield s, "127.0.0.1:%d" % port


def uwsgi_client_call(port, op, cache, **kw):
    qs = "&".join("%s=%s" % kv for kv in dict(op=op, cache=cache, **kw).items())
    r = request(port, "/?" + qs)
    assert r.status == 200, (r, r.body)
    return r.body.decode()


def test_a_real_uwsgi_client_uses_our_cache_server(gw_cache_node):
    _, addr = gw_cache_node
    port = free_port()
    client = RealUWSGI(["--http-socket", "127.0.0.1:%d" % port, "--wsgi-file", "tests/apps/remote_cache_client.py"])
    try:
        wait_listening(port, proc=client.proc)
        c = "c1@" + addr
        assert uwsgi_client_call(port, "set", c, k="k", v="hello") == "True"
        assert uwsgi_client_call(port, "set", c, k="k", v="again") == "None"
        assert uwsgi_client_call(port, "get", c, k="k") == "b'hello'"
        assert uwsgi_client_call(port, "update", c, k="k", v="v2") == "True"
        assert uwsgi_client_call(port, "get", c, k="k") == "b'v2'"
        assert uwsgi_client_call(port, "exists", c, k="k") == "True"
        assert uwsgi_client_call(port, "exists", c, k="zz") == "None"
        assert uwsgi_client_call(port, "del", c, k="k") == "True"
        assert uwsgi_client_call(port, "get", c, k="k") == "None"
        assert uwsgi_client_call(port, "set", c, k="big", v="x" * 65) == "None"  # over blocksize
        assert uwsgi_client_call(port, "get", "nope@" + addr, k="k") == "None"
        assert uwsgi_client_call(port, "clear", c) == "True"
    finally:
        client.stop()


def test_our_client_against_our_server(gw_cache_node):
    srv, addr = gw_cache_node
    c = "c1@" + addr
    assert uwsgi_client_call(srv.port, "set", c, k="x", v="from-gateway") == "True"
    assert uwsgi_client_call(srv.port, "get", c, k="x") == "b'from-gateway'"
    assert uwsgi_client_call(srv.port, "get", "c1@" + addr, k="absent") == "None"


def test_remote_signals_both_ways():
    sock = free_port()
    with run_server(["--wsgi-file", "tests/apps/subsystems_app.py", "--tornado", "4", "--greenlet",
                     "--master", "--processes", "2", "--http-socket", "127.0.0.1:0",
                     "--socket", "127.0.0.1:%d" % sock, "--cache2", "name=c,items=10,blocksize=64"]) as srv:
        node = "127.0.0.1:%d" % sock
        # ours -> ours: signal 17 (target "workers") raised on the node through modifier1 110
        assert json.loads(request(srv.port, "/rsignal?n=17&node=" + node).body)["out"] is None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done = [json.loads(request(srv.port, "/num?k=sig17-%d" % w).body)["out"] for w in (1, 2)]
            if all(done):
                break
            time.sleep(0.05)
        assert all(done), done
        # a real uWSGI client -> our node
        port = free_port()
        client = RealUWSGI(["--http-socket", "127.0.0.1:%d" % port, "--wsgi-file", "tests/apps/remote_cache_client.py"])
        try:
            wait_listening(port, proc=client.proc)
            assert request(port, "/?op=signal&n=17&node=" + node).body == b"None"
            assert request(port, "/?op=signal&n=17&node=127.0.0.1:%d" % free_port()).body.startswith(b"'OSError")
        finally:
            client.stop()
        # ours -> nothing listening
        out = json.loads(request(srv.port, "/rsignal?n=17&node=127.0.0.1:%d" % free_port()).body)["out"]
        assert out.startswith("OSError: unable to deliver signal 17"), out
