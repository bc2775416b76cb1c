"""Connected-state framing: ticks, pass-through packets, bounds, broken messages."""

import struct

import pytest

from gateway.erlang import dist, etf
from gateway.erlang.errors import ErlangProtocolError

A = etf.Atom
PID_A = etf.Pid("a@localhost", 88, 0, 0x6B022227)
PID_PY = etf.Pid("py@localhost", 1, 0, 0x6B022243)

# captured from OTP 25 (erlang.md section 2): {22, <a.88.0>, <py.1.0>} + {i_am_echo, ping}
CAPTURED = bytes.fromhex(
    "7083680361165877"
    "0b" + b"a@localhost".hex() + "00000058" "00000000" "6b022227"
    "58770c" + b"py@localhost".hex() + "00000001" "00000000" "6b022243"
    "8368027709" + b"i_am_echo".hex() + "7704" + b"ping".hex()
)
PACKET = struct.pack(">I", len(CAPTURED)) + CAPTURED


def test_captured_packet_decodes():
    (ev,) = dist.DistReader().receive_data(PACKET)
    assert ev == dist.Message((22, PID_A, PID_PY), (A("i_am_echo"), A("ping")))
    assert ev.op == dist.SEND_SENDER


def test_encode_matches_capture():
    assert dist.encode_message((22, PID_A, PID_PY), (A("i_am_echo"), A("ping"))) == PACKET
    ctrl = etf.encode((22, PID_A, PID_PY))
    assert dist.encode_prefixed(ctrl, (A("i_am_echo"), A("ping"))) == PACKET


def test_ticks_and_messages_whole_bytewise_and_trailing():
    stream = dist.TICK_BYTES + PACKET + dist.TICK_BYTES + PACKET
    whole = dist.DistReader().receive_data(stream)
    assert whole == [dist.TICK, whole[1], dist.TICK, whole[1]]
    r = dist.DistReader()
    bytewise = []
    for i in range(len(stream)):
        bytewise += r.receive_data(stream[i : i + 1])
    assert bytewise == whole
    r = dist.DistReader()
    assert r.receive_data(stream + PACKET[:9]) == whole
    assert r.buffered == 9
    assert r.receive_data(PACKET[9:]) == [whole[1]]
    assert r.buffered == 0


def test_control_without_payload():
    data = dist.encode_message((dist.LINK, PID_A, PID_PY))
    assert dist.DistReader().receive_data(data) == [dist.Message((1, PID_A, PID_PY))]


def test_oversized_packet_refused_before_buffering():
    r = dist.DistReader(max_packet=1000)
    with pytest.raises(ErlangProtocolError, match="1001-byte packet"):
        r.receive_data(struct.pack(">I", 1001) + b"p")
    assert r.buffered == 0


def test_non_pass_through_refused():
    body = bytes([131, 68, 0])  # a distribution header: not negotiated
    with pytest.raises(ErlangProtocolError, match="type 131"):
        dist.DistReader().receive_data(struct.pack(">I", len(body)) + body)


def test_broken_payload_keeps_control_and_stream():
    ctrl = etf.encode((22, PID_A, PID_PY))
    body = b"p" + ctrl + b"\x83\x68\x05"  # truncated tuple
    stream = struct.pack(">I", len(body)) + body + PACKET
    bad, good = dist.DistReader().receive_data(stream)
    assert isinstance(bad, dist.BadMessage)
    assert bad.control == (22, PID_A, PID_PY)
    assert isinstance(good, dist.Message)


@pytest.mark.parametrize(
    "body, match",
    [
        (b"p\x83\xff", "undecodable control"),
        (b"p" + etf.encode([1, 2]), "not a tuple"),
        (b"p" + etf.encode((22, PID_A, PID_PY)), "without its message"),
        (b"p" + etf.encode((1, PID_A, PID_PY)) + etf.encode(1) + b"xx", "trailing"),
    ],
)
def test_bad_messages(body, match):
    (ev,) = dist.DistReader().receive_data(struct.pack(">I", len(body)) + body)
    assert isinstance(ev, dist.BadMessage)
    assert match in ev.reason


def test_atom_limit_is_a_bad_message():
    table = etf.AtomTable(max_atoms=3)
    r = dist.DistReader(atoms=table)
    body = b"p" + etf.encode((2, A(""), PID_PY)) + etf.encode([A("x%d" % i) for i in range(10)])
    events = r.receive_data(struct.pack(">I", len(body)) + body)
    assert isinstance(events[0], dist.BadMessage)
    assert len(table) <= 3


def test_trace_token_table_maps_to_plain_ops():
    assert dist.TRACE_TOKEN_OPS[dist.REG_SEND_TT] == dist.REG_SEND
    assert dist.TRACE_TOKEN_OPS[dist.SEND_SENDER_TT] == dist.SEND_SENDER
    assert dist.TRACE_TOKEN_OPS[dist.SPAWN_REQUEST_TT] == dist.SPAWN_REQUEST


def test_hand_spliced_packets_equal_the_generic_encoding():
    from gateway.erlang import dist as d
    from gateway.erlang import etf as e

    atom = e.Atom
    frm = e.Pid(atom("erl@localhost"), 77, 0, 3)
    pid = e.Pid(atom("py@localhost"), 5, 1, 0xFFFFFFFF)
    for ids in [(1, 2, 3), (1, 2, 3, 4, 5), (7,)]:
        ref = e.Reference(atom("erl@localhost"), 3, ids)
        for flags in (0, 1, 2, 3):
            assert d.encode_spawn_reply(ref, frm, flags, pid) == d.encode_message((d.SPAWN_REPLY, ref, frm, flags, pid))
        for reason in [atom("normal"), (ref, atom("return"), b"ok"), (ref, atom("error"), (atom("python"), "X", "y"), [])]:
            assert d.encode_payload_monitor_exit(pid, frm, ref, reason) == d.encode_message(
                (d.PAYLOAD_MONITOR_P_EXIT, pid, frm, ref), reason
            )
        assert e.encode_body(ref) == e.encode(ref)[1:]
    assert e.encode_body(pid) == e.encode(pid)[1:]
