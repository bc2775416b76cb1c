"""Erlang with ``--master --processes 2``: each worker is its own C-node (``NAME_k@host``),
both reachable from a real OTP node, each answering with its own worker id."""

from __future__ import annotations

import subprocess
import textwrap
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


    def whoami():
        return uwsgi.worker_id()


    uwsgi.register_rpc("whoami", whoami)


    def application(environ, start_response):
        node = parse_qs(environ["QUERY_STRING"])["node"][0]
        result = uwsgi.erlang_rpc(node, "uwsgitest", "hello", [])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(result).encode()]
    '''
)


def test_each_worker_is_its_own_node(tmp_path):
    cookie = unique("proccookie")
    erl = start_erl_or_skip(pytest, unique("procerl"), cookie, "system")
    app = tmp_path / "erlapp.py"
    app.write_text(APP)
    base = unique("gw")
    try:
        with run_server(["--wsgi-file", str(app), "--tornado", "4", "--greenlet", "--master", "--processes", "2",
                         "--erlang", base + "@localhost", "--erlang-cookie", cookie]) as srv:
            nodes = srv.erlang_node.split(",")
            assert nodes == ["%s_1@localhost" % base, "%s_2@localhost" % base]
            calls = " ".join("io:format(\"~p~n\", [rpc:call('%s', any, whoami, [])])," % n for n in nodes)
            out = subprocess.run(
                [otp_bindir(erl.otp) + "/erl", "-sname", unique("probe") + "@localhost", "-setcookie", cookie,
                 "-hidden", "-noshell", "-eval", calls + " halt()."],
                capture_output=True, text=True, timeout=60,
            )
            assert out.stdout.split() == ["1", "2"], out.stderr
            for _ in range(4):  # both workers reach Erlang from a request
                url = "http://127.0.0.1:%d/?node=%s" % (srv.port, erl.name)
                with urllib.request.urlopen(url, timeout=20) as r:
                    assert r.read().decode() == repr(etf.Atom("hello world !"))
    finally:
        erl.stop()


HOLD_APP = textwrap.dedent(
    '''
    import loop_engine
    import uwsgi


    def application(environ, start_response):
        if environ["PATH_INFO"] == "/hold":
            loop_engine.sleep(2)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"worker %d" % uwsgi.worker_id()]
    '''
)


def test_a_reload_waits_for_the_old_worker_to_release_the_node_name(tmp_path):
    import os
    import signal
    import threading

    from integration.test_master import in_flight, wait_until
    from support.httpclient import request

    cookie = unique("reloadcookie")
    erl = start_erl_or_skip(pytest, unique("reloaderl"), cookie, "system")  # also starts EPMD
    app = tmp_path / "holdapp.py"
    app.write_text(HOLD_APP)
    name = unique("gwr") + "@localhost"
    try:
        with run_server(["--wsgi-file", str(app), "--tornado", "4", "--greenlet", "--master", "--processes", "1",
                         "--erlang", name, "--erlang-cookie", cookie, "--worker-reload-mercy", "10",
                         "--stats", "127.0.0.1:0"]) as srv:
            held = {}
            t = threading.Thread(target=lambda: held.update(r=request(srv.port, "/hold", timeout=10)))
            t.start()
            wait_until(lambda: in_flight(srv, "REQUEST_URI=/hold"), what="/hold in flight")
            os.kill(srv.pid, signal.SIGHUP)
            srv.wait_for_line(r"the name is already in use; waiting for the previous worker 1 to release it")
            assert request(srv.port, "/").body == b"worker 1"  # the new worker serves meanwhile
            t.join(10)
            assert held["r"].body == b"worker 1"
            srv.wait_for_line(r"erlang: node %s up" % name.replace(".", r"\."), timeout=15)
            out = subprocess.run(
                [otp_bindir(erl.otp) + "/erl", "-sname", unique("probe") + "@localhost", "-setcookie", cookie,
                 "-hidden", "-noshell", "-eval",
                 # up to 5 pings 0.5 s apart: on a loaded machine the probe's own first attempt
                 # can fail (seen once in a CI run); a node that never answers still fails
                 "P = fun(_, 0) -> pang; (F, K) -> case net_adm:ping('%s') of pong -> pong; "
                 "pang -> timer:sleep(500), F(F, K - 1) end end, io:format(\"~p~n\", [P(P, 5)]), halt()." % name],
                capture_output=True, text=True, timeout=60,
            )
            assert out.stdout.strip() == "pong", out.stderr
            assert "DAMN" not in srv.output()
    finally:
        erl.stop()
