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
