"""``--log-format`` rendering: built-in names, ``%(var.X)`` request vars, log variables, and the
``-`` of an unset or empty variable (uWSGI's ``core/logging.c`` order)."""

from __future__ import annotations

from types import SimpleNamespace

from gateway.logformat import ADDED_VARS, LOGVARS, LogFormat

RESP = SimpleNamespace(code=200, body_bytes=5, head_bytes=40, switches=0, headers_count=1)


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
