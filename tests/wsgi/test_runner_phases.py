"""The routing chains around the response, in the shared WSGI runner (any protocol's path).

Driven with a sink that records the calls, as tests/wsgi/test_runner.py does: what reaches
the sink is what every protocol sends.
"""

from __future__ import annotations

from gateway.routing.response import HeaderRules, ResponsePhases
from gateway.routing.rules import compile_chain
from gateway.routing.wsgi import Router
from gateway.server import error_pages
from gateway.server.settings import ServerSettings
from gateway.server.wsgi_call import run_request
from gateway.server.wsgi_input import ClientDisconnected
from support.recording_sink import Sink


class FakeEngine:
    def schedule_fix(self, core):
        raise AssertionError("outside a core")


def run(app, error=(), response=(), final=(), rules=None, path="/x", method="GET", add_headers=(), **settings_kw):
    settings = ServerSettings(app, FakeEngine(), log_requests=False, add_headers=add_headers,  # type: ignore[arg-type]
                              **settings_kw)
    settings.response_phases = ResponsePhases(compile_chain(list(error)), compile_chain(list(response)),
                                              compile_chain(list(final)), rules)
    sink = Sink()
    environ = {"REQUEST_METHOD": method, "REQUEST_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1"}
    run_request(settings, sink, environ)
    return sink.calls, environ, settings


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Secret", "s")])
    return [b"hello"]


def streaming(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    yield b"one"
    yield b"two"


def boom(environ, start_response):
    raise RuntimeError("boom")


def test_a_response_rule_edits_the_head_of_return_body_and_keeps_one_final_write():
    calls, _, _ = run(hello, response=[("response-route-run", "addheader:X-Route: 1"),
                                       ("response-route-run", "delheader:X-Secret")], add_headers=["X-Add: 2"])
    assert calls == [("head", b"200 OK\r\nContent-Type: text/plain\r\nX-Add: 2\r\nX-Route: 1\r\n", b"hello", True),
                     ("finish",), ("done", True)]


def test_request_rules_add_their_headers_last_on_any_response_as_uwsgi():
    """uWSGI keeps the request chain's addheader lines in one list with the later chains' and
    sends them after --add-header, whatever the response (checked against uWSGI 2.0.31)."""
    routed = Router(hello, compile_chain([("route-run", "addheader:X-Req: r"), ("route-run", "addheader:X-Secret: t")]))
    calls, _, _ = run(routed, add_headers=["X-Add: 2"])  # no later chain: the runner's fast path
    assert calls[0][1] == b"200 OK\r\nContent-Type: text/plain\r\nX-Secret: s\r\nX-Add: 2\r\nX-Req: r\r\nX-Secret: t\r\n"
    # --del-header is not applied to them; a later chain's clearheaders or answer keeps them
    calls, _, _ = run(routed, add_headers=["X-Add: 2"], rules=HeaderRules(remove=["x-secret"]))
    assert calls[0][1] == b"200 OK\r\nContent-Type: text/plain\r\nX-Add: 2\r\nX-Req: r\r\nX-Secret: t\r\n"
    calls, _, _ = run(routed, response=[("response-route-run", "clearheaders:201"),
                                        ("response-route-run", "addheader:X-Resp: s")], add_headers=["X-Add: 2"])
    assert calls[0][1] == b"201 Created\r\nX-Add: 2\r\nX-Req: r\r\nX-Secret: t\r\nX-Resp: s\r\n"
    calls, _, _ = run(routed, error=[("error-route-run", "addheader:X-Err: e"), ("error-route-run", "return:202")],
                      add_headers=["X-Add: 2"])
    assert calls[0][1] == (b"202 Accepted\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nX-Add: 2\r\n"
                           b"X-Req: r\r\nX-Secret: t\r\nX-Err: e\r\n")
    answered = Router(hello, compile_chain([("route-run", "addheader:X-Req: r"), ("route-run", "return:403")]))
    calls, _, _ = run(answered, add_headers=["X-Add: 2"])
    assert calls[0][1] == b"403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nX-Add: 2\r\nX-Req: r\r\n"


def test_del_header_and_pull_header_on_every_response():
    calls, environ, _ = run(hello, rules=HeaderRules(remove=["x-secret"], pull=["Content-Type CT"]))
    assert calls[0] == ("head", b"200 OK\r\n", b"hello", True) and environ["CT"] == "text/plain"


def test_an_error_rule_replaces_a_streamed_response_and_drops_the_app_body():
    calls, environ, settings = run(streaming, error=[("error-route-status", "404 return:410")])
    assert calls == [("head", b"410 Gone\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n", b"Gone", True),
                     ("finish",), ("done", True)]
    assert settings.stats.requests == 1


def test_break_in_the_error_chain_cuts_the_connection():
    calls, _, _ = run(streaming, error=[("error-route-status", "404 break:")])
    assert ("abort",) in calls and not [c for c in calls if c[0] == "head"] and calls[-1] == ("done", False)
    calls, _, _ = run(hello, error=[("error-route-run", "break:")])
    assert ("abort",) in calls and not [c for c in calls if c[0] == "head"]


def test_break_in_the_response_chain_sends_the_head_without_the_body_as_uwsgi():
    """uWSGI 2.0.31 writes the head as the chain left it and stops (the rules after the break
    do not run); here the empty body is framed, so keep-alive goes on."""
    calls, _, _ = run(streaming, response=[("response-route-run", "addheader:X-A: 1"),
                                           ("response-route-status", "404 break:"),
                                           ("response-route-run", "addheader:X-B: 1")])
    assert calls[0] == ("head", b"404 Not Found\r\nContent-Type: text/plain\r\nX-A: 1\r\n", b"", True)
    assert calls[-1] == ("done", True)
    counted = Router(hello, compile_chain([("route-run", "addheader:X-Req: r")]))
    calls, _, _ = run(counted, response=[("response-route-run", "delheader:X-Secret"), ("response-route-run", "break:")])
    assert calls[0] == ("head", b"200 OK\r\nContent-Type: text/plain\r\nX-Req: r\r\n", b"", True)


def test_the_app_write_fails_when_a_route_cut_the_response():
    seen = []

    def writer(environ, start_response):
        write = start_response("200 OK", [])
        try:
            write(b"x")
        except ClientDisconnected:
            seen.append("cut")
            raise
        return []

    calls, _, _ = run(writer, error=[("error-route-run", "break:")])
    assert seen == ["cut"] and ("abort",) in calls


def test_the_500_of_an_app_that_raised_goes_through_the_error_chain(expect_log):
    with expect_log("gateway.app", "error in the WSGI app"):
        calls, environ, settings = run(boom, error=[("error-route-status", "500 redirect:/sorry")])
    assert calls[0] == ("head", b"302 Found\r\nLocation: /sorry\r\nContent-Length: 5\r\n", b"Moved", True)
    assert calls[-1] == ("done", False)  # the connection closes after a 500, as before
    assert settings.stats.exceptions == 1


def test_error_page_500_is_sent_for_an_app_that_raised(tmp_path, expect_log):
    page = tmp_path / "500.html"
    page.write_bytes(b"<h1>sorry</h1>")
    error_pages.configure({500: [str(tmp_path / "missing.html"), str(page)]})
    try:
        settings = ServerSettings(boom, FakeEngine(), log_requests=False)  # type: ignore[arg-type]
        sink = Sink()
        with expect_log("gateway.app", "error in the WSGI app"):
            run_request(settings, sink, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/"})
    finally:
        error_pages.configure({})
    assert sink.calls[0] == ("head", b"500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 14\r\n",
                             b"<h1>sorry</h1>", True)
    # without pages or routes: the protocol's own error answer, as before
    sink = Sink()
    with expect_log("gateway.app", "error in the WSGI app"):
        run_request(ServerSettings(boom, FakeEngine(), log_requests=False), sink,  # type: ignore[arg-type]
                    {"REQUEST_METHOD": "GET"})
    assert sink.calls[0] == ("error", 500)


def test_the_final_chain_runs_after_the_response_and_before_the_log_line():
    calls, environ, _ = run(hello, final=[("final-route-status", "200 addvar:FINAL=${PATH_INFO}"),
                                          ("final-route-run", "donotlog:")])
    assert environ["FINAL"] == "/x" and environ["gateway.donotlog"] is True
    assert calls[-1] == ("done", True)


def test_head_requests_get_a_replacement_without_its_body():
    calls, _, _ = run(hello, response=[("response-route-run", "return:403")], method="HEAD")
    assert calls[0] == ("head", b"403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n", b"", True)


def test_disableheaders_sends_the_body_alone_and_closes():
    calls, _, _ = run(streaming, response=[("response-route-run", "disableheaders:")])
    assert calls == [("body", b"one"), ("body", b"two"), ("finish",), ("done", False)]
    calls, _, _ = run(hello, response=[("response-route-run", "disableheaders:")])
    assert calls == [("body", b"hello"), ("finish",), ("done", False)]
    # with a rule's answer: its body alone
    calls, _, _ = run(hello, response=[("response-route-run", "disableheaders:"), ("response-route-run", "return:410")])
    assert calls == [("body", b"Gone"), ("finish",), ("done", False)]
