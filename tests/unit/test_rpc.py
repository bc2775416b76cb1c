"""gateway.rpc: the registry, the one invocation path, result rules, addresses, the
blocking client against a raw-socket peer of this test, and the IOLoop guard."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from gateway import rpc
from gateway.protocol import uwsgi_rpc as wire


@pytest.fixture
def table():
    saved = dict(rpc.registry._table)
    rpc.registry.clear()
    yield rpc.registry
    rpc.registry._table.clear()
    rpc.registry._table.update(saved)


def test_invoke_results_and_failures(table, caplog, expect_log):
    table.register("echo", lambda *a: b"|".join(a))
    table.register(b"text", lambda: "h\u00e9")
    table.register("none", lambda: None)
    table.register("empty", lambda: bytearray())
    table.register("int", lambda: 3)
    table.register("boom", lambda: 1 / 0)
    assert rpc.invoke(b"echo", (b"a", b"b")) == b"a|b"
    assert rpc.invoke("text", ()) == "h\u00e9".encode()
    assert rpc.invoke("none", ()) is None and rpc.invoke("empty", ()) is None
    with pytest.raises(rpc.RPCUnknownFunction):
        rpc.invoke("missing", ())
    with pytest.raises(rpc.RPCFunctionError, match="returned int"):
        rpc.invoke("int", ())
    with pytest.raises(rpc.RPCFunctionError, match="ZeroDivisionError") as info, \
            expect_log("gateway.app", "RPC function 'boom' raised"):
        rpc.invoke("boom", ())
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert sum("RPC function 'boom' raised" in r.getMessage() for r in caplog.records) == 1
    # the local forms of uwsgi.rpc go the same way
    assert rpc.call(None, "echo", b"x") == rpc.call("", b"echo", b"x") == b"x"


def test_none_on_failure(table, monkeypatch, expect_log):
    table.register("boom", lambda: 1 / 0)
    monkeypatch.setattr(rpc.settings, "none_on_failure", True)
    with expect_log("gateway.app", "RPC function 'boom' raised"):
        assert rpc.uwsgi_call("boom") is None and rpc.uwsgi_call("missing") is None
    assert rpc.uwsgi_rpc("127.0.0.1:1", "x") is None
    monkeypatch.setattr(rpc.settings, "none_on_failure", False)
    with pytest.raises(rpc.RPCConnectionRefused):
        rpc.uwsgi_rpc("127.0.0.1:1", "x")


def test_node_addresses():
    assert rpc.node_address("127.0.0.1:3031")[:2] == (socket.AF_INET, ("127.0.0.1", 3031))
    assert rpc.node_address(b":3032")[1] == ("127.0.0.1", 3032)
    assert rpc.node_address("[::1]:3033")[0] == socket.AF_INET6
    assert rpc.node_address("/tmp/x.sock")[:2] == (socket.AF_UNIX, "/tmp/x.sock")
    assert rpc.node_address("@abstract")[1] == "\0abstract"
    with pytest.raises(ValueError):
        rpc.node_address("host:port")


def one_shot_peer(reply: bytes):
    """A raw-socket peer that reads one request and answers ``reply`` (then closes)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = {}

    def run():
        c, _ = srv.accept()
        data = b""
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[1:3], "little"):
            data += c.recv(65536)
        got["request"] = data
        c.sendall(reply)
        c.close()
        srv.close()

    threading.Thread(target=run, daemon=True).start()
    return "127.0.0.1:%d" % srv.getsockname()[1], got


@pytest.mark.parametrize("reply, outcome", [
    (b"\xad\x02\x00\x00ok", b"ok"),
    (b"\xad\x00\x00\x00", None),
    (wire.encode_error_reply(wire.ERR_UNKNOWN), rpc.RPCUnknownFunction),
    (wire.encode_error_reply(wire.ERR_RAISED), rpc.RPCFunctionError),
    (wire.encode_error_reply(wire.ERR_BAD_REQUEST), rpc.RPCProtocolError),
    (b"", rpc.RPCNoReply),
    (b"\xad\x09\x00\x00short", rpc.RPCProtocolError),
    (b"HTTP/1.1 200 OK\r\n\r\n", rpc.RPCProtocolError),
])
def test_blocking_client_outcomes(reply, outcome):
    node, got = one_shot_peer(reply)
    if isinstance(outcome, type):
        with pytest.raises(outcome):
            rpc.call(node, "f", b"a", timeout=5)
    else:
        assert rpc.call(node, "f", "a", timeout=5) == outcome
    assert got["request"] == wire.encode_request(b"f", [b"a"])


def test_call_async_and_the_ioloop_guard():
    node, _ = one_shot_peer(b"\xad\x03\x00\x00yes")

    async def main():
        with pytest.raises(rpc.RPCWouldBlock, match="call_async"):
            rpc.call(node, "f")
        return await rpc.call_async(node, "f", timeout=5)

    assert asyncio.run(main()) == b"yes"


def test_timeouts_in_a_thread_and_in_a_coroutine():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)  # connects succeed, nobody ever answers
    node = "127.0.0.1:%d" % silent.getsockname()[1]
    try:
        with pytest.raises(rpc.RPCTimeout, match="after 0.2s waiting for the reply"):
            rpc.call(node, "f", timeout=0.2)

        async def main():
            with pytest.raises(rpc.RPCTimeout, match="after 0.2s waiting for the reply"):
                await rpc.call_async(node, "f", timeout=0.2)

        asyncio.run(main())
    finally:
        silent.close()
