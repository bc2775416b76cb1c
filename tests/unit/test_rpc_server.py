"""server/uwsgi_rpc.answer(): what every --socket answers to a modifier1 173 packet,
replayed against the exchanges recorded with a real uWSGI 2.0.31
(tests/fixtures/uwsgi_rpc/server.json), through the real registry and invocation path."""

from __future__ import annotations

import contextlib
import struct

import pytest

from gateway import rpc
from gateway.protocol import uwsgi_rpc as wire
from gateway.server.uwsgi_rpc import answer

from .protocol.test_uwsgi_rpc import FUNCS, SERVER, unpack


@pytest.fixture(autouse=True)
def peer_table():
    saved = dict(rpc.registry._table)
    rpc.registry.clear()
    for name, f in FUNCS.items():
        rpc.registry.register(name, f)
    yield
    rpc.registry._table.clear()
    rpc.registry._table.update(saved)


#: where we answer differently from uWSGI, on purpose (server/uwsgi_rpc.py docstring)
OURS = {
    "trailing_empty_item": b"".join(wire.encode_reply(FUNCS[b"httpresp"](b"foo", b"bar"), 1)),
    "args_255": wire.encode_error_reply(wire.ERR_BAD_REQUEST),
    "truncated_item": wire.encode_error_reply(wire.ERR_BAD_REQUEST),
    "empty_packet": wire.encode_error_reply(wire.ERR_BAD_REQUEST),
    "unknown_function": wire.encode_error_reply(wire.ERR_UNKNOWN),
    "exception": wire.encode_error_reply(wire.ERR_RAISED),
    "empty_result": b"\xad\x00\x00\x00",
    "none_result": b"\xad\x00\x00\x00",
}


@pytest.mark.parametrize("name", sorted(SERVER))
def test_answers_like_real_uwsgi_except_where_documented(name, expect_log):
    request = unpack(SERVER[name]["request"])
    mod1, size, mod2 = struct.unpack_from("<BHB", request)
    with expect_log("gateway.app", "raised") if name == "exception" else contextlib.nullcontext():
        got = b"".join(answer(mod2, request[4:]))
    assert got == OURS.get(name, unpack(SERVER[name]["reply"]))


def test_failures_in_raw_and_bridge_modes(caplog, expect_log):
    with expect_log("gateway.app", "RPC function 'raises' raised"):
        assert answer(1, wire.encode_request(b"raises")[4:]) == []  # nginx: 502, as uWSGI
    assert answer(1, wire.encode_request(b"nosuchfunc")[4:]) == []
    assert answer(1, b"\x05\x00ab") == []
    bridge = lambda path: b"".join(answer(2, struct.pack("<H", 9) + b"PATH_INFO" + struct.pack("<H", len(path)) + path))  # noqa: E731
    assert bridge(b"/raises").startswith(b"HTTP/1.0 500 Internal Server Error\r\n")  # uWSGI: 404
    assert bridge(b"/empty").startswith(b"HTTP/1.0 404 Not Found\r\n")
    assert answer(2, b"\x00\x00") == []  # a null key: not a vars block
    assert answer(2, b"") == []  # an empty packet: uWSGI's "Empty RPC request. skip." (not a 500)
    assert sum("RPC function" in r.getMessage() and "raised" in r.getMessage() for r in caplog.records) == 2
