"""The traceback guard every test runs under (tests/support/logguard.py): it must catch what it is for."""

from __future__ import annotations

import logging
import re

import pytest

from support.logguard import TracebackGuard, tracebacks_in


def _log_exception(name: str, message: str) -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger(name).exception(message)


def test_a_logged_traceback_is_unexpected_unless_declared(_traceback_guard):
    _traceback_guard.allowed.append(("gateway.app", re.compile("")))  # the suite's own guard: all of these are ours
    guard = TracebackGuard()
    guard.install()
    try:
        _log_exception("gateway.app", "error in the WSGI app for GET /")
        logging.getLogger("gateway.error").error("no traceback here")  # plain errors are not its business
        _log_exception("someone.else", "not a server logger")
        assert [r.getMessage() for r in guard.unexpected()] == ["error in the WSGI app for GET /"]
        with guard.expect("gateway.app", r"ValueError: bad value"):
            _log_exception("gateway.app", "again")
        assert guard.unexpected() == []  # the declaration covers the whole test
        with pytest.raises(AssertionError, match="none came"):
            with guard.expect("loop_engine", "never", timeout=0.05):
                pass
    finally:
        guard.uninstall()


def test_tracebacks_are_found_in_process_output():
    lines = ["gateway ready: pid=1", "Traceback (most recent call last):", '  File "x.py", line 1, in f',
             "    1 / 0", "ZeroDivisionError: division by zero", "next line",
             "Traceback (most recent call last):", '  File "y.py", line 2', "KeyError: 'k'"]
    assert tracebacks_in(lines) == ["ZeroDivisionError: division by zero", "KeyError: 'k'"]
    assert tracebacks_in(["all fine"]) == []
