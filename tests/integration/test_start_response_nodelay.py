"""``--start-response-nodelay`` through the real CLI: the status line and headers reach the
client when the app calls ``start_response``, while the app is still blocked before its first
body bytes (it waits, sleeping in its core, for a marker file the test creates only after it
has read the head).  Over --http-socket (chunked framing, HEAD, keep-alive), over --socket
(raw uwsgi packets, and nginx's ``uwsgi_pass``), --fastcgi-socket and --scgi-socket behind nginx, behind the --http router, with --threads;
errors after the head went out (``exc_info``, a failing generator) cut the response; the
response routes run in ``start_response``; a transformation still holds the head."""

from __future__ import annotations

import gzip
import socket

import pytest

from gateway.protocol.uwsgi import encode_request
from server import run_server
from support.httpclient import Conn, request
from support.nginx import Nginx
from support.router import run_router

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/nodelay_app.py", "--tornado", "2", "--greenlet"]
NODELAY = ["--start_response-nodelay"]


def send_get(conn: Conn, target: str, method: str = "GET", version: str = "HTTP/1.1") -> None:
    conn.send(("%s %s %s\r\nHost: test\r\n\r\n" % (method, target, version)).encode())


def head_before_body(conn: Conn, marker) -> bytes:
    """Read the head while the app is still blocked before its body (the marker does not
    exist yet, so no body byte can have been produced), then let the app go on."""
    assert not marker.exists()
    head = conn.read_until(b"\r\n\r\n")
    assert conn.buf == b"", conn.buf  # nothing of the body: the app has not produced it
    marker.touch()
    return head


# -- HTTP -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def srv():
    args = APP + NODELAY + ["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0",
                            "--fastcgi-socket", "127.0.0.1:0", "--scgi-socket", "127.0.0.1:0",
                            "--response-route", "^/routed/ addheader:X-Phase: response"]
    with run_server(args) as s:
        s.expect_traceback("fail boom")
        s.expect_traceback("excinfo boom")
        s.expect_traceback("raise boom")
        yield s


def test_the_head_arrives_while_the_app_waits_then_the_body_is_chunked(srv, tmp_path):
    marker = tmp_path / "go"
    with Conn(srv.port, timeout=10) as c:
        send_get(c, "/wait?%s" % marker)
        head = head_before_body(c, marker)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"X-App: nodelay\r\n" in head
        assert b"Transfer-Encoding: chunked\r\n" in head  # no length known when the head went out
        assert c.read_until(b"0\r\n\r\n") == b"4\r\nbody\r\n0\r\n\r\n"
        # the connection is still good: a one-piece body, chunked too (its head went out first)
        send_get(c, "/whole")
        r = c.read_response()
        assert (r.status, r.body, r.header("Transfer-Encoding"), r.header("Content-Length")) == \
            (200, b"whole body", "chunked", None)


def test_the_apps_content_length_frames_the_body(srv, tmp_path):
    marker = tmp_path / "go"
    with Conn(srv.port, timeout=10) as c:
        send_get(c, "/waitcl?%s" % marker)
        head = head_before_body(c, marker)
        assert b"Content-Length: 4\r\n" in head and b"Transfer-Encoding" not in head
        assert c.read_exact(4) == (b"body", True)
        send_get(c, "/whole")
        assert c.read_response().body == b"whole body"


def test_http10_body_ends_with_the_connection(srv, tmp_path):
    marker = tmp_path / "go"
    with Conn(srv.port, timeout=10) as c:
        send_get(c, "/wait?%s" % marker, version="HTTP/1.0")
        head = head_before_body(c, marker)
        assert head.startswith(b"HTTP/1.0 200 OK\r\n") and b"Transfer-Encoding" not in head
        assert c.read_to_eof() == b"body"


def test_head_gets_its_head_early_and_no_body(srv, tmp_path):
    marker = tmp_path / "go"
    with Conn(srv.port, timeout=10) as c:
        send_get(c, "/wait?%s" % marker, method="HEAD")
        head = head_before_body(c, marker)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Transfer-Encoding" not in head
        send_get(c, "/whole")  # no body bytes were sent for the HEAD: the next response parses
        assert c.read_response().body == b"whole body"
        send_get(c, "/empty")
        assert c.read_response().status == 204


def test_the_write_callable(srv, tmp_path):
    marker = tmp_path / "go"
    with Conn(srv.port, timeout=10) as c:
        send_get(c, "/write?%s" % marker)
        c.buf = head_before_body(c, marker) + c.buf  # read again, as a whole response
        assert c.read_response().body == b"written returned"


def test_an_error_after_the_head_cuts_the_response(srv, tmp_path):
    marker = tmp_path / "go"
    with Conn(srv.port, timeout=10) as c:
        send_get(c, "/fail?%s" % marker)
        head_before_body(c, marker)
        rest = c.read_to_eof()  # the 200 is out: no 500 can follow, the connection is cut
        assert rest == b"5\r\npart;\r\n", rest
    srv.wait_for_line("fail boom")


@pytest.mark.parametrize("path, error", [("/excinfo", "excinfo boom"), ("/raise", "raise boom")])
def test_exc_info_after_the_head_reraises_and_the_200_is_cut(srv, path, error):
    # start_response(..., exc_info) once the head is out re-raises (PEP 3333): no 500 is possible
    with Conn(srv.port, timeout=10) as c:
        send_get(c, path)
        head = c.read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert c.read_to_eof() == b""
    srv.wait_for_line(error)


def test_the_response_routes_run_in_start_response(srv, tmp_path):
    marker = tmp_path / "go"
    with Conn(srv.port, timeout=10) as c:
        send_get(c, "/routed/wait?%s" % marker)
        head = head_before_body(c, marker)
        assert b"X-Phase: response\r\n" in head and b"X-App: nodelay\r\n" in head


def test_without_the_option_the_head_waits_for_the_body(tmp_path):
    marker = tmp_path / "go"
    with run_server(APP) as s:
        with Conn(s.port, timeout=10) as c:
            send_get(c, "/wait?%s" % marker)
            # PEP 3333: nothing before the first body bytes (half a second of silence)
            assert c.at_eof(wait=0.5) is False and c.buf == b""
            marker.touch()
            r = c.read_response()
            assert (r.body, r.header("Content-Length")) == (b"body", None)
            send_get(c, "/whole")
            assert c.read_response().header("Content-Length") == "10"  # the one-piece fast path


# -- uwsgi, nginx, the router, threads, transformations ---------------------------------------

def uwsgi_packet(target: str, method: str = "GET") -> bytes:
    path, _, query = target.partition("?")
    env = [("REQUEST_METHOD", method), ("PATH_INFO", path), ("REQUEST_URI", target), ("QUERY_STRING", query),
           ("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTP_HOST", "test")]
    return encode_request(env, b"")


def test_uwsgi_protocol_raw(srv, tmp_path):
    marker = tmp_path / "go"
    with Conn(srv.uwsgi_port, timeout=10) as c:
        c.send(uwsgi_packet("/wait?%s" % marker))
        head = head_before_body(c, marker)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Transfer-Encoding" not in head
        assert c.read_to_eof() == b"body"  # nothing added: the peer frames it


NGINX = """
    server {
        listen {listen};
        # nginx holds a small head (postpone_output) unless it streams the response
        location / { include uwsgi_params; uwsgi_buffering off; uwsgi_pass %(uwsgi)s; }
        location ~ ^/f(/.*)$ { include fastcgi_params; fastcgi_param PATH_INFO $1; fastcgi_buffering off;
                               fastcgi_pass %(fcgi)s; }
        location ~ ^/s(/.*)$ { include scgi_params; scgi_param PATH_INFO $1; scgi_buffering off;
                               scgi_pass %(scgi)s; }
    }
"""


def test_behind_nginx_uwsgi_fastcgi_and_scgi_pass(srv, tmp_path):
    config = NGINX % {"uwsgi": srv.uwsgi_addresses[0], "fcgi": srv.ready_fields["fastcgi-socket"],
                      "scgi": srv.ready_fields["scgi-socket"]}
    with Nginx(config) as ngx:
        for prefix in ("", "/f", "/s"):
            marker = tmp_path / ("go" + prefix.replace("/", "-"))
            with Conn(ngx.port, timeout=10) as c:
                send_get(c, "%s/wait?%s" % (prefix, marker))
                head = head_before_body(c, marker)  # nginx passes the head on as it gets it
                assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"X-App: nodelay\r\n" in head, prefix
                c.buf = head + c.buf
                assert c.read_response().body == b"body"
            status, headers, body = ngx.get(prefix + "/whole")
            assert (status, body) == (200, b"whole body")


def test_behind_the_http_router(tmp_path):
    marker = tmp_path / "go"
    with run_router(APP + NODELAY + ["--http", "127.0.0.1:0"]) as r:
        with Conn(r.port, timeout=10) as c:
            send_get(c, "/wait?%s" % marker)
            head = head_before_body(c, marker)
            assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"X-App: nodelay\r\n" in head
            c.buf = head + c.buf
            assert c.read_response().body == b"body"
            send_get(c, "/whole")
            assert c.read_response().body == b"whole body"


def test_with_app_threads(tmp_path):
    marker = tmp_path / "go"
    with run_server(["--wsgi-file", "tests/apps/nodelay_app.py", "--threads", "2"] + NODELAY) as s:
        with Conn(s.port, timeout=10) as c:
            send_get(c, "/wait?%s" % marker)
            head = head_before_body(c, marker)  # the thread's start_response had the core send it
            assert b"Transfer-Encoding: chunked\r\n" in head
            assert c.read_until(b"0\r\n\r\n") == b"4\r\nbody\r\n0\r\n\r\n"
            send_get(c, "/whole")
            assert c.read_response().body == b"whole body"


def test_a_transformation_still_holds_the_head(tmp_path):
    # gzip adds Content-Encoding with its first output: the head waits for it (unlike uWSGI,
    # whose early head would lack the header of the body it announces)
    with run_server(APP + NODELAY + ["--route", "^/gz/ gzip:"]) as s:
        r = request(s.port, "/gz/waitcl", headers={"Accept-Encoding": "gzip"})
        assert r.header("Content-Encoding") == "gzip" and gzip.decompress(r.body) == b"body"
        r = request(s.port, "/wait")  # not transformed: nodelay as usual (no marker: no wait)
        assert (r.body, r.header("Transfer-Encoding")) == (b"body", "chunked")


def test_uwsgi_packet_helper_is_a_real_request(srv):
    # (guards the raw uwsgi helper above: a plain request answers as the HTTP socket does)
    with socket.create_connection(("127.0.0.1", srv.uwsgi_port), timeout=10) as s:
        s.sendall(uwsgi_packet("/empty"))
        assert s.recv(100).startswith(b"HTTP/1.1 204 No Content\r\n")
