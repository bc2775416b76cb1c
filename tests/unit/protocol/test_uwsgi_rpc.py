"""The sans-IO uWSGI RPC codec against bytes captured from a real uWSGI 2.0.31.

``tests/fixtures/uwsgi_rpc/server.json``: request packets sent to ``uwsgi --socket``
running ``tests/apps/rpc_peer.py`` and uWSGI's exact replies; ``client.json``: what
``uwsgi.rpc()`` in a real node sent, and the replies it understood
(``record.py`` there re-records both).  Replies are parsed whole, byte by byte and in
seeded random splits; hypothesis fuzzes the array decoder and the reply parser.
"""

from __future__ import annotations

import json
import os
import random
import struct
import sys
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol import uwsgi_rpc as rpc
from gateway.protocol.errors import RemoteProtocolError

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "uwsgi_rpc")


def unpack(parts):
    return b"".join(bytes([p[0]]) * p[1] if isinstance(p, list) else bytes.fromhex(p) for p in parts)


def load(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return {c["name"]: c for c in json.load(f)["cases"]}


SERVER = load("server.json")
CLIENT = load("client.json")


def peer_functions():
    """The functions of tests/apps/rpc_peer.py, loaded with a stand-in ``uwsgi`` module."""
    table = {}
    fake = types.ModuleType("uwsgi")
    fake.register_rpc = lambda name, f, argc=0: table.__setitem__(name.encode(), f)
    saved = sys.modules.get("uwsgi")
    sys.modules["uwsgi"] = fake
    try:
        code = open(os.path.join(REPO, "tests", "apps", "rpc_peer.py")).read()
        exec(compile(code, "rpc_peer.py", "exec"), {"__name__": "rpc_peer"})
    finally:
        if saved is None:
            del sys.modules["uwsgi"]
        else:
            sys.modules["uwsgi"] = saved
    return table


FUNCS = peer_functions()


def split_packet(data):
    mod1, size, mod2 = struct.unpack_from("<BHB", data)
    assert mod1 == rpc.MODIFIER1 and len(data) == 4 + size
    return mod2, data[4:]


def serve(request: bytes) -> bytes:
    """What a server built on this codec answers (the way server/uwsgi_rpc.py does)."""
    mod2, payload = split_packet(request)
    if mod2 == rpc.MOD2_HTTP:
        items = rpc.decode_array(payload, max_items=1000)
        env = dict(zip(items[0::2], items[1::2]))
        proto = env.get(b"SERVER_PROTOCOL")
        call = rpc.http_bridge_call(env.get(b"PATH_INFO", b""))
        if call is None:
            return rpc.http_bridge_error(500, proto)
        f = FUNCS.get(call[0])
        result = f(*call[1]) if f else None
        if not result:
            return rpc.http_bridge_error(404, proto)
        return b"".join(rpc.http_bridge_reply(result, proto, env.get(b"HTTP_ACCEPT")))
    try:
        name, args = rpc.decode_request(payload)
    except rpc.RPCWireError:
        return b"" if mod2 else rpc.encode_error_reply(rpc.ERR_BAD_REQUEST)
    f = FUNCS.get(name)
    if f is None:
        return b"" if mod2 else rpc.encode_error_reply(rpc.ERR_UNKNOWN)
    try:
        result = f(*args)
    except Exception:
        return b"" if mod2 else rpc.encode_error_reply(rpc.ERR_RAISED)
    if not result:
        return b"" if mod2 else rpc.encode_reply(b"")[0]
    return b"".join(rpc.encode_reply(result, mod2))


#: Cases where we answer differently from uWSGI on purpose (module docstring of uwsgi_rpc).
DIFFERENT = {
    "trailing_empty_item": b"".join(rpc.encode_reply(FUNCS[b"httpresp"](b"foo", b"bar"), 1)),
    "args_255": rpc.encode_error_reply(rpc.ERR_BAD_REQUEST),
    "unknown_function": rpc.encode_error_reply(rpc.ERR_UNKNOWN),
    "exception": rpc.encode_error_reply(rpc.ERR_RAISED),
    "empty_result": b"\xad\x00\x00\x00",
    "none_result": b"\xad\x00\x00\x00",
    "truncated_item": rpc.encode_error_reply(rpc.ERR_BAD_REQUEST),
    "empty_packet": rpc.encode_error_reply(rpc.ERR_BAD_REQUEST),
}


@pytest.mark.parametrize("name", sorted(SERVER))
def test_server_answers_as_real_uwsgi_did(name):
    case = SERVER[name]
    expected = DIFFERENT.get(name, unpack(case["reply"]))
    assert serve(unpack(case["request"])) == expected


def test_the_documented_differences_are_real_differences():
    for name in DIFFERENT:
        assert unpack(SERVER[name]["reply"]) != DIFFERENT[name], name
    # uWSGI closed without a byte on every failure; our error replies are empty packets,
    # which a uWSGI client turns into None (client_zero_reply below).
    for name in ("unknown_function", "exception", "empty_result", "none_result"):
        assert unpack(SERVER[name]["reply"]) == b""


def test_section_1_8_capture_decodes():
    mod2, payload = split_packet(bytes.fromhex("ad1100000500" + b"hello".hex() + "0300" + b"foo".hex() + "0300" + b"bar".hex()))
    assert mod2 == 0 and rpc.decode_request(payload) == (b"hello", [b"foo", b"bar"])


@pytest.mark.parametrize("name", sorted(CLIENT))
def test_we_send_what_a_real_uwsgi_client_sends(name):
    case = CLIENT[name]
    sent = unpack(case["request"])
    mod2, payload = split_packet(sent)
    assert mod2 == 0
    func = rpc.decode_array(payload)[0]
    # uWSGI sends empty arguments as zero-length items; so do we
    raw_args = {"client_hello": [b"foo", b"bar"], "client_empty_arg": [b"", b"x"]}.get(name, [])
    assert rpc.encode_request(func, raw_args) == sent
    assert rpc.encode_request(func.decode(), [a.decode() for a in raw_args]) == sent


def parse_reply(data: bytes, splits):
    p = rpc.ReplyParser()
    pos = 0
    out = None
    for n in splits:
        out = p.receive_data(data[pos:pos + n])
        pos += n
        if out is not None:
            return out
    assert pos == len(data)
    return p.receive_data(b"")


def all_splits(data: bytes, seed: int):
    yield [len(data)] if data else []
    if len(data) < 5000:
        yield [1] * len(data)
    rng = random.Random(seed)
    for _ in range(5):
        cuts, left = [], len(data)
        while left:
            n = min(left, rng.randint(1, max(1, len(data) // 3)))
            cuts.append(n)
            left -= n
        yield cuts


@pytest.mark.parametrize("name", sorted(CLIENT))
def test_reply_parser_reads_what_a_real_uwsgi_client_understood(name):
    case = CLIENT[name]
    reply = unpack(case["reply"])
    expected = {
        "client_hello": ("ok", b"Hello foo,bar"),
        "client_empty_arg": ("ok", b"|x"),
        "client_big_reply": ("ok", b"y" * 70000),
        "client_zero_reply": ("ok", b""),
        "client_no_reply": ("closed", None),
    }[name]
    for splits in all_splits(reply, 1):
        assert parse_reply(reply, splits) == expected
    # and what uWSGI's client made of it
    if expected[1]:
        assert case["result"].startswith(repr(expected[1])[:30])
    else:
        assert case["result"] == "None"


@pytest.mark.parametrize("name", ["hello_mod2_0", "big_mod2_0", "exactly_65535_mod2_0", "no_args"])
def test_reply_parser_reads_real_uwsgi_server_replies_in_any_split(name):
    reply = unpack(SERVER[name]["reply"])
    expected = b"".join(rpc.encode_reply(parse_reply(reply, [len(reply)])[1]))
    assert expected == reply
    for splits in all_splits(reply, 7):
        assert parse_reply(reply, splits)[0] == "ok"


def test_error_replies_parse_to_their_code():
    for code in rpc.REPLY_ERRORS:
        data = rpc.encode_error_reply(code)
        for splits in all_splits(data, code):
            assert parse_reply(data, splits) == ("error", code)


def test_eof_inside_a_reply_is_an_error():
    for data in (b"\xad", b"\xad\x05\x00\x00abc", b"\xad\x17\x00\x05\x0e\x00CONTENT_LENGTH\x05\x0070000xx"):
        p = rpc.ReplyParser()
        assert p.receive_data(data) is None
        with pytest.raises(rpc.BadReply):
            p.receive_data(b"")


def test_large_reply_bounds():
    big = b"".join(rpc.encode_reply(b"z" * 70000))
    with pytest.raises(rpc.ReplyTooLarge):
        rpc.ReplyParser(max_result=69999).receive_data(big)
    with pytest.raises(rpc.ReplyTooLarge):
        rpc.ReplyParser(max_result=10).receive_data(b"\xad\x20\x00\x00")
    for bad in (b"\x0e\x00CONTENT_LENGTH\x02\x00-1", b"\x0e\x00CONTENT_LENGHT\x01\x001", b"\x03\x00abc"):
        with pytest.raises(rpc.BadReply):
            rpc.ReplyParser().receive_data(struct.pack("<BHB", 173, len(bad), 5) + bad)
    with pytest.raises(rpc.BadReply):
        rpc.ReplyParser().receive_data(b"\xad\x00\x00\x07")


def test_request_limits_are_clear_errors():
    assert len(rpc.decode_request(rpc.encode_request(b"f", [b"a"] * 254)[4:])[1]) == 254
    with pytest.raises(rpc.TooManyArguments, match="255 arguments"):
        rpc.encode_request(b"f", [b"a"] * 255)
    with pytest.raises(rpc.RequestTooLarge, match="65535"):
        rpc.encode_request(b"f", [b"a" * 65532])
    rpc.encode_request(b"f", [b"a" * (65535 - 7)])  # exactly fits: 2+1 + 2+65528 + ... = 65535
    with pytest.raises(TypeError):
        rpc.encode_request(b"f", [3])
    with pytest.raises(ValueError):
        rpc.encode_request(b"", [])
    with pytest.raises(rpc.TooManyItems):
        rpc.decode_array(rpc.encode_array([b"a"] * 256))
    with pytest.raises(rpc.EmptyRequest):
        rpc.decode_request(b"")
    with pytest.raises(rpc.EmptyRequest):
        rpc.decode_request(b"\x00\x00\x00\x00")


def test_array_edge_rules():
    assert rpc.decode_array(b"\x04\x00echo\x00\x00\x01\x00x") == [b"echo", b"x"]
    assert rpc.decode_array(b"\x01\x00a\x00\x00") == [b"a"]  # trailing empty item: skipped, not fatal
    with pytest.raises(rpc.ArrayTruncated):
        rpc.decode_array(b"\x01\x00a\x00")
    with pytest.raises(rpc.ArrayTruncated):
        rpc.decode_array(b"\x05\x00hel")


def test_http_bridge_paths():
    assert rpc.http_bridge_call(b"/hello/foo/bar") == (b"hello", [b"foo", b"bar"])
    assert rpc.http_bridge_call(b"hello") == (b"hello", [])
    assert rpc.http_bridge_call(b"//") is None
    assert rpc.http_bridge_reply(b"x", None, b"text/html\r\nX: y")[0].startswith(
        b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Type: application/binary\r\n")


# ------------------------------------------------------------------------------ fuzzing

FUZZ = settings(max_examples=int(os.environ.get("GATEWAY_HYPOTHESIS_EXAMPLES", "400")), deadline=None)
items_st = st.lists(st.binary(min_size=0, max_size=300), max_size=40)


@FUZZ
@given(items_st)
def test_fuzz_array_round_trip(items):
    assert rpc.decode_array(rpc.encode_array(items), max_items=1000) == [i for i in items if i]


@FUZZ
@given(st.binary(max_size=600))
def test_fuzz_decode_array_raises_only_wire_errors(data):
    try:
        items = rpc.decode_array(data)
    except RemoteProtocolError:
        return
    assert sum(len(i) for i in items) <= len(data)


@FUZZ
@given(st.binary(min_size=1, max_size=8), st.lists(st.binary(max_size=50), max_size=10))
def test_fuzz_request_round_trip(name, args):
    packet = rpc.encode_request(name, args)
    mod2, payload = split_packet(packet)
    assert mod2 == 0
    assert rpc.decode_request(payload) == (name, [a for a in args if a])


@FUZZ
@given(st.sampled_from([0, 1, 2, 100, 65535, 65536, 70000]), st.binary(max_size=8), st.randoms(use_true_random=False))
def test_fuzz_reply_round_trip_in_random_splits(size, filler, rnd):
    result = (filler or b"r") * (size // max(1, len(filler or b"r"))) if size else b""
    data = b"".join(rpc.encode_reply(result))
    cuts, left = [], len(data)
    while left:
        n = min(left, rnd.randint(1, 20000))
        cuts.append(n)
        left -= n
    assert parse_reply(data, cuts) == ("ok", result)


@FUZZ
@given(st.binary(max_size=200), st.randoms(use_true_random=False))
def test_fuzz_reply_parser_raises_only_wire_errors(data, rnd):
    p = rpc.ReplyParser(max_result=1000)
    try:
        pos = 0
        while pos < len(data):
            n = rnd.randint(1, 8)
            if p.receive_data(data[pos:pos + n]) is not None:
                return
            pos += n
        out = p.receive_data(b"")
        assert out is not None
    except RemoteProtocolError:
        pass


MUTATIONS = int(os.environ.get("GATEWAY_FUZZ_ITERATIONS", "20000")) // 4


def test_fuzz_mutated_captured_requests_and_replies():
    """Mutations of every captured packet: requests decode or raise a wire error, and
    replies parse (whole and in random splits, the same outcome) or raise one."""
    rng = random.Random(int(os.environ.get("GATEWAY_FUZZ_SEED", "20240611")))
    corpus = [unpack(c["request"]) for c in SERVER.values()] + [unpack(c["reply"]) for c in CLIENT.values()]
    corpus = [c for c in corpus if len(c) < 3000]
    for _ in range(MUTATIONS):
        buf = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(buf))
            op = rng.randrange(4)
            if op == 0 and buf:
                buf[min(at, len(buf) - 1)] = rng.choice([0, 1, 2, 5, 0xff, rng.randrange(256)])
            elif op == 1:
                del buf[at:at + rng.randint(1, 4)]
            elif op == 2:
                buf[at:at] = rng.choice([b"\x00\x00", b"\xff\xff", b"\x01\x00a", b"\x00"])
            else:
                del buf[at:]
        data = bytes(buf)
        try:
            rpc.decode_request(data[4:])
        except RemoteProtocolError:
            pass
        outcomes = set()
        for splits in ([len(data)], [rng.randint(1, 7) for _ in range(len(data))]):
            try:
                outcomes.add(parse_reply_lenient(data, splits))
            except RemoteProtocolError as e:
                outcomes.add(type(e))
        assert len(outcomes) == 1, (data, outcomes)


def parse_reply_lenient(data, splits):
    p = rpc.ReplyParser(max_result=5000)
    pos = 0
    for n in splits:
        if pos >= len(data):
            break
        out = p.receive_data(data[pos:pos + n])
        pos += n
        if out is not None:
            return out
    return p.receive_data(b"")
