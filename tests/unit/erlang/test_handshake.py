"""The handshake state machine, both roles, with an injected challenge and cookie.

Replays transcripts recorded from real OTP 25 and 28 nodes
(``tests/fixtures/dist/record.py``), then covers what a real node rarely sends:
the old ``n`` form, missing flags, refusals, truncation, absurd lengths.
"""

import glob
import json
import os
import struct

import pytest

from gateway.erlang import flags
from gateway.erlang import handshake as hs
from gateway.erlang.errors import (
    AuthenticationFailed,
    ConnectionRejected,
    ErlangProtocolError,
    NotAllowed,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "dist")
TRANSCRIPTS = sorted(glob.glob(os.path.join(FIXTURES, "otp*.json")))


def pkt(payload: bytes) -> bytes:
    return struct.pack(">H", len(payload)) + payload


def machine(role, name="py@localhost", cookie="C", challenge=7, creation=0x55, **kw):
    return hs.Handshake(role, name, cookie, flags.HIDDEN, creation, challenge_source=lambda: challenge, **kw)


def pair(cookie_a="C", cookie_b="C", **kw_b):
    a = machine(hs.Role.INITIATOR, "a@h", cookie_a, 11, 1, expected_peer="b@h")
    b = machine(hs.Role.ACCEPTOR, "b@h", cookie_b, 22, 2, **kw_b)
    return a, b


def run(a, b, feed=lambda m, data: m.receive_data(data)):
    """Drive a against b; return the events of each side."""
    ev_a, ev_b = [], []
    to_b = a.initiate()
    while to_b:
        to_a, e = feed(b, to_b)
        ev_b += e
        if not to_a:
            break
        to_b, e = feed(a, to_a)
        ev_a += e
    return ev_a, ev_b


# ---------------------------------------------------------------- recorded transcripts


def test_transcripts_present():
    names = {os.path.basename(p) for p in TRANSCRIPTS}
    for rel in ("25", "28"):
        for case in ("initiator", "acceptor", "initiator_wrong_cookie", "acceptor_wrong_cookie"):
            assert "otp%s_%s.json" % (rel, case) in names


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=os.path.basename)
@pytest.mark.parametrize("chunking", ["whole", "bytewise"])
def test_replay_transcript(path, chunking):
    with open(path) as f:
        t = json.load(f)
    role = hs.Role.INITIATOR if t["role"] == "initiator" else hs.Role.ACCEPTOR
    m = hs.Handshake(
        role, t["our_name"], t["cookie"], t["our_flags"], t["our_creation"],
        expected_peer=t["peer"] if role is hs.Role.INITIATOR else None,
        challenge_source=lambda: t["our_challenge"],
    )
    expected_out = b"".join(bytes.fromhex(h) for d, h in t["packets"] if d == "out")
    out = m.initiate() if role is hs.Role.INITIATOR else b""
    events = []
    ending = None
    for d, h in t["packets"]:
        if d != "in":
            continue
        data = bytes.fromhex(h)
        chunks = [data] if chunking == "whole" or not data else [data[i : i + 1] for i in range(len(data))]
        try:
            for c in chunks:
                o, e = m.receive_data(c)
                out += o
                events += e
        except AuthenticationFailed as e:
            ending = "AuthenticationFailed: %s" % e
            break
    if events:
        ending = type(events[0]).__name__
        assert events[0].peer_name == t["peer"]
        assert flags.missing_required(events[0].peer_flags, flags.MANDATORY_26) == 0
    assert out == expected_out
    assert ending == t["ending"]


def test_real_otp_challenge_flags():
    with open(os.path.join(FIXTURES, "otp25_initiator.json")) as f:
        t = json.load(f)
    challenge = bytes.fromhex([h for d, h in t["packets"] if d == "in"][1])
    assert challenge[2:3] == b"N"
    assert struct.unpack(">Q", challenge[3:11])[0] == 0xD07DF7FBD


# ---------------------------------------------------------------- both roles against each other


def test_pair_establishes_both_ways():
    a, b = pair()
    ev_a, ev_b = run(a, b)
    assert ev_a == [hs.Established("b@h", flags.HIDDEN, 2)]
    assert ev_b == [hs.Established("a@h", flags.HIDDEN, 1)]
    assert a.state is b.state is hs.State.ESTABLISHED


def test_pair_bytewise_with_trailing_data():
    a, b = pair()

    def bytewise(m, data):
        out, events = b"", []
        for i in range(len(data)):
            o, e = m.receive_data(data[i : i + 1])
            out += o
            events += e
        return out, events

    ev_a, ev_b = run(a, b, bytewise)
    assert len(ev_a) == len(ev_b) == 1
    # bytes after the last handshake packet belong to the connected phase
    a2, b2 = pair()
    to_b = a2.initiate()
    to_a, _ = b2.receive_data(to_b)
    to_b, _ = a2.receive_data(to_a)
    ack, ev = b2.receive_data(to_b)
    out, ev = a2.receive_data(ack + b"\0\0\0\0tail")
    assert isinstance(ev[0], hs.Established)
    assert a2.leftover == b"\0\0\0\0tail"


def test_digest_is_md5_of_cookie_and_decimal_challenge():
    import hashlib

    assert hs.digest(4294967295, b"abc") == hashlib.md5(b"abc4294967295").digest()
    assert hs.digest(-1, b"abc") == hs.digest(0xFFFFFFFF, b"abc")


@pytest.mark.parametrize("bad_side", ["initiator", "acceptor"])
def test_wrong_cookie(bad_side):
    a, b = pair(cookie_a="X" if bad_side == "initiator" else "C", cookie_b="C" if bad_side == "initiator" else "X")
    to_b = a.initiate()
    to_a, _ = b.receive_data(to_b)
    to_b, _ = a.receive_data(to_a)
    with pytest.raises(AuthenticationFailed):
        b.receive_data(to_b)  # the acceptor checks the initiator's digest first
    assert b.state is hs.State.ERROR
    # as Erlang does, the acceptor closes without an ack: the initiator sees EOF
    with pytest.raises(AuthenticationFailed):
        a.receive_data(b"")


def test_initiator_checks_the_ack_digest():
    a, b = pair()
    to_b = a.initiate()
    to_a, _ = b.receive_data(to_b)
    a.receive_data(to_a)
    with pytest.raises(AuthenticationFailed):
        a.receive_data(pkt(b"a" + b"\0" * 16))


def test_acceptor_refuses_missing_mandatory_flags():
    b = machine(hs.Role.ACCEPTOR)
    name = b"x@h"
    out, ev = b.receive_data(pkt(b"N" + struct.pack(">QIH", flags.HIDDEN & ~flags.MAP_TAG & ~flags.MANDATORY_25_DIGEST, 1, 3) + name))
    assert out == pkt(b"snot_allowed")
    assert ev[0].status == "not_allowed" and "MAP_TAG" in ev[0].reason
    assert b.state is hs.State.CLOSED


def test_acceptor_refuses_otp26_peer_needs_are_ours_only():
    # OTP 26+ requirements are checked by the *peer*; we accept an OTP-25-only set
    b = machine(hs.Role.ACCEPTOR)
    out, ev = b.receive_data(pkt(b"N" + struct.pack(">QIH", flags.MANDATORY_25_DIGEST | flags.HANDSHAKE_23, 1, 3) + b"x@h"))
    assert out.startswith(pkt(b"sok"))
    assert ev == []


def test_initiator_refuses_peer_without_mandatory_flags():
    a = machine(hs.Role.INITIATOR, expected_peer="b@h")
    a.initiate()
    a.receive_data(pkt(b"sok"))
    with pytest.raises(NotAllowed):
        a.receive_data(pkt(b"N" + struct.pack(">QIIH", flags.HANDSHAKE_23, 5, 1, 3) + b"b@h"))


def test_initiator_checks_peer_name():
    a = machine(hs.Role.INITIATOR, expected_peer="b@h")
    a.initiate()
    a.receive_data(pkt(b"sok"))
    with pytest.raises(ErlangProtocolError, match="dialled b@h"):
        a.receive_data(pkt(b"N" + struct.pack(">QIIH", flags.HIDDEN, 5, 1, 3) + b"c@h"))


@pytest.mark.parametrize(
    "status, exc",
    [("nok", ConnectionRejected), ("not_allowed", NotAllowed), ("weird", ConnectionRejected)],
)
def test_initiator_refused(status, exc):
    a = machine(hs.Role.INITIATOR, expected_peer="b@h")
    a.initiate()
    with pytest.raises(exc) as e:
        a.receive_data(pkt(b"s" + status.encode()))
    assert e.value.status == status


def test_initiator_answers_alive_true():
    a = machine(hs.Role.INITIATOR, expected_peer="b@h")
    a.initiate()
    out, ev = a.receive_data(pkt(b"salive"))
    assert out == pkt(b"strue")
    assert a.state is hs.State.AWAIT_CHALLENGE


def test_acceptor_alive_then_true_or_false():
    b = machine(hs.Role.ACCEPTOR, status_policy=lambda n: "alive")
    name_pkt = pkt(b"N" + struct.pack(">QIH", flags.HIDDEN, 1, 3) + b"x@h")
    out, _ = b.receive_data(name_pkt)
    assert out == pkt(b"salive")
    out, _ = b.receive_data(pkt(b"strue"))
    assert out[2:3] == b"N"  # the challenge follows
    b2 = machine(hs.Role.ACCEPTOR, status_policy=lambda n: "alive")
    b2.receive_data(name_pkt)
    out, ev = b2.receive_data(pkt(b"sfalse"))
    assert out == b"" and ev[0].status == "alive"


def test_acceptor_policy_nok():
    b = machine(hs.Role.ACCEPTOR, status_policy=lambda n: "nok")
    out, ev = b.receive_data(pkt(b"N" + struct.pack(">QIH", flags.HIDDEN, 1, 3) + b"x@h"))
    assert out == pkt(b"snok") and ev[0].status == "nok"


def test_simultaneous_connect_rule():
    assert hs.simultaneous_status("b@h", "a@h") == "nok"  # we are greater: keep ours
    assert hs.simultaneous_status("a@h", "b@h") == "ok_simultaneous"


def test_acceptor_old_n_form_with_complement():
    b = machine(hs.Role.ACCEPTOR, challenge=99)
    low = flags.HIDDEN & 0xFFFFFFFF
    out, _ = b.receive_data(pkt(b"n" + struct.pack(">HI", 5, low) + b"old@h"))
    assert out.startswith(pkt(b"sok"))
    challenge = out[len(pkt(b"sok")) :]
    assert challenge[2:3] == b"N"  # a version-6 challenge since the peer has HANDSHAKE_23
    assert b.state is hs.State.AWAIT_COMPLEMENT
    b.receive_data(pkt(b"c" + struct.pack(">II", flags.HIDDEN >> 32, 1234)))
    out, ev = b.receive_data(pkt(b"r" + struct.pack(">I", 5) + hs.digest(99, b"C")))
    assert out == pkt(b"a" + hs.digest(5, b"C"))
    assert ev == [hs.Established("old@h", flags.HIDDEN, 1234)]


def test_acceptor_old_n_wrong_version():
    b = machine(hs.Role.ACCEPTOR)
    with pytest.raises(ErlangProtocolError, match="version 4"):
        b.receive_data(pkt(b"n" + struct.pack(">HI", 4, flags.HIDDEN & 0xFFFFFFFF) + b"old@h"))


def test_acceptor_ignores_trailing_bytes_in_name():
    b = machine(hs.Role.ACCEPTOR)
    out, _ = b.receive_data(pkt(b"N" + struct.pack(">QIH", flags.HIDDEN, 1, 3) + b"x@hEXTRA"))
    assert out.startswith(pkt(b"sok"))
    assert b.peer_name == "x@h"


@pytest.mark.parametrize(
    "data, match",
    [
        (pkt(b"X"), "expected send_name"),
        (pkt(b"N\0\0"), "too short"),
        (pkt(b"N" + struct.pack(">QIH", flags.HIDDEN, 1, 500) + b"x@h"), "overruns"),
        (b"\0\0", "empty handshake packet"),
        (b"\xff\xff", "65535 bytes"),
        (pkt(b"N" + struct.pack(">QIH", flags.HIDDEN, 1, 2) + b"\xff\xfe"), "UTF-8"),
    ],
)
def test_acceptor_malformed(data, match):
    b = machine(hs.Role.ACCEPTOR)
    with pytest.raises(ErlangProtocolError, match=match):
        b.receive_data(data)
    assert b.state is hs.State.ERROR
    with pytest.raises(RuntimeError):
        b.receive_data(b"more")


def test_truncated_input_waits_then_eof_is_an_error():
    b = machine(hs.Role.ACCEPTOR)
    full = pkt(b"N" + struct.pack(">QIH", flags.HIDDEN, 1, 3) + b"x@h")
    assert b.receive_data(full[:5]) == (b"", [])
    with pytest.raises(ErlangProtocolError, match="closed"):
        b.receive_data(b"")


def test_initiator_eof_before_status_is_a_rejection():
    a = machine(hs.Role.INITIATOR, expected_peer="b@h")
    a.initiate()
    with pytest.raises(ConnectionRejected):
        a.receive_data(b"")


def test_send_name_bytes():
    a = machine(hs.Role.INITIATOR, name="py@localhost", creation=0x6B021F41)
    data = a.initiate()
    assert data == pkt(b"N" + struct.pack(">QIH", flags.HIDDEN, 0x6B021F41, 12) + b"py@localhost")
    with pytest.raises(RuntimeError):
        a.initiate()
