"""One function, three callers: ``uwsgi.call`` (local), the uwsgi protocol (modifier1 173 on
``--socket``) and Erlang's ``rpc:call`` reach the same ``register_rpc`` function through one
invocation path: the same result, and an exception logged once per call whichever way it came."""

from __future__ import annotations

import subprocess
import urllib.parse

import pytest

from integration.erlang_support import otp_bindir, start_erl_or_skip, unique
from server import run_server
from support.httpclient import request

pytestmark = [pytest.mark.needs("erl"), pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def node():
    cookie = unique("rpc3cookie")
    erl = start_erl_or_skip(pytest, unique("rpc3erl"), cookie, "system")  # also makes sure epmd runs
    name = unique("gw") + "@localhost"
    try:
        with run_server(["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0", "--wsgi-file",
                         "tests/apps/rpc_client.py", "--tornado", "4", "--greenlet",
                         "--erlang", name, "--erlang-cookie", cookie]) as srv:
            yield srv, erl, name
    finally:
        erl.stop()


def over_http(srv, node, func, *args):
    q = urllib.parse.urlencode([("node", node), ("func", func)] + [("arg", a) for a in args])
    r = request(srv.port, "/core?" + q, timeout=20)
    assert r.status == 200, r
    return r.body.decode()


def from_erlang(erl, name, func, args):
    out = subprocess.run(
        [otp_bindir(erl.otp) + "/erl", "-sname", unique("probe") + "@localhost", "-setcookie", erl.cookie,
         "-hidden", "-noshell", "-eval",
         "io:format(\"~p~n\", [rpc:call('%s', anymodule, %s, %s)]), halt()." % (name, func, args)],
        capture_output=True, text=True, timeout=60,
    )
    return out.stdout.strip()


def test_the_same_function_whichever_way_it_is_reached(node):
    srv, erl, name = node
    local = over_http(srv, "", "hello", "a", "b")
    socket = over_http(srv, "127.0.0.1:%d" % srv.uwsgi_port, "hello", "a", "b")
    assert local == socket == "b'Hello a,b'"
    assert from_erlang(erl, name, "hello", "[<<\"a\">>, <<\"b\">>]") == "<<\"Hello a,b\">>"


def test_an_exception_is_logged_once_per_call_on_every_path(node):
    srv, erl, name = node
    srv.expect_traceback("ValueError: boom")
    before = srv.output().count("ValueError: boom")
    assert over_http(srv, "", "raises").startswith("EXC RPCFunctionError: ")
    assert over_http(srv, "127.0.0.1:%d" % srv.uwsgi_port, "raises").startswith("EXC RPCFunctionError: ")
    erlang = from_erlang(erl, name, "raises", "[]")
    assert erlang.startswith("{badrpc,") and "ValueError" in erlang and "boom" in erlang, erlang
    srv.wait_for_line("erlang: .* raised", timeout=5)
    assert srv.output().count("ValueError: boom") - before == 3
    assert srv.output().count("RPC function 'raises' raised") == 2
