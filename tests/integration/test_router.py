"""The HTTP router (``--http``/``--https``) through the real CLI, in front of two kinds of worker.

* ``gateway``: the whole stack as users start it (``gateway --http ADDR --https ADDR,cert,key
  --wsgi-file app.py``): the master, one worker serving the internal uwsgi socket, the router;
* ``uwsgi``: our router alone (``--http-to``) in front of a real uWSGI 2.0.31 worker
  (``uwsgi --socket``), so the router's side of the wire is checked against a real peer.

Every test of the shared battery runs against both; one stack per kind per module.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from peers import require, require_uwsgi
from server import ROOT
from support.httpclient import Conn, read_to_eof
from support.router import free_port, make_self_signed, run_router, wait_listening

APP = os.path.join(ROOT, "tests", "apps", "router_app.py")


def start_uwsgi(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [require_uwsgi(), "--socket", "127.0.0.1:%d" % port, "--wsgi-file", APP, "--disable-logging",
         "--buffer-size", "8192"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    try:
        wait_listening(port, proc=proc)
    except AssertionError:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # uWSGI without a master exits on SIGINT
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def backend():
    port = free_port()
    proc = start_uwsgi(port)
    yield "127.0.0.1:%d" % port
    stop(proc)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_self_signed(str(tmp_path_factory.mktemp("tls")), require("openssl"))


@pytest.fixture(scope="module", params=["gateway", "uwsgi"])
def router(request, tls_files):
    cert, key = tls_files
    args = ["--http", "127.0.0.1:0", "--https", "127.0.0.1:0,%s,%s" % (cert, key), "--http-keepalive", "5"]
    if request.param == "uwsgi":
        args += ["--http-to", request.getfixturevalue("backend")]
    else:
        args += ["--wsgi-file", APP, "--tornado", "10", "--greenlet", "--buffer-size", "8192"]
    with run_router(args) as r:
        r.kind = request.param
        yield r


def get_json(conn: Conn, path: str, extra: bytes = b"") -> dict:
    conn.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n")
    r = conn.read_response()
    assert r.status == 200, r
    return json.loads(r.body)


def test_keep_alive_several_requests_on_one_connection(router):
    with Conn(router.port) as c:
        for i in range(5):
            c.send(b"GET /?n=%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
            r = c.read_response()
            assert (r.status, r.body, r.header("Content-Length")) == (200, b"hello", "5")
            assert r.header("Date") and r.header("Connection") is None
        # pipelined: both answered, in order
        c.send(b"GET /env?a HTTP/1.1\r\nHost: t\r\n\r\nGET /env?b HTTP/1.1\r\nHost: t\r\n\r\n")
        assert json.loads(c.read_response().body)["QUERY_STRING"] == "a"
        assert json.loads(c.read_response().body)["QUERY_STRING"] == "b"


def test_the_app_sees_the_client_address_and_forwarded_headers(router):
    with Conn(router.port) as c:
        env = get_json(c, "/env?x=1", b"X-Forwarded-For: 203.0.113.7\r\nCookie: a=1\r\nCookie: b=2\r\n")
        local_port = c.sock.getsockname()[1]
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"] == str(local_port)  # the client's own port: the router is transparent
    assert env["HTTP_X_FORWARDED_FOR"] == "203.0.113.7"  # passed through, as uWSGI's router does
    assert env["UWSGI_ROUTER"] == "http" and env["HTTPS"] is None
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["wsgi.url_scheme"] == "http"
    assert env["REQUEST_URI"] == "/env?x=1" and env["SERVER_PROTOCOL"] == "HTTP/1.1"


def test_post_one_mebibyte_body(router):
    body = os.urandom(1 << 20)
    conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=20)
    for _ in range(2):  # twice on the same connection
        conn.request("POST", "/echo", body=body)
        r = conn.getresponse()
        assert r.status == 200
        assert r.read().decode() == "%d %s" % (len(body), __import__("hashlib").md5(body).hexdigest())
    conn.close()


def test_expect_continue_is_answered_by_the_router(router):
    with Conn(router.port) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        assert c.read_response().status == 100
        c.send(b"abc")
        r = c.read_response()
        assert r.status == 200 and r.body.startswith(b"3 ")


def test_streamed_response_reaches_the_client_before_the_app_finishes(router, tmp_path):
    marker = str(tmp_path / "seen-first")
    with Conn(router.port, timeout=10) as c:
        c.send(b"GET /stream?" + marker.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        head = c.read_until(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in head
        # the app blocks after "first" until we touch the marker: a buffering router would hang here
        assert c.read_until(b"first\n\r\n").endswith(b"first\n\r\n")
        open(marker, "w").close()
        assert c.read_until(b"0\r\n\r\n").endswith(b"second\n\r\n0\r\n\r\n")
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # still alive after a chunked response
        assert c.read_response().body == b"hello"


def rss_kb(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_large_response_to_a_client_that_does_not_read_is_not_buffered(router):
    with Conn(router.port, timeout=20) as c:
        before = rss_kb(router.router_pid)
        c.send(b"GET /big?16 HTTP/1.1\r\nHost: t\r\n\r\n")
        c.read_until(b"\r\n\r\n")
        time.sleep(1.0)  # the worker could produce all 16 MB meanwhile; the router must hold it back
        grown = rss_kb(router.router_pid) - before
        raw = bytearray(c.buf)
        while not raw.endswith(b"\r\n0\r\n\r\n"):
            data = c.sock.recv(1 << 20)
            assert data, "EOF before the end of the chunked body"
            raw += data
    assert grown < 10_000, "router RSS grew by %d kB" % grown
    body = bytearray()
    pos = 0
    while True:  # de-chunk
        eol = raw.index(b"\r\n", pos)
        size = int(raw[pos:eol], 16)
        if size == 0:
            break
        body += raw[eol + 2 : eol + 2 + size]
        pos = eol + 4 + size
    assert len(body) == 16_000_000
    assert body[:1] == b"A" and body[-1:] == bytes([65 + 15]) and body.count(b"B") == 1_000_000


def test_http10_client_gets_a_close_delimited_body(router):
    with Conn(router.port) as c:
        c.send(b"GET /big?1 HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and len(r.body) == 1_000_000 and r.header("Transfer-Encoding") is None
        assert c.at_eof()
    with Conn(router.port) as c:  # with a length and keep-alive asked: kept alive
        c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        assert r.body == b"hello" and r.header("Connection") == "keep-alive"
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        assert c.read_response().body == b"hello"
        assert c.at_eof()


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_bodyless_statuses_and_head(router, status):
    with Conn(router.port) as c:
        c.send(b"GET /status?" + status.replace(" ", "+").encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response()
        assert r.status == int(status[:3]) and r.body == b"" and r.header("Transfer-Encoding") is None
        c.send(b"HEAD /length HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response("HEAD")
        assert r.status == 200 and r.header("Content-Length") == "11"
        c.send(b"GET /length HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.read_response().body == b"hello world"


def test_malformed_request_is_refused_by_the_router(router):
    with Conn(router.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 400 and r.header("Connection") == "close"
    with Conn(router.port) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
        assert c.read_response().status == 431


def test_app_crash_before_the_head(router):
    with Conn(router.port) as c:
        c.send(b"GET /crash HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response()
        # uWSGI's worker closes without a byte (the router's 502); ours answers 500 itself
        assert r.status == (502 if router.kind == "uwsgi" else 500)
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # the client connection survives it
        assert c.read_response().body == b"hello"


def test_https_with_a_real_tls_client(router, tls_files):
    ctx = ssl.create_default_context(cafile=tls_files[0])
    conn = http.client.HTTPSConnection("127.0.0.1", router.https_port, context=ctx, timeout=10)
    for _ in range(2):
        conn.request("GET", "/env", headers={"X-Forwarded-For": "198.51.100.1"})
        r = conn.getresponse()
        env = json.loads(r.read())
        assert r.status == 200
        assert env["HTTPS"] == "on" and env["wsgi.url_scheme"] == "https"
        assert env["HTTP_X_FORWARDED_FOR"] == "198.51.100.1" and env["REMOTE_ADDR"] == "127.0.0.1"
    body = os.urandom(300_000)
    conn.request("POST", "/echo", body=body)
    assert conn.getresponse().read().startswith(b"300000 ")
    conn.close()


def test_https_with_curl(router, tls_files):
    curl = require("curl")
    out = subprocess.run(
        [curl, "-sS", "--max-time", "10", "--cacert", tls_files[0],
         "https://127.0.0.1:%d/" % router.https_port, "https://127.0.0.1:%d/env" % router.https_port],
        capture_output=True, text=True, timeout=20,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("hello{") and '"HTTPS": "on"' in out.stdout


def test_websocket_upgrade_is_tunnelled_both_ways(router):
    websockets_sync = pytest.importorskip("websockets.sync.client")
    with websockets_sync.connect("ws://127.0.0.1:%d/ws" % router.port, open_timeout=10, close_timeout=5) as ws:
        def recv() -> bytes:  # uWSGI answers text frames, gateway binary ones: compare bytes
            msg = ws.recv(timeout=5)
            return msg.encode() if isinstance(msg, str) else msg

        for i in range(3):
            ws.send("hello%d" % i)
            assert recv() == b"echo:hello%d" % i
        big = os.urandom(100_000).hex().encode()
        ws.send(big)
        assert recv() == b"echo:" + big
    with Conn(router.port) as c:  # the router serves on after the tunnel closed
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.read_response().body == b"hello"


def test_bad_certificate_fails_at_startup(tmp_path):
    missing = str(tmp_path / "nope.pem")
    from server import run_cli
    res = run_cli(["--https", "127.0.0.1:0,%s,%s" % (missing, missing), "--http-to", "127.0.0.1:1"])
    assert res.returncode == 1
    assert "nope.pem" in res.stderr and res.stderr.count("\n") <= 2


def test_502_while_no_worker_is_reachable_then_recovery():
    port = free_port()
    with run_router(["--http", "127.0.0.1:0", "--http-to", "127.0.0.1:%d" % port]) as r:
        with Conn(r.port) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = c.read_response()
            assert resp.status == 502 and b"no worker is reachable" in resp.body
            c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")  # its 502 has no body: the next answer is next
            assert c.read_response("HEAD").status == 502
            proc = start_uwsgi(port)
            try:
                c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # same client connection
                assert c.read_response().body == b"hello"
            finally:
                stop(proc)
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert c.read_response().status == 502
        r.wait_for_line(r"cannot connect to worker 127\.0\.0\.1:%d: ECONNREFUSED" % port)
        assert r.proc.poll() is None


def test_the_master_respawns_a_dead_router_on_the_same_sockets():
    with run_router(["--http", "127.0.0.1:0", "--wsgi-file", APP]) as r:
        first = r.router_pid
        os.kill(first, signal.SIGKILL)
        end = time.time() + 20
        while r.ready_count < 2 and time.time() < end:
            time.sleep(0.05)
        assert r.ready_count == 2 and r.router_pid != first, r.output()
        with Conn(r.port) as c:  # the same port: the listening socket outlived the router
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert c.read_response().body == b"hello"


def test_quickstart_http_router_with_foobar(tmp_path):
    """uWSGI's first quickstart command: ``--http :9090 --wsgi-file foobar.py`` (on a free port)."""
    (tmp_path / "foobar.py").write_text(
        "def application(env, start_response):\n"
        "    start_response('200 OK', [('Content-Type','text/html')])\n"
        "    return [b'Hello World']\n"
    )
    port = free_port()
    with run_router(["--http", ":%d" % port, "--wsgi-file", "foobar.py"], cwd=str(tmp_path)) as r:
        assert r.port == port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/")
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"Hello World")
        conn.close()
        internal = re.search(r"gateway ready: pid=\d+ socket=(@gateway-\d+-\w+)", r.output())
        assert internal, r.output()  # the workers' internal socket: abstract, nothing on disk


def test_chunked_upload_streams_to_our_worker(router):
    if router.kind != "gateway":
        pytest.skip("real uWSGI workers read no body without CONTENT_LENGTH")
    with Conn(router.port, timeout=10) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        parts = [os.urandom(n) for n in (1, 70000, 3, 300000)]
        for part in parts:
            c.send(b"%x\r\n%b\r\n" % (len(part), part))
        c.send(b"0\r\n\r\n")
        r = c.read_response()
        data = b"".join(parts)
        assert r.body.decode() == "%d %s" % (len(data), __import__("hashlib").md5(data).hexdigest())
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # the client connection stays usable
        assert c.read_response().body == b"hello"


def test_a_worker_dying_mid_request_is_a_502_and_the_next_request_is_served(router):
    if router.kind != "gateway":
        pytest.skip("our master respawns the worker; the uWSGI backend here has no master")
    with Conn(router.port, timeout=20) as c:
        c.send(b"GET /die HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response()
        assert r.status == 502
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # waits in the socket's backlog for the new worker
        assert c.read_response().body == b"hello"
    router.wait_for_line(r"worker 1 .*died|DAMN", timeout=5)


def test_quickstart_https_ini_on_a_shared_socket(tmp_path, tls_files):
    """The quickstart's HTTPS ini: ``shared-socket`` bound first, ``https = =0,crt,key``, a master, 2 workers."""
    port = free_port()
    ini = tmp_path / "https.ini"
    ini.write_text(
        "[uwsgi]\nshared-socket = 127.0.0.1:%d\nhttps = =0,%s,%s\nwsgi-file = %s\nmaster = true\nprocesses = 2\n"
        % (port, tls_files[0], tls_files[1], APP)
    )
    with run_router([str(ini)]) as r:
        assert r.https_port == port
        ctx = ssl.create_default_context(cafile=tls_files[0])
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        for _ in range(3):
            conn.request("GET", "/env")
            env = json.loads(conn.getresponse().read())
            assert env["HTTPS"] == "on" and env["wsgi.url_scheme"] == "https"
        conn.close()


def test_http_to_several_nodes_fails_over_from_a_dead_one(backend):
    dead = "127.0.0.1:%d" % free_port()
    with run_router(["--http", "127.0.0.1:0", "--http-to", dead, "--http-to", backend]) as r:
        with Conn(r.port) as c:
            for _ in range(4):  # round-robin: every other request first tries the dead node
                c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                assert c.read_response().body == b"hello"
        r.wait_for_line(r"cannot connect to worker %s: ECONNREFUSED .*trying the next one" % re.escape(dead))


def test_router_forwards_to_the_first_socket_when_given(tmp_path):
    port = free_port()
    with run_router(["--http", "127.0.0.1:0", "--socket", "127.0.0.1:%d" % port, "--wsgi-file", APP]) as r:
        assert "upstream=127.0.0.1:%d" % port in r.output()
        with Conn(r.port) as c:
            env = get_json(c, "/env")
        assert env["UWSGI_ROUTER"] == "http" and env["REMOTE_ADDR"] == "127.0.0.1"


def test_no_response_head_within_http_timeout_is_a_504():
    with run_router(["--http", "127.0.0.1:0", "--wsgi-file", APP, "--tornado", "4", "--greenlet",
                     "--http-timeout", "1"]) as r:
        with Conn(r.port, timeout=10) as c:
            c.send(b"GET /slow?3 HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = c.read_response()
            assert resp.status == 504  # before the app's answer at 3 s
            c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # the client connection is still usable
            assert c.read_response().body == b"hello"
        r.wait_for_line(r"no response from worker .* in 1\.0s \(504\)")


def _client_pki(directory: str, openssl: str) -> dict:
    """A CA, and a client certificate signed by it (files in ``directory``)."""
    def run(*args):
        subprocess.run([openssl] + list(args), check=True, capture_output=True, timeout=60, cwd=directory)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
        "-subj", "/C=FR/O=Acme/CN=alice")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "client.pem", "-days", "2")
    return {name: os.path.join(directory, name) for name in ("ca.pem", "client.pem", "client.key")}


def _tls_get(port, path, client=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if client:
        ctx.load_cert_chain(*client)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return read_to_eof(s)


@pytest.mark.parametrize("prefix", ["", "!"], ids=["asked", "required"])
def test_https_client_certificates_reach_the_app(tls_files, tmp_path, prefix):
    pki = _client_pki(str(tmp_path), require("openssl"))
    port = free_port()
    spec = "127.0.0.1:%d,%s,%s,,%s%s" % (port, tls_files[0], tls_files[1], prefix, pki["ca.pem"])
    with run_router(["--https", spec, "--https-export-cert", "--wsgi-file", "tests/apps/uwsgi_probe.py",
                     "--tornado", "2", "--greenlet"]):
        reply = _tls_get(port, "/env", (pki["client.pem"], pki["client.key"]))
        env = json.loads(reply.partition(b"\r\n\r\n")[2])
        assert env["HTTPS_DN"] == "/C=FR/O=Acme/CN=alice"
        with open(pki["client.pem"]) as f:
            assert env["HTTPS_CC"].strip() == f.read().strip()
        der = ssl.PEM_cert_to_DER_cert(env["HTTPS_CC"])
        assert env["HTTPS_CLIENT_CERTIFICATE"].encode("latin-1") == der
        if prefix == "!":  # a client without a certificate is refused (TLS 1.3: an alert after the handshake)
            try:
                reply = _tls_get(port, "/env")
            except (ssl.SSLError, OSError):
                reply = b""
            assert not reply.startswith(b"HTTP/"), reply[:100]
        else:
            env = json.loads(_tls_get(port, "/env").partition(b"\r\n\r\n")[2])
            assert "HTTPS_DN" not in env and env["HTTPS"] == "on"
