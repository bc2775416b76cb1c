"""Shared pytest configuration: the repository on sys.path, the peer-binary policy, a log guard."""

from __future__ import annotations

import logging
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
TESTS = os.path.dirname(os.path.abspath(__file__))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from support.gen_test import io_loop  # noqa: E402,F401  (the fixture of @gen_test tests)


@pytest.fixture(autouse=True)
def _traceback_guard(request):
    """Fail the test when the server logged a traceback it did not declare (``expect_log``)."""
    from support.logguard import TracebackGuard

    guard = TracebackGuard()
    guard.install()
    request.node._traceback_guard = guard
    try:
        yield guard
    finally:
        guard.uninstall()
    unexpected = guard.unexpected()
    if unexpected:
        pytest.fail("the server logged %d unexpected traceback(s) (declare them with expect_log):\n%s"
                    % (len(unexpected), guard.report(unexpected)), pytrace=False)


@pytest.fixture
def expect_log(_traceback_guard):
    """``with expect_log("gateway.app", r"ZeroDivisionError"): ...``: that traceback must be logged, and is
    allowed (``tests/support/logguard.py``)."""
    return _traceback_guard.expect


@pytest.fixture
def gateway_errors(caplog):
    """Captured records of the ``gateway.*`` and ``loop_engine`` loggers, for assertions."""
    caplog.set_level(logging.DEBUG, logger="gateway")
    caplog.set_level(logging.DEBUG, logger="loop_engine")
    return caplog
