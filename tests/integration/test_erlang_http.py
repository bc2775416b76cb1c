"""The Erlang node inside the real server: ``uwsgitest:hello()`` from a WSGI request.

Runs ``python -m gateway --http-socket 127.0.0.1:0 --wsgi-file APP --tornado 10
--greenlet --erlang NAME --erlang-cookie C`` against a real Erlang test node (the
system OTP and OTP 28).
"""

from __future__ import annotations

import subprocess
import textwrap
import threading
import time
import urllib.request

import pytest

from gateway.erlang import etf
from integration.erlang_support import otp_bindir, start_erl_or_skip, unique
from server import run_server

pytestmark = [pytest.mark.needs("erl"), pytest.mark.timeout(120)]

APP = textwrap.dedent(
    '''
    from urllib.parse import parse_qs

    import uwsgi


    def square(x):
        return x * x


    uwsgi.register_rpc("square", square)


    def application(environ, start_response):
        q = parse_qs(environ["QUERY_STRING"])
        node = q["node"][0]
        if "sleep" in q:
            result = uwsgi.erlang_rpc(node, "timer", "sleep", [int(q["sleep"][0])])
        else:
            result = uwsgi.erlang_rpc(node, "uwsgitest", "hello", [])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(result).encode()]
    '''
)


@pytest.fixture(scope="module", params=["system", "28"])
def setup(request, tmp_path_factory):
    """One Erlang test node and one server per release for the module: the app is
    stateless and every test uses its own requests (and probe node)."""
    cookie = unique("httpcookie")
    erl = start_erl_or_skip(pytest, unique("httperl"), cookie, request.param)
    app = tmp_path_factory.mktemp("erlapp") / "erlapp.py"
    app.write_text(APP)
    name = unique("gw") + "@localhost"
    try:
        with run_server(
            ["--wsgi-file", str(app), "--tornado", "10", "--greenlet", "--erlang", name, "--erlang-cookie", cookie]
        ) as srv:
            yield srv, erl, name
    finally:
        erl.stop()


def get(port, query, timeout=20):
    with urllib.request.urlopen("http://127.0.0.1:%d/?%s" % (port, query), timeout=timeout) as r:
        return r.status, r.read().decode()


def test_hello_from_a_wsgi_request(setup):
    srv, erl, name = setup
    assert srv.erlang_node == name
    assert get(srv.port, "node=" + erl.name) == (200, repr(etf.Atom("hello world !")))


def test_a_waiting_request_suspends_only_its_core(setup):
    srv, erl, name = setup
    slow = {}

    def run_slow():
        t = time.monotonic()
        slow["resp"] = get(srv.port, "node=%s&sleep=1500" % erl.name)
        slow["took"] = time.monotonic() - t

    th = threading.Thread(target=run_slow)
    th.start()
    time.sleep(0.2)
    t = time.monotonic()
    assert get(srv.port, "node=" + erl.name)[0] == 200
    assert time.monotonic() - t < 1.0  # served while the other core waits on Erlang
    th.join(20)
    assert slow["resp"][0] == 200 and slow["took"] >= 1.4


def test_erlang_calls_the_servers_register_rpc(setup):
    srv, erl, name = setup
    bindir = otp_bindir(erl.otp)
    out = subprocess.run(
        [bindir + "/erl", "-sname", unique("probe") + "@localhost", "-setcookie", erl.cookie, "-hidden", "-noshell",
         "-eval", "io:format(\"~p~n\", [rpc:call('%s', anymodule, square, [12])]), halt()." % name],
        capture_output=True, text=True, timeout=60,
    )
    assert out.stdout.strip() == "144"
