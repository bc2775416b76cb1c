"""``--http-to-https``: the router's redirecting listener, through the real CLI."""

from __future__ import annotations

import re

import pytest

from server import run_cli
from support.httpclient import Conn
from support.router import run_router

pytestmark = pytest.mark.timeout(60)


def _redirect_port(r) -> int:
    m = re.search(r"http-to-https=127\.0\.0\.1:(\d+)", r.output())
    assert m, r.output()
    return int(m.group(1))


def test_every_request_is_sent_to_https_and_the_router_still_serves_http():
    args = ["--http", "127.0.0.1:0", "--http-to-https", "127.0.0.1:0,8443", "--wsgi-file", "tests/apps/hello.py"]
    with run_router(args) as r:
        port = _redirect_port(r)
        with Conn(port, timeout=10) as c:
            c.send(b"GET /some/path?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
            resp = c.read_response()
        assert resp.status == 301
        assert resp.header("Location") == "https://example.com:8443/some/path?q=1"
        with Conn(port, timeout=10) as c:  # no Host: nothing to redirect to
            c.send(b"GET / HTTP/1.0\r\n\r\n")
            assert c.read_response().status == 400
        with Conn(port, timeout=10) as c:  # a malformed request costs its sender only
            c.send(b"BROKEN\r\n\r\n")
            assert c.read_response().status == 400
        with Conn(r.port, timeout=10) as c:  # the --http listener is unaffected
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert c.read_response().status == 200


def test_http_to_https_needs_the_router():
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py",
                      "--http-to-https", "127.0.0.1:0"])
    assert result.returncode == 1 and "--http-to-https needs the HTTP router" in result.stderr
