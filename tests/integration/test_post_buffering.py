"""``--post-buffering N``: the app is called once the whole body is in, from memory up to N
bytes and from a temporary file beyond; without it ``wsgi.input`` streams (the app runs while
the body still arrives)."""

from __future__ import annotations

import json
import socket
import time

import pytest

from server import run_server
from support.httpclient import read_to_eof, request

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/body_probe.py", "--tornado", "4", "--greenlet"]


def _slow_upload(port: int, size: int, pause: float) -> tuple:
    """Send the head and half the body, wait ``pause``, send the rest; (answer, when the rest left)."""
    body = b"z" * size
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % size
                  + body[: size // 2])
        time.sleep(pause)  # the point of the test: a body that arrives late
        sent_rest = time.time()
        s.sendall(body[size // 2:])
        raw = read_to_eof(s)
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return json.loads(payload), sent_rest


def test_without_post_buffering_the_app_reads_as_the_body_arrives():
    with run_server(APP) as srv:
        answer, sent_rest = _slow_upload(srv.port, 200000, 0.5)
    assert answer["input"] == "WSGIInput" and answer["length"] == 200000
    assert answer["called"] < sent_rest  # called with half the body still on its way


def test_post_buffering_calls_the_app_with_the_whole_body_in_memory_or_on_disk():
    with run_server(APP + ["--post-buffering", "100000"]) as srv:
        small, small_rest = _slow_upload(srv.port, 60000, 0.5)
        big, big_rest = _slow_upload(srv.port, 300000, 0.5)
        empty = json.loads(request(srv.port, "/none", timeout=10).body)
    assert small["called"] >= small_rest and small["length"] == 60000
    assert small["input"] == "SpooledTemporaryFile" and small["on_disk"] is False
    assert big["called"] >= big_rest and big["length"] == 300000 and big["on_disk"] is True
    assert empty["input"] == "WSGIInput" and empty["length"] == 0  # no body: nothing to buffer
