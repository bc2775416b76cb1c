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


@pytest.fixture
def gateway_errors(caplog):
    """Captured records of the ``gateway.*`` and ``loop_engine`` loggers, for assertions."""
    caplog.set_level(logging.DEBUG, logger="gateway")
    caplog.set_level(logging.DEBUG, logger="loop_engine")
    return caplog
