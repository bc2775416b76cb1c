"""``--socket`` byte for byte against a real uWSGI 2.0.31: the same raw packets, the same reply
bytes, the same close, and both workers still serving afterwards.

One real uWSGI and one gateway at a time, both ``--socket 127.0.0.1:P --tornado 10 --greenlet``,
then both ``--master --processes 2`` (the plain prefork form), running ``tests/apps/wire_probe.py`` (its WSGI answer lists the vars it got and the body it read; its RPC
functions are ``tests/apps/rpc_peer.py``'s and three more).  Each packet of a corpus goes to both;
where the answers differ by design the test says both sides, and the README says why ("The uwsgi
protocol", "RPC").
"""

from __future__ import annotations

import socket
import struct
import urllib.parse
from typing import Iterator, List, Tuple

import pytest

from gateway.protocol.uwsgi import encode_header, encode_vars
from gateway.protocol.uwsgi_rpc import encode_array
from support.httpclient import Conn
from tests.peers import RealUWSGI, stop_uwsgi
from tests.server import run_server
from tests.support.router import free_port, wait_listening

OPTIONS = ["--pythonpath", "tests/apps", "--wsgi-file", "tests/apps/wire_probe.py"]
#: the two forms both servers are compared in, one pair at a time
FORMS = {"async": ["--tornado", "10", "--greenlet"], "prefork": ["--master", "--processes", "2"]}

#: what nginx's uwsgi_params always sends (SERVER_NAME/PORT too: see test_vars_a_client_left_out)
BASE = [("SERVER_NAME", "h"), ("SERVER_PORT", "80"), ("REQUEST_METHOD", "GET"), ("PATH_INFO", "/x"),
        ("QUERY_STRING", ""), ("SERVER_PROTOCOL", "HTTP/1.1")]


def base(**changes: str) -> List[Tuple[str, str]]:
    """BASE with some values changed (or added, at the end)."""
    pairs = [(k, changes.pop(k, v)) for k, v in BASE]
    return pairs + list(changes.items())


@pytest.fixture(scope="module", params=sorted(FORMS))
def ports(request) -> Iterator[Tuple[int, int]]:
    """(real uWSGI's --socket port, gateway's), both in one of :data:`FORMS`."""
    port = free_port()
    options = OPTIONS + FORMS[request.param]
    real = RealUWSGI(["--socket", "127.0.0.1:%d" % port] + options)
    try:
        wait_listening(port, proc=real.proc)
        with run_server(["--socket", "127.0.0.1:0"] + options) as gw:
            gw.expect_traceback("ValueError: boom")  # rpc_peer's 'raises', called on purpose
            yield port, gw.uwsgi_port
    finally:
        stop_uwsgi(real.proc)  # SIGINT: its master stops the workers too


def packet(modifier1: int, payload: bytes, modifier2: int = 0) -> bytes:
    return struct.pack("<BHB", modifier1, len(payload), modifier2) + payload


def wsgi(pairs, body: bytes = b"", modifier1: int = 0, modifier2: int = 0) -> bytes:
    return packet(modifier1, encode_vars(pairs), modifier2) + body


def rpc(*items: bytes, modifier2: int = 0) -> bytes:
    return packet(173, encode_array(items), modifier2)


def bridge(*pairs) -> bytes:
    return packet(173, encode_vars(pairs), 2)


def exchange(port: int, data: bytes, shut: bool = False) -> bytes:
    """Send ``data`` (then half-close if ``shut``) and read until the server closes."""
    with Conn(port, timeout=10) as c:
        c.send(data)
        if shut:
            c.sock.shutdown(socket.SHUT_WR)
        return c.read_to_eof()


def both(ports: Tuple[int, int], data: bytes, shut: bool = False) -> List[bytes]:
    """Each server's answer to ``data``; then each must still answer a plain request."""
    answers = [exchange(port, data, shut) for port in ports]
    for port in ports:
        assert exchange(port, wsgi(BASE)).startswith(b"HTTP/1.1 200 OK\r\n"), "the worker stopped serving"
    return answers


def padded(size: int) -> bytes:
    """A vars block of exactly ``size`` bytes."""
    head = encode_vars(BASE)
    return encode_vars(BASE + [("X_PAD", "p" * (size - len(head) - 9))])


SAME = {
    # -- modifier1 0: odd vars blocks ----------------------------------------------------------
    "plain request": wsgi(BASE),
    "empty vars block": encode_header(0, 0),
    "zero-length value, also last": wsgi(BASE + [("X_A", ""), ("X_B", "")]),
    "zero-length key": packet(0, encode_vars(BASE) + b"\x00\x00\x01\x00v"),
    "duplicate keys: the last wins": wsgi(BASE + [("X_DUP", "a"), ("PATH_INFO", "/y"), ("X_DUP", "b")]),
    "bytes that are not UTF-8, a lower-case key": packet(0, encode_vars(BASE + [(b"X_B", b"\xff\xfe"), (b"x-low", b"1")])),
    "128 vars": wsgi(BASE + [("X%03d" % i, "v") for i in range(128 - len(BASE))]),
    "129 vars": wsgi(BASE + [("X%03d" % i, "v") for i in range(129 - len(BASE))]),
    "vars block of exactly --buffer-size": packet(0, padded(4096)),
    "a lone byte after the vars": packet(0, encode_vars(BASE) + b"\x05"),
    "a key length and nothing else": packet(0, encode_vars(BASE) + b"\x02\x00"),
    "a key cut short": packet(0, encode_vars(BASE) + b"\x05\x00ab"),
    "a value length cut short": packet(0, encode_vars(BASE) + b"\x02\x00ab\x05"),
    "a value past the end": packet(0, encode_vars(BASE) + b"\x02\x00ab\x05\x00xy"),
    "SERVER_PROTOCOL is the status line's": wsgi(base(SERVER_PROTOCOL="FOO/9")),
    "modifier2 is ignored": wsgi(BASE, modifier2=1),
    # -- wsgi.url_scheme -------------------------------------------------------------------------
    "HTTPS on": wsgi(base(HTTPS="on")),
    "HTTPS 1": wsgi(base(HTTPS="1")),
    "HTTPS ON": wsgi(base(HTTPS="ON")),
    "HTTPS off": wsgi(base(HTTPS="off")),
    "HTTPS oN: its start, any case": wsgi(base(HTTPS="oN")),
    "HTTPS 10: its first digit": wsgi(base(HTTPS="10")),
    "HTTPS yes": wsgi(base(HTTPS="yes")),
    "UWSGI_SCHEME": wsgi(base(UWSGI_SCHEME="https")),
    "UWSGI_SCHEME wins over HTTPS": wsgi(base(HTTPS="on", UWSGI_SCHEME="http")),
    "X-Forwarded-Proto": wsgi(base(HTTP_X_FORWARDED_PROTO="https")),
    "X-Forwarded-Ssl on": wsgi(base(HTTP_X_FORWARDED_SSL="on")),
    "X-Forwarded-Ssl 1": wsgi(base(HTTP_X_FORWARDED_SSL="1")),
    "X-Forwarded-Ssl off": wsgi(base(HTTP_X_FORWARDED_SSL="off")),
    "X-Forwarded-Ssl on after HTTPS off": wsgi(base(HTTPS="off", HTTP_X_FORWARDED_SSL="on")),
    "X-Forwarded-Proto wins over X-Forwarded-Ssl": wsgi(base(HTTP_X_FORWARDED_PROTO="http", HTTP_X_FORWARDED_SSL="on")),
    # -- the body, by CONTENT_LENGTH -----------------------------------------------------------
    "CONTENT_LENGTH exact": wsgi(BASE + [("CONTENT_LENGTH", "3")], b"abc"),
    "no CONTENT_LENGTH: no body": wsgi(BASE, b"abc"),
    "CONTENT_LENGTH not a number": wsgi(BASE + [("CONTENT_LENGTH", "abc")], b"abc"),
    "CONTENT_LENGTH: its leading digits": wsgi(BASE + [("CONTENT_LENGTH", "3abc")], b"abcdef"),
    "CONTENT_LENGTH empty": wsgi(BASE + [("CONTENT_LENGTH", "")], b"abc"),
    "CONTENT_LENGTH -3": wsgi(BASE + [("CONTENT_LENGTH", "-3")], b"abc"),
    "CONTENT_LENGTH with a leading space": wsgi(BASE + [("CONTENT_LENGTH", " 3")], b"abc"),
    "CONTENT_LENGTH +3": wsgi(BASE + [("CONTENT_LENGTH", "+3")], b"abc"),
    "CONTENT_LENGTH twice: the last": wsgi(BASE + [("CONTENT_LENGTH", "5"), ("CONTENT_LENGTH", "2")], b"abcde"),
    "a body of 100000 bytes": wsgi(BASE + [("CONTENT_LENGTH", "100000")], b"z" * 100000),
    "a second packet on the connection is ignored": wsgi(BASE) + wsgi(BASE),
    # -- the response: the app's status line and headers as they are, the end is the close -------
    "status without a reason": wsgi(base(PATH_INFO="/echo/noreason")),
    "duplicate response headers": wsgi(base(PATH_INFO="/echo/duphdr")),
    "Content-Length: 0": wsgi(base(PATH_INFO="/echo/empty-cl")),
    "write() then the iterable": wsgi(base(PATH_INFO="/echo/write", SERVER_PROTOCOL="HTTP/1.0")),
    "file_wrapper over BytesIO": wsgi(base(PATH_INFO="/echo/filewrap", QUERY_STRING="bytesio")),
    # -- modifier1 30 when nothing is to strip ---------------------------------------------------
    "modifier1 30, PATH_INFO outside SCRIPT_NAME": wsgi(base(PATH_INFO="/other/x", SCRIPT_NAME="/app"), modifier1=30),
    "modifier1 30, no SCRIPT_NAME": wsgi(BASE, modifier1=30),
    # -- ping ----------------------------------------------------------------------------------
    "ping": b"\x64\x00\x00\x00",
    "ping, modifier2 1": b"\x64\x00\x00\x01",
    "ping with a payload and more bytes": packet(100, b"abc") + b"garbage",
    # -- RPC, modifier2 0 (reply packet) --------------------------------------------------------
    "rpc hello": rpc(b"hello", b"a", b"b"),
    "rpc returning bytes": rpc(b"bytesret"),
    "rpc without arguments": rpc(b"hello"),
    "rpc zero-length argument skipped": rpc(b"echo", b"a", b"", b"b"),
    "rpc zero-length item before the name": rpc(b"", b"hello", b"x"),
    "rpc 253 arguments": rpc(b"nargs", *[b"a"] * 253),
    "rpc 254 arguments": rpc(b"nargs", *[b"a"] * 254),
    "rpc reply of 65535 bytes": rpc(b"big", b"65535"),
    "rpc reply of 65536 bytes: the modifier2 5 form": rpc(b"big", b"65536"),
    "rpc reply of 200000 bytes": rpc(b"big", b"200000"),
    "rpc packet at --buffer-size": rpc(b"echo", b"x" * 4088),
    "rpc and trailing bytes": rpc(b"hello", b"a") + b"garbage",
    # -- RPC, modifier2 1 (raw: nginx) and the others uWSGI treats so ---------------------------
    "raw rpc hello": rpc(b"hello", b"a", modifier2=1),
    "raw rpc, modifier2 5": rpc(b"hello", b"a", modifier2=5),
    "raw rpc, modifier2 200": rpc(b"hello", b"a", modifier2=200),
    "raw rpc unknown function": rpc(b"nosuchfunc", modifier2=1),
    "raw rpc raising": rpc(b"raises", modifier2=1),
    "raw rpc returning None": rpc(b"noneret", modifier2=1),
    "raw rpc returning b''": rpc(b"empty", modifier2=1),
    "raw rpc returning an int": rpc(b"intret", modifier2=1),
    "raw rpc 254 arguments": rpc(b"nargs", *[b"a"] * 254, modifier2=1),
    "raw rpc reply of 200000 bytes": rpc(b"big", b"200000", modifier2=1),
    "raw rpc, empty packet": encode_header(173, 0, 1),
    "raw rpc, an item past the end": packet(173, b"\x05\x00hel", 1),
    "raw rpc, a lone length byte": packet(173, b"\x05\x00hello\x01", 1),
    # -- RPC, modifier2 2 (HTTP bridge) --------------------------------------------------------
    "bridge hello": bridge(("PATH_INFO", "/hello/a/b"), ("SERVER_PROTOCOL", "HTTP/1.1")),
    "bridge without a leading slash, empty segments": bridge(("PATH_INFO", "//hello//a//")),
    "bridge without a name": bridge(("PATH_INFO", "/"), ("SERVER_PROTOCOL", "HTTP/1.1")),
    "bridge without PATH_INFO": bridge(("SERVER_PROTOCOL", "HTTP/1.1")),
    "bridge unknown function": bridge(("PATH_INFO", "/nosuchfunc")),
    "bridge returning None": bridge(("PATH_INFO", "/noneret")),
    "bridge reply of 70000 bytes": bridge(("PATH_INFO", "/big/70000")),
    "bridge Accept *": bridge(("PATH_INFO", "/hello/a"), ("HTTP_ACCEPT", "*")),
    "bridge Accept is the Content-Type": bridge(("PATH_INFO", "/hello/a"), ("HTTP_ACCEPT", "text/html, */*")),
    "bridge, not a vars block": packet(173, b"\x05\x00ab", 2),
    "bridge, a null key": packet(173, b"\x00\x00\x01\x00a", 2),
}
SAME.update(("modifier1 %d" % m, wsgi(BASE, modifier1=m)) for m in (1, 5, 9, 22, 31, 111, 250, 255))
SAME["modifier1 5, empty"] = encode_header(5, 0)
# remote spooling: neither has a --spooler, both answer "not spooled" (ff 00 00 00)
SAME["modifier1 17, no spooler"] = wsgi([("name", "task")], modifier1=17)
SAME["modifier1 17, empty, no spooler"] = encode_header(17, 0)

#: answered without a byte and closed by both, also when the client half-closes after sending
SHUT = {
    "EOF inside the header": b"\x00\x10",
    "EOF inside the vars block": encode_header(0, 200) + encode_vars(BASE),
    "EOF inside an rpc packet": encode_header(173, 50) + b"\x05\x00hello",
    "vars block over --buffer-size, header alone": encode_header(0, 4097),
    "plain request, half-closed": wsgi(BASE),
    "rpc, half-closed": rpc(b"hello", b"a"),
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_same_bytes_and_close(ports, name):
    theirs, ours = both(ports, SAME[name])
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(SHUT))
def test_same_after_a_half_close(ports, name):
    theirs, ours = both(ports, SHUT[name], shut=True)
    assert ours == theirs


def test_one_byte_over_buffer_size_is_dropped_by_both(ports):
    """uWSGI closes with the rest unread (a TCP reset); we read it first (a FIN): no byte either way."""
    assert both(ports, packet(0, padded(4097))) == [b"", b""]
    assert both(ports, rpc(b"echo", b"x" * 5000)) == [b"", b""]


def vars_of(answer: bytes) -> List[str]:
    return answer.split(b"\r\n\r\n", 1)[1].decode("latin-1").split("\n")


def test_vars_a_client_left_out(ports):
    """PEP 3333's required keys are always in our environ: a packet without them gets the
    socket's SERVER_NAME/SERVER_PORT, GET, and "" for PATH_INFO/QUERY_STRING (uWSGI leaves them out)."""
    theirs, ours = both(ports, wsgi([("SERVER_PROTOCOL", "HTTP/1.1")]))
    assert vars_of(theirs) == ["SCRIPT_NAME=", "wsgi.url_scheme=http", "body="]
    assert vars_of(ours) == ["PATH_INFO=", "QUERY_STRING=", "REQUEST_METHOD=GET", "SERVER_NAME=127.0.0.1",
                             "SERVER_PORT=%d" % ports[1], "SCRIPT_NAME=", "wsgi.url_scheme=http", "body="]


def test_modifier1_30_strips_script_name_here_only(ports):
    """Real uWSGI 2.0.31 does not strip on Python 3 (README); we do, on a segment boundary."""
    theirs, ours = both(ports, wsgi(base(PATH_INFO="/app/x", SCRIPT_NAME="/app"), modifier1=30))
    assert "PATH_INFO=/app/x" in vars_of(theirs) and "PATH_INFO=/x" in vars_of(ours)
    theirs, ours = both(ports, wsgi(base(PATH_INFO="/app", SCRIPT_NAME="/app"), modifier1=30))
    assert "PATH_INFO=/app" in vars_of(theirs) and "PATH_INFO=" in vars_of(ours)
    theirs, ours = both(ports, wsgi(base(PATH_INFO="/apple", SCRIPT_NAME="/app"), modifier1=30))
    assert "PATH_INFO=/apple" in vars_of(theirs) and "PATH_INFO=/apple" in vars_of(ours)


def test_head_has_no_body_here(ports):
    theirs, ours = both(ports, wsgi(base(REQUEST_METHOD="HEAD")))
    head, body = theirs.split(b"\r\n\r\n", 1)
    assert body and ours == head + b"\r\n\r\n"


@pytest.mark.parametrize("query, theirs, ours", [
    # PEP 3333's hop-by-hop hints are left out of the head (README, "HTTP"): nginx would
    # otherwise de-chunk a body that is not chunked
    ("s=200%20OK&h=Transfer-Encoding:chunked&b=x", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nx",
     b"HTTP/1.1 200 OK\r\n\r\nx"),
    ("s=200%20OK&h=Connection:keep-alive&h=X-A:1&b=x", b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\nx",
     b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nx"),
    ("s=204%20No%20Content&b=x", b"HTTP/1.1 204 No Content\r\n\r\nx", b"HTTP/1.1 204 No Content\r\n\r\n"),
    ("s=abc&b=x", b"HTTP/1.1 abc Unknown\r\n\r\nx", b"HTTP/1.1 500 Internal Server Error\r\n"),
])
def test_response_differences(ports, query, theirs, ours):
    mine = both(ports, wsgi(base(PATH_INFO="/echo/custom", QUERY_STRING=query)))
    assert mine[0] == theirs and mine[1].startswith(ours)


def test_a_truncated_body_is_a_400_here(ports):
    """The app's read fails in both; uWSGI then closes without a byte (nginx: 502), we answer
    with the read's own status, as for any BodyError (README, "HTTP")."""
    theirs, ours = both(ports, wsgi(BASE + [("CONTENT_LENGTH", "10")], b"abc"), shut=True)
    assert theirs == b"" and ours.startswith(b"HTTP/1.1 400 Bad Request\r\n")


@pytest.mark.parametrize("changes, theirs, ours", [
    # nginx's own word (UWSGI_SCHEME, HTTPS) wins over a client's header here; in uWSGI the
    # header, sent after nginx's params, overrides both
    (dict(HTTPS="on", HTTP_X_FORWARDED_PROTO="http"), "http", "https"),
    (dict(UWSGI_SCHEME="https", HTTP_X_FORWARDED_PROTO="http"), "http", "https"),
    # the header counts as http or https, the first of a list, any case; uWSGI copies it
    (dict(HTTP_X_FORWARDED_PROTO="HTTPS"), "HTTPS", "https"),
    (dict(HTTP_X_FORWARDED_PROTO="https, http"), "https, http", "https"),
    (dict(HTTP_X_FORWARDED_PROTO="wss"), "wss", "http"),
])
def test_url_scheme_differences(ports, changes, theirs, ours):
    answers = both(ports, wsgi(base(**changes)))
    assert [[v for v in vars_of(a) if v.startswith("wsgi.url_scheme=")] for a in answers] == [
        ["wsgi.url_scheme=" + theirs], ["wsgi.url_scheme=" + ours]]


def test_chunked_without_content_length_is_read_here(ports):
    """Our --http router's streamed uploads (README); uWSGI reads no body."""
    theirs, ours = both(ports, wsgi(BASE + [("HTTP_TRANSFER_ENCODING", "chunked")], b"3\r\nabc\r\n0\r\n\r\n"))
    assert vars_of(theirs)[-1] == "body=" and vars_of(ours)[-1] == "body=abc"


# -- RPC: the documented differences (README, "RPC") ------------------------------------------------

EMPTY_REPLY = b"\xad\x00\x00\x00"


@pytest.mark.parametrize("data, theirs, ours", [
    (rpc(b"noneret"), b"", EMPTY_REPLY),                 # "no result": an empty reply, read as None
    (rpc(b"empty"), b"", EMPTY_REPLY),
    (rpc(b"nosuchfunc"), b"", b"\xad\x00\x00\x0a"),      # failures say which (a uWSGI client: None)
    (rpc(b"raises"), b"", b"\xad\x00\x00\x0b"),
    (rpc(b"intret"), b"", b"\xad\x00\x00\x0b"),          # not bytes/str/None: the function failed
    (encode_header(173, 0), b"", b"\xad\x00\x00\x0c"),   # malformed requests
    (packet(173, b"\x05\x00hel"), b"", b"\xad\x00\x00\x0c"),
    (packet(173, b"\x00\x00"), b"", b"\xad\x00\x00\x0c"),
    (rpc(b"nargs", *[b"a"] * 255), b"\xad\x03\x00\x00254", b"\xad\x00\x00\x0c"),  # uWSGI: 254 of them
    (rpc(b"strret"), b"", b"\xad\x06\x00\x00str \xc3\xa9"),   # str is a result (UTF-8); uWSGI: none
    (rpc(b"echo", b"a", b""), b"", b"\xad\x01\x00\x00a"),     # a trailing empty item (uWSGI: refused)
    (rpc(b"hello\x00x", b"a"), b"\xad\x07\x00\x00Hello a", b"\xad\x00\x00\x0a"),  # uWSGI: C string compare
])
def test_rpc_packet_replies_where_uwsgi_closes(ports, data, theirs, ours):
    assert both(ports, data) == [theirs, ours]


def test_raw_rpc_differences(ports):
    assert both(ports, rpc(b"strret", modifier2=1)) == [b"", "str é".encode()]
    assert both(ports, rpc(b"echo", b"a", b"", modifier2=1)) == [b"", b"a"]  # nginx's uwsgi_param bar ""
    assert both(ports, rpc(b"nargs", *[b"a"] * 255, modifier2=1)) == [b"254", b""]


NOT_FOUND = b"HTTP/1.0 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nNot Found"
SERVER_ERROR = b"HTTP/1.0 500 Internal Server Error\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nInternal Server Error"


def test_bridge_differences(ports):
    assert both(ports, bridge(("PATH_INFO", "/raises"))) == [NOT_FOUND, SERVER_ERROR]
    assert both(ports, bridge(("PATH_INFO", "/intret"))) == [NOT_FOUND, SERVER_ERROR]
    theirs, ours = both(ports, bridge(("PATH_INFO", "/strret")))
    assert theirs == NOT_FOUND and ours.startswith(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n")
    # any SERVER_PROTOCOL goes into uWSGI's status line; ours says HTTP/1.0 unless it is 1.0/1.1
    theirs, ours = both(ports, bridge(("PATH_INFO", "/hello/a"), ("SERVER_PROTOCOL", "HTTP/2.0")))
    assert theirs.startswith(b"HTTP/2.0 200 OK\r\n") and ours == b"HTTP/1.0" + theirs[8:]


def test_an_empty_bridge_packet_is_dropped_by_both(ports):
    assert both(ports, encode_header(173, 0, 2)) == [b"", b""]


def test_modifier2_3_is_xmlrpc_in_uwsgi_and_raw_here(ports):
    """uWSGI built with libxml2 takes modifier2 3 for XML-RPC, which in 2.0 always answers 500
    (it reads a body by a CONTENT_LENGTH an RPC packet never has); we answer it raw, as every
    other modifier2 uWSGI does not know."""
    assert both(ports, rpc(b"hello", b"a", b"b", modifier2=3)) == [SERVER_ERROR, b"Hello a,b"]


def test_a_remote_signal(ports, request):
    """modifier1 110: under --master both route it (01); without one, signals still work here
    (01), while uWSGI's lone worker cannot route it (00)."""
    master = "--master" in FORMS[request.node.callspec.params["ports"]]
    assert both(ports, b"\x6e\x00\x00\x11") == [b"\xff\x00\x00\x01" if master else b"\xff\x00\x00\x00", b"\xff\x00\x00\x01"]


# -- uwsgi.rpc(node, ...) from each app to each server ---------------------------------------------

def call(ports, caller: int, node: int, func: str, *args: str) -> str:
    q = urllib.parse.urlencode([("node", "127.0.0.1:%d" % ports[node]), ("func", func)] + [("arg", a) for a in args])
    answer = exchange(ports[caller], wsgi(base(PATH_INFO="/call", QUERY_STRING=q)))
    return answer.split(b"\r\n\r\n", 1)[1].decode()


REAL, GW = 0, 1


@pytest.mark.parametrize("func, args, real_to_any, gw_to_real, gw_to_gw", [
    ("hello", ("a",), "b'Hello a'", "b'Hello a'", "b'Hello a'"),
    ("big", ("70000",), repr(b"x" * 70000), repr(b"x" * 70000), repr(b"x" * 70000)),
    ("nargs", ("a",) * 254, "b'254'", "b'254'", "b'254'"),
    ("echo", ("a", "", "b"), "b'a|b'", "b'a|b'", "b'a|b'"),
    ("nosuchfunc", (), "None", "EXC RPCNoReply", "EXC RPCUnknownFunction"),
    ("raises", (), "None", "EXC RPCNoReply", "EXC RPCFunctionError"),
    ("intret", (), "None", "EXC RPCNoReply", "EXC RPCFunctionError"),
    ("noneret", (), "None", "EXC RPCNoReply", "None"),
    ("empty", (), "None", "EXC RPCNoReply", "None"),
])
def test_which_side_of_an_rpc_error_a_caller_sees(ports, func, args, real_to_any, gw_to_real, gw_to_gw):
    """A uWSGI caller sees the same from either server (None for every failure); ours raises
    against both, with the reason only a gateway server can give (README, "RPC")."""
    assert call(ports, REAL, REAL, func, *args) == call(ports, REAL, GW, func, *args) == real_to_any
    assert call(ports, GW, REAL, func, *args).startswith(gw_to_real)
    assert call(ports, GW, GW, func, *args).startswith(gw_to_gw)
