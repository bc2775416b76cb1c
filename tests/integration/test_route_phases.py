"""``--error-route*``, ``--response-route*``, ``--final-route*`` and the response header
options, through the real CLI: the same answers over --http-socket, --socket (raw packets
and nginx's uwsgi_pass), --fastcgi-socket and behind the --http router."""

from __future__ import annotations

import socket

import pytest

from server import run_cli, run_server
from support.httpclient import Conn, read_to_eof, request
from support.nginx import Nginx
from support.router import run_router

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/route_phases_app.py", "--tornado", "4", "--greenlet"]


def rules(page):
    return [
        "--pull-header", "X-User APPUSER",
        "--del-header", "x-secret",
        "--response-route-status", "404 addheader:X-Was: 404",
        "--response-route-run", "addheader:X-Who: ${APPUSER}",
        "--error-route-status", "418 return:403",
        "--error-route", "^/cut break:",
        "--response-route", "^/headonly break:",
        "--route", "^/raw disableheaders:",
        "--response-route-if", "equal:${PATH_INFO};/busy clearheaders:503",
        "--error-route-status", "500 addheader:X-Failed: yes",
        "--error-page-500", page,
        "--final-route-status", "404 log:FINAL-404 ${PATH_INFO} user=${APPUSER}",
        "--final-route-run", "metricinc:final_seen",
        "--metric", "final_seen",
    ]


@pytest.fixture
def page(tmp_path):
    path = tmp_path / "500.html"
    path.write_bytes(b"<h1>sorry</h1>")
    return str(path)


def check_answers(get, cut):
    """``get(path) -> (status, headers dict, body)`` over one protocol; ``cut(path)`` the raw
    bytes of a request whose response a rule cut."""
    status, headers, body = get("/status/404")
    assert (status, body) == (404, b"app /status/404")
    assert headers["X-Was"] == "404" and headers["X-Who"] == "alice" and headers["X-App"] == "yes"
    assert "X-User" not in headers and "X-Secret" not in headers  # pulled, deleted

    status, headers, body = get("/status/418")  # the error chain answers instead of the app
    assert (status, body) == (403, b"Forbidden") and headers["X-Who"] == "alice" and "X-App" not in headers

    status, headers, body = get("/gen")  # a streamed response keeps its body, gets the headers
    assert (status, body, headers["X-Who"]) == (200, b"one,two", "alice")

    status, headers, body = get("/busy")  # clearheaders: new status, the app's headers gone, body kept
    assert (status, body, headers["X-Who"]) == (503, b"app /busy", "alice") and "X-App" not in headers

    status, headers, body = get("/boom")  # gateway's own 500: the error page, through the error chain
    assert (status, body) == (500, b"<h1>sorry</h1>")
    assert headers["Content-Type"] == "text/html" and headers["X-Failed"] == "yes"

    status, headers, body = get("/headonly")  # the response chain's break: the head so far, no body
    assert (status, body, headers["X-Who"], headers["X-App"]) == (200, b"", "alice", "yes")

    assert cut("/cut") == b""  # the error chain's break: nothing at all, the connection closed
    assert cut("/raw") == b"app /raw"  # disableheaders: the body alone, then the close


@pytest.mark.parametrize("extra", [[], ["--threads", "2"]], ids=["cores", "threads"])
def test_phases_over_http_socket(page, extra):
    with run_server(APP + ["--http-socket", "127.0.0.1:0", "--master"] + extra + rules(page)) as srv:
        srv.expect_traceback("RuntimeError: boom")

        def get(path):
            r = request(srv.port, path)
            return r.status, dict(r.headers), r.body

        def cut(path):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
                s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                return read_to_eof(s)

        check_answers(get, cut)
        # keep-alive goes on after a rule's answer
        with Conn(srv.port) as c:
            for _ in range(2):
                c.send(b"GET /status/418 HTTP/1.1\r\nHost: t\r\n\r\n")
                assert c.read_response().status == 403
            # every request so far went through the final chain (the cut and the failed one too):
            # it runs before the connection takes its next request
            c.send(b"GET /metric HTTP/1.1\r\nHost: t\r\n\r\n")
            assert c.read_response().body == b"10"
        srv.wait_for_line(r"FINAL-404 /status/404 user=alice")
        out = srv.output()
        assert "*** dumping internal response routing table ***" in out
        assert "[rule: 0] subject: 418 func: 418 action: return:403" in out  # the error table
        assert "*** dumping internal final routing table ***" in out


def uwsgi_get(port, path):
    from gateway.protocol.uwsgi import encode_request

    packet = encode_request([("REQUEST_METHOD", "GET"), ("PATH_INFO", path), ("REQUEST_URI", path),
                             ("QUERY_STRING", ""), ("SERVER_PROTOCOL", "HTTP/1.1")], b"")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(packet)
        try:
            return read_to_eof(s)
        except ConnectionResetError:
            return b""  # a cut over uwsgi is an RST (the sink's abort: no end that looks complete)


def parse(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_phases_over_the_uwsgi_protocol(page):
    with run_server(APP + ["--socket", "127.0.0.1:0"] + rules(page)) as srv:
        srv.expect_traceback("RuntimeError: boom")
        check_answers(lambda path: parse(uwsgi_get(srv.uwsgi_port, path)),
                      lambda path: uwsgi_get(srv.uwsgi_port, path))
        srv.wait_for_line(r"FINAL-404 /status/404 user=alice")


def test_phases_behind_nginx_uwsgi_pass(page):
    with run_server(APP + ["--socket", "127.0.0.1:0"] + rules(page)) as srv:
        srv.expect_traceback("RuntimeError: boom")
        config = "server { listen {listen}; location / { include uwsgi_params; uwsgi_pass %s; } }" % (
            srv.uwsgi_addresses[0])
        with Nginx(config) as ngx:
            status, headers, body = ngx.get("/status/404")
            assert (status, headers["X-Was"], headers["X-Who"]) == (404, "404", "alice")
            assert "X-Secret" not in headers
            status, headers, body = ngx.get("/status/418")
            assert (status, body) == (403, b"Forbidden")
            status, headers, body = ngx.get("/boom")
            assert (status, body, headers["X-Failed"]) == (500, b"<h1>sorry</h1>", "yes")


def test_phases_behind_the_http_router(page):
    with run_router(APP + ["--http", "127.0.0.1:0"] + rules(page)) as r:
        r.expect_traceback("RuntimeError: boom")
        with Conn(r.port) as c:
            c.send(b"GET /status/404 HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = c.read_response()
            assert (resp.status, resp.header("X-Who"), resp.header("X-Secret")) == (404, "alice", None)
            c.send(b"GET /status/418 HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = c.read_response()
            assert (resp.status, resp.body) == (403, b"Forbidden")
        resp = request(r.port, "/boom")
        assert (resp.status, resp.body) == (500, b"<h1>sorry</h1>")


def test_collected_headers_reach_the_log_format():
    args = APP + ["--collect-header", "X-User WHO", "--log-format", "LINE %(uri) who=%(var.WHO) %(status)"]
    with run_server(args) as srv:
        r = request(srv.port, "/status/201")
        assert r.status == 201 and r.header("X-User") == "alice"  # collected, still sent
        srv.wait_for_line(r"LINE /status/201 who=alice 201")


def test_an_ini_file_keeps_each_chain_in_order(tmp_path):
    ini = tmp_path / "phases.ini"
    ini.write_text(
        "[uwsgi]\n"
        "http-socket = 127.0.0.1:0\n"
        "wsgi-file = tests/apps/route_phases_app.py\n"
        "response-route-run = goto:tail\n"
        "response-route-run = addheader:X-Skipped: 1\n"
        "response-route-label = tail\n"
        "response-route-uri = ^/status/(\\d+) addheader:X-Code: $1\n"
        "rem-header = X-App\n"
        "response-header-collect = Content-Type CT\n"
        "final-route-if = startswith:${CT};text/ log:FINAL-CT ${CT}\n"
    )
    with run_server([str(ini)]) as srv:
        r = request(srv.port, "/status/202")
        assert r.status == 202 and r.header("X-Code") == "202"
        assert r.header("X-Skipped") is None and r.header("X-App") is None
        srv.wait_for_line(r"FINAL-CT text/plain")


@pytest.mark.parametrize("args, fragments", [
    (["--final-route-run", "addheader:X: y"], ["option '--final-route-run'", "already sent"]),
    (["--response-route-status", "abc log:x"], ["option '--response-route-status'", "HTTP status"]),
    (["--route-run", "clearheaders:503"], ["--response-route"]),
    (["--error-route-run", "goto:nowhere"], ["--error-route-run goto:nowhere", "not defined"]),
    (["--collect-header", "X-Only"], ["option '--collect-header'", "HEADER VAR"]),
    (["--del-header", "bad header"], ["option '--del-header'", "header name"]),
])
def test_bad_phase_options_are_refused_at_startup(args, fragments):
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/route_phases_app.py"] + args)
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def fastcgi_get(port, path):
    """STDOUT of one FastCGI request (request id 1, no keep-alive)."""
    from gateway.protocol import fastcgi as wire

    packet = (wire.encode_begin_request(1)
              + wire.encode_record(wire.PARAMS, 1, wire.encode_params([
                  ("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", ""), ("PATH_INFO", path), ("REQUEST_URI", path),
                  ("QUERY_STRING", ""), ("SERVER_PROTOCOL", "HTTP/1.1")]))
              + wire.encode_record(wire.PARAMS, 1) + wire.encode_record(wire.STDIN, 1))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(packet)
        raw = read_to_eof(s)
    out = b""
    while len(raw) >= 8:
        rtype, clen, plen = raw[1], int.from_bytes(raw[4:6], "big"), raw[6]
        if rtype == wire.STDOUT:
            out += raw[8:8 + clen]
        raw = raw[8 + clen + plen:]
    return out


def test_phases_over_fastcgi(page):
    with run_server(APP + ["--fastcgi-socket", "127.0.0.1:0"] + rules(page)) as srv:
        port = int(srv.ready_fields["fastcgi-socket"].rsplit(":", 1)[1])
        out = fastcgi_get(port, "/status/404")
        assert b"404 Whatever" in out and b"X-Was: 404\r\n" in out and b"X-Who: alice\r\n" in out
        assert b"X-Secret" not in out and out.endswith(b"app /status/404")
        out = fastcgi_get(port, "/status/418")
        assert b"403 Forbidden" in out and out.endswith(b"\r\n\r\nForbidden")
