"""RFC 6455 conformance of the websocket server: Autobahn|Testsuite's case families, rewritten.

The Autobahn fuzzing client is not installable here (Python 2), so these cases are
written from RFC 6455 following its families and numbering where one applies:
1 framing, 2 pings/pongs, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8
(valid, invalid, fail-fast), 7 close handling and codes, 9 limits, 12/13 compression
(not negotiated).  Each case opens its own connection to the real CLI's echo app
(``tests/apps/websocket_echo.py``: TEXT on /echo, BINARY on /echo-binary), sends raw
frames with ``support.wsclient`` (chopped into pieces where the family says so) and
checks what the server answers: the echo, the PONGs, the CLOSE status, and that the
server closed the TCP connection after a CLOSE.  The pass count is pytest's.

Not applicable: family 10 (auto-fragmentation of *our* sends: we send each message in
one frame, which is legal) and the performance families' timing (sizes are kept).
"""

from __future__ import annotations

import struct
from typing import Callable, List, Tuple

import pytest

from gateway.protocol import websocket as wsproto
from server import run_server
from support.wsclient import Close, Message, Pong, WSClient

T, B, C, PING, PONG, CONT = wsproto.TEXT, wsproto.BINARY, wsproto.CLOSE, wsproto.PING, wsproto.PONG, 0
MiB = 1 << 20


@pytest.fixture(scope="module")
def port():
    with run_server(["--wsgi-file", "tests/apps/websocket_echo.py", "--tornado", "4", "--greenlet", "-L"]) as s:
        yield s.port


Case = Tuple[str, str, Callable[[WSClient], None]]
CASES: List[Case] = []


def case(name: str, path: str = "/echo"):
    def deco(fn):
        CASES.append((name, path, fn))
        return fn
    return deco


def chopped(c: WSClient, data: bytes, piece: int) -> None:
    for i in range(0, len(data), piece):
        c.send_raw(data[i:i + piece])


def expect_close(c: WSClient, code, timeout: float = 5) -> None:
    got = c.close_code(timeout)
    assert got == code, "expected CLOSE %s, got %s" % (code, got)
    assert c.closed_tcp(timeout), "the server did not close the TCP connection"


def expect(c: WSClient, *events) -> None:
    for want in events:
        got = c.event()
        assert got == want, "expected %r, got %r" % (want, got)


# -- 1 framing --------------------------------------------------------------------------
for n in (0, 125, 126, 127, 128, 65535, 65536):
    for opcode, path in ((T, "/echo"), (B, "/echo-binary")):
        for piece in (0, 997 if n > 1000 else 1):
            def _f(c, n=n, opcode=opcode, piece=piece):
                payload = b"*" * n if opcode == T else bytes(i % 256 for i in range(n))
                frame = c.frame(opcode, payload)
                chopped(c, frame, piece) if piece else c.send_raw(frame)
                expect(c, Message(opcode, payload))
            case("1 %s %d bytes%s" % ("text" if opcode == T else "binary", n, " chopped" if piece else ""), path)(_f)


# -- 2 pings and pongs ----------------------------------------------------------------------
for label, payload in (("2.1 empty", b""), ("2.2 text", b"Hello, world!"), ("2.3 binary", b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
                       ("2.4 125 bytes", b"\xfe" * 125)):
    @case(label + " ping gets its pong")
    def _p(c, payload=payload):
        c.send(PING, payload)
        expect(c, Pong(payload))


@case("2.5 ping of 126 bytes")
def _p26(c):
    c.send_raw(wsproto.build_frame(PING, b"\xfe" * 126, mask=b"abcd"))
    expect_close(c, 1002)


@case("2.6 ping of 125 bytes sent byte by byte")
def _p6(c):
    chopped(c, c.frame(PING, b"\xfe" * 125), 1)
    expect(c, Pong(b"\xfe" * 125))


@case("2.7 unsolicited pong is ignored")
def _p7(c):
    c.send(PONG)
    c.send(T, b"after")
    expect(c, Message(T, b"after"))


@case("2.8 unsolicited pong with payload is ignored")
def _p8(c):
    c.send(PONG, b"unsolicited pong payload")
    c.send(T, b"after")
    expect(c, Message(T, b"after"))


@case("2.9 pong then ping")
def _p9(c):
    c.send(PONG, b"unsolicited")
    c.send(PING, b"ping payload")
    expect(c, Pong(b"ping payload"))


@case("2.10 ten pings")
def _p10(c):
    for i in range(10):
        c.send(PING, b"payload-%d" % i)
    expect(c, *[Pong(b"payload-%d" % i) for i in range(10)])


@case("2.11 ten pings chopped")
def _p11(c):
    for i in range(10):
        chopped(c, c.frame(PING, b"payload-%d" % i), 1)
    expect(c, *[Pong(b"payload-%d" % i) for i in range(10)])


# -- 3 reserved bits -------------------------------------------------------------------------
for rsv in range(1, 8):
    for opcode in (T, B, PING, C):
        @case("3 rsv=%d on opcode %d" % (rsv, opcode))
        def _r(c, rsv=rsv, opcode=opcode):
            c.send(T, b"before")  # echoed: the error comes after
            payload = struct.pack("!H", 1000) if opcode == C else b"x"
            c.send(opcode, payload, rsv=rsv)
            c.send(PING, b"after")  # never answered
            expect(c, Message(T, b"before"))
            expect_close(c, 1002)


# -- 4 opcodes -------------------------------------------------------------------------------
for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
    for payload in (b"", b"reserved opcode payload"):
        @case("4 reserved opcode %d, %d bytes" % (op, len(payload)))
        def _o(c, op=op, payload=payload):
            c.send(T, b"before")
            c.send(op, payload)
            c.send(PING)
            expect(c, Message(T, b"before"))
            expect_close(c, 1002)


# -- 5 fragmentation ---------------------------------------------------------------------------
@case("5.1 fragmented ping")
def _f1(c):
    c.send(PING, b"frag1", fin=False)
    c.send(CONT, b"frag2")
    expect_close(c, 1002)


@case("5.2 fragmented pong")
def _f2(c):
    c.send(PONG, b"frag1", fin=False)
    c.send(CONT, b"frag2")
    expect_close(c, 1002)


for chop in (False, True):
    @case("5.3/5.4 text in 2 fragments%s" % (" chopped" if chop else ""))
    def _f3(c, chop=chop):
        data = c.frame(T, b"frag1", fin=False) + c.frame(CONT, b"frag2")
        chopped(c, data, 1) if chop else c.send_raw(data)
        expect(c, Message(T, b"frag1frag2"))

    @case("5.6/5.7 text in 2 fragments with a ping between%s" % (" chopped" if chop else ""))
    def _f6(c, chop=chop):
        data = c.frame(T, b"frag1", fin=False) + c.frame(PING, b"ping") + c.frame(CONT, b"frag2")
        chopped(c, data, 1) if chop else c.send_raw(data)
        expect(c, Pong(b"ping"), Message(T, b"frag1frag2"))

    @case("5.8 text in 2 fragments with a pong between%s" % (" chopped" if chop else ""))
    def _f8(c, chop=chop):
        data = c.frame(T, b"frag1", fin=False) + c.frame(PONG, b"pong") + c.frame(CONT, b"frag2")
        chopped(c, data, 1) if chop else c.send_raw(data)
        expect(c, Message(T, b"frag1frag2"))

    @case("5.9/5.10 continuation without a message%s" % (" chopped" if chop else ""))
    def _f9(c, chop=chop):
        data = c.frame(CONT, b"fragment without start") + c.frame(T, b"text")
        chopped(c, data, 1) if chop else c.send_raw(data)
        expect_close(c, 1002)

    @case("5.13/5.14 non-final continuation without a message%s" % (" chopped" if chop else ""))
    def _f13(c, chop=chop):
        data = c.frame(CONT, b"frag", fin=False) + c.frame(T, b"text")
        chopped(c, data, 1) if chop else c.send_raw(data)
        expect_close(c, 1002)

    @case("5.15 a second message's continuation after a finished one%s" % (" chopped" if chop else ""))
    def _f15(c, chop=chop):
        data = (c.frame(T, b"frag1", fin=False) + c.frame(CONT, b"frag2") + c.frame(CONT, b"frag3", fin=False)
                + c.frame(T, b"frag4"))
        chopped(c, data, 1) if chop else c.send_raw(data)
        expect(c, Message(T, b"frag1frag2"))
        expect_close(c, 1002)

    @case("5.17/5.18 a new text frame inside a fragmented message%s" % (" chopped" if chop else ""))
    def _f17(c, chop=chop):
        data = c.frame(T, b"frag1", fin=False) + c.frame(T, b"frag2")
        chopped(c, data, 1) if chop else c.send_raw(data)
        expect_close(c, 1002)


@case("5.19 5 fragments, 2 pings between, sent frame by frame")
def _f19(c):
    c.send(T, b"f1", fin=False)
    c.send(CONT, b"f2", fin=False)
    c.send(PING, b"p1")
    expect(c, Pong(b"p1"))
    c.send(CONT, b"f3", fin=False)
    c.send(CONT, b"f4", fin=False)
    c.send(PING, b"p2")
    expect(c, Pong(b"p2"))
    c.send(CONT, b"f5")
    expect(c, Message(T, b"f1f2f3f4f5"))


@case("5 binary message in 1000 fragments of 1 byte", "/echo-binary")
def _f_many(c):
    data = bytes(i % 256 for i in range(1000))
    c.send_raw(b"".join(c.frame(B if i == 0 else CONT, data[i:i + 1], fin=i == 999) for i in range(1000)))
    expect(c, Message(B, data))


# -- 6 UTF-8 ----------------------------------------------------------------------------------
VALID = [
    "", "κόσμε", "Hello-µ@ßöäüàá-UTF-8!!", "\x00", "\x7f", "\u0080", "\u07ff", "\u0800", "\ufffd", "\uffff",
    "\U00010000", "\U0010ffff", "\ufeff", "\ufffe", "\ue000", "\U000fffff",
]
for i, s in enumerate(VALID):
    @case("6.1-6.3 valid UTF-8 #%d" % i)
    def _u(c, s=s):
        data = s.encode("utf-8")
        c.send(T, data)
        expect(c, Message(T, data))

    @case("6.2 valid UTF-8 #%d fragmented at every byte" % i)
    def _u2(c, s=s):
        data = s.encode("utf-8") or b""
        if not data:
            c.send(T, b"")
        else:
            c.send_raw(b"".join(c.frame(T if j == 0 else CONT, data[j:j + 1], fin=j == len(data) - 1)
                                for j in range(len(data))))
        expect(c, Message(T, data))

INVALID = {
    "overlong /": b"\xc0\xaf", "overlong / 3": b"\xe0\x80\xaf", "overlong / 4": b"\xf0\x80\x80\xaf",
    "overlong 5 bytes": b"\xf8\x80\x80\x80\xaf", "overlong 6 bytes": b"\xfc\x80\x80\x80\x80\xaf",
    "max overlong 2": b"\xc1\xbf", "max overlong 3": b"\xe0\x9f\xbf", "max overlong 4": b"\xf0\x8f\xbf\xbf",
    "NUL overlong": b"\xc0\x80", "above U+10FFFF": b"\xf4\x90\x80\x80", "F7": b"\xf7\xbf\xbf\xbf",
    "surrogate D800": b"\xed\xa0\x80", "surrogate DB7F": b"\xed\xad\xbf", "surrogate DFFF": b"\xed\xbf\xbf",
    "surrogate pair": b"\xed\xa0\x80\xed\xb0\x80", "lone continuation": b"\x80", "continuations": b"\x80\xbf\x80",
    "truncated 2": b"\xc2", "truncated 3": b"\xe0\xa0", "truncated 4": b"\xf0\x90\x80", "FE": b"\xfe", "FF": b"\xff",
    "inside text": "κόσμε".encode() + b"\xed\xa0\x80" + b"edited", "start byte then ASCII": b"\xc2A",
    "5-byte start": b"\xf8", "6-byte start": b"\xfc",
}
for label, bad in INVALID.items():
    @case("6.3-6.21 invalid UTF-8: %s" % label)
    def _ui(c, bad=bad):
        c.send(T, bad)
        expect_close(c, 1007)

    @case("6.3-6.21 invalid UTF-8 fragmented at every byte: %s" % label)
    def _uf(c, bad=bad):
        c.send_raw(b"".join(c.frame(T if j == 0 else CONT, bad[j:j + 1], fin=j == len(bad) - 1)
                            for j in range(len(bad))))
        expect_close(c, 1007)


@case("6.4 fail fast: invalid in the 2nd fragment, the 3rd never sent")
def _ff(c):
    c.send(T, "κόσμε".encode(), fin=False)
    c.send(CONT, b"\xf4\x90\x80\x80", fin=False)
    expect_close(c, 1007)


@case("6.4 fail fast: invalid in the 1st fragment")
def _ff2(c):
    c.send(T, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", fin=False)
    expect_close(c, 1007)


# -- 7 close ------------------------------------------------------------------------------------
@case("7.1.1 echo then close")
def _c1(c):
    c.send(T, b"Hello World!")
    expect(c, Message(T, b"Hello World!"))
    c.send(C, struct.pack("!H", 1000))
    expect_close(c, 1000)


@case("7.1.2/7.1.3 close, then a text and a ping are ignored")
def _c2(c):
    c.send(C, struct.pack("!H", 1000))
    c.send(T, b"after close")
    c.send(PING, b"after close")
    expect_close(c, 1000)


@case("7.1.5 close in the middle of a fragmented message")
def _c5(c):
    c.send(T, b"frag1", fin=False)
    c.send(C, struct.pack("!H", 1000))
    c.send(CONT, b"frag2")
    expect_close(c, 1000)


@case("7.1.6 big message, ping, close", "/echo-binary")
def _c6(c):
    c.send(B, b"B" * 262144)
    c.send(PING, b"ping")
    c.send(C, struct.pack("!H", 1000))
    events = []
    while True:
        ev = c.event()
        events.append(ev)
        if type(ev) is Close or ev == "EOF":
            break
    assert events[-1] == Close(1000, ""), events


@case("7.3.1 close with an empty payload")
def _c31(c):
    c.send(C, b"")
    assert c.close_code() == 1005  # our reader's name for "no status": an empty CLOSE came back
    assert c.closed_tcp()


@case("7.3.2 close with a 1-byte payload")
def _c32(c):
    c.send(C, b"\x03")
    expect_close(c, 1002)


@case("7.3.3 close with 1000")
def _c33(c):
    c.send(C, struct.pack("!H", 1000))
    expect_close(c, 1000)


@case("7.3.4 close with 1000 and a reason")
def _c34(c):
    c.send(C, struct.pack("!H", 1000) + b"Hello World!")
    expect_close(c, 1000)


@case("7.3.5 close with a 123-byte reason")
def _c35(c):
    c.send(C, struct.pack("!H", 1000) + b"*" * 123)
    expect_close(c, 1000)


@case("7.3.6 close payload of 126 bytes")
def _c36(c):
    c.send_raw(wsproto.build_frame(C, struct.pack("!H", 1000) + b"*" * 124, mask=b"abcd"))
    expect_close(c, 1002)


@case("7.5.1 close reason not UTF-8")
def _c51(c):
    c.send(C, struct.pack("!H", 1000) + b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")
    expect_close(c, 1007)


for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999):
    @case("7.7 valid close code %d is echoed" % code)
    def _cv(c, code=code):
        c.send(C, struct.pack("!H", code))
        expect_close(c, code)

for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
    @case("7.9 invalid close code %d" % code)
    def _ci(c, code=code):
        c.send(C, struct.pack("!H", code))
        expect_close(c, 1002)


# -- 9 limits (sizes of Autobahn's performance cases; our limit is --websockets-max-size) ----
for n in (64 * 1024, 256 * 1024, MiB):
    for opcode, path in ((T, "/echo"), (B, "/echo-binary")):
        @case("9.1/9.2 %s message of %d bytes" % ("text" if opcode == T else "binary", n), path)
        def _l(c, n=n, opcode=opcode):
            c.send(opcode, b"*" * n)
            assert c.event(15) == Message(opcode, b"*" * n)

for frag in (64, 4096, 65536):
    @case("9.3/9.4 1 MiB binary in fragments of %d bytes" % frag, "/echo-binary")
    def _lf(c, frag=frag):
        data = bytes(i % 251 for i in range(MiB))
        c.send_raw(b"".join(c.frame(B if i == 0 else CONT, data[i:i + frag], fin=i + frag >= MiB)
                            for i in range(0, MiB, frag)))
        assert c.event(15) == Message(B, data)


@case("9 limit: 1 MiB + 1 in one frame", "/echo-binary")
def _lim1(c):
    c.send(B, b"x" * (MiB + 1))
    expect_close(c, 1009)


@case("9 limit: 1 MiB + 1 in fragments", "/echo-binary")
def _lim2(c):
    c.send(B, b"x" * MiB, fin=False)
    c.send(CONT, b"x")
    expect_close(c, 1009)


@case("9 limit: refused from the header (1 GiB announced, nothing sent)", "/echo-binary")
def _lim3(c):
    c.send_raw(b"\x82\xff" + struct.pack("!Q", 1 << 30) + b"mask")
    expect_close(c, 1009)


# -- 12/13 compression: not negotiated ----------------------------------------------------------
@case("12 permessage-deflate offered, not accepted; RSV1 then refused")
def _z(c):
    assert "sec-websocket-extensions" not in c.headers
    c.send(T, b"compressed?", rsv=4)
    expect_close(c, 1002)


@pytest.mark.parametrize("name,path,fn", CASES, ids=[c[0] for c in CASES])
def test_conformance(port, name, path, fn):
    headers = [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")] if name.startswith("12") else []
    c = WSClient(port, path, headers=headers)
    try:
        assert c.status == 101
        fn(c)
    finally:
        c.close()
