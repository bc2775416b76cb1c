"""``--start-response-nodelay`` (``WSGIResponse.flush_head``) against a recording sink: the
head goes out inside ``start_response``; what the default does instead."""

from __future__ import annotations

import sys
from typing import Any, List, Tuple

import pytest

from gateway.server.settings import ServerSettings
from gateway.server.wsgi_call import run_request


class RecordingSink:
    """A ``ResponseSink`` that records its calls."""

    closed = False

    def __init__(self) -> None:
        self.calls: List[Tuple[Any, ...]] = []

    def send_head(self, resp: Any, first: bytes, final: bool) -> int:
        self.calls.append(("head", resp.head, first, final, resp.send_body))
        return len(resp.head)

    def send_body(self, data: bytes) -> None:
        self.calls.append(("body", data))

    def peer_parses_chunked(self) -> bool:
        return True

    def finish(self) -> None:
        self.calls.append(("finish",))

    def send_error(self, status: int, reason: str, detail: str = "") -> tuple:
        self.calls.append(("error", status))
        return 0, 0, 0

    def abort(self) -> None:
        self.calls.append(("abort",))

    def request_done(self, ok: bool) -> None:
        self.calls.append(("done", ok))


def run(app: Any, nodelay: bool = True, method: str = "GET") -> List[Tuple[Any, ...]]:
    settings = ServerSettings(app, None, log_requests=False)  # type: ignore[arg-type]
    settings.set_start_hooks(False, nodelay)
    sink = RecordingSink()
    run_request(settings, sink, {"REQUEST_METHOD": method, "REQUEST_URI": "/"})  # type: ignore[arg-type]
    return sink.calls


def test_off_by_default():
    settings = ServerSettings(None, None)  # type: ignore[arg-type]
    assert not settings.start_response_nodelay and not settings.start_hooks


@pytest.mark.parametrize("nodelay", [True, False])
def test_the_head_goes_out_inside_start_response_only_with_nodelay(nodelay):
    seen = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        seen.append(list(environ["gateway.response"].sink.calls))  # what went out before the app returned
        return [b"body"]

    calls = run(app, nodelay)
    head = ("head", b"200 OK\r\nContent-Type: text/plain\r\n")
    if nodelay:
        assert seen == [[head + (b"", False, True)]]
        # no computed Content-Length for the one-piece body: it follows the head alone
        assert calls == [head + (b"", False, True), ("body", b"body"), ("finish",), ("done", True)]
    else:
        assert seen == [[]]
        assert calls == [head + (b"body", True, True), ("finish",), ("done", True)]


def test_head_and_204_have_no_body():
    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"dropped"]

    assert run(app, method="HEAD") == [("head", b"200 OK\r\n", b"", False, False), ("finish",), ("done", True)]


def test_exc_info_once_the_head_is_out_is_reraised_and_the_response_cut(expect_log):
    def app(environ, start_response):
        start_response("200 OK", [])
        try:
            raise ValueError("late")
        except ValueError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return [b"never"]

    with expect_log("gateway.app", r"ValueError: late"):
        calls = run(app)
    assert calls[0][0] == "head" and calls[1:] == [("abort",), ("done", False)]


def test_an_app_failing_before_start_response_still_gets_a_500(expect_log):
    def app(environ, start_response):
        raise RuntimeError("early")

    with expect_log("gateway.app", r"RuntimeError: early"):
        assert run(app) == [("error", 500), ("done", False)]


def test_the_500_of_an_error_page_goes_out_once_head_then_body(tmp_path, expect_log):
    # --error-page-500: the runner answers with start_response itself, which sends the head
    from gateway.server import error_pages

    page = tmp_path / "500.html"
    page.write_text("<h1>oops</h1>")
    error_pages.configure({500: [str(page)]})
    try:
        def app(environ, start_response):
            raise RuntimeError("early")

        with expect_log("gateway.app", r"RuntimeError: early"):
            calls = run(app)
    finally:
        error_pages.configure({})
    assert calls[0][:2] == ("head", b"500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 13\r\n")
    assert calls[1:] == [("body", b"<h1>oops</h1>"), ("finish",), ("done", False)]
