"""WebSockets, differentially: ``tests/apps/websocket_probe.py`` under a real uWSGI 2.0.31 and
under gateway, with the same options, driven with the same raw frames.

One pair of servers per engine (``--tornado 10 --greenlet``, one preforking worker, and
``--threads 2``), started once for the module.  The probe reports every message it receives
back as TEXT, and how its receive loop ended on ``/last``, so each test compares what the
client sees and what the app got.  Where gateway differs on purpose (README "WebSockets", "Differences from uWSGI") the test
asserts both sides, so a difference that disappears is noticed; uWSGI cases that crash its
worker (a continuation frame with no message started) are run against gateway only.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import struct
import subprocess
import time
from contextlib import ExitStack

import pytest
import websockets

from gateway.protocol import websocket as wsproto
from tests.integration.test_api_differential import get_json
from tests.peers import require_uwsgi, stop_uwsgi
from tests.server import ROOT, run_server
from tests.support.httpclient import Conn, request
from tests.support.router import free_port
from tests.support.waits import wait_for, wait_until
from tests.support.wsclient import Close, Message, Ping, Pong, WSClient

pytestmark = pytest.mark.timeout(120)

COMMON = ["--wsgi-file", "tests/apps/websocket_probe.py", "--processes", "1", "--websockets-max-size", "100",
          "--websockets-ping-freq", "1", "--websockets-pong-tolerance", "1"]
ENGINES = {"tornado": ["--tornado", "10", "--greenlet"], "prefork": [], "threads": ["--threads", "2"]}
MAX = 100 * 1024  # --websockets-max-size 100 (Kbytes)
TEXT, BINARY, CONT, CLOSE, PING, PONG = wsproto.TEXT, wsproto.BINARY, 0, wsproto.CLOSE, wsproto.PING, wsproto.PONG
END = b"END"  # the last frame of every exchange: its report says the connection is still open
ENDED = b"bytes:b'END'"
RECV_ERROR = "OSError: unable to receive websocket message"
OVER = {"recv": RECV_ERROR, "send": "OSError: unable to send websocket message", "recv_again": RECV_ERROR}


class Peer:
    """One server of a pair: its port, and its log lines."""

    def __init__(self, name: str, port: int, lines) -> None:
        self.name = name
        self.port = port
        self._lines = lines

    def wait_for_line(self, pattern: str, timeout: float = 5.0) -> str:
        rx = re.compile(pattern)
        return wait_until(lambda: next((line for line in self._lines() if rx.search(line)), None),
                          timeout, "%s to log a line matching %r" % (self.name, pattern))


@pytest.fixture(scope="module", params=sorted(ENGINES))
def pair(request, tmp_path_factory):
    """``(uwsgi, gateway)``: :class:`Peer` for one engine."""
    args = COMMON + ENGINES[request.param]
    logto = tmp_path_factory.mktemp("uwsgi") / "log"
    logto.touch()
    with ExitStack() as stack:
        port = free_port()
        node = subprocess.Popen([require_uwsgi(), "--http-socket", "127.0.0.1:%d" % port, "--master",
                                 "--logto", str(logto)] + args, cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(stop_uwsgi, node)
        ours = stack.enter_context(run_server(args))
        ours.expect_traceback("ValueError: probe raised")
        deadline = time.monotonic() + 20
        get_json(port, "/last", deadline)  # (an HTTP request: uWSGI's tornado engine counts a bare connect)
        yield (Peer("uWSGI", port, lambda: logto.read_text(errors="replace").splitlines()),
               Peer("gateway", ours.port, lambda: list(ours.lines)))


def frame(opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, masked: bool = True) -> bytes:
    return wsproto.build_frame(opcode, payload, fin=fin, mask=os.urandom(4) if masked else None, rsv=rsv)


def talk(peer: Peer, frames=(), query: str = "", headers=None, end: bool = True):
    """Open ``/ws?query`` on ``peer``, send ``frames`` (then a TEXT ``END`` if ``end``) and
    return ``(client, events)``: what the server sent until END's report, its CLOSE, or EOF.

    Events: ``(opcode, data)`` for messages, ``("pong", payload)``, ``("close", code)``
    (None: no status), ``"EOF"``.  The server's PINGs are answered and left out.  After
    the server's CLOSE the client answers with one (echoing its status), shuts its side
    down and reads to EOF.
    """
    ident = "%d-%f" % (os.getpid(), time.monotonic())
    client = WSClient(peer.port, "/ws?id=%s&%s" % (ident, query), headers=headers)
    client.ident = ident
    for data in frames:
        client.send_raw(data)
    if end:
        client.send(TEXT, END)
    events = []
    while True:
        event = client.event()
        kind = type(event)
        if event == "EOF":
            events.append("EOF")
            break
        if kind is Ping:
            client.send(PONG, event.payload)
        elif kind is Message:
            if event.data == ENDED:
                break
            events.append((event.opcode, event.data))
        elif kind is Pong:
            events.append(("pong", event.payload))
        elif kind is Close:
            code = None if event.code == wsproto.NO_STATUS else event.code
            events.append(("close", code))
            client.send_raw(wsproto.close_frame(code, mask=os.urandom(4)))
            try:
                client.sock.shutdown(socket.SHUT_WR)  # (a server that refused our frames reads no CLOSE)
            except OSError:
                pass  # it closed already
    return client, events


def outcome(peer: Peer, client: WSClient, timeout: float = 10.0) -> dict:
    """How the probe's receive loop of ``client``'s websocket ended (after the client closed)."""
    client.close()
    deadline = time.monotonic() + timeout
    return wait_for(lambda: get_json(peer.port, "/last?id=" + client.ident, deadline), timeout, 0.02)


def both(pair, *args, **kwargs):
    """``talk`` to each server of ``pair``: ``[(events, outcome), (events, outcome)]``."""
    results = []
    for peer in pair:
        client, events = talk(peer, *args, **kwargs)
        results.append((events, outcome(peer, client)))
    return results


def report(data: bytes) -> tuple:
    """The probe's TEXT report of a received message."""
    return (TEXT, b"bytes:" + repr(data).encode())


# -- the handshake -------------------------------------------------------------------------------

HANDSHAKES = {
    "plain": ("", []),
    "origin": ("", [("Origin", "http://o.example")]),
    "one protocol": ("", [("Sec-WebSocket-Protocol", "chat")]),
    "proto argument": ("call=('','','chat')", []),
    "origin argument": ("call=('','http://a')", [("Origin", "http://o")]),
    "key argument": ("call=('abc',)", []),
    "bytes arguments": ("call=(b'a2V5',b'http://b',b'p')", [("Origin", "http://o")]),
}


@pytest.mark.parametrize("case", sorted(HANDSHAKES))
def test_handshake_responses_match(pair, case):
    query, headers = HANDSHAKES[case]
    heads = []
    for peer in pair:
        client = WSClient(peer.port, "/ws?" + query, headers=headers)
        heads.append(client.head.replace(wsproto.accept_key(client.key), "ACCEPT(KEY)"))  # (a random key)
        client.close()
    assert heads[0] == heads[1]
    assert heads[0].startswith("HTTP/1.1 101 Web Socket Protocol Handshake\r\n")


def test_several_offered_protocols_are_not_echoed_as_one(pair):
    """Deliberate: uWSGI echoes the client's whole ``Sec-WebSocket-Protocol`` (not one protocol)."""
    theirs, ours = (WSClient(peer.port, "/ws", headers=[("Sec-WebSocket-Protocol", "chat, super")]) for peer in pair)
    assert theirs.headers["sec-websocket-protocol"] == "chat, super"
    assert "sec-websocket-protocol" not in ours.headers
    theirs.close()
    ours.close()


@pytest.mark.parametrize("headers", [{}, {"Upgrade": "websocket", "Connection": "Upgrade"},
                                     {"Upgrade": "websocket", "Sec-WebSocket-Key": ""}])
def test_handshake_without_a_key_raises_the_same(pair, headers):
    bodies = [request(peer.port, "/ws", headers=headers).body for peer in pair]
    assert bodies == [b"OSError: unable to complete websocket handshake"] * 2


def test_bad_handshake_arguments_raise_type_errors(pair):
    for call in ("(1,)", "('a','b','c','d')"):
        bodies = [request(peer.port, "/ws?call=" + call).body for peer in pair]
        assert [b.split(b":")[0] for b in bodies] == [b"TypeError"] * 2, bodies


def test_none_arguments_mean_not_given(pair):
    """Deliberate: ``websocket_handshake(None, None, "chat")`` (uWSGI: TypeError, its ``s#``)."""
    theirs, ours = (WSClient(peer.port, "/ws?call=(None,None,'chat')") for peer in pair)
    assert theirs.status == 200 and ours.status == 101
    assert ours.headers["sec-websocket-protocol"] == "chat"
    theirs.close()
    ours.close()


def test_handshake_without_upgrade_headers_and_any_method_still_answers_101(pair):
    """Neither server checks ``Upgrade``/``Connection``/``Sec-WebSocket-Version``: the app decides."""
    for peer in pair:
        r = request(peer.port, "/ws", method="POST", headers={"Sec-WebSocket-Key": "a2V5",
                                                             "Sec-WebSocket-Version": "8"}, timeout=2)
        assert r.status == 101, (peer.name, r)


def test_second_handshake_raises_the_same(pair):
    events = [talk(peer, query="then=twice")[1] for peer in pair]
    assert events[0] == events[1] == [(TEXT, b"OSError: unable to complete websocket handshake")]


def raw_exchange(peer: Peer, path: str, headers: str = "") -> bytes:
    """Every byte ``peer`` sends for a ``GET path`` (``Connection: close``), to its EOF."""
    with Conn(peer.port) as conn:
        conn.send(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n" % (path, headers)).encode())
        return conn.read_to_eof()


def test_calls_before_the_handshake_raise(pair):
    """Deliberate: ``websocket_send()``/``websocket_recv_nb()`` before a handshake raise
    (uWSGI writes a TEXT frame, or a PING, as the HTTP response)."""
    theirs, ours = (raw_exchange(peer, "/before-handshake") for peer in pair)
    assert theirs.startswith(b"\x81\x01x")
    assert ours.startswith(b"HTTP/1.1 200 OK\r\n") and ours.endswith(
        b"['OSError: websocket_send(): no websocket handshake in this request', "
        b"'OSError: websocket_recv_nb(): no websocket handshake in this request']")


def test_handshake_after_start_response(pair):
    """Deliberate: after ``start_response()`` the handshake raises (uWSGI drops the headers
    given, answers 101, then writes the app's body raw into the websocket)."""
    theirs, ours = (raw_exchange(peer, "/after-start-response", "Sec-WebSocket-Key: a2V5\r\n") for peer in pair)
    assert theirs.startswith(b"HTTP/1.1 101 ") and b"X-Started" not in theirs
    assert theirs.endswith(b"\r\n\r\nhandshake done")
    assert ours.startswith(b"HTTP/1.1 200 OK\r\nX-Started: yes\r\n")
    assert ours.endswith(b"\r\n\r\nOSError: unable to complete websocket handshake")


def test_body_returned_after_the_handshake(pair):
    """Deliberate: what the app returns after the handshake is not sent, the websocket ends with
    CLOSE 1000 (uWSGI writes it raw after the 101: no frame, garbage to a client)."""
    theirs = raw_exchange(pair[0], "/ws?then=body", "Sec-WebSocket-Key: a2V5\r\n")
    assert theirs.startswith(b"HTTP/1.1 101 ") and theirs.endswith(b"\r\n\r\ntail")
    assert talk(pair[1], query="then=body", end=False)[1] == [("close", 1000), "EOF"]


# -- messages ------------------------------------------------------------------------------------

MESSAGES = {
    "text": [b"hello"],
    "binary": [b"\x00\xff"],
    "empty": [b""],
    "16-bit length": [b"x" * 300],
    "64-bit length": [b"y" * 70000],
    "the largest": [b"z" * MAX],
}


@pytest.mark.parametrize("case", sorted(MESSAGES))
def test_messages_reach_the_app_as_bytes(pair, case):
    sent = MESSAGES[case]
    results = both(pair, [frame(BINARY if case == "binary" else TEXT, m) for m in sent])
    assert results[0] == results[1]
    events, ended = results[0]
    assert events == [report(m) for m in sent]
    assert ended == OVER


def test_frames_in_one_segment_and_unsolicited_pongs(pair):
    results = both(pair, [frame(TEXT, b"a") + frame(PONG, b"x") + frame(BINARY, b"b")])
    assert results[0] == results[1]
    assert results[0][0] == [report(b"a"), report(b"b")]


def test_send_frames_and_argument_types(pair):
    events = [talk(peer, query="then=send")[1] for peer in pair]
    sizes = [(op, n) for n in (0, 125, 126, 65535, 65536) for op in (TEXT, BINARY)]
    expected = [(op, (b"t" if op == TEXT else b"b") * n) for op, n in sizes]
    expected += [(TEXT, "é".encode()), (BINARY, "é".encode()), (TEXT, b"by"), (BINARY, b"by")]
    refused = [(TEXT, b"%s(%s) TypeError" % (f, t)) for t in (b"int", b"NoneType")
               for f in (b"websocket_send", b"websocket_send_binary")]
    # Deliberate: any bytes-like object is sent (uWSGI's ``s#`` wants bytes or str)
    views = [(TEXT, b"ba"), (BINARY, b"ba"), (TEXT, b"mv"), (BINARY, b"mv")]
    theirs_views = [(TEXT, b"%s(%s) TypeError" % (f, t)) for t in (b"bytearray", b"memoryview")
                    for f in (b"websocket_send", b"websocket_send_binary")]
    assert events[0] == expected + theirs_views + refused
    assert events[1] == expected + views + refused


def test_recv_nb_returns_empty_bytes_then_messages(pair):
    results = both(pair, [frame(PING), frame(TEXT, b"one"), frame(BINARY, b"two")], query="then=nb")
    assert results[0] == results[1]
    assert results[0][0] == [("pong", b""), report(b"one"), report(b"two")]
    assert results[0][1] == OVER


def test_client_disconnect_mid_recv(pair):
    """The app's ``websocket_recv()`` raises, a send after it raises too (gateway sent into the
    closing connection before), a second receive raises again; the worker serves on."""
    for peer in pair:
        client = WSClient(peer.port, "/ws?id=gone")
        client.ident = "gone"
        assert outcome(peer, client) == OVER, peer.name
        assert request(peer.port, "/").body == b"plain"


# -- fragments, control frames, closing ------------------------------------------------------------

def test_fragmented_message(pair):
    """Deliberate: uWSGI 2.0.31 returns ``b"\\x00"`` for every non-final fragment (and keeps one
    continuation buffer per process, so two clients' fragments mix); here a message is whole."""
    parts = [frame(TEXT, b"ab", fin=False), frame(PING, b"pp"), frame(CONT, b"cd", fin=False), frame(CONT, b"ef")]
    (theirs, theirs_end), (ours, ours_end) = both(pair, parts)
    assert theirs == [report(b"\x00"), ("pong", b""), report(b"\x00"), report(b"abcdef")]
    assert ours == [("pong", b"pp"), report(b"abcdef")]
    assert theirs_end == ours_end == OVER


def test_ping_payload(pair):
    """Deliberate: the PONG echoes the PING's payload (RFC 6455 §5.5.3; uWSGI's is empty)."""
    (theirs, _), (ours, _) = both(pair, [frame(PING, b"payload"), frame(PING)])
    assert theirs == [("pong", b""), ("pong", b"")]
    assert ours == [("pong", b"payload"), ("pong", b"")]


@pytest.mark.parametrize("payload", [struct.pack("!H", 1000) + b"bye", b"", struct.pack("!H", 4000)])
def test_client_close(pair, payload):
    """Both answer a CLOSE and close the connection; the app's receive raises.  Deliberate: our
    CLOSE echoes the status (uWSGI's is always empty)."""
    (theirs, theirs_end), (ours, ours_end) = both(pair, [frame(CLOSE, payload)], end=False)
    assert theirs == [("close", None), "EOF"]
    assert ours == [("close", struct.unpack("!H", payload[:2])[0] if payload else None), "EOF"]
    assert theirs_end == ours_end == OVER


#: frames, what uWSGI does (the probe's reports, or its CLOSE), our CLOSE status, our log line
PROTOCOL_ERRORS = {
    "unmasked": (frame(TEXT, b"u", masked=False), [report(b"u")], 1002, "unmasked frame"),
    "reserved bit": (frame(TEXT, b"r", rsv=4), [report(b"r")], 1002, "reserved bits"),
    "reserved opcode": (frame(3, b"o"), [], 1002, "reserved data opcode"),
    "reserved control opcode": (frame(11, b"o"), [], 1002, "reserved control opcode"),
    "invalid UTF-8": (frame(TEXT, b"\xff\xfe"), [report(b"\xff\xfe")], 1007, "not valid UTF-8"),
    "big PING": (frame(PING, b"p" * 126), [("pong", b"")], 1002, "control frame payload"),
    "new message inside fragments": (frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"),
                                     [report(b"\x00"), report(b"b")], 1002, "inside a fragmented"),
    "CLOSE 999": (frame(CLOSE, struct.pack("!H", 999)), [("close", None), "EOF"], 1002, "invalid status code 999"),
    "CLOSE of 1 byte": (frame(CLOSE, b"\x03"), [("close", None), "EOF"], 1002, "1-byte payload"),
}


@pytest.mark.parametrize("case", sorted(PROTOCOL_ERRORS))
def test_protocol_errors_close_the_websocket(pair, case):
    """Deliberate (RFC 6455): uWSGI accepts these frames; here they end the websocket with a
    CLOSE 1002/1007 and one log line in uWSGI's ``[uwsgi-websocket] "GET ..." (addr)`` form."""
    data, uwsgi_does, code, logged = PROTOCOL_ERRORS[case]
    (theirs, theirs_end), (ours, ours_end) = both(pair, [data])
    assert theirs == uwsgi_does
    assert ours == [("close", code), "EOF"]
    assert theirs_end == ours_end == OVER
    pair[1].wait_for_line(r'\[uwsgi-websocket\] "GET /ws\?\S+" \(127\.0\.0\.1\) .*%s.*: closing with status %d'
                          % (logged, code))


def test_gateway_refuses_what_crashes_uwsgis_worker(pair):
    """A continuation frame with no message started (also after a fragmented PING) makes uWSGI
    2.0.31's worker dereference NULL (SIGSEGV, every websocket of the worker lost): not sent to
    it.  Here: CLOSE 1002, and the worker serves on."""
    ours = pair[1]
    for data in (frame(CONT, b"xx"), frame(PING, b"q", fin=False) + frame(CONT, b"r")):
        client, events = talk(ours, [data])
        assert events == [("close", 1002), "EOF"]
        assert outcome(ours, client) == OVER
    assert request(ours.port, "/").body == b"plain"


def test_oversized_frame(pair):
    """Both refuse a frame over ``--websockets-max-size`` from its header, log it in the same
    form and the app's receive raises; deliberate: we say so with CLOSE 1009 (uWSGI just closes)."""
    data = frame(BINARY, b"z" * (MAX + 1))[:4096]  # the header and a little payload
    (theirs, theirs_end), (ours, ours_end) = both(pair, [data], end=False)
    assert theirs == ["EOF"]
    assert ours == [("close", 1009), "EOF"]
    assert theirs_end == ours_end == OVER
    prefix = r'\[uwsgi-websocket\] "GET /ws\?\S+" \(127\.0\.0\.1\) '
    pair[0].wait_for_line(prefix + "invalid packet size received: %d, max allowed: %d" % (MAX + 1, MAX))
    pair[1].wait_for_line(prefix + "message of %d bytes or more exceeds the limit of %d bytes" % (MAX + 1, MAX))


def test_size_limit_is_per_message(pair):
    """Deliberate: ``--websockets-max-size`` bounds a whole message (uWSGI checks each frame
    alone, and only frames with a 16- or 64-bit length: fragments make any size)."""
    half = b"h" * (MAX // 2 + 1)
    (theirs, _), (ours, ours_end) = both(pair, [frame(BINARY, half, fin=False), frame(CONT, half)])
    assert theirs == [report(b"\x00"), report(half + half)]
    assert ours == [("close", 1009), "EOF"]
    assert ours_end == OVER


def test_app_return_and_raise(pair):
    """Deliberate: the end of the app is said with CLOSE 1000, an exception with 1011 (uWSGI
    closes the connection without a CLOSE frame)."""
    for then, code in (("return", 1000), ("raise", 1011)):
        theirs, ours = (talk(peer, query="then=" + then, end=False)[1] for peer in pair)
        assert theirs == ["EOF"]
        assert ours == [("close", code), "EOF"]


def ping_loop(pair, ident: str, answer: bool, seconds: float):
    """One websocket per server (a preforking one serves one at a time), PINGs answered or not,
    for ``seconds`` or until both servers dropped theirs: ``(clients, PINGs each, dropped)``."""
    clients = [WSClient(peer.port, "/ws?id=" + ident) for peer in pair]
    pings = [0, 0]
    gone = [False, False]
    start = time.monotonic()
    while time.monotonic() - start < seconds and not all(gone):
        for i, client in enumerate(clients):
            if gone[i]:
                continue
            try:
                event = client.event(timeout=0.05)
            except TimeoutError:
                continue
            if event == "EOF":
                gone[i] = True
                continue
            assert type(event) is Ping and event.payload == b"", (pair[i].name, event)
            pings[i] += 1
            if answer:
                client.send(PONG, event.payload)
    for client in clients:
        client.ident = ident
    return clients, pings, gone


def test_pings_keep_an_answering_client(pair):
    """Both PING within ``--websockets-ping-freq`` (1 s; ours from a once-a-second sweep, so
    within 2 s) and keep a client that answers past the pong tolerance."""
    clients, pings, gone = ping_loop(pair, "alive", True, 2.5)
    assert pings[0] >= 1 and pings[1] >= 1 and gone == [False, False], pings
    for peer, client in zip(pair, clients):
        client.send(TEXT, b"still")
        event = client.event(timeout=5)
        while type(event) is Ping:
            event = client.event(timeout=5)
        assert type(event) is Message and event.data == b"bytes:b'still'", peer.name
        assert outcome(peer, client) == OVER


def test_dead_peer(pair):
    """A client that never answers PINGs is dropped ``--websockets-pong-tolerance`` (1 s) after
    one, by both, with the same log line; its app's receive raises."""
    clients, pings, gone = ping_loop(pair, "dead", False, 8)
    assert pings[0] >= 1 and pings[1] >= 1 and gone == [True, True], pings
    for peer, client in zip(pair, clients):
        assert outcome(peer, client) == OVER
        peer.wait_for_line(r'\[uwsgi-websocket\] "GET /ws\?id=dead" \(127\.0\.0\.1\) no PONG received in 1 seconds !!!')


def test_request_log_line_counts_the_session(pair):
    """The request's log line: status 101, the 101's headers, and every byte of frames sent
    in the session as the bytes generated (here: one TEXT report of 16 bytes)."""
    for peer in pair:
        client = WSClient(peer.port, "/ws?id=logline")
        client.ident = "logline"
        client.send(TEXT, b"hello")
        assert type(client.event()) is Message
        assert outcome(peer, client) == OVER
        line = peer.wait_for_line(r"GET /ws\?id=logline => generated \d+ bytes in \d+ msecs \(HTTP/1.1 101\) "
                                  r"4 headers in 164 bytes")
        generated = int(re.search(r"generated (\d+) bytes", line).group(1))
        assert generated in (16, 18, 20), (peer.name, line)  # (+ 2 per PING, should one come)


def test_websockets_library_client(pair):
    """The ``websockets`` library: a subprotocol, a text round trip, the close handshake."""
    async def go(peer):
        uri = "ws://127.0.0.1:%d/ws?id=lib" % peer.port
        async with websockets.connect(uri, subprotocols=["chat"]) as ws:
            assert ws.subprotocol == "chat"
            await ws.send("κόσμε")
            got = await ws.recv()
        return got, ws.close_code

    theirs, ours = (asyncio.run(asyncio.wait_for(go(peer), 20)) for peer in pair)
    assert theirs[0] == ours[0] == "bytes:%r" % "κόσμε".encode()
    assert theirs[1] == 1005 and ours[1] == 1000  # (uWSGI's CLOSE is empty; ours echoes 1000)
