"""The ``uwsgi`` and ``uwsgidecorators`` modules as hosted apps see them, through the real CLI.

Identity (``worker_id``, ``numproc``, ``version``, ``started_on``, ``total_requests``),
``uwsgi.opt`` (reference/uwsgi.md §5/§6: str keys, bytes values, True for bare flags,
lists for repeats) against ``Config.uwsgi_opt()``, ``@postfork`` (once, before serving),
the seed's per-worker ``t_application.listen(BASE + uwsgi.worker_id())``, local RPC,
``async_sleep``/``wait_fd_read`` + ``suspend``/``ready_fd``; and that none of these names
exist outside the server.
"""

from __future__ import annotations

import ast
import os
import select
import socket
import subprocess
import sys
import time

import pytest

from gateway.config import load
from server import ROOT, run_server
from support.httpclient import Conn, request

pytestmark = pytest.mark.timeout(60)

ENGINE = ["--tornado", "3", "--greenlet"]


def literal(port: int, path: str = "/"):
    r = request(port, path)
    assert r.status == 200, (r, r.body)
    return ast.literal_eval(r.body.decode())


# -- identity -----------------------------------------------------------------------------------


def test_identity_attributes_and_request_counter():
    before = int(time.time())
    with run_server(["--wsgi-file", "tests/apps/uwsgi_identity.py"] + ENGINE) as srv:
        after = int(time.time())
        first, second, third = (literal(srv.port) for _ in range(3))
    assert first["worker_id"] == 1
    assert first["numproc"] == 1
    assert first["masterpid"] == 0  # no master (reference §6)
    assert first["pid"] == srv.pid
    assert first["version"] == b"2.0.31" and type(first["version"]) is bytes
    assert first["environ_version"] == first["version"]
    assert first["loop"] == b"tornado"
    assert first["cores"] == 3
    assert type(first["started_on"]) is int
    assert before - 1 <= first["started_on"] <= after + 1
    assert second["started_on"] == first["started_on"]
    # instance-wide count of finished requests: increases by one per request
    assert [first["total_requests"], second["total_requests"], third["total_requests"]] == [0, 1, 2]


# -- uwsgi.opt ------------------------------------------------------------------------------------


def test_opt_matches_the_configuration():
    args = ["--wsgi-file", "tests/apps/config_report.py", "--tornado", "2", "--greenlet",
            "--env", "GW_A=1", "--env", "GW_B=2", "--set-placeholder", "greeting=hi",
            "--socket-timeout=9"]
    with run_server(args) as srv:
        opt = literal(srv.port)["opt"]
    assert all(type(k) is str for k in opt)
    assert opt["http-socket"] == b"127.0.0.1:0"  # added first by run_server
    assert opt["wsgi-file"] == b"tests/apps/config_report.py"
    assert opt["tornado"] == b"2"
    assert opt["greenlet"] is True  # a bare flag on the command line
    assert opt["env"] == [b"GW_A=1", b"GW_B=2"]  # repeated: a list, in order
    assert opt["socket-timeout"] == b"9"
    assert opt["greeting"] == b"hi"  # placeholders show too
    for value in opt.values():
        items = value if isinstance(value, list) else [value]
        assert all(item is True or type(item) is bytes for item in items), value
    environ = {k: v for k, v in os.environ.items() if k.startswith("UWSGI_") and k != "UWSGI_PROCESSES"}
    assert opt == load(["--http-socket", "127.0.0.1:0"] + args, environ).uwsgi_opt()


# -- @postfork ----------------------------------------------------------------------------------


def test_postfork_hooks_run_once_before_the_first_request(tmp_path):
    log = tmp_path / "postfork.log"
    with run_server(["--wsgi-file", "tests/apps/postfork_hooks.py"] + ENGINE,
                    env={"POSTFORK_LOG": str(log)}) as srv:
        # the ready line is printed once the hooks have run
        assert log.read_text().splitlines() == ["import", "postfork worker=1 requests=0", "postfork1"]
        first = request(srv.port, "/").body.decode().splitlines()
        second = request(srv.port, "/").body.decode().splitlines()
    assert first == ["import", "postfork worker=1 requests=0", "postfork1", "request"]
    assert second == first + ["request"]
    assert "postfork2" not in second  # @postfork(2) is for worker 2 only


def test_raising_postfork_hook_is_logged_and_the_worker_serves():
    with run_server(["--wsgi-file", "tests/apps/postfork_raises.py"] + ENGINE) as srv:
        srv.expect_traceback("postfork hook failed on purpose")
        assert request(srv.port, "/").body == b"served"
        out = srv.output()
    assert out.count("RuntimeError: postfork hook failed on purpose") == 1, out
    assert out.count("Traceback (most recent call last)") == 1, out
    assert "gateway/cli.py" not in out, out  # reported as the hook's error, not as a server crash


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_per_worker_tornado_application_listening_from_postfork():
    base = free_port() - 1  # the seed uses 8000; worker 1 listens on base + 1
    with run_server(["--wsgi-file", "tests/apps/tornado_per_worker.py"] + ENGINE,
                    env={"TORNADO_BASE_PORT": str(base)}) as srv:
        direct = request(base + 1, "/")
        assert direct.status == 200, direct
        text = direct.body.decode()
        assert text.startswith("tornado worker=1 pid=%d loop=" % srv.pid), text
        tornado_loop = text.rsplit("loop=", 1)[1]
        # a WSGI request fetches from that Tornado app: only possible on the same IOLoop
        via = request(srv.port, "/via-tornado")
        assert via.status == 200, via.body
        wsgi_loop, _, got = via.body.decode().partition(" got: ")
        assert got == text
        assert wsgi_loop == "wsgi loop=" + tornado_loop


# -- RPC ----------------------------------------------------------------------------------------


def test_register_rpc_call_and_rpc_list():
    with run_server(["--wsgi-file", "tests/apps/rpc_functions.py"] + ENGINE) as srv:
        srv.expect_traceback("ValueError: boom")  # the app calls its 'raises' function on purpose
        rep = literal(srv.port)
    assert rep == {
        "list": [b"hello", b"nothing", b"raises", b"shout"],
        "call_str": b"hello(a,b)",
        "call_bytes": b"hello(c)",
        "decorated": b"QUIET",
        "local_rpc": b"X",
        "missing": "RPCUnknownFunction",  # failures raise (uWSGI: None)
        "missing_rpc": "RPCUnknownFunction",
        "raises": "RPCFunctionError",
        "empty": None,  # an empty result is None, as in uWSGI
    }


def test_rpc_none_on_failure_restores_uwsgis_none():
    with run_server(["--wsgi-file", "tests/apps/rpc_functions.py", "--rpc-none-on-failure"] + ENGINE) as srv:
        srv.expect_traceback("ValueError: boom")
        rep = literal(srv.port)
    assert rep["missing"] is None and rep["missing_rpc"] is None and rep["raises"] is None
    assert rep["call_str"] == b"hello(a,b)"


def test_rpc_table_is_bounded_by_default_at_64():
    with run_server(["--wsgi-file", "tests/apps/rpc_capacity.py"] + ENGINE) as srv:
        rep = literal(srv.port, "/register?70")
    assert rep["registered"] == 64 and rep["listed"] == 64
    assert "the table is full (64 functions, see --rpc-max)" in rep["error"]


@pytest.mark.parametrize("limit", [3, 100])
def test_rpc_max_sets_the_table_size(limit):
    with run_server(["--wsgi-file", "tests/apps/rpc_capacity.py", "--rpc-max", str(limit)] + ENGINE) as srv:
        rep = literal(srv.port, "/register?%d" % (limit + 5))
    assert rep["registered"] == limit and rep["listed"] == limit
    assert "the table is full (%d functions, see --rpc-max)" % limit in rep["error"]


# -- async_sleep / wait_fd_read + suspend ------------------------------------------------------------


@pytest.fixture(scope="module")
def async_server():
    with run_server(["--wsgi-file", "tests/apps/async_waits.py"] + ENGINE) as srv:
        yield srv


def test_async_sleep_then_suspend_resumes_after_the_delay(async_server):
    rep = literal(async_server.port, "/sleep?0.3")
    assert rep["returned"] == b"" and rep["suspend"] is True
    assert 0.29 <= rep["elapsed"] < 3, rep


def test_async_sleep_yielded_from_a_generator(async_server):
    rep = literal(async_server.port, "/sleep-yield?0.3")
    assert 0.29 <= rep["elapsed"] < 3, rep


def test_async_sleep_does_not_block_other_requests(async_server):
    srv = async_server
    with Conn(srv.port, timeout=10) as sleeper:
        sleeper.send(b"GET /sleep?1.5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        srv.wait_for_line(r"^async_waits: sleeping 1\.5$")
        assert literal(srv.port, "/ping") == {"pong": True}
        # the sleeping request has not answered yet: /ping was served while it slept
        readable, _, _ = select.select([sleeper.sock], [], [], 0)
        assert readable == []
        response = sleeper.read_response()
    assert response.status == 200
    assert ast.literal_eval(response.body.decode())["elapsed"] >= 1.49


def test_wait_fd_read_then_suspend_and_ready_fd(async_server):
    rep = literal(async_server.port, "/fd")
    assert rep["returned"] == b""
    assert rep["ready_fd"] == rep["fd"]
    assert rep["data"] == b"x"
    assert 0.19 <= rep["elapsed"] < 3, rep


def test_wait_fd_read_timeout_gives_ready_fd_minus_one(async_server):
    rep = literal(async_server.port, "/fd-timeout?0.3")
    assert rep["ready_fd"] == -1
    assert rep["data"] is None
    assert 0.29 <= rep["elapsed"] < 3, rep


# -- no shadowing outside the server ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["uwsgi", "uwsgidecorators"])
def test_names_do_not_exist_outside_the_server(name):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    code = "import gateway, gateway.uwsgi_module, loop_engine\nimport %s\n" % name
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "ModuleNotFoundError: No module named '%s'" % name
