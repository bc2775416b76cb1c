"""``--log-format`` rendering: built-in names, ``%(var.X)`` request vars, log variables, and the
``-`` of an unset or empty variable (uWSGI's ``core/logging.c`` order)."""

from __future__ import annotations

from types import SimpleNamespace

from gateway.logformat import ADDED_VARS, LOGVARS, MODIFIERS, PACKET_VARS, LogFormat, log_text, request_vars

RESP = SimpleNamespace(code=200, body_bytes=5, head_bytes=40, switches=0, headers_count=1, notes=None,
                       logged_switches=lambda: 1)


def render(template: str, environ: dict) -> str:
    return LogFormat(template).render(environ, RESP, 1000.0, None, None)  # type: ignore[arg-type]


def test_a_builtin_name_wins_over_a_log_variable():
    environ = {LOGVARS: {b"status": b"999", b"user_id": b"42"}, "REQUEST_METHOD": "GET"}
    assert render("%(status) %(user_id) %(method)", environ) == "200 42 GET"


def test_unset_and_empty_variables_render_a_dash():
    environ = {LOGVARS: {b"empty": b""}, "HTTP_USER_AGENT": ""}
    assert render("[%(nope)] [%(empty)] [%(uagent)] [%(var.NOPE)]", environ) == "[-] [-] [-] [-]"


def test_request_vars_added_ones_win_over_the_environ():
    environ = {"HTTP_HOST": "example.org", "TENANT": "environ", ADDED_VARS: {"TENANT": "added"},
               "wsgi.input": object()}
    assert render("%(var.HTTP_HOST) %(var.TENANT) %(var.wsgi.input)", environ) == "example.org added -"


def test_log_variable_names_are_any_text_up_to_the_parenthesis():
    environ = {LOGVARS: {b"user-name": b"b\xc3\xb6b"}}
    assert render("u=%(user-name);", environ) == "u=b\u00f6b;"


def test_size_is_head_and_body_rsize_the_body_as_uwsgi():
    # uWSGI's core/logging.c: rsize is response_size, size adds headers_size (real uWSGI agrees)
    assert render("%(size) %(rsize) %(hsize)", {}) == "45 5 40"


def test_vars_and_pktsize_count_the_request_variables_as_uwsgi():
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.url_scheme": "http", "wsgi.input": object(),
               "gateway.app_id": 0}
    # two per variable (uWSGI counts keys and values); wsgi.url_scheme is no request variable
    assert request_vars(environ) == (4, (4 + 14 + 3) + (4 + 9 + 1))
    assert render("%(vars) %(pktsize)", environ) == "4 35"


def test_host_is_the_server_name_without_a_host_header():
    assert render("%(host)", {"SERVER_NAME": "srv", "HTTP_HOST": "h.example"}) == "h.example"
    assert render("%(host)", {"SERVER_NAME": "srv"}) == "srv"


def test_start_time_in_milli_and_microseconds():
    assert LogFormat("%(tmsecs) %(tmicros) %(time)").render({}, RESP, 1000.25, None, None) == (  # type: ignore[arg-type]
        "1000250 1000250000 1000")


def test_modifiers_and_io_error_counts():
    assert render("%(modifier1) %(modifier2)", {}) == "0 0"
    assert render("%(modifier1) %(modifier2)", {MODIFIERS: (30, 2)}) == "30 2"
    assert render("%(werr) %(rerr) %(ioerr)", {}) == "0 0 0"
    failed = SimpleNamespace(**dict(vars(RESP), notes=SimpleNamespace(write_errors=2, read_errors=1)))
    line = LogFormat("%(werr) %(rerr) %(ioerr)").render({}, failed, 1000.0, None, None)  # type: ignore[arg-type]
    assert line == "2 1 3"


def test_a_metric_without_metrics_is_0():
    assert render("%(metric.worker.0.requests)", {}) == "0"


def test_log_x_forwarded_for_makes_addr_the_header_as_uwsgi():
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.1.2.3"}
    line = LogFormat("%(addr) %(var.REMOTE_ADDR)", forwarded_for=True).render(environ, RESP, 1000.0, None, None)  # type: ignore[arg-type]
    assert line == "10.1.2.3 127.0.0.1"
    assert render("%(addr)", environ) == "127.0.0.1"
    assert LogFormat("%(addr)", forwarded_for=True).render({"REMOTE_ADDR": "127.0.0.1"}, RESP, 1000.0, None, None) == (  # type: ignore[arg-type]
        "127.0.0.1")


def test_the_packets_vars_are_counted_not_what_the_environ_adds_and_add_var_counts():
    # nginx sends no SCRIPT_NAME: uWSGI counts what came (9 pairs), gateway's environ has one more
    environ = {"SCRIPT_NAME": "", "REQUEST_METHOD": "GET", PACKET_VARS: (9, 196)}
    assert request_vars(environ) == (18, 196)
    environ[ADDED_VARS] = {"MYVAR": "value1"}  # uwsgi.add_var appends to uWSGI's vars
    assert request_vars(environ) == (20, 196 + 4 + 5 + 6)


def test_the_requests_bytes_are_logged_as_utf8_not_latin1_reencoded():
    uri = b"/caf\xc3\xa9?q=\xe9".decode("latin-1")  # PEP 3333's tunnelling of the raw bytes
    assert log_text(uri) == "/caf\u00e9?q=\\xe9"  # UTF-8 as sent; a stray byte as \xNN
    assert log_text("/plain") == "/plain" and log_text("\u2603") == "\u2603"  # (not the wire's: as is)
    assert render("%(uri) %(var.REQUEST_URI)", {"REQUEST_URI": uri}) == "/caf\u00e9?q=\\xe9 /caf\u00e9?q=\\xe9"
