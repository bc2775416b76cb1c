"""Worker socket options through the real CLI, with real clients: ``--https-socket`` (curl and
Python's ssl), ``--http11-socket``, ``--map-socket``, ``--abstract-socket``, the socket tuning
options (read back from the listening sockets by the app), ``--so-send-timeout``, the forced
modifier1 of the SCGI socket, ``--honour-range`` (curl -r) and the refused NPH sockets."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import time

import pytest

from peers import require
from server import run_cli, run_server
from support.httpclient import Conn, read_to_eof
from support.router import make_self_signed
from support.stats import fetch_stats

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/socket_probe.py"]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_self_signed(str(tmp_path_factory.mktemp("tls")), require("openssl"))


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _get(port: int, path: str, headers: bytes = b"") -> dict:
    conn = Conn(port)
    try:
        conn.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")
        return json.loads(conn.read_response().body)
    finally:
        conn.close()


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_https_socket_terminates_tls_in_the_worker(tls_files, loop):
    cert, key = tls_files
    with run_server(APP + ["--https-socket", "127.0.0.1:0,%s,%s" % (cert, key), "--http-socket", "127.0.0.1:0",
                           "--loop", loop, "--tornado", "4", "--greenlet"]) as srv:
        port = _port(srv.ready_fields["https-socket"])
        ctx = ssl.create_default_context(cafile=cert)
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        try:
            for _ in range(2):  # one TLS connection, kept alive
                conn.request("GET", "/env")
                r = conn.getresponse()
                env = json.loads(r.read())
                assert r.status == 200
                assert env["HTTPS"] == "on" and env["wsgi.url_scheme"] == "https"
            conn.request("POST", "/echo", body=b"z" * 300000)
            assert conn.getresponse().read() == b"300000"
        finally:
            conn.close()
        plain = _get(srv.port, "/env")  # the plain socket beside it stays plain
        assert plain["HTTPS"] is None and plain["wsgi.url_scheme"] == "http"


def test_https_socket_with_curl(tls_files):
    cert, key = tls_files
    curl = require("curl")
    with run_server(APP + ["--https-socket", "127.0.0.1:0,%s,%s" % (cert, key)], ready_timeout=20) as srv:
        url = "https://127.0.0.1:%d/env" % _port(srv.ready_fields["https-socket"])
        out = subprocess.run([curl, "-sS", "--max-time", "10", "--cacert", cert, url], capture_output=True,
                             text=True, timeout=20)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["wsgi.url_scheme"] == "https"
        # plain HTTP spoken to it is not served
        with socket.create_connection(("127.0.0.1", _port(srv.ready_fields["https-socket"])), timeout=10) as s:
            s.sendall(b"GET /env HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            assert b"wsgi.url_scheme" not in data


def test_https_socket_bad_certificate_fails_at_startup(tmp_path):
    missing = str(tmp_path / "nope.pem")
    res = run_cli(APP + ["--https-socket", "127.0.0.1:0,%s,%s" % (missing, missing)])
    assert res.returncode == 1
    assert "--https-socket 127.0.0.1:0: " in res.stderr and "no such file" in res.stderr
    res = run_cli(APP + ["--https-socket", "127.0.0.1:0"])
    assert res.returncode == 1 and "expected ADDR,CERT,KEY" in res.stderr


def test_http11_socket_is_an_http_socket_with_keepalive():
    with run_server(APP + ["--http11-socket", "127.0.0.1:0"]) as srv:
        assert srv.port > 0  # reported as an http-socket
        conn = Conn(srv.port)
        try:
            for n in range(3):  # three requests on one connection
                conn.send(b"GET /env?%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
                r = conn.read_response()
                assert r.status == 200 and r.header("Connection") != "close"
                assert json.loads(r.body)["REQUEST_URI"] == "/env?%d" % n
        finally:
            conn.close()


def test_socket_tuning_is_set_on_the_listening_sockets():
    with run_server(APP + ["--http-socket", "127.0.0.1:0", "--socket-sndbuf", "65536", "--socket-rcvbuf",
                           "32768", "--tcp-fastopen", "7"]) as srv:
        info = _get(srv.port, "/sockets")["sockets"][0]
        # Linux doubles the value asked for (bookkeeping overhead)
        assert info["sndbuf"] in (65536, 131072) and info["rcvbuf"] in (32768, 65536)
        assert info["fastopen"] == 7
    with run_server(APP + ["--http-socket", "127.0.0.1:0"]) as srv:
        assert _get(srv.port, "/sockets")["sockets"][0]["fastopen"] == 0


def test_map_socket_gives_each_socket_to_its_workers():
    with run_server(APP + ["--http-socket", "127.0.0.1:0", "--http-socket", "127.0.0.1:0", "--master",
                           "--processes", "2", "--map-socket", "0:1", "--map-socket", "1:2"]) as srv:
        first, second = (_port(a) for a in srv.addresses)
        for _ in range(4):  # a new connection each time: any free worker could accept it
            assert _get(first, "/sockets")["worker"] == 1
            assert _get(second, "/sockets")["worker"] == 2
        served = _get(first, "/sockets")["sockets"]
        assert [s["name"][1] for s in served] == [first]  # uwsgi.sockets: this worker's own


def test_map_socket_errors_name_the_option():
    res = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--processes", "2", "--map-socket", "0:3"])
    assert res.returncode == 1 and "--map-socket 0: there is no worker 3" in res.stderr
    res = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--map-socket", "1:1"])
    assert res.returncode == 1 and "--map-socket 1: there is no worker socket 1" in res.stderr
    res = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--map-socket", "x"])
    assert res.returncode == 1 and "option '--map-socket' expects" in res.stderr


def test_abstract_socket_binds_unix_names_in_the_abstract_namespace(tmp_path):
    name = "gw-test-%d" % time.monotonic_ns()
    with run_server(APP + ["--socket", name, "-a", "--http-socket", "127.0.0.1:0"]) as srv:
        assert srv.uwsgi_addresses == ["@" + name]
        assert not (tmp_path / name).exists()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect("\0" + name)
            s.sendall(b"\x64\x00\x00\x00")  # uwsgi ping
            assert s.recv(16) == b"\x64\x00\x00\x01"


def test_so_send_timeout_drops_a_client_that_does_not_read():
    with run_server(APP + ["--http-socket", "127.0.0.1:0", "--socket-timeout", "60", "--so-send-timeout", "1",
                           "--socket-sndbuf", "16384", "--tornado", "2", "--greenlet"]) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            started = time.monotonic()
            srv.wait_for_line(r"did not read the response for 1(\.0)?s", timeout=20)
            assert time.monotonic() - started < 15  # not --socket-timeout's 60
        finally:
            s.close()
        assert _get(srv.port, "/env")["PATH_INFO"] == "/env"  # the core was freed


def _scgi(port: int, env: dict) -> bytes:
    head = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in [("CONTENT_LENGTH", "0"), ("SCGI", "1")]
                    + list(env.items()))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"%d:%s," % (len(head), head))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


@pytest.mark.parametrize("modifier, expected", [("0", "/app/x"), ("30", "/x")])
def test_scgi_modifier1_30_strips_script_name(modifier, expected):
    with run_server(APP + ["--scgi-socket", "127.0.0.1:0", "--scgi-modifier1", modifier]) as srv:
        port = _port(srv.ready_fields["scgi-socket"])
        raw = _scgi(port, {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/app", "PATH_INFO": "/app/x",
                           "SERVER_PROTOCOL": "HTTP/1.1"})
        body = raw.split(b"\r\n\r\n", 1)[1]
        assert json.loads(body)["PATH_INFO"] == expected


def test_a_modifier1_gateway_has_no_handler_for_is_refused():
    res = run_cli(APP + ["--http-socket", "127.0.0.1:0", "--http-socket-modifier1", "5"])
    assert res.returncode == 1 and "--http-socket-modifier1" in res.stderr and "WSGI" in res.stderr


@pytest.mark.parametrize("nph", [False, True])
def test_scgi_nph_socket_answers_with_an_http_status_line(nph):
    option = "--scgi-nph-socket" if nph else "--scgi-socket"
    with run_server(APP + [option, "127.0.0.1:0"]) as srv:
        port = _port(srv.ready_fields[option[2:]])
        raw = _scgi(port, {"REQUEST_METHOD": "GET", "PATH_INFO": "/env", "SERVER_PROTOCOL": "HTTP/1.1"})
        first = raw.split(b"\r\n", 1)[0]
        assert first == (b"HTTP/1.1 200 OK" if nph else b"Status: 200 OK")
        assert json.loads(raw.split(b"\r\n\r\n", 1)[1])["PATH_INFO"] == "/env"


def _fcgi_record(kind: int, content: bytes, request_id: int = 1) -> bytes:
    import struct

    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), 0) + content


def _fcgi_pairs(pairs: dict) -> bytes:
    out = b""
    for k, v in pairs.items():
        k, v = k.encode(), v.encode()
        out += bytes([len(k)]) + bytes([len(v)]) + k + v
    return out


@pytest.mark.parametrize("nph", [False, True])
def test_fastcgi_nph_socket_answers_with_an_http_status_line(nph):
    import struct

    option = "--fastcgi-nph-socket" if nph else "--fastcgi-socket"
    with run_server(APP + [option, "127.0.0.1:0"]) as srv:
        port = _port(srv.ready_fields[option[2:]])
        params = _fcgi_pairs({"REQUEST_METHOD": "GET", "PATH_INFO": "/env", "SERVER_PROTOCOL": "HTTP/1.0"})
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(_fcgi_record(1, struct.pack(">HB5x", 1, 0)) + _fcgi_record(4, params) + _fcgi_record(4, b"")
                      + _fcgi_record(5, b""))
            data = read_to_eof(s)
        stdout, pos = b"", 0
        while pos < len(data):
            _, kind, _, length, padding = struct.unpack(">BBHHB", data[pos:pos + 7])
            if kind == 6:
                stdout += data[pos + 8:pos + 8 + length]
            pos += 8 + length + padding
        assert stdout.split(b"\r\n", 1)[0] == (b"HTTP/1.0 200 OK" if nph else b"Status: 200 OK")


def test_honour_range_with_curl_on_static_files_and_file_wrappers(tmp_path):
    curl = require("curl")
    data = bytes(range(256)) * 40  # 10240 bytes
    (tmp_path / "blob.bin").write_bytes(data)
    path = str(tmp_path / "blob.bin")
    with run_server(APP + ["--http-socket", "127.0.0.1:0", "--honour-range", "--static-map",
                           "/static=%s" % tmp_path]) as srv:
        for url in ("http://127.0.0.1:%d/static/blob.bin" % srv.port, "http://127.0.0.1:%d/file?%s" % (srv.port, path)):
            out = subprocess.run([curl, "-sS", "--max-time", "10", "-r", "100-4195", "-D", "-", "-o",
                                  str(tmp_path / "part"), url], capture_output=True, text=True, timeout=20)
            assert out.returncode == 0, out.stderr
            assert out.stdout.startswith("HTTP/1.1 206")
            assert "Content-Range: bytes 100-4195/10240" in out.stdout
            assert (tmp_path / "part").read_bytes() == data[100:4196]
        conn = Conn(srv.port)
        try:
            conn.send(b"GET /static/blob.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=-10\r\n\r\n")
            r = conn.read_response()
            assert r.status == 206 and r.body == data[-10:]
            conn.send(b"GET /static/blob.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=20000-\r\n\r\n")
            r = conn.read_response()
            assert r.status == 416 and r.header("Content-Range") == "bytes */10240" and r.body == b""
            conn.send(b"GET /static/blob.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n")
            r = conn.read_response()
            assert r.status == 200 and r.body == data  # the whole file: a plain 200, as uWSGI
        finally:
            conn.close()
    with run_server(APP + ["--http-socket", "127.0.0.1:0", "--static-map", "/static=%s" % tmp_path]) as srv:
        conn = Conn(srv.port)
        try:  # without --honour-range the header is ignored
            conn.send(b"GET /static/blob.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n")
            r = conn.read_response()
            assert r.status == 200 and len(r.body) == 10240
        finally:
            conn.close()


def test_honour_range_with_offload_threads(tmp_path):
    data = b"0123456789" * 50000
    (tmp_path / "f.bin").write_bytes(data)
    with run_server(APP + ["--http-socket", "127.0.0.1:0", "--honour-range", "--offload-threads", "2"]) as srv:
        conn = Conn(srv.port)
        try:
            conn.send(b"GET /file?" + str(tmp_path / "f.bin").encode()
                      + b" HTTP/1.1\r\nHost: x\r\nRange: bytes=5-300004\r\n\r\n")
            r = conn.read_response()
            assert r.status == 206 and r.body == data[5:300005]
            assert r.header("Content-Length") == "300000"
        finally:
            conn.close()


def test_websockets_and_stats_over_an_https_socket_with_a_master(tls_files):
    websockets_sync = pytest.importorskip("websockets.sync.client")
    cert, key = tls_files
    from support.router import free_port

    stats_port = free_port()
    with run_server(["--wsgi-file", "tests/apps/websocket_echo.py", "--https-socket",
                     "127.0.0.1:0,%s,%s" % (cert, key), "--master", "--processes", "2", "--tornado", "4",
                     "--greenlet", "--stats", "127.0.0.1:%d" % stats_port]) as srv:
        port = _port(srv.ready_fields["https-socket"])
        ctx = ssl.create_default_context(cafile=cert)
        with websockets_sync.connect("wss://127.0.0.1:%d/echo" % port, ssl=ctx, open_timeout=10) as ws:
            ws.send("hello")
            assert ws.recv(timeout=10) == "hello"
            ws.send("x" * 100000)
            assert len(ws.recv(timeout=10)) == 100000
        sockets = fetch_stats(stats_port)["sockets"]
        assert [(x["name"], x["proto"]) for x in sockets] == [("127.0.0.1:%d" % port, "https")]
