"""Polling an observable condition with a deadline, for tests that watch another process
(a log file, a stats document, a respawn): no fixed sleeps, a bounded wait."""

from __future__ import annotations

import os
import time
from typing import Any, Callable


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
               interval: float = 0.02) -> Any:
    """``predicate()``'s first truthy value; AssertionError naming ``what`` after ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))


def wait_for(fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """``fn()``'s first truthy value, or its last (falsy) one at the deadline: for callers
    that assert on the value themselves."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan nobody reaped yet is dead here)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
