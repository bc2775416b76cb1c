"""``WSGIInput.read_chunk`` (what ``uwsgi.chunked_read``/``chunked_read_nb`` use) on a fake
connection, and ``uwsgi.route``'s header edits."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gateway.route_api import HeaderEdits
from gateway.server.wsgi_input import BodyError, WSGIInput


class FakeConn:
    """Hands out ``pieces``: (bytes, ends a chunk) or None for "nothing arrived yet"."""

    peer = "test"

    def __init__(self, pieces):
        self.pieces = list(pieces)
        self.parser = SimpleNamespace(chunk_ended=False)

    def read_body_chunk(self, want, timeout, nb=False):
        if not self.pieces:
            return None
        piece = self.pieces.pop(0)
        if piece is None:
            assert nb, "a blocking read would wait here"
            return b""
        data, self.parser.chunk_ended = piece
        return data


SETTINGS = SimpleNamespace(socket_timeout=4.0, body_timeout=0, body_min_rate=0, body_read_warning=8)


def test_read_chunk_joins_the_pieces_of_one_chunk():
    inp = WSGIInput(FakeConn([(b"he", False), (b"llo", True), (b"!", True)]), False, SETTINGS)
    assert [inp.read_chunk(1.0), inp.read_chunk(1.0), inp.read_chunk(1.0)] == [b"hello", b"!", b""]


def test_read_chunk_nb_keeps_a_partial_chunk_for_the_next_call():
    inp = WSGIInput(FakeConn([(b"he", False), None, (b"llo", True), None]), False, SETTINGS)
    assert inp.read_chunk(None, nb=True) is None  # "he" arrived, the chunk is not complete
    assert inp.read_chunk(None, nb=True) == b"hello"
    assert inp.read_chunk(None, nb=True) is None
    assert inp.read_chunk(None, nb=True) == b""  # the end


def test_read_chunk_limit():
    inp = WSGIInput(FakeConn([(b"1234", False), (b"56", True)]), False, SETTINGS)
    with pytest.raises(BodyError, match="over --chunked-input-limit") as info:
        inp.read_chunk(1.0, limit=5)
    assert info.value.status == 413


def test_header_edits_drop_then_add():
    edits = HeaderEdits()
    edits.remove |= {"x-drop"}
    edits.add.append(("X-New", "1"))
    assert edits([("X-Drop", "a"), ("Content-Type", "text/plain")]) == [("Content-Type", "text/plain"), ("X-New", "1")]
