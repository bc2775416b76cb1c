"""The WSGI layer that applies the chain's outcome (gateway.routing.wsgi)."""

from __future__ import annotations

import pytest

from gateway.routing.rules import compile_chain
from gateway.routing.wsgi import RouteBreak, Router
from gateway.server.wsgi_call import ROUTE_ADDED_HEADERS


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Drop", "1"), ("X-Keep", "1")])
    return [("app saw %s" % environ["PATH_INFO"]).encode()]


def call(rules, path="/", **extra):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": ""}
    environ.update(extra)
    seen = {}

    def start_response(status, headers, exc_info=None):
        # (the runner sends the request chain's addheader lines last: gateway.server.wsgi_call)
        seen["status"], seen["headers"] = status, headers + environ.get(ROUTE_ADDED_HEADERS, [])
        return lambda data: None

    body = b"".join(Router(app, compile_chain(rules), worker_id=1)(environ, start_response))
    return seen["status"], seen["headers"], body, environ


def test_no_match_calls_the_app_untouched():
    status, headers, body, environ = call([("route", "^/never break:403")], "/x")
    assert (status, body) == ("200 OK", b"app saw /x") and len(headers) == 3
    assert "gateway.routed" not in environ and "gateway.donotlog" not in environ


def test_headers_are_added_and_removed_on_the_app_response():
    status, headers, body, _ = call([("route-run", "addheader:X-Route: yes"), ("route-run", "delheader:x-drop")])
    assert headers == [("Content-Type", "text/plain"), ("X-Keep", "1"), ("X-Route", "yes")]


def test_an_answer_replaces_the_app_and_gets_the_added_headers():
    status, headers, body, environ = call([("route-run", "addheader:X-Route: yes"), ("route", "^/gone return:410")], "/gone")
    assert (status, body) == ("410 Gone", b"Gone") and ("X-Route", "yes") in headers
    assert environ["gateway.routed"] is True


def test_rewrite_reaches_the_app_and_donotlog_is_flagged():
    status, _, body, environ = call([("route", "^/old(.*) rewrite:/new$1"), ("route-run", "donotlog:")], "/old/x")
    assert body == b"app saw /new/x" and environ["gateway.donotlog"] is True


def test_static_serves_the_file(tmp_path):
    (tmp_path / "a.css").write_text("body{}")
    status, headers, body, _ = call([("route", "^/s/(.*) static:%s/$1" % tmp_path)], "/s/a.css")
    assert (status, body) == ("200 OK", b"body{}")
    assert dict(headers)["Content-Type"] == "text/css" and dict(headers)["Content-Length"] == "6"


def test_the_file_action_answers_with_its_own_head_as_uwsgi(tmp_path):
    """uWSGI's router_static ``file:``: ``200 OK``, Content-Length, ``text/html`` unless told
    (checked against uWSGI 2.0.31); ``-next`` goes on when the file is missing."""
    (tmp_path / "a.css").write_text("body{}")
    status, headers, body, _ = call([("route", "^/f/(.*) file:filename=%s/$1" % tmp_path)], "/f/a.css")
    assert (status, headers, body) == ("200 OK", [("Content-Length", "6"), ("Content-Type", "text/html")], b"body{}")
    rule = "file:filename=%s/a.css,mime=1,no_cl=1,status=${STATUS}" % tmp_path
    status, headers, body, _ = call([("route-run", "addheader:X-A: 1"), ("route-run", rule)], STATUS="203")
    assert (status, headers, body) == ("203 Non-Authoritative Information", [("Content-Type", "text/css"), ("X-A", "1")],
                                       b"body{}")
    status, _, body, _ = call([("route-run", "file-next:filename=%s/missing" % tmp_path)], "/x")
    assert (status, body) == ("200 OK", b"app saw /x")
    status, _, body, _ = call([("route-run", "sendfile:filename=%s/missing" % tmp_path)])
    assert (status, body) == ("404 Not Found", b"Not Found")


def test_a_missing_file_is_a_404(tmp_path):
    status, _, body, _ = call([("route-run", "static:%s/missing.txt" % tmp_path)])
    assert (status, body) == ("404 Not Found", b"Not Found")


def test_break_without_status_ends_the_request_unanswered():
    with pytest.raises(RouteBreak):
        call([("route-run", "break:")])


def test_log_lines_go_to_the_server_log(caplog):
    with caplog.at_level("INFO", logger="gateway.error"):
        call([("route-run", "log:hello ${PATH_INFO}")], "/p")
    assert "hello /p" in caplog.text


def test_a_missing_file_gets_the_error_page_404_and_a_large_page_is_skipped(tmp_path):
    from gateway.server import error_pages

    big = tmp_path / "big.html"
    big.write_bytes(b"x" * (error_pages.MAX_ERROR_PAGE + 1))
    (tmp_path / "404.html").write_text("<p>lost</p>")
    error_pages.configure({404: [str(tmp_path / "none.html"), str(big), str(tmp_path / "404.html")]})
    try:
        status, headers, body, _ = call([("route-run", "static:%s/missing.txt" % tmp_path)])
    finally:
        error_pages.configure({})
    assert (status, body, dict(headers)["Content-Type"]) == ("404 Not Found", b"<p>lost</p>", "text/html")
    # a status a rule chose never gets a page
    error_pages.configure({404: [str(tmp_path / "404.html")]})
    try:
        status, _, body, _ = call([("route-run", "return:404")])
    finally:
        error_pages.configure({})
    assert (status, body) == ("404 Not Found", b"Not Found")
