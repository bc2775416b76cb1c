"""``chunk_ended``: where the HTTP parser and the uwsgi packet parser say a chunk of a chunked
body is complete (what ``uwsgi.chunked_read()`` returns whole), fed byte by byte and at once."""

from __future__ import annotations

import pytest

from gateway.protocol import uwsgi as uwsgi_wire
from gateway.protocol.http1 import NEED_DATA, Data, EndOfMessage, RequestParser

BODY = b"5\r\nhello\r\n3;x=1\r\n, w\r\n4\r\norld\r\n0\r\n\r\n"


def chunks(parser, pieces):
    """Feed ``pieces``; collect the body data, closing a chunk where ``chunk_ended`` says."""
    out, current = [], b""
    for piece in pieces:
        parser.receive_data(piece)
        while True:
            event = parser.next_event()
            if type(event) is Data:
                current += event.data
                if parser.chunk_ended:
                    out.append(current)
                    current = b""
                continue
            if type(event) is EndOfMessage:
                assert current == b""
                return out
            if event is NEED_DATA:
                break
    raise AssertionError("no end of message")


def split(data, at_once):
    return [data] if at_once else [data[i:i + 1] for i in range(len(data))]


@pytest.mark.parametrize("at_once", [True, False])
def test_http_parser(at_once):
    parser = RequestParser()
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    parser.receive_data(head)
    assert parser.next_event().chunked
    assert not parser.chunk_ended
    assert chunks(parser, split(BODY, at_once)) == [b"hello", b", w", b"orld"]


@pytest.mark.parametrize("at_once", [True, False])
def test_uwsgi_parser(at_once):
    parser = uwsgi_wire.PacketParser()
    parser.receive_data(uwsgi_wire.encode_request([("REQUEST_METHOD", "POST"),
                                                   ("HTTP_TRANSFER_ENCODING", "chunked")]))
    assert parser.next_event().chunked
    assert chunks(parser, split(BODY, at_once)) == [b"hello", b", w", b"orld"]
    assert not parser.chunk_ended  # the body is over


def test_a_content_length_body_has_no_chunks():
    parser = RequestParser()
    parser.receive_data(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    parser.next_event()
    assert type(parser.next_event()) is Data and not parser.chunk_ended
