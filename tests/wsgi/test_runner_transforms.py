"""Response transformations in the shared WSGI runner (every protocol's path), driven with a
sink that records the calls: what reaches it is what HTTP, uwsgi and the router's backends send."""

from __future__ import annotations

import gzip

import pytest

from gateway.routing.rules import compile_chain
from gateway.routing.wsgi import Router
from gateway.server.settings import ServerSettings
from gateway.server.sink import CHUNKED, FRAMED
from gateway.server.wsgi_call import run_request
from support.recording_sink import Sink


class FakeEngine:
    def schedule_fix(self, core):
        pass


def run(app, rules, path="/x", method="GET", accept="gzip", http11=True, **settings_kw):
    settings = ServerSettings(Router(app, compile_chain(list(rules))), FakeEngine(),  # type: ignore[arg-type]
                              log_requests=False, **settings_kw)
    settings.set_start_hooks(True, False)
    sink = Sink()
    sink.http11 = http11
    environ = {"REQUEST_METHOD": method, "REQUEST_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1", "HTTP_ACCEPT_ENCODING": accept}
    run_request(settings, sink, environ)
    return sink


def body_of(sink):
    out = b""
    for call in sink.calls:
        if call[0] == "head":
            out += call[2]
        elif call[0] == "body":
            out += call[1]
    return out


def head_of(sink):
    return [c[1] for c in sink.calls if c[0] == "head"][0]


def fixed(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "11")])
    return [b"hello world"]


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"one "
    yield b"two"


def test_toupper_keeps_the_one_final_write_of_return_body():
    sink = run(fixed, [("route-run", "toupper:")])
    assert body_of(sink) == b"HELLO WORLD"
    assert b"Content-Length: 11\r\n" in head_of(sink) and sink.calls[-1] == ("done", True)


def test_gzip_streams_a_generator_with_the_sinks_chunking():
    sink = run(stream, [("route", "^/ gzip:")])
    head = head_of(sink)
    assert b"Content-Encoding: gzip\r\n" in head and b"Content-Length" not in head
    assert sink.framing == (b"Transfer-Encoding: chunked\r\n", CHUNKED)
    # one compressed piece per app chunk (streamed, not buffered) then the trailer
    assert [c[0] for c in sink.calls] == ["head", "body", "body", "finish", "done"]
    assert gzip.decompress(body_of(sink)) == b"one two"


def test_gzip_drops_the_apps_content_length():
    sink = run(fixed, [("route", "^/ gzip:")])
    assert b"Content-Length: 11" not in head_of(sink)
    assert gzip.decompress(body_of(sink)) == b"hello world"


def test_no_gzip_for_a_client_that_does_not_accept_it():
    sink = run(fixed, [("route", "^/ gzip:")], accept="identity")
    assert body_of(sink) == b"hello world" and b"Content-Length: 11\r\n" in head_of(sink)


def test_gzip_fixcl_sends_one_framed_body():
    sink = run(stream, [("route-run", "gzip:"), ("route-run", "fixcl:")])
    body = body_of(sink)
    assert b"Content-Length: %d\r\n" % len(body) in head_of(sink)
    assert sink.framing == (b"", FRAMED) and gzip.decompress(body) == b"one two"
    assert sink.calls[-1] == ("done", True)


def test_chunked_transformation_frames_itself_and_the_sink_adds_nothing():
    sink = run(stream, [("route-run", "chunked:")])
    head = head_of(sink)
    assert head.endswith(b"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n")
    assert sink.framing == (b"", FRAMED)
    assert body_of(sink) == b"4\r\none \r\n3\r\ntwo\r\n0\r\n\r\n"


def test_chunked_is_left_out_for_a_peer_that_does_not_read_chunked_framing():
    sink = run(stream, [("route-run", "chunked:"), ("route-run", "toupper:")], http11=False)
    assert b"Transfer-Encoding" not in head_of(sink) and body_of(sink) == b"ONE TWO"


def test_flush_then_tofile_streams_and_stores(tmp_path):
    path = tmp_path / "copy.txt"
    sink = run(stream, [("route-run", "toupper:"), ("route-run", "flush:"),
                        ("route-run", "tofile:filename=%s" % path)])
    assert body_of(sink) == b"ONE TWO" and path.read_bytes() == b"ONE TWO"


def test_write_callable_goes_through_the_chain():
    def app(environ, start_response):
        write = start_response("200 OK", [])
        write(b"abc")
        return [b"def"]
    assert body_of(run(app, [("route-run", "toupper:")])) == b"ABCDEF"


def test_lazy_start_response_in_the_generator_still_transforms():
    def app(environ, start_response):
        start_response("200 OK", [])
        yield b"late"
    assert body_of(run(app, [("route-run", "toupper:")])) == b"LATE"


def test_a_one_piece_body_goes_out_transformed_in_one_write_with_its_length():
    sink = run(fixed, [("route-run", "gzip:")])
    body = body_of(sink)
    assert [c[0] for c in sink.calls] == ["head", "finish", "done"]  # head + whole body, one write
    assert sink.framing == (b"Content-Length: %d\r\n" % len(body), FRAMED)
    assert gzip.decompress(body) == b"hello world"


@pytest.mark.parametrize("app,rule", [(fixed, "gzip:"), (stream, "gzip:"), (fixed, "template:"),
                                      (stream, "fixcl:")])
def test_head_gets_the_head_a_get_gets_and_no_body(app, rule):
    get, head = run(app, [("route-run", rule)]), run(app, [("route-run", rule)], method="HEAD")
    assert body_of(head) == b"" and body_of(get) != b""
    assert head_of(head) == head_of(get)
    if get.framing[1] == FRAMED:  # a Content-Length (for HEAD: the one the GET has)
        assert head.framing == get.framing


def test_a_response_without_a_body_is_not_transformed():
    def no_content(environ, start_response):
        start_response("204 No Content", [("X-A", "1")])
        return [b""]
    sink = run(no_content, [("route-run", "gzip:"), ("route-run", "chunked:")])
    assert head_of(sink) == b"204 No Content\r\nX-A: 1\r\n" and body_of(sink) == b""


def test_template_expands_in_the_body_and_drops_the_stale_length():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "12")])
        return [b"at ${PATH_INFO}!"]
    sink = run(app, [("route-run", "template:")], path="/page")
    assert body_of(sink) == b"at /page!" and b"Content-Length: 9\r\n" not in head_of(sink)
    assert b"Content-Length: 12" not in head_of(sink)


def test_a_buffer_over_the_limit_is_a_500_before_anything_is_sent(monkeypatch, gateway_errors):
    from gateway.routing import transforms

    monkeypatch.setattr(transforms, "MAX_BUFFERED", 5)
    sink = run(stream, [("route-run", "fixcl:")])
    assert ("error", 500) in sink.calls and ("done", False) in sink.calls
    assert any("MAX_BUFFERED" in r.getMessage() for r in gateway_errors.records)


def test_a_buffer_over_the_limit_after_a_flush_aborts(monkeypatch, gateway_errors):
    from gateway.routing import transforms

    monkeypatch.setattr(transforms, "MAX_BUFFERED", 5)
    sink = run(stream, [("route-run", "flush:"), ("route-run", "tofile:filename=/nonexistent/x")])
    assert ("abort",) in sink.calls and body_of(sink) == b"one "


def test_a_rule_answer_is_transformed_too():
    sink = run(fixed, [("route-run", "toupper:"), ("route", "^/x return:403")])
    assert body_of(sink) == b"FORBIDDEN"


def test_an_error_answer_after_buffered_output_is_not_glued_to_it():
    # PEP 3333: before the head is out, start_response(..., exc_info) replaces the response;
    # a buffering step holds the first body's bytes then, and they must not go out with the error
    import sys

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            write(b"half of the page")
            raise RuntimeError("boom")
        except RuntimeError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
            return [b"sorry"]

    sink = run(app, [("route-run", "fixcl:")])
    assert b"500 Internal Server Error" in head_of(sink)
    assert body_of(sink) == b"sorry"
    assert b"Content-Length: 5" in head_of(sink)


def test_uwsgi_route_header_edits_after_start_response_survive_a_transformation():
    # the head of a transformed response is made again from the app's headers when it goes
    # out: uwsgi.route("addheader"/"delheader") after start_response must edit those too
    from gateway import route_api
    from gateway.server.current_request import set_thread_environ

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Secret", "s")])
        set_thread_environ(environ)
        try:
            assert route_api.route("addheader", "X-Late: 1") == route_api.ROUTE_NEXT
            assert route_api.route("delheader", "X-Secret") == route_api.ROUTE_NEXT
        finally:
            set_thread_environ(None)
        return [b"hello"]

    sink = run(app, [("route-run", "toupper:")])
    head = head_of(sink)
    assert b"X-Late: 1\r\n" in head and b"X-Secret" not in head
    assert body_of(sink) == b"HELLO"
