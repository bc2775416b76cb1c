"""``--static-map``, ``--check-static``, ``--static-index``: files answered before the app."""

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
