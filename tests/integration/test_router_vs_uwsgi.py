"""The HTTP router (``--http``, ``--https``) against real uWSGI 2.0.31's router on the same raw requests.

One real uWSGI and one gateway per module, both started as a user starts uWSGI's router
(``--http ADDR --https ADDR,cert,key --http-keepalive --master --processes 1``, with
``--http-var``, ``--http-manage-expect=1`` and ``--http-auto-gzip``), both serving
``tests/apps/environ_echo.py`` with ``tests/apps/router_app.py`` mounted on ``/r``.  Each request
goes to both routers: the environs the app sees must agree (every key but ``SERVER_PORT``,
each router's own, and ``REMOTE_PORT``, see below), and so must the responses once the framing
headers are dropped.  Where uWSGI's router is broken or ours is deliberately safer the test pins
both sides (the README's "Differences from uWSGI's router"): ``REMOTE_PORT`` in network byte
order, a ``HEAD`` answered with the app's body, pipelined requests dropped, an app error, a
malformed or oversized request or an unknown HTTP version met with a bare close.  A second
pair (``crossed``) puts each router in front of the other's ``--socket`` worker: an app's own
chunked body through ours, the app's ``Connection: close`` from gateway's worker through uWSGI's
router, and ``--http-auto-chunked``'s framing against ours.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import subprocess
import time
from typing import Dict, Iterator, List, Tuple

import pytest

from peers import require, require_uwsgi, stop_uwsgi
from server import ROOT, run_server
from support.httpclient import Conn, Response
from support.router import free_port, make_self_signed, run_router, wait_listening
from tests.integration.test_environ_differential import HTTP_CORPUS, assert_agree, echo, exchange, req

pytestmark = pytest.mark.timeout(90)

#: uWSGI's switches as its users write them: ``--http-manage-expect=1`` (on, no size limit) and
#: ``--http-keepalive`` last and alone (both store 1)
OPTIONS = ["--wsgi-file", "tests/apps/environ_echo.py", "--mount", "/r=tests/apps/router_app.py",
           "--manage-script-name", "--master", "--processes", "1", "--http-var", "X_ROUTER_VAR=on",
           "--http-manage-expect=1", "--http-auto-gzip", "--http-keepalive"]
#: each router's own listening port; REMOTE_PORT: test_remote_port_is_the_clients
NOT_COMPARED = {"SERVER_PORT", "REMOTE_PORT"}
#: headers each router adds its own way (framing, date)
FRAMING = {"date", "content-length", "transfer-encoding", "connection"}


class Router:
    def __init__(self, name: str, port: int, https_port: int) -> None:
        self.name = name
        self.port = port
        self.https_port = https_port


@pytest.fixture(scope="module")
def routers(tmp_path_factory) -> Iterator[Tuple[Router, Router]]:
    """(real uWSGI's router, gateway's), each in front of its own single worker."""
    cert, key = make_self_signed(str(tmp_path_factory.mktemp("router-tls")), require("openssl"))
    http, https = free_port(), free_port()
    real = start_uwsgi(["--http", "127.0.0.1:%d" % http, "--https", "127.0.0.1:%d,%s,%s" % (https, cert, key)]
                       + OPTIONS)
    try:
        wait_listening(http, proc=real)
        wait_listening(https, proc=real)
        args = ["--disable-logging", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0,%s,%s" % (cert, key)]
        with run_router(args + OPTIONS) as ours:
            yield Router("uwsgi", http, https), Router("gateway", ours.port, ours.https_port)
    finally:
        stop_uwsgi(real)


def start_uwsgi(args: List[str]) -> subprocess.Popen:
    """A real uWSGI (``--disable-logging`` + ``args``), to be stopped with ``stop_uwsgi``."""
    return subprocess.Popen([require_uwsgi(), "--disable-logging"] + args, cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def both(routers: Tuple[Router, Router], raw: bytes, method: str = "GET") -> List[Response]:
    return [exchange(r.port, raw) if method == "GET" else head_exchange(r.port, raw) for r in routers]


def head_exchange(port: int, raw: bytes) -> Response:
    with Conn(port, timeout=10) as c:
        c.send(raw)
        return c.read_response("HEAD")


def to_eof(port: int, raw: bytes, wait: float = 5.0) -> bytes:
    """Everything the router sends until it closes (at most ``wait`` s)."""
    with Conn(port, timeout=wait) as c:
        c.send(raw)
        return c.read_to_eof()


def tls_echo(port: int, raw: bytes) -> Dict:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as s:
        s.sendall(raw)
        data = b"".join(iter(lambda: s.recv(65536), b""))
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), data[:300]
    return json.loads(body)


def same_response(a: Response, b: Response) -> None:
    assert (a.version, a.status, a.reason, a.body) == (b.version, b.status, b.reason, b.body)
    assert [h for h in a.headers if h[0].lower() not in FRAMING] == [h for h in b.headers if h[0].lower() not in FRAMING]


ROUTER_CORPUS = {
    "header names in any case": req(
        "GET /p HTTP/1.1\nhOsT: h\nx-CUSTOM-header: v\ncontent-type: text/x\ncontent-length: 0\nConnection: close\n"),
    "X-Forwarded-For and -Proto pass through": req(
        "GET /p HTTP/1.1\nHost: h\nX-Forwarded-For: 1.2.3.4, 5.6.7.8\nX-Forwarded-Proto: https\nConnection: close\n"),
    "a body on a GET": req("GET /p HTTP/1.1\nHost: h\nContent-Length: 3\nConnection: close\n", b"abc"),
    "Host with a port and upper case": req("GET /p HTTP/1.1\nHost: Example.COM:8080\nConnection: close\n"),
    "Connection: Close in any case": req("GET /p?x=%41 HTTP/1.1\nHost: h\nConnection: Close\n"),
}


@pytest.mark.parametrize("name", list(HTTP_CORPUS) + list(ROUTER_CORPUS))
def test_environ_agrees(routers, name):
    raw = HTTP_CORPUS.get(name) or ROUTER_CORPUS[name]
    theirs, ours = (echo(r.port, raw) for r in routers)
    assert theirs["env"]["UWSGI_ROUTER"] == "http" and theirs["env"]["X_ROUTER_VAR"] == "on"
    assert_agree(theirs, ours, NOT_COMPARED)


def test_https_environ_agrees(routers):
    raw = req("POST /p?q=1 HTTP/1.1\nHost: h\nContent-Length: 2\nConnection: close\n", b"ok")
    theirs, ours = (tls_echo(r.https_port, raw) for r in routers)
    assert theirs["env"]["HTTPS"] == "on" and theirs["env"]["wsgi.url_scheme"] == "https"
    assert_agree(theirs, ours, NOT_COMPARED)


def test_remote_port_is_the_clients(routers):
    """uWSGI's router writes the client's port without ntohs() (corerouter.c: ``sin_port`` as is):
    on a little-endian host port 0x1234 reaches the app as 0x3412.  Ours sends the port."""
    seen = []
    for r in routers:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.connect(("127.0.0.1", r.port))
            s.sendall(b"GET /p HTTP/1.0\r\n\r\n")
            body = b"".join(iter(lambda: s.recv(65536), b"")).partition(b"\r\n\r\n")[2]
        seen.append((port, int(json.loads(body)["env"]["REMOTE_PORT"])))
    (their_client, theirs), (our_client, ours) = seen
    assert ours == our_client
    assert theirs == int.from_bytes(their_client.to_bytes(2, "big"), "little")


@pytest.mark.parametrize("path, version", [
    ("/r/", "HTTP/1.1"),             # a Content-Length from the app
    ("/r/length", "HTTP/1.0"),
    ("/noreason", "HTTP/1.1"),       # status "200": both complete the reason
    ("/duphdr", "HTTP/1.1"),         # two X-Dup headers, in order
    ("/empty-cl", "HTTP/1.1"),
    ("/write", "HTTP/1.0"),          # no Content-Length: close-delimited on both for HTTP/1.0
    ("/r/status?204+No+Content", "HTTP/1.1"),
    ("/r/status?304+Not+Modified", "HTTP/1.1"),
    ("/r/status?404+Not+Found", "HTTP/1.1"),
    ("/custom?s=201%20Made&h=X-A:1&h=Set-Cookie:a=1&h=Set-Cookie:b=2&b=x&b=y", "HTTP/1.1"),
])
def test_responses_agree(routers, path, version):
    raw = req("GET %s %s\nHost: h\nConnection: close\n" % (path, version))
    same_response(*both(routers, raw))


def test_keep_alive_agrees(routers):
    """``--http-keepalive`` alone turns keep-alive on in both (not a one-second idle timeout
    here): responses with a length keep the connection, through an idle pause, and a POST's
    body is consumed before the next request."""
    conns = [Conn(r.port, timeout=10) for r in routers]
    try:
        requests = [req("GET /r/ HTTP/1.1\nHost: h\n"),
                    req("POST /r/echo HTTP/1.1\nHost: h\nContent-Length: 5\n", b"hello"),
                    req("GET /r/length HTTP/1.1\nHost: h\n")]
        for i, raw in enumerate(requests):
            if i == 2:
                time.sleep(1.5)  # idle longer than a 1 s keep-alive timeout would allow
            theirs, ours = [c.send(raw) or c.read_response() for c in conns]
            same_response(theirs, ours)
            assert ours.header("Connection") is None
        assert not any(c.at_eof(0.2) for c in conns)
    finally:
        for c in conns:
            c.close()


def test_auto_gzip_agrees(routers):
    """``--http-auto-gzip``: an answer marked ``uWSGI-Encoding: gzip`` goes gzipped and chunked
    to an HTTP/1.1 client that accepts gzip (uWSGI also passes the marker on; ours drops it)."""
    raw = req("GET /custom?h=uWSGI-Encoding:gzip&h=Content-Type:text/plain&b=hello&b=world HTTP/1.1\nHost: h\n"
              "Accept-Encoding: gzip\nConnection: close\n")
    theirs, ours = both(routers, raw)
    for r in (theirs, ours):
        assert r.header("Content-Encoding") == "gzip" and r.header("Transfer-Encoding") == "chunked"
        assert gzip.decompress(r.body) == b"helloworld"
    assert theirs.header("uWSGI-Encoding") == "gzip" and ours.header("uWSGI-Encoding") is None
    plain = req("GET /custom?h=uWSGI-Encoding:gzip&b=hello HTTP/1.1\nHost: h\nConnection: close\n")
    same_response(*both(routers, plain))  # no Accept-Encoding: as the app sent it


def test_auto_gzip_to_http10_is_close_delimited_here_uwsgi_chunks_it(routers):
    raw = req("GET /custom?h=uWSGI-Encoding:gzip&b=hello HTTP/1.0\nAccept-Encoding: gzip\n")
    theirs, ours = (to_eof(r.port, raw) for r in routers)
    assert theirs.startswith(b"HTTP/1.0 200 OK\r\n") and b"\r\nTransfer-Encoding: chunked\r\n" in theirs
    head, _, body = ours.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head and gzip.decompress(body) == b"hello"


@pytest.mark.parametrize("query", ["h=Connection:close&h=Content-Length:2&b=ok",  # the app's length
                                   "h=Connection:close&b=o&b=k"])                  # none: framed by each
def test_apps_connection_close_closes_the_clients_connection(routers, query):
    """The app's ``Connection: close`` ends the client's keep-alive connection after the answer,
    and the answer says so (uWSGI's router passes the app's line on where the app put it;
    ours writes its own, after the app's headers).  Ours kept the connection alive."""
    raw = req("GET /custom?%s HTTP/1.1\nHost: h\n" % query)
    answers = []
    for r in routers:
        with Conn(r.port) as c:
            c.send(raw)
            answer = c.read_response()
            assert answer.header("Connection") == "close" and answer.body == b"ok", r.name
            assert c.at_eof(), r.name
            answers.append(answer)
    same_response(*answers)


@pytest.fixture(scope="module")
def crossed() -> Iterator[Tuple[Router, Router]]:
    """(uWSGI's router in front of a gateway ``--socket`` worker, gateway's router in front of a
    uWSGI ``--socket`` worker): what each router makes of the other's worker.  uWSGI's has
    ``--http-keepalive --http-auto-chunked``; ours its defaults (it keeps no connection to a
    worker that is not gateway's)."""
    app = ["--master", "--processes", "1", "--wsgi-file", "tests/apps/environ_echo.py"]
    their_port, their_worker = free_port(), free_port()
    worker = start_uwsgi(["--socket", "127.0.0.1:%d" % their_worker] + app)
    try:
        wait_listening(their_worker, proc=worker)
        with run_server(["--socket", "127.0.0.1:0"] + app) as our_worker:
            router = start_uwsgi(["--master", "--http", "127.0.0.1:%d" % their_port,
                                  "--http-to", our_worker.uwsgi_addresses[0], "--http-keepalive", "--http-auto-chunked"])
            try:
                wait_listening(their_port, proc=router)
                with run_router(["--disable-logging", "--http", "127.0.0.1:0",
                                 "--http-to", "127.0.0.1:%d" % their_worker]) as ours:
                    yield Router("uwsgi", their_port, 0), Router("gateway", ours.port, 0)
            finally:
                stop_uwsgi(router)
    finally:
        stop_uwsgi(worker)


def test_app_chunked_body_keeps_the_connection(routers, crossed):
    """An app that sets ``Transfer-Encoding: chunked`` and frames its body itself (as it must
    under uWSGI), behind a uWSGI worker: both routers relay the chunks and keep the client's
    connection (ours closed it after relaying the body as it came)."""
    raw = req("GET /custom?h=Transfer-Encoding:chunked&b=2%0D%0Aok%0D%0A&b=3%0D%0Aabc%0D%0A&b=0%0D%0A%0D%0A "
              "HTTP/1.1\nHost: h\n")
    for r in (routers[0], crossed[1]):  # each router in front of a uWSGI worker
        with Conn(r.port) as c:
            for _ in range(2):
                c.send(raw)
                answer = c.read_response()
                assert answer.header("Transfer-Encoding") == "chunked" and answer.body == b"okabc", r.name
                assert answer.header("Connection") is None, r.name
            assert not c.at_eof(0.2), r.name


def test_gateway_workers_pass_the_apps_connection_close_on(crossed):
    """A gateway ``--socket`` worker passes the app's ``Connection: close`` on, as uWSGI's
    worker does, so uWSGI's router in front closes its client's connection (it dropped the
    line: uWSGI's router kept the connection)."""
    raw = req("GET /custom?h=Connection:close&h=Content-Length:2&b=ok HTTP/1.1\nHost: h\n")
    with Conn(crossed[0].port) as c:
        c.send(raw)
        answer = c.read_response()
        assert answer.header("Connection") == "close" and answer.body == b"ok"
        assert c.at_eof()


def test_auto_chunked_framing_differs_only_in_the_hex_case(crossed):
    """A body without a length to an HTTP/1.1 keep-alive client: uWSGI's ``--http-auto-chunked``
    and our router (always) frame it alike, one chunk per read from the worker, no
    extensions, ``0\\r\\n\\r\\n`` at the end, but uWSGI writes the sizes in upper-case hex
    (``1A``), ours in lower case (``1a``): the same to any HTTP/1.1 client."""
    raw = req("GET /custom?h=Content-Type:text/plain&b=%s HTTP/1.1\nHost: h\n" % ("x" * 26))
    for r, size in zip(crossed, (b"1A", b"1a")):
        with Conn(r.port) as c:
            c.send(raw)
            head = c.read_until(b"\r\n\r\n")
            assert b"\r\nTransfer-Encoding: chunked\r\n" in head, r.name
            assert c.read_until(b"0\r\n\r\n") == size + b"\r\n" + b"x" * 26 + b"\r\n0\r\n\r\n", r.name
            assert not c.at_eof(0.2), r.name


def test_half_close_after_the_request_is_answered_then_closed(routers):
    """A client that shuts its sending side after the request gets the whole answer from both,
    then the close (uWSGI's says nothing; ours says ``Connection: close`` when the client's FIN
    came before the answer's head went out, else nothing: CI saw both)."""
    raw = req("GET /r/length HTTP/1.1\nHost: h\n")
    for r, says in zip(routers, ({None}, {None, "close"})):
        with Conn(r.port) as c:
            c.send(raw)
            c.sock.shutdown(socket.SHUT_WR)
            answer = c.read_response()
            assert answer.body == b"hello world" and answer.header("Connection") in says, r.name
            assert c.at_eof(), r.name


# -- where uWSGI's router is broken and ours deliberately differs (README) ----------------------


def test_head_has_no_body_here_uwsgi_relays_the_apps(routers):
    raw = req("HEAD /head-body HTTP/1.1\nHost: h\nConnection: close\n")
    theirs, ours = (to_eof(r.port, raw) for r in routers)
    assert theirs.endswith(b"\r\n\r\nbody")
    assert ours.endswith(b"\r\n\r\n") and b"Content-Length: 4\r\n" in ours


def test_head_refused_by_the_router_has_no_body(routers):
    """A HEAD whose vars block is over the worker's --buffer-size: our router's 431 keeps its
    Content-Length and sends no body (it did, so a keep-alive client read it as the next
    response); uWSGI's closes without a word."""
    raw = req("HEAD /%s HTTP/1.1\nHost: h\n" % ("a" * 2500))
    theirs, ours = (to_eof(r.port, raw) for r in routers)
    assert theirs == b""
    assert ours.startswith(b"HTTP/1.1 431 ") and ours.endswith(b"\r\n\r\n")


def test_pipelined_requests_are_all_answered_here_uwsgi_drops_the_rest(routers):
    raw = req("GET /r/ HTTP/1.1\nHost: h\n") + req("GET /r/length HTTP/1.1\nHost: h\nConnection: close\n")
    theirs, ours = (to_eof(r.port, raw) for r in routers)
    assert theirs.count(b"HTTP/1.1 200 OK") == 1 and theirs.endswith(b"hello")
    assert ours.count(b"HTTP/1.1 200 OK") == 2 and ours.endswith(b"hello world")


def test_body_without_length_is_chunked_here_uwsgi_closes(routers):
    """uWSGI's router closes after such a body unless --http-auto-chunked; ours chunks it for
    HTTP/1.1 and keeps the connection."""
    raw = req("GET /write HTTP/1.1\nHost: h\n")
    with Conn(routers[0].port) as c:
        c.send(raw)
        theirs = c.read_response()
        assert theirs.header("Connection") == "close" and c.at_eof()
    with Conn(routers[1].port) as c:
        c.send(raw)
        ours = c.read_response()
        assert ours.header("Transfer-Encoding") == "chunked" and not c.at_eof(0.2)
    assert theirs.body == ours.body == b"written,returned"


def test_http10_keep_alive_is_kept_here_uwsgi_closes(routers):
    raw = req("GET /r/ HTTP/1.0\nConnection: keep-alive\n")
    for r, kept in zip(routers, (False, True)):
        with Conn(r.port) as c:
            c.send(raw)
            assert c.read_response().body == b"hello"
            assert c.at_eof(0.3) is not kept, r.name


def test_app_error_is_a_500_here_uwsgi_sends_nothing(routers):
    """An app raising before start_response: uWSGI's worker closes without a byte and its
    router passes the close on (with keep-alive it waits for --http-timeout first)."""
    raw = req("GET /r/crash HTTP/1.1\nHost: h\nConnection: close\n")
    theirs, ours = (to_eof(r.port, raw) for r in routers)
    assert theirs == b""
    assert ours.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")


@pytest.mark.parametrize("raw, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (req("GET /r/ HTTP/1.1\nHost: h\nX-Big: %s\n" % ("a" * 5000)), 431),
    (req("GET /%s HTTP/1.1\nHost: h\n" % ("a" * 5000)), 414),
])
def test_refused_requests_get_a_status_here_uwsgi_closes(routers, raw, status):
    theirs, ours = (to_eof(r.port, raw) for r in routers)
    assert theirs == b""
    assert ours.startswith(b"HTTP/1.1 %d " % status) and b"Connection: close\r\n" in ours


def test_unknown_http_version_is_a_505_here_uwsgi_answers_in_it(routers):
    raw = req("GET /r/ HTTP/2.0\nHost: h\n")
    theirs, ours = (to_eof(r.port, raw) for r in routers)
    assert theirs.startswith(b"HTTP/2.0 200 OK\r\n")
    assert ours.startswith(b"HTTP/1.1 505 ")


def test_expect_continue_agrees_but_the_header_stays_in_the_router(routers):
    """``--http-manage-expect=1``: both routers answer ``100 Continue`` before the body (with
    no size limit: 1 is uWSGI's "on"); uWSGI's also passes ``HTTP_EXPECT`` on to the app, ours
    keeps it (the app must not answer it again)."""
    raw = req("POST /p HTTP/1.1\nHost: h\nContent-Length: 5\nExpect: 100-continue\nConnection: close\n")
    results = []
    for r in routers:
        with Conn(r.port, timeout=10) as c:
            c.send(raw)
            interim = c.read_until(b"\r\n\r\n")
            c.send(b"hello")
            results.append((interim, json.loads(c.read_response().body)))
    (their_interim, theirs), (our_interim, ours) = results
    assert their_interim == our_interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert theirs["env"].pop("HTTP_EXPECT") == "100-continue"
    assert ours["body"] == "hello"
    assert_agree(theirs, ours, NOT_COMPARED)


def test_https_scheme_stays_https_here_uwsgi_takes_the_clients_header(routers):
    """Over --https a client's ``X-Forwarded-Proto: http`` turns uWSGI's wsgi.url_scheme into
    http (the header wins over HTTPS=on); ours keeps the scheme of the connection."""
    raw = req("GET /p HTTP/1.1\nHost: h\nX-Forwarded-Proto: http\nConnection: close\n")
    theirs, ours = (tls_echo(r.https_port, raw) for r in routers)
    assert theirs["env"]["wsgi.url_scheme"] == "http"
    assert ours["env"]["wsgi.url_scheme"] == "https"
    theirs["env"]["wsgi.url_scheme"] = "https"
    assert_agree(theirs, ours, NOT_COMPARED)


def test_204_gets_no_chunked_framing_here_uwsgi_auto_chunks_it(crossed):
    """``--http-auto-chunked`` keeps a 204 alive by sending it ``Transfer-Encoding: chunked`` and
    a last chunk, a body a 204 must not have (the next response on the connection would start
    with ``0\\r\\n\\r\\n``); ours sends the bare head and keeps the connection."""
    raw = req("GET /custom?s=204+No+Content&h=X-A:1 HTTP/1.1\nHost: h\n")
    for r, tail in zip(crossed, (b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"\r\n\r\n")):
        with Conn(r.port) as c:
            c.send(raw)
            head = c.read_until(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n"), r.name
            got = head + (c.read_until(b"0\r\n\r\n") if r.name == "uwsgi" else b"")
            assert got.endswith(tail) and b"Transfer-Encoding" not in got[: -len(tail)], r.name
            assert not c.at_eof(0.2), r.name
