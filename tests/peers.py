"""Real peer binaries for integration tests: skipped locally when absent, a failure in CI.

CI sets ``CI=true``; a green run there must not hide skipped interop tests, so a
missing ``erl``, ``nginx``, ``uwsgi`` or ``wrk`` fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from typing import List, Optional

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


def uwsgi_venv() -> str:
    """Where ``tests/support/build_uwsgi.sh`` caches its real uWSGI build (per Python version)."""
    override = os.environ.get("GATEWAY_UWSGI_VENV")
    if override:
        return override
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "gateway-tests", "uwsgi-py%d.%d" % sys.version_info[:2])


def find_uwsgi() -> Optional[str]:
    """The real uWSGI 2.0.x (tornado + greenlet plugins) the tests compare against, or None.

    ``$GATEWAY_UWSGI`` (a binary) wins; else the cached build of ``tests/support/build_uwsgi.sh``
    (complete builds only); else, outside CI, the bench's ``bench/.venv/bin/uwsgi``.
    """
    override = os.environ.get("GATEWAY_UWSGI")
    if override:
        return override if os.access(override, os.X_OK) else None
    venv = uwsgi_venv()
    binary = os.path.join(venv, "bin", "uwsgi")
    if os.access(binary, os.X_OK) and os.path.exists(os.path.join(venv, ".built")):
        return binary
    if not in_ci():
        bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", ".venv", "bin", "uwsgi")
        if os.access(bench, os.X_OK):
            return bench
    return None


def require_uwsgi() -> str:
    """The real uWSGI binary; skip the test (fail under CI=true) when it is not built.

    Build it once with ``tests/support/build_uwsgi.sh`` (``.ci/run`` does).
    """
    path = find_uwsgi()
    if path:
        return path
    message = "real uWSGI is not built (run tests/support/build_uwsgi.sh; cache: %s)" % uwsgi_venv()
    if in_ci():
        pytest.fail(message + " and CI=true: peers must be installed in CI", pytrace=False)
    pytest.skip(message)
    raise AssertionError("unreachable")


def stop_uwsgi(proc: subprocess.Popen) -> None:
    """Stop a real uWSGI the test started, by its PID: SIGINT, as uWSGI 2.0's master shuts down
    on it (SIGTERM would only reload it); SIGKILL if it is still there after 15 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class RealUWSGI:
    """A real uWSGI process (``uwsgi --disable-logging ARGS``, run from the checkout), stopped
    by PID: the interop and differential tests' peer."""

    def __init__(self, args: List[str]) -> None:
        self.binary = require_uwsgi()
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen([self.binary, "--disable-logging"] + list(args), cwd=root,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
