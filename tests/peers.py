"""Real peer binaries for integration tests: skipped locally when absent, a failure in CI.

CI sets ``CI=true``; a green run there must not hide skipped interop tests, so a
missing ``erl``, ``nginx``, ``uwsgi`` or ``wrk`` fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
from typing import Optional

import pytest

_EXTRA_PATH = os.pathsep.join(["/usr/sbin", "/usr/local/sbin"])


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def find(binary: str) -> Optional[str]:
    return shutil.which(binary) or shutil.which(binary, path=_EXTRA_PATH)


def require(binary: str) -> str:
    """The path of ``binary``; skip the test (fail under CI=true) when it is missing."""
    path = find(binary)
    if path:
        return path
    message = "%s is not installed (needed by this test)" % binary
    if in_ci():
        pytest.fail(message + " and CI=true: peers must be installed in CI", pytrace=False)
    pytest.skip(message)
    raise AssertionError("unreachable")


def require_module(name: str):
    """Import and return a Python package a test needs (Flask, Django); same policy."""
    try:
        return __import__(name)
    except ImportError:
        message = "Python package %s is not installed (pip install -e '.[test]')" % name
        if in_ci():
            pytest.fail(message + " and CI=true", pytrace=False)
        pytest.skip(message)
