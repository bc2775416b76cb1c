"""``--catch-exceptions``, ``--reload-on-exception``, ``--wsgi-disable-file-wrapper``."""

from __future__ import annotations

import pytest

from server import run_server
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/raises.py", "--tornado", "4", "--greenlet"]


def _boom(srv, protocol: str):
    """(status, body) of GET /boom over HTTP, or over the uwsgi protocol (the same sink API)."""
    if protocol == "http":
        r = request(srv.port, "/boom")
        return r.status, r.body
    import socket

    from gateway.protocol.uwsgi import encode_request
    from support.httpclient import read_to_eof

    packet = encode_request([("REQUEST_METHOD", "GET"), ("PATH_INFO", "/boom"), ("SERVER_PROTOCOL", "HTTP/1.1")], b"")
    with socket.create_connection(("127.0.0.1", srv.uwsgi_port), timeout=10) as s:
        s.sendall(packet)
        raw = read_to_eof(s)
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize("protocol", ["http", "uwsgi"])
def test_catch_exceptions_shows_the_traceback_and_the_default_does_not(protocol):
    extra = ["--socket", "127.0.0.1:0"] if protocol == "uwsgi" else []
    with run_server(APP + extra) as srv:
        srv.expect_traceback("kaboom")
        status, body = _boom(srv, protocol)
    assert status == 500 and b"kaboom" not in body
    with run_server(APP + extra + ["--catch-exceptions"]) as srv:
        srv.expect_traceback("kaboom")
        status, body = _boom(srv, protocol)
    assert status == 500
    assert b"Traceback (most recent call last)" in body and b"ValueError: kaboom" in body and b"raises.py" in body


def test_reload_on_exception_recycles_the_worker():
    with run_server(APP + ["--master", "--reload-on-exception"]) as srv:
        srv.expect_traceback("kaboom")
        first = int(request(srv.port, "/").body)
        assert int(request(srv.port, "/").body) == first  # a good request changes nothing
        assert request(srv.port, "/boom").status == 500
        srv.wait_for_line(r"reload-on-exception: the app raised for GET /boom$")
        srv.wait_for_line(r"^\.\.\.The work of process %d is done\. Seeya!$" % first)
        assert wait_until(lambda: int(request(srv.port, "/").body) != first, what="the respawned worker")


def test_wsgi_disable_file_wrapper():
    with run_server(APP) as srv:
        assert request(srv.port, "/wrapper").body == b"True"
    with run_server(APP + ["--wsgi-disable-file-wrapper"]) as srv:
        assert request(srv.port, "/wrapper").body == b"False"
