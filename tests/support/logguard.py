"""Fail a test when the server logs a traceback the test did not expect (Tornado's ``ExpectLog`` idea).

An exception the server catches and logs is easy to miss: the request still gets its 500, the test still
passes, and a real bug hides in the output.  So every test runs under :class:`TracebackGuard` (an autouse
fixture in ``tests/conftest.py``): a log record carrying a traceback (``exc_info``) from the server's loggers
(``gateway.*``, ``loop_engine``, ``tornado.*``, ``asyncio``), in the test's thread or a server thread, fails
the test unless the test declared it::

    def test_app_exception_is_500(expect_log):
        with expect_log("gateway.app", r"Traceback|raised"):   # must happen, within the block (+2 s)
            ...

A declaration allows matching records for the rest of the test too (a server thread may log after the
client already has its answer) and fails the test if nothing matched.  Subprocess servers
(``tests/server.py``) get the same check on their captured stderr: ``srv.expect_traceback(pattern)``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from contextlib import contextmanager
from typing import Iterator, List, Optional, Pattern, Tuple

#: the loggers a server writes to (their children propagate here)
WATCHED = ("gateway", "loop_engine", "tornado", "asyncio")


class TracebackGuard(logging.Handler):
    """Collects records with a traceback from :data:`WATCHED` while installed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []
        self.allowed: List[Tuple[str, Pattern[str]]] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None or record.stack_info:
            with self._lock2:
                self.records.append(record)

    def install(self) -> None:
        for name in WATCHED:
            logging.getLogger(name).addHandler(self)

    def uninstall(self) -> None:
        for name in WATCHED:
            logging.getLogger(name).removeHandler(self)

    @staticmethod
    def _text(record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n%s: %s" % (type(record.exc_info[1]).__name__, record.exc_info[1])
        return text

    def _matches(self, record: logging.LogRecord, logger: str, rx: Pattern[str]) -> bool:
        return (record.name == logger or record.name.startswith(logger + ".")) and rx.search(
            self._text(record)) is not None

    def unexpected(self) -> List[logging.LogRecord]:
        with self._lock2:
            records = list(self.records)
        return [r for r in records if not any(self._matches(r, lg, rx) for lg, rx in self.allowed)]

    @contextmanager
    def expect(self, logger: str, pattern: str = "", timeout: float = 2.0) -> Iterator[None]:
        """Allow tracebacks on ``logger`` whose message or exception matches ``pattern``; require one."""
        rx = re.compile(pattern)
        self.allowed.append((logger, rx))
        with self._lock2:
            before = len(self.records)
        yield
        deadline = time.monotonic() + timeout
        while True:
            with self._lock2:
                new = self.records[before:]
            if any(self._matches(r, logger, rx) for r in new):
                return
            if time.monotonic() > deadline:
                raise AssertionError("expected a traceback logged on %r matching %r; none came" % (logger, pattern))
            time.sleep(0.01)

    def report(self, records: List[logging.LogRecord]) -> str:
        out = []
        for r in records:
            formatted = logging.Formatter("%(name)s %(levelname)s: %(message)s").format(r)
            out.append(formatted)
        return "\n\n".join(out)


def tracebacks_in(lines: List[str]) -> List[str]:
    """The tracebacks printed in a process's output: each as its last line (the exception)."""
    found: List[str] = []
    inside: Optional[bool] = None
    for line in lines:
        if line.startswith("Traceback (most recent call last):"):
            inside = True
            continue
        if inside and line and not line.startswith((" ", "\t")) and not line.startswith("During handling"):
            found.append(line)
            inside = None
    return found
