"""``uwsgi.route``, ``uwsgi.install_mule_msg_hook`` and uwsgidecorators' ``@harakiri`` and
``@mstimer`` through the real CLI (tests/apps/api_gaps_app.py), in the loop engine."""

from __future__ import annotations

import ast
import os
import time

import pytest

from server import run_server
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(120)

APP = ["--wsgi-file", "tests/apps/api_gaps_app.py", "--tornado", "2", "--greenlet"]


def value(port: int, path: str) -> object:
    r = request(port, path, timeout=10)
    assert r.status == 200, (r, r.body)
    return ast.literal_eval(r.body.decode())


@pytest.fixture(scope="module")
def gaps_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("gaps")


@pytest.fixture(scope="module")
def srv(gaps_dir):
    with run_server(APP + ["--master", "--mules", "1"], env={"GAPS_DIR": str(gaps_dir)}) as s:
        s.expect_traceback("HarakiriTimeout")
        yield s
        s.check_tracebacks()


def test_route_runs_one_action_on_the_request(srv):
    report = value(srv.port, "/route")
    # log, setpathinfo, addvar: next (0); continue: 1; break: 2; unknown action, bad
    # arguments and an action that writes the response: -1
    assert report == {"codes": [0, 0, 0, 1, 2, -1, -1, -1], "PATH_INFO": "/changed", "ROUTED": "/changed!"}
    srv.wait_for_line(r"route-api GET /route$")
    srv.wait_for_line(r"uwsgi.route\('addvar', 'no-equal-sign'\): ")
    srv.wait_for_line(r"uwsgi.route\('clearheaders'\): a response-chain action, not supported")


def test_route_edits_the_response_headers_before_and_after_start_response(srv):
    r = request(srv.port, "/route-headers")
    assert (r.status, r.body) == (200, b"headers")
    assert r.header("X-Early") == "GET" and r.header("X-Late") == "/route-headers"
    assert r.header("X-Drop") is None and r.header("X-Keep") is None


@pytest.mark.parametrize("query, status, body, header", [
    ("return&403", 403, b"Forbidden", None),
    ("break&404", 404, b"", None),
    ("redirect&/elsewhere", 302, b"Moved", ("Location", "/elsewhere")),
    ("basicauth&realm,user:pass", 401, b"Unauthorized", ("WWW-Authenticate", 'Basic realm="realm"')),
    ("send&hello", 200, b"hello", None),
])
def test_route_answers_at_once_with_code_2(srv, query, status, body, header):
    r = request(srv.port, "/route-answer?" + query)
    assert r.status == status, r
    if body is not None:
        assert r.body == body
    if header is not None:
        assert r.header(header[0]) == header[1]
    action = query.split("&")[0]
    srv.wait_for_line(r"route-answer %s: %d$" % (action, 0 if action == "send" else 2))


def test_route_static_serves_the_file(srv, tmp_path):
    (tmp_path / "page.txt").write_bytes(b"static page")
    r = request(srv.port, "/route-answer?static&%s" % (tmp_path / "page.txt"))
    assert (r.status, r.body, r.header("Content-Type")) == (200, b"static page", "text/plain")


def test_route_answer_after_start_response_is_refused(srv):
    r = request(srv.port, "/route-late-answer")
    assert (r.status, r.body) == (200, b"from the app")
    srv.wait_for_line(r"route-late-answer: -1$")
    srv.wait_for_line(r"the app already called start_response: nothing sent")


def test_harakiri_decorator_bounds_the_call_and_clears_after_it(srv):
    t0 = time.monotonic()
    assert request(srv.port, "/harakiri-park?30", timeout=10).status == 500
    assert time.monotonic() - t0 < 8
    srv.wait_for_line(r"GET /harakiri-park\?30 past its uwsgi.set_user_harakiri deadline: cancelled")
    # the decorated call returned: set_user_harakiri(0), the request outlives the second
    assert value(srv.port, "/harakiri-done?1.5") == "outlived"


def test_mstimer_runs_its_handler_every_few_hundred_ms(srv):
    wait_until(lambda: value(srv.port, "/ticks") >= 3, 10, "three @mstimer(200) ticks")


def test_install_mule_msg_hook_runs_after_mule_msg_hook(srv, gaps_dir):
    assert value(srv.port, "/tell-mule?m1") == "sent"
    for name in ("hook-m1", "extra-m1"):
        path = os.path.join(str(gaps_dir), name)
        wait_until(lambda p=path: os.path.exists(p), 10, name)
        with open(path) as f:
            assert f.read() == "1"  # in mule 1


def test_route_from_a_threads_thread(gaps_dir):
    """With --threads, route()'s answers and header edits go through the thread's callables."""
    with run_server(["--wsgi-file", "tests/apps/api_gaps_app.py", "--threads", "2"],
                    env={"GAPS_DIR": str(gaps_dir)}) as threaded:
        r = request(threaded.port, "/route-headers")
        assert (r.status, r.body, r.header("X-Early"), r.header("X-Late")) == (200, b"headers", "GET", "/route-headers")
        assert r.header("X-Drop") is None and r.header("X-Keep") is None
        r = request(threaded.port, "/route-answer?redirect&/there")
        assert (r.status, r.header("Location")) == (302, "/there")
        assert request(threaded.port, "/route-answer?send&hi").body == b"hi"
        threaded.check_tracebacks()
