"""``--add-header``: every app response carries the configured header lines, on both protocols."""

from __future__ import annotations

import socket

import pytest

from server import run_server, spawn
from support.httpclient import read_to_eof, request

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/status_probe.py", "--tornado", "4", "--greenlet",
       "--add-header", "X-Served-By: gateway", "--add-header", "Strict-Transport-Security:max-age=60"]


def test_every_response_gets_the_headers_on_http():
    with run_server(APP) as srv:
        for path in ("/status/200", "/status/404", "/big?10"):
            r = request(srv.port, path, timeout=10)
            assert r.header("X-Served-By") == "gateway", (path, r.headers)
            assert r.header("Strict-Transport-Security") == "max-age=60"
        assert r.body == b"b" * 10


def test_the_uwsgi_protocol_carries_them_too(tmp_path):
    from gateway.protocol.uwsgi import encode_request

    with run_server(APP + ["--socket", "127.0.0.1:0"]) as srv:
        packet = encode_request([("REQUEST_METHOD", "GET"), ("PATH_INFO", "/status/200"),
                                 ("SERVER_PROTOCOL", "HTTP/1.1")], b"")
        with socket.create_connection(("127.0.0.1", srv.uwsgi_port), timeout=10) as s:
            s.sendall(packet)
            raw = read_to_eof(s)
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert head[0] == b"HTTP/1.1 200 Whatever"
    assert b"X-Served-By: gateway" in head and b"Strict-Transport-Security: max-age=60" in head


@pytest.mark.parametrize("value", ["no colon here", "Bad Name: x", "X-Ok: a\rb"])
def test_a_malformed_header_is_refused_naming_the_option(value):
    proc = spawn(["--wsgi-file", "tests/apps/status_probe.py", "--http-socket", "127.0.0.1:0", "--add-header", value])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode != 0 and "--add-header" in err, err
