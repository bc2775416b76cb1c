"""EPMD messages against the bytes captured from a real EPMD (erlang.md 1.2)."""

import pytest

from gateway.erlang import epmd
from gateway.erlang.errors import ErlangProtocolError


def test_alive2_req_matches_capture():
    # captured: 78 8e75 48 00 0006 0006 0002 'py' 0000 (after the u16 length)
    assert epmd.encode_alive2_req(0x8E75, "py") == bytes.fromhex("000f" "788e75480000060006" "0002") + b"py" + b"\0\0"
    visible = epmd.encode_alive2_req(1, "py", hidden=False)
    assert visible[5] == epmd.NODE_TYPE_NORMAL


def test_alive2_x_resp_incremental():
    raw = bytes.fromhex("76006b021f41")
    for i in range(len(raw)):
        assert epmd.parse_alive2_response(raw[:i]) is None
    assert epmd.parse_alive2_response(raw) == epmd.Alive2Response(0, 1795301185)


def test_old_alive2_resp_and_refusal():
    assert epmd.parse_alive2_response(bytes([121, 0, 0, 7])) == epmd.Alive2Response(0, 7)
    assert epmd.parse_alive2_response(bytes([118, 1, 0, 0, 0, 0])).result == 1


def test_alive2_garbage():
    with pytest.raises(ErlangProtocolError) as e:
        epmd.parse_alive2_response(b"HTTP/1.1 400")
    assert e.value.who == "epmd"


def test_port_please2():
    assert epmd.encode_port_please2_req("a") == b"\x00\x02\x7aa"


def test_port2_resp_matches_capture():
    raw = bytes.fromhex("770080b74d00000600050001") + b"a" + b"\0\0"
    for i in range(len(raw)):
        assert epmd.parse_port2_response(raw[:i]) is None
    r = epmd.parse_port2_response(raw)
    assert (r.result, r.port, r.node_type, r.highest, r.lowest, r.name, r.extra) == (0, 0x80B7, 77, 6, 5, "a", b"")


def test_port2_unknown_name():
    assert epmd.parse_port2_response(bytes([119, 1])).result == 1


def test_port2_garbage():
    with pytest.raises(ErlangProtocolError):
        epmd.parse_port2_response(b"\x00\x00")
