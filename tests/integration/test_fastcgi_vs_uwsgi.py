"""``--fastcgi-socket`` and ``--scgi-socket`` (and their NPH forms) against a real uWSGI 2.0.31:
the same raw records and netstrings, the same answer, the same close.

One real uWSGI and one gateway per module, both ``--master --processes 2`` (uWSGI's async form
is not used: its tornado worker segfaults on a malformed FastCGI request, see below), running
``tests/apps/wire_probe.py`` (its answer lists the vars it got and the body it read;
``/echo/...`` is ``environ_echo``'s).  A FastCGI answer is compared as its records with the
STDOUT ones joined: where the stream is cut into records is free (uWSGI writes the head and each
body chunk as records of their own, we fewer, larger ones; both at most 65535 bytes).  Where the
answers differ by design the test says both sides, and the README says why ("FastCGI and SCGI").
``--socket`` with ``--protocol fastcgi`` is checked once, and a real nginx (Debian's stock
``fastcgi_params``) in front of both FastCGI sockets at the end.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
from typing import Dict, Iterator, List, Tuple

import pytest

from gateway.protocol import fastcgi as F
from gateway.protocol import scgi as S
from support.httpclient import Conn
from support.nginx import Nginx
from tests.integration.test_wire_vs_uwsgi import BASE, base
from tests.peers import RealUWSGI, stop_uwsgi
from tests.server import run_server
from tests.support.router import free_port, wait_listening

pytestmark = pytest.mark.timeout(120)

OPTIONS = ["--master", "--processes", "2", "--pythonpath", "tests/apps", "--wsgi-file", "tests/apps/wire_probe.py"]
KINDS = ("fastcgi-socket", "scgi-socket", "fastcgi-nph-socket", "scgi-nph-socket")
#: how long an answer may be late before the connection counts as left open without one
QUIET = 0.6

#: what nginx's stock fastcgi_params send, with a PATH_INFO (fastcgi_split_path_info)
NGINX = [("QUERY_STRING", "a=1"), ("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", ""),
         ("SCRIPT_NAME", ""), ("PATH_INFO", "/echo/p"), ("REQUEST_URI", "/echo/p?a=1"), ("DOCUMENT_URI", "/echo/p"),
         ("DOCUMENT_ROOT", "/usr/share/nginx/html"), ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "https"),
         ("HTTPS", "on"), ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "nginx/1.22.1"),
         ("REMOTE_ADDR", "10.0.0.9"), ("REMOTE_PORT", "4444"), ("SERVER_ADDR", "127.0.0.1"), ("SERVER_PORT", "8080"),
         ("SERVER_NAME", "localhost"), ("REDIRECT_STATUS", "200"), ("HTTP_HOST", "localhost:8080")]


@pytest.fixture(scope="module")
def ports() -> Iterator[Dict[str, Tuple[int, int]]]:
    """Each socket kind: (real uWSGI's port, gateway's); ``socket`` is ``--socket`` with
    ``--protocol fastcgi``."""
    theirs = {kind: free_port() for kind in KINDS + ("socket",)}
    mine = {kind: free_port() for kind in KINDS + ("socket",)}

    def args(ports: Dict[str, int]) -> List[str]:
        return sum((["--" + kind, "127.0.0.1:%d" % port] for kind, port in ports.items()), ["--protocol", "fastcgi"])

    real = RealUWSGI(args(theirs) + OPTIONS)
    try:
        for port in theirs.values():
            wait_listening(port, proc=real.proc)
        with run_server(args(mine) + OPTIONS):
            yield {kind: (theirs[kind], mine[kind]) for kind in theirs}
    finally:
        stop_uwsgi(real.proc)  # SIGINT: its master stops the workers too


# -- the client side ----------------------------------------------------------------------------


def exchange(port: int, data: bytes, shut: bool = False) -> Tuple[bytes, bool]:
    """Send ``data`` (then half-close if ``shut``); what comes back, and whether the server
    closed (else it went quiet for :data:`QUIET` seconds with the connection open)."""
    with Conn(port, timeout=QUIET) as c:
        c.send(data)
        if shut:
            c.sock.shutdown(socket.SHUT_WR)
        try:
            return c.read_to_eof(), True
        except AssertionError:  # Conn's word for a read that timed out
            return c.buf, False


Record = Tuple[int, int, bytes]


def records(data: bytes) -> List[Record]:
    """The records of an answer, consecutive STDOUT ones of a request joined; each is checked
    to be whole and at most 65535 bytes."""
    out: List[Record] = []
    while data:
        version, rtype, rid, clen, plen, _ = struct.unpack_from(">BBHHBB", data)
        assert version == 1 and len(data) >= 8 + clen + plen, data[:40]
        content, data = data[8 : 8 + clen], data[8 + clen + plen :]
        if rtype == F.STDOUT and content and out and out[-1][:2] == (F.STDOUT, rid) and out[-1][2]:
            out[-1] = (F.STDOUT, rid, out[-1][2] + content)
        else:
            out.append((rtype, rid, content))
    return out


def both(ports: Dict[str, Tuple[int, int]], kind: str, data: bytes, shut: bool = False) -> List[Tuple[object, bool]]:
    """Each server's answer to ``data`` (records for FastCGI) and whether it closed; then each
    must still answer a plain request."""
    fcgi = not kind.startswith("scgi")  # "socket": --protocol fastcgi
    answers = []
    for port in ports[kind]:
        got, closed = exchange(port, data, shut)
        answers.append((records(got) if fcgi else got, closed))
    plain = F.encode_request(BASE) if fcgi else S.encode_request(BASE)
    for port in ports[kind]:
        got, closed = exchange(port, plain)
        assert closed and b"200 OK\r\n" in got, "the worker stopped serving: %r" % got[:100]
    return answers


def begin(rid: int = 1, role: int = F.RESPONDER, flags: int = 0) -> bytes:
    return F.encode_begin_request(rid, role, flags)


def rec(rtype: int, rid: int = 1, content: bytes = b"", padding: int = 0) -> bytes:
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), padding, 0) + content + b"\0" * padding


def fcgi(pairs=BASE, body: bytes = b"", rid: int = 1, role: int = F.RESPONDER, flags: int = 0) -> bytes:
    """A request with its params in one record and its body in one (then the empty ones)."""
    return (begin(rid, role, flags) + rec(F.PARAMS, rid, F.encode_params(pairs)) + rec(F.PARAMS, rid)
            + (rec(F.STDIN, rid, body) if body else b"") + rec(F.STDIN, rid))


def answer(stdout: bytes, rid: int = 1) -> Tuple[List[Record], bool]:
    """A complete answer: STDOUT, the empty STDOUT, END_REQUEST (0, REQUEST_COMPLETE), the close
    (``stdout`` empty: uWSGI's answer to a request it skipped)."""
    out = [(F.STDOUT, rid, stdout)] if stdout else []
    return out + [(F.STDOUT, rid, b""), (F.END_REQUEST, rid, b"\0" * 8)], True


def probe_says(pairs, body: bytes = b"") -> bytes:
    """wire_probe's answer to a request with ``pairs`` whose app read ``body``."""
    own = {"SCRIPT_NAME", "SERVER_PROTOCOL", "REQUEST_URI", "REMOTE_ADDR", "REMOTE_PORT"}
    env = dict(pairs)
    lines = ["%s=%s" % (k, env[k]) for k in sorted(env) if k not in own]
    lines += ["SCRIPT_NAME=%s" % env.get("SCRIPT_NAME", ""),
              "wsgi.url_scheme=%s" % ("https" if env.get("HTTPS") == "on" else "http"), "body=" + body.decode()]
    out = "\n".join(lines).encode()
    return b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%b" % (len(out), out)


P = F.encode_params(BASE)
CL6 = base(CONTENT_LENGTH="6")

#: FastCGI requests both answer alike: name -> (request, what wire_probe read)
SAME_FCGI = {
    "plain": (fcgi(), BASE, b""),
    "a body in one record": (fcgi(CL6, b"abcdef"), CL6, b"abcdef"),
    "a body in many records": (begin() + rec(F.PARAMS, 1, F.encode_params(CL6)) + rec(F.PARAMS) + rec(F.STDIN, 1, b"ab")
                               + rec(F.STDIN, 1, b"cd") + rec(F.STDIN, 1, b"ef") + rec(F.STDIN), CL6, b"abcdef"),
    "padding after params and stdin": (begin() + rec(F.PARAMS, 1, P, padding=5) + rec(F.PARAMS, padding=7)
                                       + rec(F.STDIN, padding=3), BASE, b""),
    "params in two records, cut between pairs": (begin() + rec(F.PARAMS, 1, F.encode_params(BASE[:3]))
                                                 + rec(F.PARAMS, 1, F.encode_params(BASE[3:])) + rec(F.PARAMS)
                                                 + rec(F.STDIN), BASE, b""),
    "request id 65535": (fcgi(rid=65535), BASE, b""),
    "an unknown record type on the request is ignored": (begin() + rec(42, 1, b"x") + rec(F.PARAMS, 1, P)
                                                         + rec(F.PARAMS) + rec(F.STDIN), BASE, b""),
    "DATA and STDERR records on the request are ignored": (begin() + rec(F.PARAMS, 1, P) + rec(F.PARAMS)
                                                           + rec(F.DATA, 1, b"d") + rec(F.STDERR, 1, b"e")
                                                           + rec(F.STDIN), BASE, b""),
    "HTTPS on": (fcgi(base(HTTPS="on")), base(HTTPS="on"), b""),
    "HTTPS off": (fcgi(base(HTTPS="off")), base(HTTPS="off"), b""),
    "a value of 200 bytes (4-byte lengths)": (fcgi(base(X_LONG="v" * 200)), base(X_LONG="v" * 200), b""),
    # the body is CONTENT_LENGTH's bytes of the STDIN stream (the rest is drained): fixed here
    "a body longer than CONTENT_LENGTH": (fcgi(base(CONTENT_LENGTH="2"), b"abcd"), base(CONTENT_LENGTH="2"), b"ab"),
    "CONTENT_LENGTH: its leading digits": (fcgi(base(CONTENT_LENGTH="3abc"), b"abcd"), base(CONTENT_LENGTH="3abc"),
                                           b"abc"),
    # lighttpd's and Apache's authorizers: the app answers (Status 200 grants): fixed here
    "role AUTHORIZER": (fcgi(role=F.AUTHORIZER), BASE, b""),
}


@pytest.mark.parametrize("name", sorted(SAME_FCGI))
def test_fastcgi_same_answer(ports, name):
    data, pairs, body = SAME_FCGI[name]
    rid = struct.unpack_from(">H", data, 2)[0]
    theirs, ours = both(ports, "fastcgi-socket", data)
    assert theirs == answer(probe_says(pairs, body), rid)
    assert ours == theirs


@pytest.mark.parametrize("path, stdout", [
    ("/echo/noreason", b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok"),  # a reason added to a bare 200
    ("/echo/duphdr", b"Status: 200 OK\r\nContent-Type: text/plain\r\nX-Dup: a\r\nX-Dup: b\r\n\r\nok"),
    ("/echo/custom?s=404%20Nope&h=X-A:1&b=a&b=b", b"Status: 404 Nope\r\nX-A: 1\r\n\r\nab"),
])
def test_fastcgi_same_head(ports, path, stdout):
    path, _, query = path.partition("?")
    assert both(ports, "fastcgi-socket", fcgi(base(PATH_INFO=path, QUERY_STRING=query))) == [answer(stdout)] * 2


def test_a_big_answer_in_records_of_at_most_65535_bytes(ports):
    """200000 bytes up and back: STDIN in records of 50000, STDOUT checked by records()."""
    pairs = base(CONTENT_LENGTH="200000")
    data = (begin() + rec(F.PARAMS, 1, F.encode_params(pairs)) + rec(F.PARAMS)
            + b"".join(rec(F.STDIN, 1, b"q" * 50000) for _ in range(4)) + rec(F.STDIN))
    theirs, ours = both(ports, "fastcgi-socket", data)
    assert ours == theirs == answer(probe_says(pairs, b"q" * 200000))


def test_the_environ_from_nginx_params(ports):
    """Every str value the app sees agrees (the non-str ones are the WSGI servers' own)."""
    for kind, data in (("fastcgi-socket", F.encode_request(NGINX)),
                       ("scgi-socket", S.encode_request([p for p in NGINX if p[0] != "CONTENT_LENGTH"]))):
        envs = []
        for got, _ in both(ports, kind, data):
            stdout = b"".join(r[2] for r in got if r[0] == F.STDOUT) if kind.startswith("fastcgi") else got
            envs.append(json.loads(stdout.split(b"\r\n\r\n", 1)[1])["env"])
        assert envs[0] == envs[1]
        assert envs[1]["REMOTE_ADDR"] == "10.0.0.9" and envs[1]["wsgi.url_scheme"] == "https"


def test_protocol_fastcgi_makes_socket_speak_it(ports):
    assert both(ports, "socket", F.encode_request(BASE)) == [REQUEST_1] * 2


@pytest.mark.parametrize("kind, line", [("fastcgi-nph-socket", b"HTTP/1.1 200 OK\r\n"),
                                        ("scgi-nph-socket", b"HTTP/1.1 200 OK\r\n")])
def test_nph_sockets_answer_with_a_status_line(ports, kind, line):
    data = F.encode_request(BASE) if kind.startswith("fastcgi") else S.encode_request(BASE)
    theirs, ours = both(ports, kind, data)
    assert ours == theirs
    stdout = theirs[0][0][2] if kind.startswith("fastcgi") else theirs[0]
    assert stdout.startswith(line)


# -- FastCGI: the documented differences (README, "FastCGI and SCGI") ------------------------------

REQUEST_1 = answer(probe_says(BASE))


def padded(size: int) -> List[Tuple[str, str]]:
    """BASE and an X_PAD whose PARAMS stream is ``size`` bytes (X_PAD's lengths: 1 + 4 bytes)."""
    return BASE + [("X_PAD", "p" * (size - len(P) - 10))]


def end_request(rid: int, protocol_status: int) -> Record:
    return F.END_REQUEST, rid, struct.pack(">IB3x", 0, protocol_status)


DIFFERENT_FCGI = {
    # KEEP_CONN: uWSGI ignores the flag and closes after the first answer
    "KEEP_CONN, two requests": (fcgi(flags=F.KEEP_CONN) + fcgi(rid=2, flags=F.KEEP_CONN), REQUEST_1,
                                (REQUEST_1[0] + answer(probe_says(BASE), 2)[0], False)),
    # management records: uWSGI answers none (a GET_VALUES alone gets nothing, ever)
    "GET_VALUES": (rec(F.GET_VALUES, 0, F.encode_params([("FCGI_MPXS_CONNS", "")])), ([], False),
                   ([(F.GET_VALUES_RESULT, 0, F.encode_params([("FCGI_MPXS_CONNS", "0")]))], False)),
    "an unknown management record, then a request": (rec(42, 0, b"x") + fcgi(), REQUEST_1,
                                                     ([(F.UNKNOWN_TYPE, 0, b"*" + b"\0" * 7)] + REQUEST_1[0], True)),
    # request id 0 is the management records': uWSGI serves a request on it
    "a request on id 0": (fcgi(rid=0), answer(probe_says(BASE), 0),
                          ([(F.UNKNOWN_TYPE, 0, bytes((t,)) + b"\0" * 7) for t in (1, 4, 4, 5)], False)),
    # roles: uWSGI runs the app for any role; FILTER's file data (DATA) could never reach it
    "role FILTER": (fcgi(role=3), REQUEST_1, ([end_request(1, F.UNKNOWN_ROLE)], False)),
    "role 9": (fcgi(role=9), REQUEST_1, ([end_request(1, F.UNKNOWN_ROLE)], False)),
    # a second request while one runs: uWSGI reads both as one (their params mixed)
    "multiplexed requests": (begin(1) + begin(2) + rec(F.PARAMS, 1, P) + rec(F.PARAMS, 2, P) + rec(F.PARAMS, 1)
                             + rec(F.PARAMS, 2) + rec(F.STDIN, 1) + rec(F.STDIN, 2), REQUEST_1,
                             ([end_request(2, F.CANT_MPX_CONN)] + REQUEST_1[0], True)),
    # records of a request never begun are ignored here, as the spec says; uWSGI needs none
    # but a STDIN record, whose id it answers on
    "no BEGIN_REQUEST": (rec(F.PARAMS, 1, P) + rec(F.PARAMS) + rec(F.STDIN), REQUEST_1, ([], False)),
    "STDIN on another id": (begin() + rec(F.PARAMS, 1, P) + rec(F.PARAMS) + rec(F.STDIN, 7),
                            answer(probe_says(BASE), 7), ([], False)),
    # malformed: uWSGI serves a version other than 1 and STDIN before the params' end
    "version 2": (b"\x02" + fcgi()[1:], REQUEST_1, ([], True)),
    "STDIN before the end of PARAMS": (begin() + rec(F.PARAMS, 1, P) + rec(F.STDIN), REQUEST_1, ([], True)),
    # uWSGI decodes each PARAMS record alone: a pair cut across two is never answered (its async
    # worker segfaults); the spec allows any cut
    "a pair cut across two PARAMS records": (begin() + rec(F.PARAMS, 1, P[:9]) + rec(F.PARAMS, 1, P[9:]) + rec(F.PARAMS)
                                             + rec(F.STDIN), ([], False), REQUEST_1),
    # bad params: uWSGI answers an empty STDOUT and END_REQUEST (an empty answer: nginx's
    # 502), we close without a byte (the same 502), as for every malformation
    "an empty name": (fcgi(BASE + [("", "v")]), answer(b""), ([], True)),
    "129 params": (fcgi(BASE + [("X%03d" % i, "v") for i in range(129 - len(BASE))]), answer(b""), ([], True)),
    # --buffer-size bounds the PARAMS stream as received; uWSGI bounds the params re-encoded as
    # uwsgi vars (here 11 bytes more), and over its bound never answers (its async worker segfaults)
    "a PARAMS stream of --buffer-size bytes": (fcgi(padded(4096)), ([], False), answer(probe_says(padded(4096)))),
    "a PARAMS stream over --buffer-size": (fcgi(padded(4097)), ([], False), ([], True)),
    # an empty PARAMS stream: uWSGI's "Empty python request"; the app runs here, on PEP 3333's defaults
    "no params": (begin() + rec(F.PARAMS) + rec(F.STDIN), answer(b""), None),
    # without CONTENT_LENGTH the STDIN stream is the body (see the nginx test below); uWSGI reads none
    "a body without CONTENT_LENGTH": (fcgi(BASE, b"abcd"), REQUEST_1, answer(probe_says(BASE, b"abcd"))),
    # a STDIN stream shorter than CONTENT_LENGTH: uWSGI's read raises, the app gets what came here
    "a body shorter than CONTENT_LENGTH": (fcgi(CL6, b"abcd"), answer(b""), answer(probe_says(CL6, b"abcd"))),
    # ABORT_REQUEST: uWSGI ignores it (and waits for STDIN), we close
    "ABORT_REQUEST before STDIN": (begin() + rec(F.PARAMS, 1, P) + rec(F.PARAMS) + rec(F.ABORT_REQUEST),
                                   ([], False), ([], True)),
    # HEAD: the app's body is dropped here (README, "HTTP")
    "HEAD": (fcgi(base(REQUEST_METHOD="HEAD")), answer(probe_says(base(REQUEST_METHOD="HEAD"))),
             answer(probe_says(base(REQUEST_METHOD="HEAD")).split(b"\r\n\r\n")[0] + b"\r\n\r\n")),
}


@pytest.mark.parametrize("name", sorted(DIFFERENT_FCGI))
def test_fastcgi_differences(ports, name):
    data, theirs, ours = DIFFERENT_FCGI[name]
    got = both(ports, "fastcgi-socket", data)
    assert got[0] == theirs
    if ours is None:  # the app ran on the defaults: its answer says the socket's own port
        assert got[1][1] and got[1][0][0][2].startswith(b"Status: 200 OK\r\n")
    else:
        assert got[1] == ours


def test_a_request_cut_by_eof_in_its_body_is_a_400_here(ports):
    """As on ``--socket`` (README, "HTTP"): the app's read fails in both, uWSGI then sends an
    empty answer (SCGI: nothing), we the read's own status."""
    data = fcgi(CL6, b"abc")[:-8]  # without the empty STDIN record
    theirs, ours = both(ports, "fastcgi-socket", data, shut=True)
    assert theirs == answer(b"")
    assert ours[1] and ours[0][0][2].startswith(b"Status: 400 Bad Request\r\n")
    theirs, ours = both(ports, "scgi-socket", scgi(b"6", body=b"abc"), shut=True)
    assert theirs == (b"", True) and ours[0].startswith(b"Status: 400 Bad Request\r\n")


# -- SCGI ----------------------------------------------------------------------------------------


def block(pairs) -> bytes:
    return b"".join(k + b"\0" + v + b"\0" for k, v in pairs)


def netstring(data: bytes) -> bytes:
    return b"%d:%b," % (len(data), data)


SB = [(k.encode(), v.encode()) for k, v in [("CONTENT_LENGTH", "0"), ("SCGI", "1")] + BASE]


def scgi(cl: bytes = b"0", extra=(), body: bytes = b"") -> bytes:
    pairs = [(b"CONTENT_LENGTH", cl)] + SB[1:] if cl is not None else SB[1:]
    return netstring(block(pairs + list(extra))) + body


SAME_SCGI = {
    "plain": scgi(),
    "no CONTENT_LENGTH, no SCGI": netstring(block(SB[2:])),
    "no CONTENT_LENGTH: no body": scgi(None, body=b"abc"),
    "CONTENT_LENGTH empty": scgi(b"", body=b"abc"),
    "CONTENT_LENGTH exact": scgi(b"3", body=b"abc"),
    "a body longer than CONTENT_LENGTH": scgi(b"3", body=b"abcde"),
    "HTTPS on": scgi(extra=[(b"HTTPS", b"on")]),
    "a netstring length with leading zeros": b"0" + scgi(),
    "a second netstring on the connection is ignored": scgi() + scgi(),
    "no comma after the netstring": scgi()[:-1] + b";",
    "an empty netstring": b"0:,",
}


@pytest.mark.parametrize("name", sorted(SAME_SCGI))
def test_scgi_same_answer(ports, name):
    theirs, ours = both(ports, "scgi-socket", SAME_SCGI[name])
    assert ours == theirs and theirs[1]


DIFFERENT_SCGI = {
    # refused here (README): uWSGI drops the odd name or the empty one, reads "3abc" as 3 and "abc" as 0
    "a name without a value": netstring(block(SB) + b"X_ODD\0"),
    "an empty name": scgi(extra=[(b"", b"v")]),
    "headers not NUL-terminated": (lambda b: b"%d:%b," % (len(b) - 1, b[:-1]))(block(SB)),
    "CONTENT_LENGTH abc": scgi(b"abc", body=b"abc"),
    "CONTENT_LENGTH 3abc": scgi(b"3abc", body=b"abcdef"),
}


@pytest.mark.parametrize("name", sorted(DIFFERENT_SCGI))
def test_scgi_refused_here_where_uwsgi_serves(ports, name):
    theirs, ours = both(ports, "scgi-socket", DIFFERENT_SCGI[name])
    assert theirs[0].startswith(b"Status: 200 OK\r\n") and theirs[1]
    assert ours == (b"", True)


def test_scgi_a_length_that_is_not_a_number_is_closed_at_once_here(ports):
    """uWSGI waits for a ':' that never comes (its --socket-timeout); we close."""
    assert both(ports, "scgi-socket", b"x1:,") == [(b"", False), (b"", True)]


def test_scgi_without_path_info_the_path_comes_from_document_uri_here(ports):
    """nginx's stock scgi_params send no PATH_INFO (README, "PATH_INFO")."""
    pairs = [p for p in SB if p[0] != b"PATH_INFO"] + [(b"DOCUMENT_URI", b"/d/u"), (b"REQUEST_URI", b"/d/u?x")]
    theirs, ours = both(ports, "scgi-socket", netstring(block(pairs)))
    assert b"\nPATH_INFO=" not in theirs[0] and b"\nPATH_INFO=/d/u\n" in ours[0]


# -- behind a real nginx (Debian's stock fastcgi_params, no PATH_INFO) -----------------------------

NGINX_CONFIG = """
    upstream ukept { server 127.0.0.1:%(u)d; keepalive 2; }
    upstream gkept { server 127.0.0.1:%(g)d; keepalive 2; }
    server {
        listen {listen};
        location /u/ { include fastcgi_params; fastcgi_pass 127.0.0.1:%(u)d; }
        location /g/ { include fastcgi_params; fastcgi_pass 127.0.0.1:%(g)d; }
        location /ub/ { include fastcgi_params; fastcgi_request_buffering off; fastcgi_pass 127.0.0.1:%(u)d; }
        location /gb/ { include fastcgi_params; fastcgi_request_buffering off; fastcgi_pass 127.0.0.1:%(g)d; }
        location /uk/ { include fastcgi_params; fastcgi_keep_conn on; fastcgi_pass ukept; }
        location /gk/ { include fastcgi_params; fastcgi_keep_conn on; fastcgi_pass gkept; }
    }
"""


@pytest.fixture(scope="module")
def nginx(ports) -> Iterator[int]:
    """nginx in front of both FastCGI sockets: its port (``/u...`` uWSGI, ``/g...`` gateway)."""
    u, g = ports["fastcgi-socket"]
    with Nginx(NGINX_CONFIG % {"u": u, "g": g}) as ngx:
        yield ngx.port


def through_nginx(port: int, path: str, body=None) -> Tuple[int, str]:
    """Status and wire_probe's ``body=`` line of a request through nginx (an iterable ``body``
    goes chunked)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST" if body is not None else "GET", path, body=body,
                  encode_chunked=body is not None and not isinstance(body, bytes))
        r = c.getresponse()
        return r.status, r.read().decode("latin-1").rsplit("\n", 1)[-1]
    finally:
        c.close()


def test_through_nginx_a_posted_body(nginx):
    body = b"p" * 100000
    assert [through_nginx(nginx, prefix + "/x", body) for prefix in ("/u", "/g")] == [(200, "body=" + "p" * 100000)] * 2


def chunked_in_two(port: int, path: str) -> str:
    """wire_probe's ``body=`` line for a chunked upload whose second chunk is sent only once
    the answer is seen not to come without it (within :data:`QUIET`)."""
    with Conn(port, timeout=QUIET) as c:
        c.send(b"POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"3\r\nabc\r\n" % path.encode())
        try:
            c.read_until(b"\r\n\r\n")
        except AssertionError:  # no answer yet: the app waits for the rest of its body
            c.send(b"3\r\ndef\r\n0\r\n\r\n")
            c.sock.settimeout(10)
        return c.read_to_eof().decode("latin-1").rsplit("\n", 1)[-1]


def test_through_nginx_an_unbuffered_chunked_upload_reaches_the_app_here_only(nginx):
    """Under ``fastcgi_request_buffering off`` nginx passes a chunked body it has not read whole
    with an empty CONTENT_LENGTH, as a STDIN stream: uWSGI gives the app no body (and answers
    before the upload is done), here the app reads the stream."""
    assert [chunked_in_two(nginx, prefix + "/x") for prefix in ("/ub", "/gb")] == ["body=", "body=abcdef"]


def test_through_nginx_keep_conn(nginx):
    """``fastcgi_keep_conn on``: uWSGI closes after every answer (nginx copes), we keep it."""
    for _ in range(3):
        assert [through_nginx(nginx, prefix + "/x") for prefix in ("/uk", "/gk")] == [(200, "body=")] * 2
