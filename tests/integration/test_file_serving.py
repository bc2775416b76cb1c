"""--file-serve-mode, --check-static-docroot, --http-path-info-no-decode-slashes,
--ignore-script-name, --response-headers-limit, --upload-progress and --disable-sendfile
through the real CLI (and a real nginx for X-Accel-Redirect and DOCUMENT_ROOT)."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import socket
import time

import pytest

from gateway.protocol import uwsgi as uwsgi_wire
from server import run_cli, run_server
from support.httpclient import Conn, read_to_eof, request
from support.nginx import Nginx
from support.router import run_router

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/file_serving_probe.py", "--tornado", "4", "--greenlet"]
UUID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.fixture
def site(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "a.css").write_bytes(b"body{}")
    (static / "big.bin").write_bytes(os.urandom(200000))
    (tmp_path / "docroot").mkdir()
    (tmp_path / "docroot" / "page.txt").write_bytes(b"from the docroot")
    return tmp_path


def _json(resp) -> dict:
    assert resp.status == 200, resp
    return json.loads(resp.body)


@pytest.mark.parametrize("mode, header", [("x-sendfile", "X-Sendfile"), ("X-Accel-Redirect", "X-Accel-Redirect"),
                                          ("nginx", "X-Accel-Redirect")])
def test_file_serve_mode_answers_with_the_header_only(site, mode, header):
    static = os.path.realpath(site / "static")
    args = APP + ["--static-map", "/static=%s" % static, "--check-static", str(site / "docroot"),
                  "--route", "^/r/(.*) static:%s/$1" % static, "--file-serve-mode", mode]
    with run_server(args) as srv:
        for path, name in (("/static/a.css", "a.css"), ("/r/big.bin", "big.bin")):  # static-map, static: route
            r = request(srv.port, path)
            assert (r.status, r.body, r.header(header)) == (200, b"", os.path.join(static, name)), r
            assert r.header("Content-Length") == "0" and r.header("Last-Modified")
        r = request(srv.port, "/static/a.css")
        assert r.header("Content-Type") == "text/css"
        r = request(srv.port, "/page.txt")  # --check-static
        assert r.header(header) == os.path.join(os.path.realpath(site / "docroot"), "page.txt")
        head = request(srv.port, "/static/a.css", method="HEAD")
        assert head.status == 200 and head.header(header) and head.body == b""
        assert _json(request(srv.port, "/static/missing.css"))["PATH_INFO"] == "/static/missing.css"  # the app


def test_the_alias_and_a_bad_mode(site):
    static = str(site / "static")
    with run_server(APP + ["--static-map", "/static=%s" % static, "--fileserve-mode", "xsendfile"]) as srv:
        assert request(srv.port, "/static/a.css").header("X-Sendfile") == os.path.realpath(static + "/a.css")
    done = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--file-serve-mode", "lighttpd"])
    assert done.returncode != 0 and "--file-serve-mode" in done.stderr and "x-sendfile" in done.stderr, done.stderr


NGINX = """
    server {
        listen {listen};
        location / { include uwsgi_params; uwsgi_pass %(backend)s; }
        location /docroot/ { root %(site)s; include uwsgi_params; uwsgi_pass %(backend)s; }
        location ^~ %(site)s/ { internal; root /; }
    }
"""


@pytest.fixture
def behind_nginx(site):
    real = os.path.realpath(site)
    args = APP + ["--socket", "127.0.0.1:0", "--static-map", "/static=%s" % (site / "static"),
                  "--check-static-docroot", "--file-serve-mode", "x-accel-redirect"]
    with run_server(args) as srv:
        with Nginx(NGINX % {"backend": srv.uwsgi_addresses[0], "site": real}) as ngx:
            yield ngx, site


def _get(port: int, path: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_nginx_sends_the_file_named_by_x_accel_redirect(behind_nginx):
    ngx, site = behind_nginx
    status, headers, body = _get(ngx.port, "/static/a.css")
    # nginx's own answer: the bytes, its ETag, and not our header
    assert (status, body) == (200, b"body{}") and "ETag" in headers and "X-Accel-Redirect" not in headers
    status, _, body = _get(ngx.port, "/static/big.bin")
    assert status == 200 and body == (site / "static" / "big.bin").read_bytes()
    # the internal location cannot be asked for directly
    assert _get(ngx.port, os.path.realpath(site / "static" / "a.css"))[0] == 404
    # --check-static-docroot: DOCUMENT_ROOT ($document_root of /docroot/: the site) + PATH_INFO
    (site / "docroot" / "x.txt").write_bytes(b"docroot file")
    status, headers, body = _get(ngx.port, "/docroot/x.txt")
    assert (status, body) == (200, b"docroot file") and "ETag" in headers
    status, _, body = _get(ngx.port, "/docroot/missing.txt")  # not there: the app, DOCUMENT_ROOT as sent
    assert status == 200 and json.loads(body)["DOCUMENT_ROOT"] == str(site)


def test_nginx_sends_files_whose_names_hold_a_question_mark_or_a_percent(behind_nginx):
    # nginx cut a raw '?' (a?b.txt: it sent the file "a") and decoded a raw %41 (50%41.txt: it
    # sent 50A.txt); the X-Accel-Redirect value is escaped, so it sends the very file
    ngx, site = behind_nginx
    static = site / "static"
    for name, body in (("a", b"the file a"), ("a?b.txt", b"question"), ("50A.txt", b"fifty A"),
                       ("50%41.txt", b"percent"), ("sp ace.txt", b"space")):
        (static / name).write_bytes(body)
    assert _get(ngx.port, "/static/a%3Fb.txt")[::2] == (200, b"question")
    assert _get(ngx.port, "/static/50%2541.txt")[::2] == (200, b"percent")
    assert _get(ngx.port, "/static/sp%20ace.txt")[::2] == (200, b"space")


def test_nginx_never_sends_a_precompressed_variant_without_its_encoding(site):
    # nginx drops the Content-Encoding of an answer it follows through X-Accel-Redirect: naming
    # a.css.gz there sent the gzip bytes as the stylesheet itself
    static = site / "static"
    (static / "p.css").write_bytes(b"body{color:red}" * 10)
    (static / "p.css.gz").write_bytes(gzip.compress(b"body{color:red}" * 10))
    args = APP + ["--socket", "127.0.0.1:0", "--static-map", "/static=%s" % static, "--static-gzip-all",
                  "--file-serve-mode", "x-accel-redirect"]
    with run_server(args) as srv:
        with Nginx(NGINX % {"backend": srv.uwsgi_addresses[0], "site": os.path.realpath(site)}) as ngx:
            conn = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
            try:
                conn.request("GET", "/static/p.css", headers={"Accept-Encoding": "gzip"})
                resp = conn.getresponse()
                body, encoding = resp.read(), resp.getheader("Content-Encoding")
            finally:
                conn.close()
    assert resp.status == 200
    assert (gzip.decompress(body) if encoding == "gzip" else body) == b"body{color:red}" * 10


def test_check_static_docroot_from_a_request_header_stays_in_the_sites(tmp_path):
    # setdocroot from a request header: 'X-Site: ..' served the files above the sites' directory
    # (the Host header itself cannot carry '..' or '/': the HTTP parser answers 400)
    (tmp_path / "sites" / "a.test").mkdir(parents=True)
    (tmp_path / "sites" / "a.test" / "index.txt").write_bytes(b"site a")
    (tmp_path / "secret.txt").write_bytes(b"SECRET")
    args = APP + ["--check-static-docroot", "--route-run", "setdocroot:%s/${HTTP_X_SITE}" % (tmp_path / "sites")]
    with run_server(args) as srv:
        assert request(srv.port, "/index.txt", headers={"X-Site": "a.test"}).body == b"site a"
        for site in ("..", "a.test/../.."):
            r = request(srv.port, "/secret.txt", headers={"X-Site": site})
            assert r.body != b"SECRET" and _json(r)["PATH_INFO"] == "/secret.txt", site  # the app
        for host in ("..", "a.test/../.."):
            r = request(srv.port, "/secret.txt", headers={"Host": host})
            assert r.status == 400 and b"invalid Host header" in r.body and b"SECRET" not in r.body, host


def test_check_static_docroot_needs_a_document_root(site):
    # over --http-socket no DOCUMENT_ROOT var exists (a header would be HTTP_DOCUMENT_ROOT)
    with run_server(APP + ["--check-static-docroot"]) as srv:
        r = request(srv.port, "/page.txt", headers={"Document-Root": str(site / "docroot")})
        assert _json(r)["DOCUMENT_ROOT"] is None


@pytest.mark.parametrize("router", [False, True])
def test_http_path_info_no_decode_slashes(router):
    for option, expected in ((["--http-path-info-no-decode-slashes", "1"], "/a%2Fb/c%2f d"), ([], "/a/b/c/ d")):
        if router:
            with run_router(["--http", "127.0.0.1:0"] + APP + option) as r:
                body = _json(request(r.port, "/a%2Fb/c%2f%20d?q=%2F"))
        else:
            with run_server(APP + option) as srv:
                body = _json(request(srv.port, "/a%2Fb/c%2f%20d?q=%2F"))
        assert body["PATH_INFO"] == expected, (router, option)


def _uwsgi_get(port: int, script_name: str, path: str) -> bytes:
    packet = uwsgi_wire.encode_request([("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", script_name),
                                        ("PATH_INFO", path), ("SERVER_PROTOCOL", "HTTP/1.1")])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(packet)
        return read_to_eof(s).split(b"\r\n\r\n", 1)[1]


def test_ignore_script_name_chooses_the_root_app():
    mounts = ["--socket", "127.0.0.1:0", "--mount", "/a=tests/apps/mounted_a.py",
              "--mount", "=tests/apps/mounted_b.py", "--tornado", "2", "--greenlet"]
    with run_server(mounts) as srv:
        assert _uwsgi_get(srv.uwsgi_port, "/a", "/x") == b"a /a /x"  # the web server's SCRIPT_NAME picks
    with run_server(mounts + ["--ignore-script-name"]) as srv:
        assert _uwsgi_get(srv.uwsgi_port, "/a", "/x") == b"b /a /x"  # the root app; SCRIPT_NAME kept
    managed = ["--mount", "/a=tests/apps/mounted_a.py", "--wsgi-file", "tests/apps/file_serving_probe.py",
               "--manage-script-name", "--ignore-script-name"]
    with run_server(managed) as srv:
        body = _json(request(srv.port, "/a/x"))  # rewritten as usual, but the default app answers
        assert (body["SCRIPT_NAME"], body["PATH_INFO"]) == ("/a", "/x")


def test_response_headers_limit():
    with run_server(APP + ["--response-headers-limit", "2000"]) as srv:
        assert request(srv.port, "/bighead?1000").body == b"big"
        r = request(srv.port, "/bighead?3000")
        assert r.status == 500 and r.header("X-Big") is None
        srv.expect_traceback("unable to add header to the response")
        srv.wait_for_line(r"more than --response-headers-limit 2000")
        caught = request(srv.port, "/bighead-caught?3000")  # raised in the app: it can answer otherwise
        assert caught.status == 200 and caught.body.startswith(b"caught: unable to add header")
    with run_server(APP) as srv:  # uWSGI's default: 64 KiB
        assert request(srv.port, "/bighead?60000").body == b"big"
        assert request(srv.port, "/bighead-caught?70000").body.startswith(b"caught:")
    done = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--response-headers-limit", "0"])
    assert done.returncode != 0 and "--response-headers-limit" in done.stderr


def _progress(path) -> dict:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}


def test_upload_progress_file_follows_a_buffered_upload(tmp_path):
    args = APP + ["--post-buffering", "4096", "--upload-progress", str(tmp_path)]
    body = os.urandom(300000)
    with run_server(args) as srv:
        target = "/upload?X-Progress-ID=%s&dir=%s" % (UUID, tmp_path)
        head = ("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                % (target, len(body))).encode()
        progress = tmp_path / (UUID + ".js")
        with Conn(srv.port, timeout=10) as c:
            c.send(head + body[:100000])
            deadline = time.time() + 10
            while _progress(progress).get("received", 0) < 65536 and time.time() < deadline:
                time.sleep(0.02)
            seen = _progress(progress)
            assert seen["state"] == "uploading" and seen["size"] == 300000 and 65536 <= seen["received"] < 300000
            c.send(body[100000:])
            answer = json.loads(c.read_response("POST").body)
        assert answer == {"size": 300000, "left": []}  # the app had it all; the file was gone already
        # a small body (kept in memory) or no X-Progress-ID: no file at all, the upload still works
        assert _json(request(srv.port, "/upload?X-Progress-ID=%s&dir=%s" % (UUID, tmp_path), method="POST",
                             body=b"tiny"))["size"] == 4
        assert _json(request(srv.port, "/upload?dir=%s" % tmp_path, method="POST", body=body))["size"] == 300000
        assert os.listdir(tmp_path) == []


def test_upload_progress_needs_post_buffering_and_a_directory(tmp_path):
    done = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--upload-progress", str(tmp_path)])
    assert done.returncode != 0 and "--post-buffering" in done.stderr, done.stderr
    done = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--post-buffering", "1", "--upload-progress",
                          str(tmp_path / "missing")])
    assert done.returncode != 0 and "--upload-progress" in done.stderr and "no such directory" in done.stderr


@pytest.mark.parametrize("extra", [[], ["--offload-threads", "1"]])
def test_disable_sendfile_is_accepted_and_files_still_go_out(site, extra):
    args = APP + extra + ["--disable-sendfile", "--static-map", "/static=%s" % (site / "static")]
    with run_server(args) as srv:
        r = request(srv.port, "/static/big.bin", timeout=10)
        assert r.status == 200 and r.body == (site / "static" / "big.bin").read_bytes()


def test_upload_progress_on_the_uwsgi_protocol(tmp_path):
    # the same shared request path behind a web server (nginx's uwsgi_pass sends such packets)
    args = APP + ["--socket", "127.0.0.1:0", "--post-buffering", "4096", "--upload-progress", str(tmp_path)]
    body = os.urandom(200000)
    with run_server(args) as srv:
        packet = uwsgi_wire.encode_request([
            ("REQUEST_METHOD", "POST"), ("PATH_INFO", "/upload"), ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("REQUEST_URI", "/upload?X-Progress-ID=%s&dir=%s" % (UUID, tmp_path)),
            ("QUERY_STRING", "X-Progress-ID=%s&dir=%s" % (UUID, tmp_path)), ("CONTENT_LENGTH", str(len(body)))])
        progress = tmp_path / (UUID + ".js")
        with socket.create_connection(("127.0.0.1", srv.uwsgi_port), timeout=10) as s:
            s.sendall(packet + body[:80000])
            deadline = time.time() + 10
            while _progress(progress).get("received", 0) < 65536 and time.time() < deadline:
                time.sleep(0.02)
            assert _progress(progress)["size"] == 200000
            s.sendall(body[80000:])
            answer = read_to_eof(s).split(b"\r\n\r\n", 1)[1]
        assert json.loads(answer) == {"size": 200000, "left": []}


def test_static_file_with_a_utf8_name(site):
    # PATH_INFO holds the bytes as latin-1: looked up as that text, caf\u00e9.txt was never found
    (site / "static" / "caf\u00e9.txt").write_bytes(b"coffee")
    with run_server(APP + ["--static-map", "/s=%s" % (site / "static")]) as srv:
        r = request(srv.port, "/s/caf%C3%A9.txt")
        assert (r.status, r.body) == (200, b"coffee"), r
