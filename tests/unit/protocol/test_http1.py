"""Tests of the sans-IO HTTP/1.x request parser: corpus in every feeding mode, then the rules one by one."""

from __future__ import annotations

import pytest

from gateway.protocol import http1
from gateway.protocol.errors import LocalProtocolError, RemoteProtocolError
from gateway.protocol.http1 import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Request,
    RequestParser,
)

from .http1_driver import SPLITTERS, corpus_names, load, run

NEXT = b"GET /next?n=1 HTTP/1.1\r\nHost: next\r\n\r\n"


def events_of(parser: RequestParser) -> list:
    """Pull events until NEED_DATA, PAUSED or ConnectionClosed (included)."""
    out = []
    while True:
        ev = parser.next_event()
        out.append(ev)
        if ev is NEED_DATA or ev is PAUSED or type(ev) is ConnectionClosed:
            return out


def parse(data: bytes, **kwargs) -> list:
    p = RequestParser(**kwargs)
    p.receive_data(data)
    return events_of(p)


def check_valid(events: list, expected: dict) -> None:
    assert events, "no event"
    request = events[0]
    assert type(request) is Request
    want = dict(expected["request"])
    want["headers"] = [tuple(h) for h in want["headers"]]
    assert request._asdict() == want
    body = expected["body"].encode("latin-1")
    rest = events[1:]
    if body:
        assert type(rest[0]) is Data and rest[0].data == body
        rest = rest[1:]
    trailers = tuple(tuple(t) for t in expected["trailers"])
    assert rest == [EndOfMessage(trailers)]
    assert type(rest[0]) is EndOfMessage


# -- the corpus, in every feeding mode ----------------------------------------


@pytest.mark.parametrize("mode", list(SPLITTERS))
@pytest.mark.parametrize("name", corpus_names("valid"))
def test_valid_corpus(name: str, mode: str) -> None:
    data, expected = load("valid", name)
    out = run(SPLITTERS[mode](data), eof=False, **expected.get("parser", {}))
    assert out.error is None
    check_valid(out.events, expected)
    assert out.paused
    assert out.parser.trailing_data == (b"", False)


@pytest.mark.parametrize("mode", ["whole", "bytewise", "random1"])
@pytest.mark.parametrize("name", corpus_names("valid"))
def test_valid_corpus_stops_at_message_end(name: str, mode: str) -> None:
    data, expected = load("valid", name)
    kwargs = expected.get("parser", {})
    out = run(SPLITTERS[mode](data + NEXT), eof=False, **kwargs)
    check_valid(out.events, expected)
    assert out.paused
    assert out.parser.trailing_data == (NEXT, False)
    out.parser.start_next_request()
    following = events_of(out.parser)
    assert type(following[0]) is Request
    assert (following[0].path, following[0].query, following[0].host) == ("/next", "n=1", "next")
    assert following[1:] == [EndOfMessage(), PAUSED]


@pytest.mark.parametrize("name", corpus_names("valid"))
def test_valid_corpus_gives_identical_events_in_every_mode(name: str) -> None:
    data, expected = load("valid", name)
    results = {mode: run(split(data), eof=False, **expected.get("parser", {})).events for mode, split in SPLITTERS.items()}
    first = results.pop("whole")
    for mode, events in results.items():
        assert events == first, mode


@pytest.mark.parametrize("mode", list(SPLITTERS))
@pytest.mark.parametrize("name", corpus_names("invalid"))
def test_invalid_corpus(name: str, mode: str) -> None:
    data, expected = load("invalid", name)
    out = run(SPLITTERS[mode](data), eof=True, **expected.get("parser", {}))
    assert out.error is not None, f"accepted: {out.events}"
    status, message = out.error
    assert status == expected["status_hint"], message
    assert expected["message"] in message
    # Log-safe: the peer's bytes are shown with repr, never raw.
    assert not any(ord(c) < 32 or ord(c) == 127 for c in message), message
    assert message.startswith("client ")
    # The same error whatever the cut, and it stays.
    assert run([data], eof=True, **expected.get("parser", {})).error == out.error
    with pytest.raises(RemoteProtocolError) as again:
        out.parser.next_event()
    assert (again.value.status_hint, again.value.args[0]) == out.error


def test_corpus_is_there() -> None:
    assert len(corpus_names("valid")) >= 40
    assert len(corpus_names("invalid")) >= 90


# -- events and states --------------------------------------------------------


def test_get_without_body_ends_at_once() -> None:
    assert parse(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")[1:] == [EndOfMessage(), PAUSED]


def test_pipelined_requests_are_parsed_one_after_the_other() -> None:
    first = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
    second = b"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    third = b"POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
    p = RequestParser()
    p.receive_data(first + second + third)
    seen = []
    for rest in (second + third, third, b""):
        events = events_of(p)
        assert events[-1] is PAUSED
        seen.append((events[0].path, b"".join(e.data for e in events if type(e) is Data)))
        assert p.trailing_data == (rest, False)
        p.start_next_request()
    assert seen == [("/1", b""), ("/2", b"abc"), ("/3", b"x")]
    assert p.next_event() is NEED_DATA


def test_paused_until_start_next_request() -> None:
    p = RequestParser()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n" + NEXT)
    events_of(p)
    for _ in range(3):
        assert p.next_event() is PAUSED
    assert p.state == "DONE"
    assert p.trailing_data == (NEXT, False)
    p.start_next_request()
    assert p.next_event().path == "/next"


def test_start_next_request_only_after_end_of_message() -> None:
    p = RequestParser()
    with pytest.raises(LocalProtocolError):
        p.start_next_request()
    p.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n")
    assert type(p.next_event()) is Request
    with pytest.raises(LocalProtocolError) as exc:
        p.start_next_request()
    assert exc.value.status_hint == 500


def test_receive_data_after_eof_is_our_bug() -> None:
    p = RequestParser()
    p.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        p.receive_data(b"GET")


def test_eof_before_any_byte_is_connection_closed() -> None:
    p = RequestParser()
    assert p.next_event() is NEED_DATA
    p.receive_data(b"")
    assert p.next_event() == ConnectionClosed()
    assert type(p.next_event()) is ConnectionClosed
    assert p.state == "CLOSED"


def test_eof_after_a_complete_request() -> None:
    p = RequestParser()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    p.receive_data(b"")
    assert events_of(p)[1:] == [EndOfMessage(), PAUSED]
    assert p.trailing_data == (b"", True)
    p.start_next_request()
    assert type(p.next_event()) is ConnectionClosed


@pytest.mark.parametrize("between", [b"\r\n", b"\n", b"\r\n\r\n", b"\r"])
def test_eof_after_empty_lines_is_connection_closed(between: bytes) -> None:
    p = RequestParser()
    p.receive_data(between)
    assert p.next_event() is NEED_DATA
    p.receive_data(b"")
    assert type(p.next_event()) is ConnectionClosed


def test_empty_lines_between_pipelined_requests_are_counted_per_request() -> None:
    one = b"\r\n" * 8 + b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    p = RequestParser(max_leading_empty_lines=8)
    p.receive_data(one * 3)
    for _ in range(3):
        assert events_of(p)[-1] is PAUSED
        p.start_next_request()


def test_error_is_sticky_and_keeps_the_buffer() -> None:
    p = RequestParser()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n" + NEXT)
    with pytest.raises(RemoteProtocolError) as first:
        p.next_event()
    with pytest.raises(RemoteProtocolError) as second:
        p.next_event()
    assert first.value.status_hint == second.value.status_hint == 400
    assert first.value.args == second.value.args
    assert p.state == "ERROR"
    assert p.trailing_data[0].endswith(NEXT)


def test_states() -> None:
    p = RequestParser()
    assert p.state == "HEAD"
    p.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n")
    p.next_event()
    assert p.state == "BODY"
    p.receive_data(b"ok")
    assert events_of(p)[-1] is PAUSED
    assert p.state == "DONE"


# -- streaming and bounded buffering ------------------------------------------


def test_content_length_body_is_streamed_as_it_arrives() -> None:
    p = RequestParser()
    p.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n012")
    assert events_of(p)[1:] == [Data(b"012"), NEED_DATA]
    p.receive_data(b"3456")
    assert events_of(p) == [Data(b"3456"), NEED_DATA]
    p.receive_data(b"789" + NEXT)
    assert events_of(p) == [Data(b"789"), EndOfMessage(), PAUSED]
    assert p.trailing_data == (NEXT, False)


def test_chunked_body_is_streamed_inside_a_chunk() -> None:
    p = RequestParser()
    p.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123")
    assert events_of(p)[1:] == [Data(b"0123"), NEED_DATA]
    p.receive_data(b"456789\r")
    assert events_of(p) == [Data(b"456789"), NEED_DATA]
    p.receive_data(b"\n0\r\n\r\n")
    assert events_of(p) == [EndOfMessage(), PAUSED]


def test_large_body_is_never_buffered() -> None:
    piece = b"x" * 65536
    p = RequestParser(max_body=0)
    p.receive_data(b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % (16 * len(piece)))
    assert type(p.next_event()) is Request
    received = 0
    for _ in range(16):
        p.receive_data(piece)
        ev = p.next_event()
        assert type(ev) is Data and len(ev.data) == len(piece)
        received += len(ev.data)
        assert p.trailing_data == (b"", False)
    assert received == 16 * len(piece)
    assert p.next_event() == EndOfMessage()


@pytest.mark.parametrize(
    "head, status",
    [
        (b"GET /" + b"a" * 200, 414),  # no line end at all
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 200, 431),  # request line fits, headers do not
    ],
)
def test_head_limit_is_hit_as_soon_as_max_head_bytes_arrive(head: bytes, status: int) -> None:
    p = RequestParser(max_head=64)
    p.receive_data(head[:63])
    assert p.next_event() is NEED_DATA
    p.receive_data(head[63:64])
    with pytest.raises(RemoteProtocolError) as exc:
        p.next_event()
    assert exc.value.status_hint == status


@pytest.mark.parametrize("blank", [b"\r\n\r\n", b"\n\n", b"\n\r\n", b"\r\n\n"])
def test_blank_line_split_across_reads_of_a_big_head(blank: bytes) -> None:
    # The blank-line search resumes where the previous one stopped; the
    # overlap must catch a blank line cut anywhere between two reads.
    head = b"GET / HTTP/1.1\r\nX-Filler: " + b"f" * 60000 + blank
    for cut in range(len(head) - 6, len(head)):
        out = run([head[:1000], head[1000:cut], head[cut:]], eof=False, max_head=65536)
        assert out.error is None, out.error
        assert out.events[0].headers == [("X-Filler", "f" * 60000)]
        assert out.events[0].head_size == len(head)


def test_too_many_headers_is_431() -> None:
    head = b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(101)) + b"\r\n"
    with pytest.raises(RemoteProtocolError) as exc:
        parse(head)
    assert exc.value.status_hint == 431
    assert type(parse(head, max_headers=101)[0]) is Request


def test_chunked_max_body_is_checked_while_dechunking() -> None:
    p = RequestParser(max_body=5)
    p.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n")
    assert type(p.next_event()) is Request
    assert p.next_event() == Data(b"abc")  # the first chunk fits and is handed out
    with pytest.raises(RemoteProtocolError) as exc:
        p.next_event()
    assert exc.value.status_hint == 413


def test_no_limit_on_body_by_default() -> None:
    events = parse(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000000\r\n\r\n")
    assert events[0].content_length == 10**12
    assert events[1] is NEED_DATA


# -- request fields -----------------------------------------------------------


@pytest.mark.parametrize(
    "version, connection, keep_alive",
    [
        ("HTTP/1.1", [], True),
        ("HTTP/1.1", ["close"], False),
        ("HTTP/1.1", ["Close"], False),
        ("HTTP/1.1", ["keep-alive"], True),
        ("HTTP/1.1", ["upgrade, close"], False),
        ("HTTP/1.1", ["closed"], True),
        ("HTTP/1.0", [], False),
        ("HTTP/1.0", ["keep-alive"], True),
        ("HTTP/1.0", ["KEEP-ALIVE"], True),
        ("HTTP/1.0", ["foo,keep-alive"], True),
        ("HTTP/1.0", ["keep-alive, close"], False),
        ("HTTP/1.0", ["keep-alive", "close"], False),
        ("HTTP/1.0", ["keep-alives"], False),
    ],
)
def test_keep_alive(version: str, connection: list[str], keep_alive: bool) -> None:
    head = f"GET / {version}\r\nHost: h\r\n" + "".join(f"Connection: {c}\r\n" for c in connection) + "\r\n"
    assert parse(head.encode())[0].keep_alive is keep_alive


@pytest.mark.parametrize(
    "version, extra, expect_continue",
    [
        ("HTTP/1.1", "Content-Length: 1", True),
        ("HTTP/1.1", "Transfer-Encoding: chunked", True),
        ("HTTP/1.1", "Content-Length: 0", False),
        ("HTTP/1.1", "X-None: 1", False),
        ("HTTP/1.0", "Content-Length: 1", False),
    ],
)
def test_expect_continue(version: str, extra: str, expect_continue: bool) -> None:
    head = f"POST / {version}\r\nHost: h\r\nExpect: 100-continue\r\n{extra}\r\n\r\n"
    assert parse(head.encode())[0].expect_continue is expect_continue


def test_unknown_expectation_is_ignored() -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nExpect: something\r\nContent-Length: 1\r\n\r\n"
    assert parse(head)[0].expect_continue is False


def test_request_is_immutable_and_typed() -> None:
    req = parse(b"GET /p?q HTTP/1.1\r\nHost: h\r\nX: 1\r\n\r\n")[0]
    with pytest.raises(AttributeError):
        req.path = "/other"  # type: ignore[misc]
    assert all(type(n) is str and type(v) is str for n, v in req.headers)
    assert type(req.headers) is list


def test_bare_lf_and_crlf_give_the_same_request() -> None:
    crlf = parse(b"POST /x?y HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok")
    lf = parse(b"POST /x?y HTTP/1.1\nHost: h\nContent-Length: 2\n\nok")
    assert crlf[0]._replace(head_size=0) == lf[0]._replace(head_size=0)
    assert crlf[1:] == lf[1:] == [Data(b"ok"), EndOfMessage(), PAUSED]


def test_bare_lf_ends_the_head_before_a_later_crlf_blank_line() -> None:
    # The first blank line ends the head, whichever line end it uses: what
    # follows is body (here: the next request), never more header fields.
    events = parse(b"GET /a HTTP/1.1\nHost: h\n\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
    assert events[0].path == "/a" and events[0].headers == [("Host", "h")]


def test_memoryview_and_bytearray_input() -> None:
    data = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    p = RequestParser()
    p.receive_data(memoryview(data)[:20])
    p.receive_data(bytearray(data[20:]))
    events = events_of(p)
    assert events[0].content_length == 3 and events[1:] == [Data(b"abc"), EndOfMessage(), PAUSED]
    assert type(events[1].data) is bytes


def test_header_names_are_checked_even_when_the_name_cache_is_full(monkeypatch) -> None:
    monkeypatch.setattr(http1, "_name_kind", {})
    monkeypatch.setattr(http1, "NAME_CACHE_SIZE", 0)
    events = parse(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx")
    assert events[0].content_length == 1 and events[1] == Data(b"x")
    assert http1._name_kind == {}
    with pytest.raises(RemoteProtocolError):
        parse(b"GET / HTTP/1.1\r\nHost: h\r\nBad(Name): 1\r\n\r\n")


def test_an_invalid_name_never_enters_the_cache() -> None:
    for _ in range(2):
        with pytest.raises(RemoteProtocolError):
            parse(b"GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n")
    assert "X-A " not in http1._name_kind


def test_cached_name_on_a_line_without_colon_is_refused() -> None:
    parse(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")  # "Host" is now cached
    with pytest.raises(RemoteProtocolError, match="without a colon"):
        parse(b"GET / HTTP/1.1\r\nHost\r\n\r\n")


def test_zero_chunk_with_extension_and_trailers() -> None:
    events = parse(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0;done\r\nX-Sum: 2\r\n\r\n"
    )
    assert events[1:] == [Data(b"ok"), EndOfMessage((("X-Sum", "2"),)), PAUSED]


def test_limits_are_parameters() -> None:
    with pytest.raises(ValueError):
        RequestParser(max_head=8)
    p = RequestParser(max_head=100, max_headers=2, max_body=3, max_leading_empty_lines=0)
    p.receive_data(b"\r\nGET / HTTP/1.1\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="more than 0 empty lines"):
        p.next_event()


@pytest.mark.parametrize("host", ["example.com", "example.com.", "h:8080", "h:", "127.0.0.1", "[::1]:9090",
                                  "xn--caf-dma.example", "a_b.local", ""])
def test_a_host_that_is_host_port_is_accepted(host):
    req = parse(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())[0]
    assert type(req) is Request and req.host == host


@pytest.mark.parametrize("host", ["..", "a/b", "../etc", "a..b", "h:80/x", "user@h", "h:8o", "[::1", "[zz]",
                                  "a b", "h\\x", "\xe9.example"])
def test_a_host_that_is_not_host_port_or_holds_dotdot_is_400(host):
    # apps and routes build paths from HTTP_HOST (setdocroot:/srv/${HTTP_HOST}): nginx refuses these too
    with pytest.raises(RemoteProtocolError, match="invalid Host header") as info:
        parse(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode("latin-1"))
    assert info.value.status_hint == 400


def test_an_absolute_form_authority_with_dotdot_is_400_and_a_repeated_host_is_still_checked():
    with pytest.raises(RemoteProtocolError, match="valid authority"):
        parse(b"GET http://../x HTTP/1.1\r\nHost: h\r\n\r\n")
    p = RequestParser()
    p.receive_data(b"GET / HTTP/1.1\r\nHost: good\r\n\r\nGET / HTTP/1.1\r\nHost: ..\r\n\r\n")
    assert events_of(p)[0].host == "good"
    p.start_next_request()
    with pytest.raises(RemoteProtocolError, match="invalid Host header"):
        events_of(p)


def test_the_host_header_of_an_absolute_form_request_is_still_checked():
    # the authority is the request's host, but HTTP_HOST is made from the Host header: a
    # 'Host: ..' behind 'GET http://h/x' reached routes and apps that build paths from it
    with pytest.raises(RemoteProtocolError, match="invalid Host header"):
        parse(b"GET http://h/x HTTP/1.1\r\nHost: ..\r\n\r\n")
    req = parse(b"GET http://h/x HTTP/1.1\r\nHost: other\r\n\r\n")[0]
    assert type(req) is Request and req.host == "h"
