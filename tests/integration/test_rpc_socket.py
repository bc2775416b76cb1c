"""RPC served on ``--socket`` (modifier1 173), both directions with a real uWSGI 2.0.31,
and real nginx in front of our node and of the real uWSGI giving the same answers.

One real uWSGI (``--socket`` + ``--http-socket``), one gateway node (``--socket`` +
``--http-socket``), both running ``tests/apps/rpc_peer.py``, and one nginx per module.
"""

from __future__ import annotations

import urllib.parse

import pytest

from support.nginx import Nginx
from tests.peers import RealUWSGI
from tests.server import run_server
from tests.support.httpclient import request
from tests.support.router import free_port, wait_listening

#: the loop engine our nodes run
ENGINE = ["--tornado", "4", "--greenlet"]


@pytest.fixture(scope="module")
def real():
    """A real uWSGI: (uwsgi-protocol address, HTTP port)."""
    sport, hport = free_port(), free_port()
    node = RealUWSGI(["--socket", "127.0.0.1:%d" % sport, "--http-socket", "127.0.0.1:%d" % hport,
                      "--wsgi-file", "tests/apps/rpc_peer.py", "--tornado", "4", "--greenlet"])
    try:
        wait_listening(sport, proc=node.proc)
        wait_listening(hport, proc=node.proc)
        yield "127.0.0.1:%d" % sport, hport
    finally:
        node.stop()


@pytest.fixture(scope="module")
def unix_path(tmp_path_factory):
    return str(tmp_path_factory.mktemp("rpc") / "node.sock")


@pytest.fixture(scope="module")
def ours(unix_path):
    """Our node: (uwsgi-protocol address, HTTP port); it also answers on ``unix_path``."""
    with run_server(["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0", "--socket", unix_path,
                     "--wsgi-file", "tests/apps/rpc_client.py", "--socket-timeout", "5"] + ENGINE) as srv:
        srv.expect_traceback("ValueError: boom")  # the tests call the 'raises' function on purpose
        yield "127.0.0.1:%d" % srv.uwsgi_port, srv.port

def via(http_port, node, func, *args, path="/call"):
    q = urllib.parse.urlencode([("node", node), ("func", func)] + [("arg", a) for a in args])
    r = request(http_port, "%s?%s" % (path, q), timeout=20)
    assert r.status == 200, r
    return r.body.decode()


def test_a_real_uwsgi_node_calls_our_functions(real, ours):
    _, real_http = real
    our_node, _ = ours
    assert via(real_http, our_node, "hello", "foo", "bar") == "b'Hello foo,bar'"
    assert via(real_http, our_node, "nargs", *["a"] * 254) == "b'254'"
    assert via(real_http, our_node, "big", "70000") == repr(b"x" * 70000)  # our modifier2 5 reply
    assert via(real_http, our_node, "big", "65535") == repr(b"x" * 65535)
    # our failure replies are size-0 packets: a uWSGI client reads None, as from a uWSGI server
    for func in ("nosuchfunc", "raises", "empty", "noneret"):
        assert via(real_http, our_node, func) == "None", func


def test_over_a_unix_socket_both_ways(real, ours, unix_path):
    _, real_http = real
    _, our_http = ours
    assert via(real_http, unix_path, "hello", "unix") == "b'Hello unix'"
    assert via(our_http, unix_path, "hello", "unix", path="/core") == "b'Hello unix'"
    assert via(our_http, unix_path + ".missing", "hello", path="/core").startswith("EXC RPCConnectionRefused: ")


def test_our_function_calls_back_into_the_real_node_from_its_core(real, ours):
    """real uWSGI -> our relay() -> uwsgi.rpc to the real node: a nested call from an RPC core."""
    real_node, real_http = real
    our_node, _ = ours
    assert via(real_http, our_node, "relay", real_node, "hello", "nested") == "b'Hello nested'"


def test_our_node_calls_itself_with_distinct_failures(ours):
    our_node, our_http = ours
    assert via(our_http, our_node, "hello", "x", path="/core") == "b'Hello x'"
    assert via(our_http, our_node, "big", "70000", path="/thread") == repr(b"x" * 70000)
    assert via(our_http, our_node, "nosuchfunc", path="/core").startswith("EXC RPCUnknownFunction: ")
    assert via(our_http, our_node, "raises", path="/core").startswith("EXC RPCFunctionError: ")
    assert via(our_http, our_node, "empty", path="/async") == "None"


# -- nginx in front of both ------------------------------------------------------------------

LOCATIONS = {
    # the seed's trick, as documented: trailing empty uwsgi_param (uWSGI 2.0.31: 502)
    "call_doc": "uwsgi_modifier1 173; uwsgi_modifier2 1; uwsgi_param httpresp foo; uwsgi_param bar \"\";",
    "call_even": "uwsgi_modifier1 173; uwsgi_modifier2 1; uwsgi_param httpresp foo; uwsgi_param bar baz;",
    "call_cgi": "uwsgi_modifier1 173; uwsgi_modifier2 1; uwsgi_param cgiresp x;",
    "call_bare": "uwsgi_modifier1 173; uwsgi_modifier2 1; uwsgi_param hello x;",
    "call_wrapped": "uwsgi_modifier1 173; uwsgi_modifier2 0; uwsgi_param httpresp x;",
    "call_unknown": "uwsgi_modifier1 173; uwsgi_modifier2 1; uwsgi_param nosuchfunc x;",
}


@pytest.fixture(scope="module")
def nginx(real, ours):
    blocks = []
    for prefix, (node, _) in (("ours", ours), ("real", real)):
        for name, directives in LOCATIONS.items():
            blocks.append("location = /%s/%s { %s uwsgi_pass %s; uwsgi_pass_request_headers off; "
                          "uwsgi_pass_request_body off; }" % (prefix, name, directives, node))
        # the HTTP bridge (modifier2 2): PATH_INFO /func/arg1/...
        blocks.append("location ~ ^/%s/bridge(/.*)$ { uwsgi_param SERVER_PROTOCOL $server_protocol; "
                      "uwsgi_param PATH_INFO $1; "
                      "uwsgi_modifier1 173; uwsgi_modifier2 2; uwsgi_pass %s; }" % (prefix, node))
        blocks.append("location /%s/ { include uwsgi_params; uwsgi_pass %s; }" % (prefix, node))
    with Nginx("server { listen {listen}; %s }" % "\n".join(blocks)) as ngx:
        yield ngx


def both(nginx, path, **kw):
    return request(nginx.port, "/ours" + path, **kw), request(nginx.port, "/real" + path, **kw)


def test_the_documented_nginx_rpc_trick_works_on_ours_and_fails_on_real_uwsgi(nginx):
    mine, theirs = both(nginx, "/call_doc")
    assert mine.status == 200 and mine.body == b"rpc says hi foo,bar"
    assert theirs.status == 502  # the trailing zero-length item: uWSGI 2.0.31 drops the packet


@pytest.mark.parametrize("path, status", [
    ("/call_even", 200), ("/call_cgi", 201), ("/call_bare", 502), ("/call_wrapped", 502),
    ("/call_unknown", 502), ("/bridge/hello/foo/bar", 200), ("/bridge/hello/x", 200),
    ("/bridge/nosuchfunc", 404), ("/bridge/empty", 404), ("/bridge/", 500),
])
def test_nginx_gives_the_same_answers_from_ours_and_from_real_uwsgi(nginx, path, status):
    mine, theirs = both(nginx, path)
    assert (mine.status, mine.body) == (theirs.status, theirs.body) and mine.status == status, (mine, theirs)
    for name in ("Content-Type", "Content-Length"):
        assert mine.header(name) == theirs.header(name), name


def test_nginx_bridge_accept_header_becomes_the_content_type(nginx):
    mine, theirs = both(nginx, "/bridge/hello/a", headers={"Accept": "text/plain"})
    assert mine.header("Content-Type") == theirs.header("Content-Type") == "text/plain"
    assert mine.body == theirs.body == b"Hello a"


def test_rpc_on_the_asyncio_loop_answers_on_the_raw_socket(real):
    """Without uvloop the engine accepts, and a complete RPC packet is answered without a
    transport (server/uwsgi.py: UwsgiServer._raw_packet): same answers."""
    _, real_http = real
    with run_server(["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0", "--loop", "asyncio",
                     "--wsgi-file", "tests/apps/rpc_client.py"] + ENGINE) as srv:
        node = "127.0.0.1:%d" % srv.uwsgi_port
        assert via(real_http, node, "hello", "raw") == "b'Hello raw'"
        assert via(real_http, node, "big", "200000") == repr(b"x" * 200000)  # partial writes
        assert via(real_http, node, "nosuchfunc") == "None"
        assert via(srv.port, node, "raises", path="/core").startswith("EXC RPCFunctionError: ")
        srv.expect_traceback("ValueError: boom")


def test_from_app_threads_the_call_blocks_only_that_thread(real):
    """--threads: the app runs in OS threads, where uwsgi.rpc blocks that thread (the loop
    keeps serving, here the very RPC packet the thread waits for)."""
    real_node, _ = real
    with run_server(["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0", "--threads", "2",
                     "--wsgi-file", "tests/apps/rpc_client.py"]) as srv:
        assert via(srv.port, "127.0.0.1:%d" % srv.uwsgi_port, "hello", "thr", path="/core") == "b'Hello thr'"
        assert via(srv.port, real_node, "hello", "thr", path="/core") == "b'Hello thr'"
