"""``--socket`` behind a real nginx (``uwsgi_pass``): one nginx and two gateways per module.

nginx is Debian's (``require("nginx")``: skipped locally when missing, a failure under
``CI=true``), started by ``tests/support/nginx.py`` with its own prefix on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import threading
import time

import pytest

from gateway.protocol import uwsgi as uwsgi_wire
from server import run_server
from support.httpclient import read_to_eof
from support.nginx import Nginx

CLK_TCK = os.sysconf("SC_CLK_TCK")
ENGINE = ["--tornado", "4", "--greenlet"]


def cpu_seconds(pid: int) -> float:
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


CONFIG = """
    upstream gw { server %(main)s; }
    server {
        listen {listen};
        server_name localhost;
        client_max_body_size 8m;
        location / { include uwsgi_params; uwsgi_pass gw; }
        location /unbuf/ {
            include uwsgi_params; uwsgi_pass gw;
            uwsgi_buffering off; uwsgi_request_buffering off;
        }
        location /app/ {
            include uwsgi_params; uwsgi_param SCRIPT_NAME /app; uwsgi_modifier1 30;
            uwsgi_pass gw;
        }
        location /nostrip/ {
            include uwsgi_params; uwsgi_param SCRIPT_NAME /nostrip; uwsgi_pass gw;
        }
        location /tls/ { include uwsgi_params; uwsgi_param HTTPS on; uwsgi_pass gw; }
        location /fwd/ {
            include uwsgi_params; uwsgi_param REMOTE_ADDR $http_x_client; uwsgi_pass gw;
        }
        location /unix/ { include uwsgi_params; uwsgi_pass unix:%(unix)s; }
        location /small/ { include uwsgi_params; uwsgi_pass %(small)s; }
    }
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    unix = str(tmp_path_factory.mktemp("uwsgi") / "gw.sock")
    args = ["--socket", "127.0.0.1:0", "--socket", unix, "--wsgi-file", "tests/apps/uwsgi_probe.py"] + ENGINE
    small_args = ["--socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/park.py", "--tornado", "2", "--greenlet", "-L"]
    with run_server(args) as main, run_server(small_args) as small:
        assert main.uwsgi_addresses[1] == unix
        config = CONFIG % {"main": main.uwsgi_addresses[0], "unix": unix, "small": small.uwsgi_addresses[0]}
        with Nginx(config) as ngx:
            yield ngx, main, small




def test_the_ready_line_names_both_sockets(stack):
    _, main, _ = stack
    line = main.wait_for_line(r"gateway ready: ")
    assert " socket=127.0.0.1:" in line and main.uwsgi_addresses[1] in line
    assert "http-socket=" not in line


def test_get(stack):
    ngx, _, _ = stack
    status, headers, body = ngx.get("/")
    assert (status, body, headers["Content-Length"]) == (200, b"hello", "5")


def test_environ_from_nginx_uwsgi_params(stack):
    ngx, _, _ = stack
    e = ngx.env("/a%20b/env?x=%41&y=1", headers={"X-Custom": "yes", "Cookie": "a=1"})
    assert e["REQUEST_METHOD"] == "GET"
    assert e["REQUEST_URI"] == "/a%20b/env?x=%41&y=1"
    assert e["PATH_INFO"] == "/a b/env"
    assert e["QUERY_STRING"] == "x=%41&y=1"
    assert e["SCRIPT_NAME"] == ""
    assert e["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert e["REMOTE_ADDR"] == "127.0.0.1"
    assert e["SERVER_PORT"] == str(ngx.port)
    assert e["HTTP_X_CUSTOM"] == "yes" and e["HTTP_COOKIE"] == "a=1"
    assert e["wsgi.url_scheme"] == "http" and "HTTPS" not in e


def test_https_var_sets_the_url_scheme(stack):
    ngx, _, _ = stack
    e = ngx.env("/tls/env")
    assert e["HTTPS"] == "on" and e["wsgi.url_scheme"] == "https"


def test_modifier1_30_strips_script_name_from_path_info(stack):
    ngx, _, _ = stack
    e = ngx.env("/app/sub/env?q")
    assert (e["SCRIPT_NAME"], e["PATH_INFO"], e["REQUEST_URI"]) == ("/app", "/sub/env", "/app/sub/env?q")
    # without modifier1 30 the vars are passed as nginx sent them
    e = ngx.env("/nostrip/env")
    assert (e["SCRIPT_NAME"], e["PATH_INFO"]) == ("/nostrip", "/nostrip/env")


def test_post_1_mib_buffered_and_unbuffered(stack):
    ngx, _, _ = stack
    data = os.urandom(1 << 20)
    expected = b"%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode())
    for path in ("/echo", "/unbuf/echo"):
        status, _, body = ngx.get(path, method="POST", body=data, headers={"Content-Type": "application/octet-stream"})
        assert (status, body) == (200, expected), path


def test_chunked_upload_by_the_client(stack):
    ngx, _, _ = stack
    parts = [os.urandom(n) for n in (1, 1000, 70000, 3)]
    data = b"".join(parts)
    expected = b"%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode())
    for path in ("/echo", "/unbuf/echo"):
        c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
        c.request("POST", path, body=iter(parts), encode_chunked=True)
        r = c.getresponse()
        assert (r.status, r.read()) == (200, expected), path
        c.close()


def test_streaming_unbuffered_delivers_the_first_chunk_before_the_app_finishes(stack):
    ngx, _, _ = stack
    c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
    c.request("GET", "/unbuf/stream")
    r = c.getresponse()
    assert r.status == 200
    # The app is parked until /release: this line can only arrive if it was streamed.
    assert r.readline() == b"first\n"
    assert ngx.get("/release")[2] == b"released 1"
    assert r.read() == b"second\n"
    c.close()


def test_head(stack):
    ngx, _, _ = stack
    status, headers, body = ngx.get("/", method="HEAD")
    assert (status, body, headers.get("Content-Length")) == (200, b"", "5")


def test_app_error_before_the_response_is_a_500_and_the_worker_lives_on(stack):
    ngx, main, _ = stack
    main.expect_traceback("RuntimeError: boom before the response")
    status, _, body = ngx.get("/boom")
    assert status == 500 and body == b"Internal Server Error\n"
    main.wait_for_line(r"RuntimeError: boom before the response")
    assert ngx.get("/")[0] == 200


def test_app_error_mid_body_truncates_the_response(stack):
    ngx, main, _ = stack
    c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
    main.expect_traceback("RuntimeError: boom after the first chunk")
    c.request("GET", "/unbuf/boom-late")
    r = c.getresponse()
    assert r.status == 200
    with pytest.raises(http.client.IncompleteRead) as e:
        r.read()
    assert e.value.partial == b"partial"
    c.close()
    main.wait_for_line(r"RuntimeError: boom after the first chunk")
    assert ngx.get("/")[0] == 200


def test_the_log_line_shows_the_client_from_the_environ(stack):
    ngx, main, _ = stack
    assert ngx.get("/fwd/hello", headers={"X-Client": "203.0.113.9"})[0] == 200
    line = main.wait_for_line(r"\] 203\.0\.113\.9 \(\) \{\d+ vars in \d+ bytes\}")
    assert "GET /fwd/hello => generated 5 bytes" in line and "(HTTP/1.1 200)" in line


def test_unix_socket(stack):
    ngx, _, _ = stack
    e = ngx.env("/unix/env")
    assert e["REQUEST_URI"] == "/unix/env"


def test_oversized_vars_block_is_refused_logged_and_the_worker_lives_on(stack):
    ngx, main, _ = stack
    status, _, _ = ngx.get("/big", headers={"X-Big": "b" * 5000})
    assert status == 502
    main.wait_for_line(r"invalid request block size: \d{4} \(max 4096\)\.\.\.skip")
    assert "upstream prematurely closed" in ngx.error_log() or "reset by peer" in ngx.error_log()
    assert ngx.get("/")[0] == 200


def test_all_cores_busy_stops_accepting_without_spinning(stack):
    ngx, _, small = stack
    assert ngx.get("/small/?s=0")[0] == 200  # warm up
    results = []

    def one():
        results.append(ngx.get("/small/?s=1", timeout=20))

    before = cpu_seconds(small.pid)
    t0 = time.time()
    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    elapsed = time.time() - t0
    used = cpu_seconds(small.pid) - before
    assert [r[0] for r in results] == [200] * 6
    assert 2.5 < elapsed < 10, "6 requests of 1 s on 2 cores take 3 waves"
    assert used < 0.5, "worker used %.2fs CPU while its cores were parked" % used
    small.wait_for_line(r"all 2 async cores are busy")


def raw_uwsgi(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        return read_to_eof(s)


def test_chunked_body_without_content_length_as_the_router_sends_it(stack):
    _, main, _ = stack
    body = os.urandom(100000)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 30000]), body[i:i + 30000]) for i in range(0, len(body), 30000))
    packet = uwsgi_wire.encode_request([
        ("REQUEST_METHOD", "POST"), ("PATH_INFO", "/echo"), ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("HTTP_TRANSFER_ENCODING", "chunked"),
    ]) + chunked + b"0\r\n\r\n"
    reply = raw_uwsgi(main.uwsgi_port, packet)
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert reply.endswith(b"\r\n\r\n%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode()))


def test_ping_and_unknown_modifier(stack):
    _, main, _ = stack
    assert raw_uwsgi(main.uwsgi_port, uwsgi_wire.PING_REQUEST) == uwsgi_wire.PING_REPLY
    assert raw_uwsgi(main.uwsgi_port, b"\x05\x00\x00\x00") == b""
    main.wait_for_line(r"-- unavailable modifier requested: 5 --")


def test_graceful_stop_with_a_uwsgi_socket():
    with run_server(["--socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/uwsgi_probe.py"] + ENGINE) as srv:
        assert raw_uwsgi(srv.uwsgi_port, uwsgi_wire.PING_REQUEST) == uwsgi_wire.PING_REPLY
        t0 = time.monotonic()
        assert srv.stop() == 0
        assert time.monotonic() - t0 < 5, srv.output()


def test_a_registered_handler_reads_the_bytes_after_its_packet(stack):
    _, main, _ = stack
    payload = os.urandom(70000)
    packet = uwsgi_wire.encode_packet(222, b"70000") + payload
    assert raw_uwsgi(main.uwsgi_port, packet) == b"got 70000: " + payload


def test_mount_and_manage_script_name_on_both_protocols():
    args = ["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py",
            "--mount", "/a=tests/apps/mounted_a.py", "--mount", "/a/b=tests/apps/mounted_b.py",
            "--manage-script-name"] + ENGINE
    with run_server(args) as srv:
        for path, expected in (("/a/x", b"a /a /x"), ("/a/b/y", b"b /a/b /y"), ("/a/bc", b"a /a /bc")):
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("GET", path)
            assert c.getresponse().read() == expected
            c.close()
            reply = raw_uwsgi(srv.uwsgi_port, uwsgi_wire.encode_request([
                ("REQUEST_METHOD", "GET"), ("PATH_INFO", path), ("REQUEST_URI", path), ("SCRIPT_NAME", "")]))
            assert reply.endswith(b"\r\n\r\n" + expected), reply
        line = srv.wait_for_line(r"\|app: 2\|.* GET /a/b/y ")
        assert "=> generated" in line



def test_quickstart_socket_command_under_a_master_behind_nginx():
    # uWSGI's quickstart: --socket ... --master --processes 4 --threads 2 --stats (2 workers here)
    args = ["--socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--master", "--processes", "2",
            "--threads", "2", "--stats", "127.0.0.1:0"]
    with run_server(args) as srv:
        config = "server { listen {listen}; location / { include uwsgi_params; uwsgi_pass %s; } }" % (
            srv.uwsgi_addresses[0])
        with Nginx(config) as ngx:
            for _ in range(6):
                assert ngx.get("/q")[::2] == (200, b"hello /q")
        pids = {int(m) for m in re.findall(r"\[pid: (\d+)\|app: 0\|req: \d+/\d+\] 127\.0\.0\.1 .* GET /q ", srv.output())}
        assert pids and srv.pid not in pids  # answered by the workers, not the master


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_both_accept_paths_serve_and_pause_with_all_cores_busy(loop):
    # uvloop: the loop's own server (closed while the cores are busy); asyncio: the engine accepts
    args = ["--socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/park.py", "--tornado", "1", "--greenlet",
            "--loop", loop, "-L"]
    with run_server(args) as srv:
        packet = uwsgi_wire.encode_request([("REQUEST_METHOD", "GET"), ("PATH_INFO", "/"),
                                            ("QUERY_STRING", "s=0.5")])
        results = []
        threads = [threading.Thread(target=lambda: results.append(raw_uwsgi(srv.uwsgi_port, packet)))
                   for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert len(results) == 3 and all(r.startswith(b"HTTP/1.0 200 OK\r\n") for r in results), results
        srv.wait_for_line(r"all 1 async cores are busy")


def test_a_slow_body_parks_only_its_core(stack):
    _, main, _ = stack
    body = b"0123456789"
    packet = uwsgi_wire.encode_request([("REQUEST_METHOD", "POST"), ("PATH_INFO", "/echo"),
                                        ("CONTENT_LENGTH", str(len(body)))])
    with socket.create_connection(("127.0.0.1", main.uwsgi_port), timeout=10) as slow:
        slow.sendall(packet + body[:4])
        # while that core waits for the rest of the body, other requests are answered
        for _ in range(3):
            reply = raw_uwsgi(main.uwsgi_port, uwsgi_wire.encode_request([("PATH_INFO", "/"), ("REQUEST_METHOD", "GET")]))
            assert reply.endswith(b"\r\n\r\nhello")
        slow.sendall(body[4:])
        out = read_to_eof(slow)
    assert out.endswith(b"\r\n\r\n%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode()))


def test_a_stalled_body_times_out_after_socket_timeout():
    args = ["--socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/uwsgi_probe.py", "--socket-timeout", "1"] + ENGINE
    with run_server(args) as srv:
        packet = uwsgi_wire.encode_request([("REQUEST_METHOD", "POST"), ("PATH_INFO", "/echo"),
                                            ("CONTENT_LENGTH", "10"), ("SERVER_PROTOCOL", "HTTP/1.1")])
        reply = raw_uwsgi(srv.uwsgi_port, packet + b"1234")
        assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), reply
        srv.wait_for_line(r"\[body-read\] timeout reading \d+ bytes of the request body from 127\.0\.0\.1:\d+")
        assert raw_uwsgi(srv.uwsgi_port, uwsgi_wire.PING_REQUEST) == uwsgi_wire.PING_REPLY


def test_vhost_picks_the_mounted_app_by_host():
    args = ["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/hello.py", "--vhost", "--vhost-host",
            "--mount", "a.example.org=tests/apps/mounted_a.py", "--mount", "b.example.org=tests/apps/mounted_b.py",
            "--no-default-app"] + ENGINE
    with run_server(args) as srv:
        srv.wait_for_line(r"VirtualHosting mode enabled\.")
        for host, status, body in (("a.example.org", 200, b"a  /p"), ("B.example.org:80", 200, b"b  /p"),
                                   ("c.example.org", 500, None)):
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("GET", "/p", headers={"Host": host})
            r = c.getresponse()
            assert r.status == status, host
            if body is not None:
                assert r.read() == body
            c.close()


def test_allowed_and_remapped_modifiers():
    # a multi-user host keeps ping (100) and RPC (173) packets off an app's socket; a client
    # speaking modifier1 5 is served as WSGI
    args = ["--socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/uwsgi_probe.py", "--allowed-modifiers", "0,30",
            "--remap-modifier", "0:5"] + ENGINE
    get = [("REQUEST_METHOD", "GET"), ("PATH_INFO", "/hello"), ("SERVER_PROTOCOL", "HTTP/1.1")]
    with run_server(args) as srv:
        assert raw_uwsgi(srv.uwsgi_port, uwsgi_wire.encode_request(get)).endswith(b"\r\n\r\nhello")
        assert raw_uwsgi(srv.uwsgi_port, uwsgi_wire.encode_request(get, modifier1=5)).endswith(b"\r\n\r\nhello")
        assert raw_uwsgi(srv.uwsgi_port, uwsgi_wire.PING_REQUEST) == b""
        srv.wait_for_line(r"-- unavailable modifier requested: 100 --")
        assert raw_uwsgi(srv.uwsgi_port, uwsgi_wire.encode_packet(173, b"")) == b""
        srv.wait_for_line(r"-- unavailable modifier requested: 173 --")
