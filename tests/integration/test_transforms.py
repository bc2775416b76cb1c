"""Response transformations (``--route ... gzip:``, ``chunked:``, ``toupper:``, ``fixcl:``,
``flush:``, ``tofile:``, ``template:``, ``cachestore:``) through the real CLI: over --http-socket with a raw
HTTP client (keep-alive, HEAD, streaming, an app failing mid-stream), over --socket (raw
packets and nginx's ``uwsgi_pass``), over --fastcgi-socket and --scgi-socket behind nginx, and behind the
--http router; the route phases (response routes, final routes) see the transformed head."""

from __future__ import annotations

import gzip
import socket
import zlib

import pytest

from gateway.protocol.uwsgi import encode_request
from server import run_cli, run_server
from support.httpclient import Conn, read_to_eof, request
from support.nginx import Nginx
from support.router import run_router

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/transforms_app.py"]
FIXED = b"hello world, " * 20


def rules(store_dir):
    return [
        "--route", "^/gz/ gzip:",
        "--route", "^/gzcl/ gzip:",
        "--route", "^/gzcl/ fixcl:",
        "--route", "^/up/ toupper:",
        "--route", "^/ch/ chunked:",
        "--route", "^/gzch/ gzip:",
        "--route", "^/gzch/ chunked:",
        "--route", "^/tpl/ template:",
        "--route", "^/save/ toupper:",
        "--route", "^/save/ flush:",
        "--route", "^/save/(\\w+)$ tofile:filename=%s/$1.txt" % store_dir,
        "--response-route", "^/gz/ addheader:X-Phase: response",
        "--response-header-collect", "Content-Encoding CE",
        "--final-route", "^/gz/ log:FINAL ${PATH_INFO} ce=${CE}",
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("stored")


@pytest.fixture(scope="module")
def srv(store):
    args = APP + ["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0", "--fastcgi-socket", "127.0.0.1:0",
                  "--scgi-socket", "127.0.0.1:0"]
    with run_server(args + rules(store)) as s:
        s.expect_traceback("mid-stream boom")
        yield s


def get(conn, path, accept="gzip", method="GET", version="HTTP/1.1"):
    extra = "Accept-Encoding: %s\r\n" % accept if accept else ""
    conn.send(("%s %s %s\r\nHost: test\r\n%s\r\n" % (method, path, version, extra)).encode())
    return conn.read_response(method)


# -- HTTP ---------------------------------------------------------------------------------

def test_gzip_on_one_keep_alive_connection_with_head_and_the_route_phases(srv):
    with Conn(srv.port) as c:
        whole = get(c, "/gz/fixed")  # a one-piece body: compressed whole, with its exact length
        assert whole.header("Content-Encoding") == "gzip" and whole.header("X-Phase") == "response"
        assert whole.header("Transfer-Encoding") is None
        assert int(whole.header("Content-Length")) == len(whole.body) < len(FIXED)
        assert gzip.decompress(whole.body) == FIXED

        head = get(c, "/gz/fixed", method="HEAD")  # the head a GET gets, no body
        assert head.status == 200 and head.body == b""
        assert [h for h in head.headers if h[0] != "Date"] == [h for h in whole.headers if h[0] != "Date"]

        streamed = get(c, "/gz/stream?n=50")  # a generator: compressed as it streams, chunked
        assert streamed.header("Transfer-Encoding") == "chunked" and streamed.header("Content-Length") is None
        assert gzip.decompress(streamed.body) == b"".join(b"chunk %d;" % i for i in range(50))

        head = get(c, "/gz/stream?n=50", method="HEAD")  # a streamed HEAD: the encoding, no framing, no body
        assert head.header("Content-Encoding") == "gzip" and head.header("Transfer-Encoding") is None

        plain = get(c, "/gz/fixed", accept="")  # no Accept-Encoding: nothing compressed
        assert (plain.body, plain.header("Content-Length"), plain.header("Content-Encoding")) == (FIXED, "260", None)
        refused = get(c, "/gz/fixed", accept="gzip;q=0, identity")
        assert refused.body == FIXED

        encoded = get(c, "/gz/encoded")  # already encoded by the app: left alone
        assert (encoded.header("Content-Encoding"), encoded.body) == ("identity-x", b"as is")
        empty = get(c, "/gz/empty")  # an empty body stays empty, no Content-Encoding
        assert (empty.body, empty.header("Content-Length"), empty.header("Content-Encoding")) == (b"", "0", None)
        assert get(c, "/gz/fixed").complete  # the connection is still good after all of them
    # the final chain sees the head as it went out (collected after the transformations)
    srv.wait_for_line(r"FINAL /gz/stream ce=gzip")
    srv.wait_for_line(r"FINAL /gz/fixed ce=gzip")


def read_chunk(conn):
    size = int(conn.read_until(b"\r\n").split(b";")[0], 16)
    data, ok = conn.read_exact(size + 2)
    assert ok and data.endswith(b"\r\n")
    return data[:-2]


def test_gzip_streams_each_piece_before_the_app_is_done(srv, tmp_path):
    marker = tmp_path / "go-on"
    with Conn(srv.port, timeout=10) as c:
        c.send(b"GET /gz/slow?" + str(marker).encode() + b" HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
        head = c.read_until(b"\r\n\r\n")
        assert b"Content-Encoding: gzip\r\n" in head and b"Transfer-Encoding: chunked\r\n" in head
        z = zlib.decompressobj(31)
        first = read_chunk(c)  # the app is now waiting for the marker: this piece came out alone
        assert z.decompress(first) == b"first;"
        marker.touch()
        rest = b""
        while True:
            chunk = read_chunk(c)
            if not chunk:
                break
            rest += chunk
        assert z.decompress(rest) + z.flush() == b"second;" and z.eof


def test_fixcl_frames_a_streamed_gzip_body_with_its_length(srv):
    r = request(srv.port, "/gzcl/stream?n=20", headers={"Accept-Encoding": "gzip"})
    assert r.header("Transfer-Encoding") is None and int(r.header("Content-Length")) == len(r.body)
    assert gzip.decompress(r.body) == b"".join(b"chunk %d;" % i for i in range(20))


def test_chunked_frames_the_body_itself_for_an_http11_client(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"GET /ch/stream?n=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        raw = read_to_eof(s)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.count(b"Transfer-Encoding: chunked") == 1 and b"Content-Length" not in head
    assert body == b"8\r\nchunk 0;\r\n8\r\nchunk 1;\r\n0\r\n\r\n"  # framed once, by the transformation
    with Conn(srv.port) as c:  # keep-alive goes on after a self-framed body
        assert get(c, "/ch/stream?n=3").body == b"chunk 0;chunk 1;chunk 2;"
        gz = get(c, "/gzch/stream?n=3")  # gzip then chunked: the compressed bytes framed
        assert gz.header("Transfer-Encoding") == "chunked" and gz.header("Content-Encoding") == "gzip"
        assert gzip.decompress(gz.body) == b"chunk 0;chunk 1;chunk 2;"


def test_chunked_is_left_out_for_an_http10_client(srv):
    with Conn(srv.port) as c:
        r = get(c, "/ch/stream?n=2", version="HTTP/1.0")
        assert r.header("Transfer-Encoding") is None and r.body == b"chunk 0;chunk 1;"
        assert c.at_eof()  # the close ends the body


def test_toupper_template_and_the_write_callable(srv):
    r = request(srv.port, "/up/write")
    assert r.body == b"WRITTEN THEN RETURNED"
    r = request(srv.port, "/up/fixed")
    assert r.body == FIXED.upper() and r.header("Content-Length") == "260"
    r = request(srv.port, "/tpl/tpl")
    assert r.body == b"<p>host=127.0.0.1 path=/tpl/tpl</p>" and r.header("Content-Length") == str(len(r.body))


def test_tofile_stores_what_flush_sent(srv, store):
    r = request(srv.port, "/save/fixed")
    assert r.body == FIXED.upper()
    assert (store / "fixed.txt").read_bytes() == FIXED.upper()
    r = request(srv.port, "/save/nothing")  # a 404: sent, not stored
    assert r.status == 404 and r.body == b"NO SUCH PAGE" and not (store / "nothing.txt").exists()


def test_an_app_failing_mid_stream_cuts_the_transformed_response(srv, store):
    r = request(srv.port, "/gz/boom", headers={"Accept-Encoding": "gzip"})
    assert r.status == 200 and r.header("Content-Encoding") == "gzip" and not r.complete
    assert zlib.decompressobj(31).decompress(r.body) == b"partial;"  # what was sent, no gzip trailer
    r = request(srv.port, "/save/boom")  # flushed before the failure, then cut; nothing stored
    assert r.body == b"PARTIAL;" and not r.complete and not (store / "boom.txt").exists()
    srv.wait_for_line(r"RuntimeError: mid-stream boom")


# -- uwsgi, FastCGI, nginx, the router -------------------------------------------------------

def uwsgi_get(port, path, accept="gzip"):
    path, _, query = path.partition("?")
    env = [("REQUEST_METHOD", "GET"), ("PATH_INFO", path), ("REQUEST_URI", path), ("QUERY_STRING", query),
           ("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTP_ACCEPT_ENCODING", accept)]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(encode_request(env, b""))
        return read_to_eof(s).partition(b"\r\n\r\n")


def test_the_uwsgi_protocol_gets_the_same_transformations(srv):
    head, _, body = uwsgi_get(srv.uwsgi_port, "/gz/stream?n=4")
    head += b"\r\n"
    assert b"Content-Encoding: gzip\r\n" in head and b"X-Phase: response\r\n" in head
    assert gzip.decompress(body) == b"chunk 0;chunk 1;chunk 2;chunk 3;"
    # the peer (nginx, the router on a one-off connection) frames the body: no chunked framing
    head, _, body = uwsgi_get(srv.uwsgi_port, "/ch/stream?n=2")
    assert b"Transfer-Encoding" not in head and body == b"chunk 0;chunk 1;"


NGINX = """
    server {
        listen {listen};
        location / { include uwsgi_params; uwsgi_pass %(uwsgi)s; }
        location ~ ^/f(/.*)$ { include fastcgi_params; fastcgi_param PATH_INFO $1; fastcgi_pass %(fcgi)s; }
        location ~ ^/s(/.*)$ { include scgi_params; scgi_param PATH_INFO $1; scgi_pass %(scgi)s; }
    }
"""


def test_behind_nginx_uwsgi_fastcgi_and_scgi_pass(srv):
    config = NGINX % {"uwsgi": srv.uwsgi_addresses[0], "fcgi": srv.ready_fields["fastcgi-socket"],
                      "scgi": srv.ready_fields["scgi-socket"]}
    with Nginx(config) as ngx:
        for prefix in ("", "/f", "/s"):
            status, headers, body = ngx.get(prefix + "/gz/stream?n=5", headers={"Accept-Encoding": "gzip"})
            assert (status, headers.get("Content-Encoding"), headers.get("X-Phase")) == (200, "gzip", "response"), \
                (prefix, headers)
            assert gzip.decompress(body) == b"".join(b"chunk %d;" % i for i in range(5))
            status, headers, body = ngx.get(prefix + "/gzcl/fixed", headers={"Accept-Encoding": "gzip"})
            assert int(headers["Content-Length"]) == len(body) and gzip.decompress(body) == FIXED
            status, headers, body = ngx.get(prefix + "/ch/stream?n=2")  # nginx frames it, once
            assert (status, body) == (200, b"chunk 0;chunk 1;")
            status, headers, body = ngx.get(prefix + "/up/write")
            assert body == b"WRITTEN THEN RETURNED"
        status, headers, body = ngx.get("/gz/fixed", method="HEAD", headers={"Accept-Encoding": "gzip"})
        assert (status, headers["Content-Encoding"], body) == (200, "gzip", b"")


def test_behind_the_http_router(store):
    with run_router(APP + ["--http", "127.0.0.1:0"] + rules(store)) as r:
        with Conn(r.port) as c:
            streamed = get(c, "/gz/stream?n=30")
            assert streamed.header("Content-Encoding") == "gzip"
            assert gzip.decompress(streamed.body) == b"".join(b"chunk %d;" % i for i in range(30))
            assert get(c, "/ch/stream?n=2").body == b"chunk 0;chunk 1;"
            assert get(c, "/up/fixed").body == FIXED.upper()
            whole = get(c, "/gz/fixed")
            assert gzip.decompress(whole.body) == FIXED and whole.header("X-Phase") == "response"


def test_with_app_threads(tmp_path):
    with run_server(APP + ["--threads", "2"] + rules(tmp_path)) as s:
        s.expect_traceback("mid-stream boom")
        with Conn(s.port) as c:
            r = get(c, "/gz/stream?n=40")
            assert r.header("Content-Encoding") == "gzip"
            assert gzip.decompress(r.body) == b"".join(b"chunk %d;" % i for i in range(40))
            assert get(c, "/ch/stream?n=2").body == b"chunk 0;chunk 1;"
            head = get(c, "/gz/fixed", method="HEAD")
            whole = get(c, "/gz/fixed")
            assert head.header("Content-Length") == whole.header("Content-Length") == str(len(whole.body))
            assert get(c, "/up/write").body == b"WRITTEN THEN RETURNED"
        assert request(s.port, "/save/stream").body == b"CHUNK 0;CHUNK 1;CHUNK 2;"
        assert (tmp_path / "stream.txt").read_bytes() == b"CHUNK 0;CHUNK 1;CHUNK 2;"
        r = request(s.port, "/gz/boom", headers={"Accept-Encoding": "gzip"})
        assert not r.complete and zlib.decompressobj(31).decompress(r.body) == b"partial;"


def test_cachestore_fills_the_cache_the_cache_action_answers_from():
    args = APP + ["--cache2", "name=pages,items=20,blocksize=4096",
                  "--route", "^/cached/ cache:key=${PATH_INFO},name=pages",
                  "--route", "^/cached/ cachestore:key=${PATH_INFO},name=pages,gzip=gz${PATH_INFO},expires=60",
                  "--route", "^/gzcached/(.*)$ cache:key=gz/cached/$1,name=pages,content_encoding=gzip"]
    with run_server(args) as s:
        first = request(s.port, "/cached/count")  # a miss: the app answers, the body is stored
        assert (first.body, first.header("Content-Type")) == (b"call 1", "text/plain")
        again = request(s.port, "/cached/count")  # a hit: the cache answers (the app is not called)
        assert (again.body, again.header("Content-Type")) == (b"call 1", "text/html")
        gz = request(s.port, "/gzcached/count")  # the compressed copy, under its own key
        assert gz.header("Content-Encoding") == "gzip" and gzip.decompress(gz.body) == b"call 1"
        assert request(s.port, "/cached/nothing").status == 404  # not a 200: not stored
        assert request(s.port, "/cached/nothing").body == b"no such page"
        assert request(s.port, "/count").body == b"call 2"


# -- configuration ---------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragments", [
    (["--route-run", "offload:"], ["'offload' is not supported", "offload threads"]),
    (["--route", "^/ cachestore:name=pages"], ["option '--route'", "cachestore: you need to specify a cache key"]),
    (["--route-run", "redis-store:key=x"], ["'redis-store'", "redis client"]),
    (["--response-route-run", "gzip:"], ["--response-route-run", "request chain"]),
    (["--final-route-run", "toupper:"], ["request chain"]),
    (["--route-run", "tofile:mode=0644"], ["--route-run", "a filename is needed"]),
    (["--route-run", "tofile:filename=/tmp/x,mode=999"], ["octal file mode"]),
])
def test_transformations_that_cannot_work_are_refused_at_startup(args, fragments):
    result = run_cli(["--http-socket", "127.0.0.1:0"] + APP + args)
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
