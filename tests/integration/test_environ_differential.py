"""The WSGI environ and response, gateway against real uWSGI 2.0.31 on the same raw requests.

One real uWSGI and one gateway per module, both running ``tests/apps/environ_echo.py`` with the
same options and two sockets each: ``--http-socket`` (asked directly) and ``--socket`` (behind
one nginx with the stock ``uwsgi_params``, which picks the peer by an ``X-Peer`` header so that
both see the same ``SERVER_NAME``/``SERVER_PORT``).  Each request goes to both and the environs
must agree on every key but those the README lists as deliberate differences ("Compared with
real uWSGI 2.0.31", under "HTTP"); the corpus is a small part of the field run that found them.
"""

from __future__ import annotations

import json
from typing import Dict, Iterator, Tuple

import pytest

from support.httpclient import Conn, Response
from support.nginx import Nginx
from tests.peers import RealUWSGI
from tests.server import run_server
from tests.support.router import free_port, wait_listening

APP = "tests/apps/environ_echo.py"
OPTIONS = ["--wsgi-file", APP, "--mount", "/app=" + APP, "--manage-script-name"]

#: Keys that differ by design (the socket's own values, gateway's extras).
NOT_COMPARED_HTTP = {"SERVER_NAME", "SERVER_PORT", "REMOTE_PORT"}
NOT_COMPARED_NGINX = {"HTTP_X_PEER"}

NGINX = """
    map $http_x_peer $peer { default %(uwsgi)s; gw %(gw)s; }
    server {
        listen {listen};
        server_name localhost;
        location / { include uwsgi_params; uwsgi_pass $peer; }
    }
"""


class Peer:
    def __init__(self, http_port: int, uwsgi_address: str) -> None:
        self.http_port = http_port
        self.uwsgi_address = uwsgi_address


@pytest.fixture(scope="module")
def peers() -> Iterator[Tuple[Peer, Peer, Nginx]]:
    """(real uWSGI, gateway, the nginx in front of both --socket listeners)."""
    http_port, uwsgi_port = free_port(), free_port()
    real = RealUWSGI(["--http-socket", "127.0.0.1:%d" % http_port, "--socket", "127.0.0.1:%d" % uwsgi_port] + OPTIONS)
    try:
        wait_listening(http_port, proc=real.proc)
        wait_listening(uwsgi_port, proc=real.proc)
        with run_server(["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0"] + OPTIONS) as gw:
            ours = Peer(gw.port, gw.uwsgi_addresses[0])
            with Nginx(NGINX % {"uwsgi": "127.0.0.1:%d" % uwsgi_port, "gw": ours.uwsgi_address}) as ngx:
                yield Peer(http_port, "127.0.0.1:%d" % uwsgi_port), ours, ngx
    finally:
        real.stop()


def exchange(port: int, raw: bytes) -> Response:
    method = raw.split(b" ", 1)[0].decode()
    with Conn(port, timeout=10) as c:
        c.send(raw)
        return c.read_response(method)


def echo(port: int, raw: bytes) -> Dict:
    r = exchange(port, raw)
    assert r.status == 200, (raw, r, r.body[:300])
    return json.loads(r.body)


def assert_agree(theirs: Dict, ours: Dict, skip: set) -> None:
    """The two echoes agree on every environ string but ``skip``, and on the wsgi.* entries."""
    # uWSGI leaves SCRIPT_NAME out when nothing set it (nginx sent none; OPTIONS * with
    # --manage-script-name); gateway's is "" then (README)
    theirs["env"].setdefault("SCRIPT_NAME", "")
    env_a = {k: v for k, v in theirs["env"].items() if k not in skip}
    env_b = {k: v for k, v in ours["env"].items() if k not in skip}
    assert env_a == env_b
    for key in ("body", "version", "flags", "errors_has_write", "file_wrapper"):
        assert theirs[key] == ours[key], key
    for key in ("wsgi.version", "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once", "uwsgi.version", "uwsgi.node"):
        assert theirs["types"][key] == ours["types"][key], key


def req(head: str, body: bytes = b"") -> bytes:
    return head.encode("latin-1").replace(b"\n", b"\r\n") + b"\r\n" + body


HTTP_CORPUS = {
    "http/1.0, no Host, + and empty pairs in the query": req("GET /p?a=b+c&&d= HTTP/1.0\n"),
    "empty query": req("GET /p? HTTP/1.1\nHost: h.example:8080\nConnection: close\n"),
    "escapes, %2F, UTF-8 and invalid UTF-8": req(
        "GET /a%20b/c%2Fd/%E2%82%AC/%C3/caf\xc3\xa9/\xff?q=%2F&r=\xc3\xa9 HTTP/1.1\nHost: h\nConnection: close\n"),
    "dot segments": req("GET //a/../b/./c/.. HTTP/1.1\nHost: h\nConnection: close\n"),
    "repeated and odd headers": req(
        "GET /p HTTP/1.1\nHost: h\nX-A: 1\nx-a: 2\nAccept: a\nAccept: b\nX-Dash-Ed: v\nX-Empty:\nConnection: close\n"),
    "POST with a length and a type": req(
        "POST /p HTTP/1.1\nHost: h\nContent-Type: text/plain; charset=utf-8\nContent-Length: 5\nConnection: close\n",
        b"hello"),
    "a mount (--manage-script-name)": req("GET /app/x/y?q=1 HTTP/1.1\nHost: h\nConnection: close\n"),
    "the mountpoint itself": req("GET /app HTTP/1.1\nHost: h\nConnection: close\n"),
    "OPTIONS *": req("OPTIONS * HTTP/1.1\nHost: h\nConnection: close\n"),
    "X-Forwarded-Proto": req("GET /p HTTP/1.1\nHost: h\nX-Forwarded-Proto: https\nConnection: close\n"),
}


@pytest.mark.parametrize("name", list(HTTP_CORPUS))
def test_http_socket_environ_agrees(peers, name):
    real, ours, _ = peers
    raw = HTTP_CORPUS[name]
    assert_agree(echo(real.http_port, raw), echo(ours.http_port, raw), NOT_COMPARED_HTTP)


NGINX_CORPUS = {
    "escapes and a query": req("GET /a%20b/%E2%82%AC/x?q=a+b&r= HTTP/1.1\nHost: h\nX-A: 1\nX-A: 2\nConnection: close\n"),
    "POST with a length and a type": req(
        "POST /p HTTP/1.1\nHost: h\nContent-Type: application/x-www-form-urlencoded\nContent-Length: 3\n"
        "Connection: close\n", b"a=1"),
    "a mount (--manage-script-name)": req("GET /app/x?q HTTP/1.0\nHost: h\n"),
}


@pytest.mark.parametrize("name", list(NGINX_CORPUS))
def test_socket_behind_nginx_environ_agrees(peers, name):
    _, _, ngx = peers
    raw = NGINX_CORPUS[name]
    theirs = echo(ngx.port, raw.replace(b"\r\n", b"\r\nX-Peer: uwsgi\r\n", 1))
    ours = echo(ngx.port, raw.replace(b"\r\n", b"\r\nX-Peer: gw\r\n", 1))
    assert_agree(theirs, ours, NOT_COMPARED_NGINX | {"REMOTE_PORT"})


@pytest.mark.parametrize("ops", [
    "readline,readline,readline,readline", "read:-1,read", "readlines", "iter", "read:5,iter", "read:2,readlines",
    "read:3,readline,read:100,read",
])
def test_wsgi_input_calls_agree(peers, ops):
    real, ours, _ = peers
    body = b"line1\nline2\nline3"
    raw = req("POST /input?%s HTTP/1.1\nHost: h\nContent-Length: %d\nConnection: close\n" % (ops, len(body)), body)
    assert json.loads(exchange(real.http_port, raw).body) == json.loads(exchange(ours.http_port, raw).body)


#: headers each server adds its own way (framing, date)
FRAMING = {"date", "content-length", "transfer-encoding", "connection"}


@pytest.mark.parametrize("path, version", [
    ("/noreason", "HTTP/1.1"),  # status "200": both send "200 OK"
    ("/duphdr", "HTTP/1.1"),    # two X-Dup headers, in order
    ("/empty-cl", "HTTP/1.1"),  # an empty body with Content-Length: 0
    ("/write", "HTTP/1.0"),     # write() then the iterable
    ("/custom?s=200%20OK&h=Connection:keep-alive&h=X-A:1&b=x", "HTTP/1.1"),  # a hop-by-hop hint: no 500
    ("/filewrap?bytesio", "HTTP/1.1"),  # wsgi.file_wrapper over a file-like object, 4-byte blocks
    ("/filewrap", "HTTP/1.0"),          # ... over a real file
])
def test_responses_agree(peers, path, version):
    real, ours, _ = peers
    raw = req("GET %s %s\nHost: h\nConnection: close\n" % (path, version))
    a, b = exchange(real.http_port, raw), exchange(ours.http_port, raw)
    assert (a.version, a.status, a.reason, a.body) == (b.version, b.status, b.reason, b.body)
    assert [h for h in a.headers if h[0].lower() not in FRAMING] == [h for h in b.headers if h[0].lower() not in FRAMING]
    if path == "/empty-cl":
        assert a.header("Content-Length") == b.header("Content-Length") == "0"
