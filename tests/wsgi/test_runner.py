"""The shared WSGI runner against a recording sink: the contract every protocol relies on.

The runner must not know which protocol carries a request: these tests drive it
with a sink that only records the calls (no wire format involved), outside any core,
and check the order of calls, the bytes handed over, ``close()`` and the stats.
"""

from __future__ import annotations

import ast
import os

from gateway.server.settings import ServerSettings
from gateway.server.wsgi_call import run_request
from gateway.server.wsgi_input import ClientDisconnected


class RecordingSink:
    def __init__(self, fail_on_body: bool = False) -> None:
        self.closed = False
        self.calls: list = []
        self.fail_on_body = fail_on_body

    def send_head(self, resp, first, final):
        self.calls.append(("head", resp.head, first, final, resp.send_body))
        return 17

    def send_body(self, data):
        if self.fail_on_body:
            self.closed = True
            raise ClientDisconnected("gone")
        self.calls.append(("body", data))

    def finish(self):
        self.calls.append(("finish",))

    def send_error(self, status, reason, detail=""):
        self.calls.append(("error", status, reason) + ((detail,) if detail else ()))
        return 2, 60, 22

    def abort(self):
        self.calls.append(("abort",))

    def detach(self):
        self.calls.append(("detach",))
        return "transport"

    def request_done(self, ok):
        self.calls.append(("done", ok))


class Closing:
    def __init__(self, items, raise_at=None):
        self.items = items
        self.raise_at = raise_at
        self.closed = 0

    def __iter__(self):
        for i, item in enumerate(self.items):
            if i == self.raise_at:
                raise RuntimeError("boom")
            yield item

    def close(self):
        self.closed += 1


class FakeEngine:
    def schedule_fix(self, core):  # never called outside a core
        raise AssertionError("schedule_fix outside a core")


def run(app, sink=None, method="GET"):
    settings = ServerSettings(app, FakeEngine(), log_requests=False)  # type: ignore[arg-type]
    sink = sink or RecordingSink()
    environ = {"REQUEST_METHOD": method, "REQUEST_URI": "/x", "SERVER_PROTOCOL": "HTTP/1.0",
               "REMOTE_ADDR": "10.1.2.3"}
    run_request(settings, sink, environ)
    return sink, settings


def test_single_body_list_is_one_final_head_write():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    sink, settings = run(app)
    assert sink.calls == [
        ("head", b"200 OK\r\nContent-Type: text/plain\r\n", b"hello", True, True),
        ("finish",),
        ("done", True),
    ]
    assert settings.stats.requests == 1 and settings.stats.tx == 17 + 5  # the head's bytes too, as uWSGI


def test_iterable_head_with_first_chunk_then_body_then_finish_and_close():
    body = Closing([b"", b"a", b"bc"])

    def app(environ, start_response):
        start_response("201 Created", [("Content-Length", "3")])
        return body

    sink, _ = run(app)
    assert sink.calls == [
        ("head", b"201 Created\r\nContent-Length: 3\r\n", b"a", False, True),
        ("body", b"bc"),
        ("finish",),
        ("done", True),
    ]
    assert body.closed == 1


def test_surplus_bytes_are_cut_to_the_content_length_before_the_sink():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return Closing([b"abc", b"def"])

    sink, settings = run(app)
    assert sink.calls[0][2] == b"ab"
    assert [c for c in sink.calls if c[0] == "body"] == []
    assert settings.stats.tx == 17 + 2


def test_short_body_is_not_ok():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "10")])
        return Closing([b"abc"])

    sink, _ = run(app)
    assert sink.calls[-1] == ("done", False)


def test_head_request_sends_no_body_but_gives_the_sink_the_first_bytes():
    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"12345"]

    sink, settings = run(app, method="HEAD")
    assert sink.calls[0] == ("head", b"200 OK\r\n", b"12345", True, False)
    assert settings.stats.tx == 17  # the head only


def test_exception_before_headers_is_a_500_from_the_sink_and_close_is_called(expect_log):
    body = Closing([b"x"], raise_at=0)

    def app(environ, start_response):
        start_response("200 OK", [])
        return body

    with expect_log("gateway.app", "error in the WSGI app"):
        sink, settings = run(app)
    assert sink.calls == [("error", 500, "Internal Server Error"), ("done", False)]
    assert body.closed == 1 and settings.stats.exceptions == 1


def test_exception_after_headers_aborts(expect_log):
    body = Closing([b"x", b"y"], raise_at=1)

    def app(environ, start_response):
        start_response("200 OK", [])
        return body

    with expect_log("gateway.app", "error in the WSGI app"):
        sink, _ = run(app)
    assert [c[0] for c in sink.calls] == ["head", "abort", "done"]
    assert sink.calls[-1] == ("done", False)
    assert body.closed == 1


def test_peer_gone_mid_body_aborts_and_closes_the_iterable():
    body = Closing([b"x", b"y", b"z"])

    def app(environ, start_response):
        start_response("200 OK", [])
        return body

    sink, settings = run(app, sink=RecordingSink(fail_on_body=True))
    assert [c[0] for c in sink.calls] == ["head", "abort", "done"]
    assert body.closed == 1 and settings.stats.exceptions == 0


def test_detach_hands_over_the_transport_and_the_new_owner_gets_the_app_outcome():
    seen = []

    def app(environ, start_response):
        seen.append(environ["gateway.response"].detach(lambda exc: seen.append(("returned", exc))))
        return [b"ignored", b"also ignored"]

    sink = RecordingSink()
    sink.detach = lambda: (sink.calls.append(("detach",)), setattr(sink, "closed", True))[0] or ("transport", b"left")
    settings = ServerSettings(app, FakeEngine(), log_requests=False)  # type: ignore[arg-type]
    run_request(settings, sink, {"REQUEST_METHOD": "GET"})
    assert seen == [("transport", b"left"), ("returned", None)]
    assert sink.calls == [("detach",), ("done", False)]


def test_an_exception_after_detach_goes_to_the_new_owner_not_to_a_500():
    seen = []

    def app(environ, start_response):
        environ["gateway.response"].detach(seen.append)
        raise OSError("websocket closed")

    sink = RecordingSink()
    settings = ServerSettings(app, FakeEngine(), log_requests=False)  # type: ignore[arg-type]
    run_request(settings, sink, {"REQUEST_METHOD": "GET"})
    assert [type(e).__name__ for e in seen] == ["OSError"]
    assert sink.calls == [("detach",), ("done", False)]
    assert settings.stats.exceptions == 0


def test_hooks_see_every_request():
    events = []

    def app(environ, start_response):
        start_response("200 OK", [])
        return []

    settings = ServerSettings(app, FakeEngine(), log_requests=False)  # type: ignore[arg-type]
    settings.request_start_hooks.append(lambda core, env: events.append(("start", env["REQUEST_METHOD"])))
    settings.request_end_hooks.append(lambda core, env, resp: events.append(("end", resp.code)))
    run_request(settings, RecordingSink(), {"REQUEST_METHOD": "GET"})
    assert events == [("start", "GET"), ("end", 200)]


def test_the_runner_imports_no_protocol_server():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "gateway", "server", "wsgi_call.py")
    tree = ast.parse(open(path, encoding="utf-8").read())
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not names & {"gateway.server.http", "gateway.server.uwsgi", "gateway.protocol.http1"}, names


# -- uWSGI's python plugin options about the response (--wsgi-strict, --wsgi-accept-buffer,
# -- --write-errors-*, --post-buffering-bufsize) --------------------------------------------------


def run_with(app, sink=None, environ=None, **options):
    settings = ServerSettings(app, FakeEngine(), log_requests=False, **options)  # type: ignore[arg-type]
    sink = sink or RecordingSink()
    env = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/x", "SERVER_PROTOCOL": "HTTP/1.0", "REMOTE_ADDR": "10.1.2.3"}
    env.update(environ or {})
    run_request(settings, sink, env)
    return sink


def _returns(value):
    def app(environ, start_response):
        start_response("200 OK", [])
        return value
    return app


def test_returned_bytes_are_the_body_unless_strict(expect_log):
    sink = run_with(_returns(b"whole"))
    assert sink.calls[0][2:4] == (b"whole", True)
    with expect_log("gateway.app", "error in the WSGI app"):
        strict = run_with(_returns(b"whole"), wsgi_strict=True)
    assert ("error", 500, "Internal Server Error") in strict.calls


def test_buffer_objects_need_accept_buffers(expect_log):
    import array

    chunk = array.array("b", b"abc")
    with expect_log("gateway.app", "error in the WSGI app"):
        assert ("error", 500, "Internal Server Error") in run_with(_returns([chunk])).calls
    assert run_with(_returns([chunk]), accept_buffers=True).calls[0][2] == b"abc"
    assert run_with(_returns(chunk), accept_buffers=True).calls[0][2] == b"abc"  # returned whole
    with expect_log("gateway.app", "error in the WSGI app"):
        assert ("error", 500, "Internal Server Error") in run_with(_returns(["text"]), accept_buffers=True).calls


class Generator:
    """A generator app recording how many chunks it produced and how it ended."""

    def __init__(self):
        self.produced = 0
        self.ended = ""

    def __call__(self, environ, start_response):
        start_response("200 OK", [])
        return self._chunks()

    def _chunks(self):
        try:
            for _ in range(10):
                self.produced += 1
                yield b"x"
            self.ended = "exhausted"
        except GeneratorExit:
            self.ended = "closed"
            raise
        except OSError as e:
            self.ended = "thrown " + type(e).__name__


class FailAfterHead(RecordingSink):
    def send_body(self, data):
        self.closed = True
        raise ClientDisconnected("gone")


def test_write_errors_tolerance_iterates_on_then_stops():
    app = Generator()
    sink = run_with(app, FailAfterHead())
    assert (app.produced, app.ended) == (2, "closed")  # chunk 1 with the head, chunk 2 fails
    app = Generator()
    run_with(app, FailAfterHead(), write_errors_tolerance=3)
    assert (app.produced, app.ended) == (5, "closed")  # 4 failed chunks: 3 tolerated
    app = Generator()
    run_with(app, FailAfterHead(), write_errors_tolerance=20)
    assert (app.produced, app.ended) == (10, "exhausted")
    assert ("abort",) in sink.calls


def test_write_errors_exception_only_throws_into_the_generator():
    app = Generator()
    run_with(app, FailAfterHead(), write_errors_exception_only=True)
    assert (app.produced, app.ended) == (2, "thrown ClientDisconnected")
    app = Generator()  # not when the app's writes must never raise
    run_with(app, FailAfterHead(), write_errors_exception_only=True, write_exceptions=False)
    assert (app.produced, app.ended) == (2, "closed")


class Source:
    at_end = False

    def __init__(self, data):
        self.data = data
        self.sizes = []

    def read(self, n):
        self.sizes.append(n)
        out, self.data = self.data[:n], self.data[n:]
        return out


def test_post_buffering_reads_bufsize_at_a_time():
    def app(environ, start_response):
        start_response("200 OK", [])
        return [environ["wsgi.input"].read()]

    source = Source(b"y" * 25)
    sink = run_with(app, environ={"wsgi.input": source}, post_buffering=100, post_buffering_bufsize=10)
    assert source.sizes == [10, 10, 10, 10] and sink.calls[0][2] == b"y" * 25


def _noted(app, sink=None, **options):
    """The app's WSGIResponse after the request, and the sink."""
    seen = []

    def capture(environ, start_response):
        seen.append(environ["gateway.response"])
        return app(environ, start_response)

    sink = run_with(capture, sink, **options)
    return seen[0], sink


def test_a_plain_response_makes_no_notes():
    """What only some responses need (``ResponseNotes``) is made on its first use, so a plain
    response pays nothing for it (bench/hotpath_bench.py measures this path)."""
    def listed(environ, start_response):
        start_response("200 OK", [("Content-Length", "5")])
        return [b"hello"]

    def returned(environ, start_response):
        start_response("200 OK", [])
        return b"hello"

    for app in (listed, returned, Generator()):
        resp, sink = _noted(app)
        assert resp.notes is None and ("done", True) in sink.calls
        assert not (resp.io_error or resp.from_file or resp.headless)


def test_notes_keep_what_happened_to_the_response():
    def surplus(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return iter([b"abc", b"def"])

    resp, sink = _noted(surplus)
    assert resp.notes is not None and resp.notes.truncated_warned and not resp.io_error
    assert [c for c in sink.calls if c[0] == "head"][0][2] == b"ab"

    resp, sink = _noted(Generator(), FailAfterHead(), write_errors_tolerance=2)
    assert resp.io_error and resp.notes is not None and resp.notes.write_errors == 3
