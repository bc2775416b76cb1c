"""``--static-map``, ``--check-static``, ``--static-index`` and the rest of uWSGI's static options:
files answered before the app."""

from __future__ import annotations

import os

import pytest

from server import run_server, spawn
from support.httpclient import request

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/status_probe.py", "--tornado", "4", "--greenlet"]


@pytest.fixture
def site(tmp_path):
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "a.css").write_bytes(b"body{}")
    (static / "docs").mkdir()
    (static / "docs" / "index.html").write_bytes(b"<h1>docs</h1>")
    (static / "big.bin").write_bytes(os.urandom(300000))
    public = tmp_path / "public"
    public.mkdir()
    (public / "robots.txt").write_bytes(b"User-agent: *\n")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    os.symlink(tmp_path / "secret.txt", static / "link-out.txt")
    return tmp_path


@pytest.mark.parametrize("extra", [[], ["--threads", "2"], ["--offload-threads", "1"]])
def test_mapped_files_are_served_and_the_rest_goes_to_the_app(site, extra):
    args = APP + extra + ["--static-map", "/static=%s" % (site / "static"), "--check-static", str(site / "public"),
                          "--static-index", "index.html"]
    with run_server(args) as srv:
        css = request(srv.port, "/static/css/a.css")
        assert (css.status, css.body, css.header("Content-Type")) == (200, b"body{}", "text/css")
        assert css.header("Content-Length") == "6" and css.header("Last-Modified")
        big = request(srv.port, "/static/big.bin", timeout=10)
        assert big.body == (site / "static" / "big.bin").read_bytes()
        assert request(srv.port, "/static/docs/").body == b"<h1>docs</h1>"  # --static-index
        assert request(srv.port, "/robots.txt").body == b"User-agent: *\n"  # --check-static
        head = request(srv.port, "/static/css/a.css", method="HEAD")
        assert head.status == 200 and head.body == b"" and head.header("Content-Length") == "6"
        cached = request(srv.port, "/static/css/a.css", headers={"If-Modified-Since": css.header("Last-Modified")})
        assert cached.status == 304 and cached.body == b""
        # not there, out of the directory, or not GET/HEAD: the app answers
        for path in ("/static/missing.css", "/static/../secret.txt", "/static/link-out.txt", "/static/%2e%2e/secret.txt"):
            r = request(srv.port, path)
            assert (r.status, r.body) == (200, b"ok"), path
        post = request(srv.port, "/static/css/a.css", method="POST", body=b"x")
        assert post.body == b"ok"


def test_a_malformed_static_map_is_refused():
    proc = spawn(APP + ["--http-socket", "127.0.0.1:0", "--static-map", "static-without-slash"])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0 and "--static-map" in err, err


def test_skip_ext_and_expires(site):
    (site / "static" / "code.py").write_bytes(b"print('source')")
    args = APP + ["--static-map", "/static=%s" % (site / "static"), "--static-skip-ext", ".py",
                  "--static-expires", r"[.]css$ 3600"]
    with run_server(args) as srv:
        css = request(srv.port, "/static/css/a.css")
        assert css.header("Cache-Control") == "max-age=3600" and css.header("Expires")
        big = request(srv.port, "/static/big.bin", timeout=10)
        assert big.header("Expires") is None and big.header("Cache-Control") is None  # no match
        assert request(srv.port, "/static/code.py").body == b"ok"  # skipped: the app answers


def test_a_malformed_static_expires_is_refused():
    proc = spawn(APP + ["--http-socket", "127.0.0.1:0", "--static-expires", "(unclosed 60"])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0 and "--static-expires" in err and "regular expression" in err, err


def test_expires_families_precompressed_variants_mimefile_map2_and_safe(site, tmp_path):
    static = site / "static"
    (static / "css" / "a.css.gz").write_bytes(b"GZIPPED")
    (static / "data.gwx").write_bytes(b"gwx")
    (static / "assets").mkdir()
    (static / "assets" / "whole.txt").write_bytes(b"whole path")
    safe = tmp_path / "shared"
    safe.mkdir()
    (safe / "logo.txt").write_bytes(b"logo")
    os.symlink(safe / "logo.txt", static / "logo.txt")
    mime = tmp_path / "mime.types"
    mime.write_text("application/x-gateway gwx\n")
    args = APP + ["--static-map", "/static=%s" % static, "--static-map2", "/assets=%s" % static,
                  "--static-safe", str(safe), "--mimefile", str(mime),
                  "--static-gzip-ext", ".css", "--static-expires-uri", r"v=2 600",
                  "--static-expires-type-mtime", "application/x-gateway 86400"]
    with run_server(args) as srv:
        gz = request(srv.port, "/static/css/a.css", headers={"Accept-Encoding": "gzip"})
        assert (gz.body, gz.header("Content-Encoding"), gz.header("Content-Type")) == (b"GZIPPED", "gzip", "text/css")
        assert gz.header("Vary") == "Accept-Encoding" and gz.header("Content-Length") == "7"
        plain = request(srv.port, "/static/css/a.css")
        assert (plain.body, plain.header("Content-Encoding"), plain.header("Vary")) == (b"body{}", None, "Accept-Encoding")
        versioned = request(srv.port, "/static/css/a.css?v=2")
        assert versioned.header("Cache-Control") == "max-age=600"
        gwx = request(srv.port, "/static/data.gwx")
        assert gwx.header("Content-Type") == "application/x-gateway"
        # -mtime: the file was just written, so it expires a day after now, give or take
        assert 86000 < int(gwx.header("Cache-Control").split("=")[1]) <= 86400
        assert request(srv.port, "/assets/whole.txt").body == b"whole path"  # --static-map2: DIR/assets/whole.txt
        assert request(srv.port, "/assets/css/a.css").body == b"ok"  # not DIR/css/a.css: the app
        assert request(srv.port, "/static/logo.txt").body == b"logo"  # a symlink into --static-safe
        assert request(srv.port, "/static/link-out.txt").body == b"ok"  # elsewhere: still the app


def test_an_unreadable_mimefile_is_a_startup_error(tmp_path):
    proc = spawn(APP + ["--http-socket", "127.0.0.1:0", "--mimefile", str(tmp_path / "none.types")])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "--mimefile" in err and "No such file" in err, err


def test_a_precompressed_symlink_out_of_the_directory_is_not_served(site):
    static = site / "static"
    os.symlink(site / "secret.txt", static / "css" / "a.css.gz")  # the plain link-out.txt is refused too
    args = APP + ["--static-map", "/static=%s" % static, "--static-gzip-all"]
    with run_server(args) as srv:
        assert request(srv.port, "/static/link-out.txt").body == b"ok"  # the app, not the file
        r = request(srv.port, "/static/css/a.css", headers={"Accept-Encoding": "gzip"})
        assert (r.status, r.body, r.header("Content-Encoding")) == (200, b"body{}", None)
