"""Interop with a real uWSGI 2.0.31 (the cached build of ``tests/support/build_uwsgi.sh``)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

from tests.peers import RealUWSGI, require_uwsgi
from tests.server import run_server
from tests.support.httpclient import request
from tests.support.router import free_port, wait_listening


def test_the_real_uwsgi_peer_has_the_tornado_and_greenlet_plugins():
    uwsgi = require_uwsgi()
    version = subprocess.run([uwsgi, "--version"], capture_output=True, text=True, timeout=30)
    assert version.stdout.strip().startswith("2.0."), version
    helptext = subprocess.run([uwsgi, "--help"], capture_output=True, text=True, timeout=30).stdout
    assert "--tornado" in helptext and "--greenlet" in helptext


# -- our node calls a real uWSGI node's functions ----------------------------------------------

ENGINE = ["--tornado", "4", "--greenlet"]


@pytest.fixture(scope="module")
def uwsgi_rpc_node():
    """A real uWSGI serving tests/apps/rpc_peer.py's functions on --socket: its address."""
    port = free_port()
    node = RealUWSGI(["--socket", "127.0.0.1:%d" % port, "--wsgi-file", "tests/apps/rpc_peer.py"])
    try:
        wait_listening(port, proc=node.proc)
        yield "127.0.0.1:%d" % port
    finally:
        node.stop()


@pytest.fixture(scope="module")
def blackhole():
    """A listener that never accepts: connects succeed, replies never come."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield "127.0.0.1:%d" % s.getsockname()[1]
    s.close()


@pytest.fixture(scope="module")
def our_node():
    """gateway running tests/apps/rpc_client.py, --socket-timeout 1."""
    with run_server(["--wsgi-file", "tests/apps/rpc_client.py", "--socket-timeout", "1"] + ENGINE) as srv:
        yield srv


def ask(srv, how, node, func, *args, bigargs=(), timeout=10.0):
    q = urllib.parse.urlencode([("node", node), ("func", func)] + [("arg", a) for a in args]
                               + [("bigarg", str(n)) for n in bigargs])
    r = request(srv.port, "/%s?%s" % (how, q), timeout=timeout)
    assert r.status == 200, r
    return r.body.decode()


@pytest.mark.parametrize("how", ["core", "thread", "async"])
def test_our_node_calls_a_real_uwsgi_node(our_node, uwsgi_rpc_node, how):
    assert ask(our_node, how, uwsgi_rpc_node, "hello", "foo", "bar") == "b'Hello foo,bar'"
    assert ask(our_node, how, uwsgi_rpc_node, "big", "70000") == repr(b"x" * 70000)  # the modifier2 5 reply
    assert ask(our_node, how, uwsgi_rpc_node, "nargs", *["a"] * 254) == "b'254'"


def test_calling_from_the_ioloop_is_a_clear_error(our_node, uwsgi_rpc_node):
    out = ask(our_node, "loop", uwsgi_rpc_node, "hello")
    assert out.startswith("EXC RPCWouldBlock: ") and "await gateway.rpc.call_async" in out


@pytest.mark.parametrize("func", ["nosuchfunc", "raises", "empty"])
def test_a_real_uwsgi_node_closing_without_reply_raises_no_reply(our_node, uwsgi_rpc_node, func):
    out = ask(our_node, "core", uwsgi_rpc_node, func)
    assert out.startswith("EXC RPCNoReply: "), out


def test_refused_connection_and_too_many_arguments(our_node, uwsgi_rpc_node):
    closed = "127.0.0.1:%d" % free_port()
    assert ask(our_node, "core", closed, "hello").startswith("EXC RPCConnectionRefused: ")
    assert ask(our_node, "thread", closed, "hello").startswith("EXC RPCConnectionRefused: ")
    assert ask(our_node, "core", "/nonexistent/rpc.sock", "hello").startswith("EXC RPCConnectionRefused: ")
    out = ask(our_node, "core", uwsgi_rpc_node, "nargs", *["a"] * 255)
    assert out.startswith("EXC RPCArgumentError: RPC call with 255 arguments (at most 254)"), out
    out = ask(our_node, "core", uwsgi_rpc_node, "echo", bigargs=(40000, 30000))
    assert out.startswith("EXC RPCArgumentError: ") and "65535" in out, out


def test_timeout_suspends_only_the_calling_core(our_node, blackhole):
    results = {}

    def slow():
        results["slow"] = ask(our_node, "core", blackhole, "hello")

    t = threading.Thread(target=slow)
    t0 = time.monotonic()
    t.start()
    time.sleep(0.2)  # let the call start waiting (a lower bound on ordering, not a timing assertion)
    assert request(our_node.port, "/ping").body == b"pong"
    assert t.is_alive(), "the RPC returned before its timeout"
    t.join(10)
    assert results["slow"].startswith("EXC RPCTimeout: ") and "after 1s waiting for the reply" in results["slow"]
    assert time.monotonic() - t0 >= 0.9
    out = ask(our_node, "thread", blackhole, "hello")
    assert out.startswith("EXC RPCTimeout: "), out
