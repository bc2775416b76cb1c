"""The server's line format (``gateway.logs``): ``--logdate`` as uWSGI applies it, and an app's
exception printed as uWSGI's ``PyErr_Print`` prints it."""

from __future__ import annotations

import logging
import sys
import time

from gateway.logs import APP_TRACEBACK, DEFAULT_LOGDATE, _LineFormatter


def _record(name: str, msg: str, exc_info=None, extra=None) -> logging.LogRecord:
    record = logging.getLogger(name).makeRecord(name, logging.INFO, __file__, 1, msg, (), exc_info,
                                                extra=extra)
    record.created = time.mktime((2026, 12, 5, 2, 18, 23, 0, 0, -1))
    return record


def test_the_default_logdate_is_ctime_with_the_day_padded_by_a_space():
    line = _LineFormatter(DEFAULT_LOGDATE).format(_record("gateway.error", "hello"))
    assert line == "Sat Dec  5 02:18:23 2026 - hello"


def test_request_lines_are_never_dated():
    formatter = _LineFormatter("%Y")
    assert formatter.format(_record("gateway.access", "[pid: 1|app: 0] ...")) == "[pid: 1|app: 0] ..."
    assert formatter.format(_record("gateway.app", "x")) == "2026 - x"


def _raise_from_here(app):
    try:
        app()
    except Exception:
        return sys.exc_info()
    raise AssertionError("no exception")


def test_an_apps_traceback_is_printed_alone_from_its_own_frames(monkeypatch):
    import gateway.logs

    namespace: dict = {}
    exec(compile("def app():\n    raise RuntimeError('kaboom')\n", "/srv/app.py", "exec"), namespace)
    exc_info = _raise_from_here(namespace["app"])
    # this test module plays the runner: its frame is "gateway's" here
    monkeypatch.setattr(gateway.logs, "_PACKAGE", __file__)
    record = _record("gateway.app", "error in the WSGI app for GET /", exc_info, APP_TRACEBACK)
    text = _LineFormatter("%Y").format(record)
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == '  File "/srv/app.py", line 2, in app' and "_raise_from_here" not in text
    assert lines[-1] == "RuntimeError: kaboom"
    # any other record with a traceback keeps its message, dated
    other = _LineFormatter("%Y").format(_record("gateway.app", "error in the RPC function", exc_info))
    assert other.startswith("2026 - error in the RPC function\nTraceback") and "_raise_from_here" in other
