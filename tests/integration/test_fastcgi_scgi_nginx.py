"""``--fastcgi-socket`` and ``--scgi-socket`` behind a real nginx (``fastcgi_pass``, ``scgi_pass``).

One nginx and one gateway per module.  nginx is Debian's (``require("nginx")``: skipped
locally when missing, a failure under ``CI=true``), started by ``tests/support/nginx.py``
with its own prefix on 127.0.0.1 and Debian's stock ``fastcgi_params``/``scgi_params``.
A few tests speak FastCGI to the worker directly, for what nginx never sends
(KEEP_CONN twice on one socket, GET_VALUES, garbage).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import struct

import pytest

from gateway.protocol import fastcgi as fcgi_wire
from gateway.protocol import scgi as scgi_wire
from server import run_cli, run_server
from support.httpclient import read_to_eof
from support.nginx import Nginx

ENGINE = ["--tornado", "4", "--greenlet"]

CONFIG = """
    upstream fkept { server %(fcgi)s; keepalive 4; }
    server {
        listen {listen};
        server_name localhost;
        client_max_body_size 8m;
        location /f/ { include fastcgi_params; fastcgi_pass %(fcgi)s; }
        location /fu/ { include fastcgi_params; fastcgi_pass unix:%(funix)s; }
        location /fk/ { include fastcgi_params; fastcgi_keep_conn on; fastcgi_pass fkept; }
        location /fb/ {
            include fastcgi_params; fastcgi_pass %(fcgi)s;
            fastcgi_buffering off; fastcgi_request_buffering off;
        }
        location /fs/ {
            include fastcgi_params;
            fastcgi_split_path_info ^(/fs)(/.*)$;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_pass %(fcgi)s;
        }
        location /s/ { include scgi_params; scgi_pass %(scgi)s; }
        location /sb/ { include scgi_params; scgi_pass %(scgi)s; scgi_buffering off; }
    }
"""
#: the locations that answer the same app, one per way in
PREFIXES = ["/f", "/fu", "/fk", "/s"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    funix = str(tmp_path_factory.mktemp("fcgi") / "gw.sock")
    args = ["--fastcgi-socket", "127.0.0.1:0", "--fastcgi-socket", funix, "--scgi-socket", "127.0.0.1:0",
            "--wsgi-file", "tests/apps/uwsgi_probe.py"] + ENGINE
    with run_server(args) as main:
        fcgi = main.ready_fields["fastcgi-socket"].split(",")
        assert fcgi[1] == funix
        scgi = main.ready_fields["scgi-socket"]
        with Nginx(CONFIG % {"fcgi": fcgi[0], "funix": funix, "scgi": scgi}) as ngx:
            yield ngx, main




def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_the_ready_line_names_the_sockets(stack):
    _, main = stack
    line = main.wait_for_line(r"gateway ready: ")
    assert " fastcgi-socket=127.0.0.1:" in line and " scgi-socket=127.0.0.1:" in line
    assert "http-socket=" not in line and " socket=" not in line


@pytest.mark.parametrize("prefix", PREFIXES)
def test_get(stack, prefix):
    ngx, _ = stack
    status, headers, body = ngx.get(prefix + "/")
    assert (status, body, headers["Content-Length"]) == (200, b"hello", "5")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_environ_from_the_stock_params(stack, prefix):
    ngx, _ = stack
    e = ngx.env(prefix + "/a%20b/env?x=%41&y=1", headers={"X-Custom": "yes", "Cookie": "a=1"})
    assert e["REQUEST_METHOD"] == "GET"
    assert e["REQUEST_URI"] == prefix + "/a%20b/env?x=%41&y=1"
    # the stock params send no PATH_INFO: the whole decoded path, SCRIPT_NAME empty
    assert (e["SCRIPT_NAME"], e["PATH_INFO"]) == ("", prefix + "/a b/env")
    assert e["QUERY_STRING"] == "x=%41&y=1"
    assert e["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert e["REMOTE_ADDR"] == "127.0.0.1" and e["SERVER_PORT"] == str(ngx.port)
    assert e["HTTP_X_CUSTOM"] == "yes" and e["HTTP_COOKIE"] == "a=1"
    assert e["wsgi.url_scheme"] == "http"


def test_split_path_info_gives_script_name_and_path_info(stack):
    ngx, _ = stack
    e = ngx.env("/fs/sub/env?q")
    assert (e["SCRIPT_NAME"], e["PATH_INFO"], e["REQUEST_URI"]) == ("/fs", "/sub/env", "/fs/sub/env?q")


@pytest.mark.parametrize("prefix", ["/f", "/fb", "/s"])
def test_post_1_mib(stack, prefix):
    ngx, _ = stack
    data = os.urandom(1 << 20)
    expected = b"%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode())
    status, _, body = ngx.get(prefix + "/echo", method="POST", body=data,
                          headers={"Content-Type": "application/octet-stream"})
    assert (status, body) == (200, expected)


@pytest.mark.parametrize("prefix", ["/f", "/fb", "/s"])
def test_chunked_upload_by_the_client(stack, prefix):
    ngx, _ = stack
    parts = [os.urandom(n) for n in (1, 1000, 70000, 3)]
    data = b"".join(parts)
    c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
    c.request("POST", prefix + "/echo", body=iter(parts), encode_chunked=True)
    r = c.getresponse()
    assert (r.status, r.read()) == (200, b"%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode()))
    c.close()


@pytest.mark.parametrize("prefix", ["/fb", "/sb"])
def test_streaming_unbuffered_delivers_the_first_chunk_before_the_app_finishes(stack, prefix):
    ngx, _ = stack
    c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
    c.request("GET", prefix + "/stream")
    r = c.getresponse()
    assert r.status == 200
    assert r.readline() == b"first\n"  # the app is parked until /release: this came streamed
    assert ngx.get("/f/release")[2] == b"released 1"
    assert r.read() == b"second\n"
    c.close()


@pytest.mark.parametrize("prefix", ["/f", "/s"])
def test_head(stack, prefix):
    ngx, _ = stack
    status, headers, body = ngx.get(prefix + "/", method="HEAD")
    assert (status, body, headers.get("Content-Length")) == (200, b"", "5")


@pytest.mark.parametrize("prefix", ["/f", "/s"])
def test_app_error_before_the_response_is_a_500_and_the_worker_lives_on(stack, prefix):
    ngx, main = stack
    main.expect_traceback("RuntimeError: boom before the response")
    status, _, body = ngx.get(prefix + "/boom")
    assert status == 500 and body == b"Internal Server Error\n"
    assert ngx.get(prefix + "/")[0] == 200


@pytest.mark.parametrize("prefix", ["/fb", "/sb"])
def test_app_error_mid_body_truncates_the_response(stack, prefix):
    ngx, main = stack
    main.expect_traceback("RuntimeError: boom after the first chunk")
    c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
    c.request("GET", prefix + "/boom-late")
    r = c.getresponse()
    assert r.status == 200
    with pytest.raises(http.client.IncompleteRead) as e:
        r.read()
    assert e.value.partial == b"partial"
    c.close()
    assert ngx.get(prefix + "/")[0] == 200


def test_fastcgi_keep_conn_serves_many_requests(stack):
    ngx, _ = stack
    c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
    for i in range(20):
        body = b"x" * i
        c.request("POST", "/fk/echo", body=body)
        r = c.getresponse()
        assert (r.status, r.read()) == (200, b"%d %s" % (i, hashlib.sha256(body).hexdigest().encode()))
    c.close()


def fastcgi_exchange(address: str, data: bytes, ends: int = 1):
    """Send ``data``; read until ``ends`` END_REQUEST records arrived; return the records."""
    with socket.create_connection(("127.0.0.1", port_of(address)), timeout=10) as s:
        s.sendall(data)
        buf, records = b"", []
        while sum(1 for r in records if r[0] == fcgi_wire.END_REQUEST) < ends:
            more = s.recv(65536)
            assert more, "the worker closed after %d records" % len(records)
            buf += more
            while len(buf) >= 8:
                _, rtype, rid, clen, plen, _ = struct.unpack_from(">BBHHBB", buf)
                if len(buf) < 8 + clen + plen:
                    break
                records.append((rtype, rid, buf[8 : 8 + clen]))
                buf = buf[8 + clen + plen :]
        s.settimeout(5)
        tail = read_to_eof(s) if ends and not any(r[0] == fcgi_wire.END_REQUEST and r[1] == 0 for r in records) else b""
        return records, tail


def test_keep_conn_two_requests_on_one_socket_then_close(stack):
    _, main = stack
    address = main.ready_fields["fastcgi-socket"].split(",")[0]
    one = fcgi_wire.encode_request([("PATH_INFO", "/"), ("REQUEST_METHOD", "GET")], request_id=1, keep_conn=True)
    two = fcgi_wire.encode_request([("PATH_INFO", "/echo"), ("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "3")],
                                   b"abc", request_id=2, keep_conn=False)
    records, tail = fastcgi_exchange(address, one + two, ends=2)
    by_id = {1: b"", 2: b""}
    for rtype, rid, content in records:
        if rtype == fcgi_wire.STDOUT:
            by_id[rid] += content
    assert by_id[1].startswith(b"Status: 200 OK\r\n") and by_id[1].endswith(b"\r\n\r\nhello")
    assert by_id[2].endswith(b"\r\n\r\n3 " + hashlib.sha256(b"abc").hexdigest().encode())
    ends = [(rid, content) for rtype, rid, content in records if rtype == fcgi_wire.END_REQUEST]
    assert ends == [(1, b"\0" * 8), (2, b"\0" * 8)]
    assert tail == b""  # request 2 had no KEEP_CONN: closed after its END_REQUEST


def test_get_values_and_a_multiplexed_request(stack):
    _, main = stack
    address = main.ready_fields["fastcgi-socket"].split(",")[0]
    ask = fcgi_wire.encode_record(fcgi_wire.GET_VALUES, 0, fcgi_wire.encode_params(
        [("FCGI_MAX_CONNS", ""), ("FCGI_MAX_REQS", ""), ("FCGI_MPXS_CONNS", ""), ("OTHER", "")]))
    with socket.create_connection(("127.0.0.1", port_of(address)), timeout=10) as s:
        s.sendall(ask)
        head = b""
        while len(head) < 8:
            head += s.recv(8 - len(head))
        _, rtype, rid, clen, _, _ = struct.unpack(">BBHHBB", head)
        content = b""
        while len(content) < clen:
            content += s.recv(clen - len(content))
    assert (rtype, rid) == (fcgi_wire.GET_VALUES_RESULT, 0)
    assert fcgi_wire.decode_params(content) == [("FCGI_MAX_CONNS", "4"), ("FCGI_MAX_REQS", "4"), ("FCGI_MPXS_CONNS", "0")]
    # a second BEGIN_REQUEST while request 1 runs: refused with CANT_MPX_CONN, request 1 served
    data = (fcgi_wire.encode_begin_request(1) + fcgi_wire.encode_begin_request(2)
            + fcgi_wire.encode_request([("PATH_INFO", "/")], request_id=1)[16:])
    records, _ = fastcgi_exchange(address, data, ends=2)
    ends = {rid: content for rtype, rid, content in records if rtype == fcgi_wire.END_REQUEST}
    assert ends[2] == b"\0\0\0\0\x01\0\0\0" and ends[1] == b"\0" * 8


def test_garbage_is_logged_and_closed_and_the_worker_lives_on(stack):
    ngx, main = stack
    fcgi = main.ready_fields["fastcgi-socket"].split(",")[0]
    with socket.create_connection(("127.0.0.1", port_of(fcgi)), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_to_eof(s) == b""
    main.wait_for_line(r"invalid FastCGI request from 127\.0\.0\.1:\d+: FastCGI record version 71")
    with socket.create_connection(("127.0.0.1", port_of(main.ready_fields["scgi-socket"])), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert read_to_eof(s) == b""
    main.wait_for_line(r"invalid SCGI request from 127\.0\.0\.1:\d+: SCGI request does not start")
    assert ngx.get("/f/")[0] == 200 and ngx.get("/s/")[0] == 200


@pytest.mark.parametrize("prefix,message", [("/f", r"invalid FastCGI PARAMS size: \d{4} \(max 4096\)"),
                                            ("/s", r"invalid SCGI request size: \d{4} \(max 4096\)")])
def test_oversized_params_are_refused_logged_and_the_worker_lives_on(stack, prefix, message):
    ngx, main = stack
    status, _, _ = ngx.get(prefix + "/big", headers={"X-Big": "b" * 5000})
    assert status == 502
    main.wait_for_line(message)
    assert ngx.get(prefix + "/")[0] == 200


def test_scgi_direct_request(stack):
    _, main = stack
    address = main.ready_fields["scgi-socket"]
    with socket.create_connection(("127.0.0.1", port_of(address)), timeout=10) as s:
        s.sendall(scgi_wire.encode_request([("REQUEST_METHOD", "POST"), ("REQUEST_URI", "/x/echo?q"),
                                            ("SERVER_PROTOCOL", "HTTP/1.1")], b"12345"))
        reply = read_to_eof(s)
    assert reply.startswith(b"Status: 200 OK\r\nContent-Type: text/plain\r\n")
    assert reply.endswith(b"\r\n\r\n5 " + hashlib.sha256(b"12345").hexdigest().encode())


def test_protocol_option_sets_what_socket_speaks():
    with run_server(["--socket", "127.0.0.1:0", "--protocol", "scgi", "--wsgi-file", "tests/apps/uwsgi_probe.py"]
                    + ENGINE) as srv:
        address = srv.ready_fields["scgi-socket"]
        assert "socket" not in srv.ready_fields
        with socket.create_connection(("127.0.0.1", port_of(address)), timeout=10) as s:
            s.sendall(scgi_wire.encode_request([("PATH_INFO", "/")]))
            assert read_to_eof(s).endswith(b"\r\n\r\nhello")


def test_a_bad_protocol_name_is_refused():
    result = run_cli(["--socket", "127.0.0.1:0", "--protocol", "ajp", "--wsgi-file", "tests/apps/uwsgi_probe.py"])
    assert result.returncode != 0
    assert "--protocol" in result.stderr and "uwsgi, http, fastcgi, scgi" in result.stderr
