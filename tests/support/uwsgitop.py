"""Run the real ``uwsgitop`` (PyPI) on a pseudo-terminal against a stats server and capture its screen.

Shared by the stats and subsystems tests: uwsgitop is a curses program, so it needs a
terminal; the screen is read until ``done(text)`` says enough is shown (bounded by
``timeout``), then uwsgitop is asked to quit and is ended by its pid.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import sys
import time
from typing import Callable

import pytest

from peers import in_ci


def uwsgitop_path() -> str:
    """The uwsgitop script; skipped locally when absent, a failure under ``CI=true``."""
    path = shutil.which("uwsgitop") or os.path.join(os.path.dirname(sys.executable), "uwsgitop")
    if os.path.exists(path):
        return path
    message = "uwsgitop is not installed (pip install -e '.[test]')"
    if in_ci():
        pytest.fail(message + " and CI=true", pytrace=False)
    pytest.skip(message)
    raise AssertionError("unreachable")


def uwsgitop_screen(port: int, done: Callable[[str], bool], timeout: float = 15.0) -> str:
    """What uwsgitop shows for the stats server on 127.0.0.1:``port`` once ``done(text)``."""
    uwsgitop = uwsgitop_path()
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.environ["TERM"] = "xterm"
        os.execv(uwsgitop, [uwsgitop, "127.0.0.1:%d" % port])
    screen = b""
    try:
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    screen += os.read(fd, 65536)
                except OSError:
                    break
            if done(screen.decode("latin-1")):
                break
        os.write(fd, b"q")
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return screen.decode("latin-1")
