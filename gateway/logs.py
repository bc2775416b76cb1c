"""The server's three loggers, split by audience (as Tornado's ``tornado.log``).

* ``gateway.access``: one line per request, in uWSGI's default request-log format.
* ``gateway.app``: uncaught exceptions from hosted code (WSGI apps, RPC functions,
  Erlang-registered processes), logged once, with the traceback, at the boundary.
* ``gateway.error``: the server's own warnings and errors.  Malformed client input
  goes here at INFO, never with a traceback.

This module is a leaf: it imports only the standard library.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Optional, TextIO

access_log = logging.getLogger("gateway.access")
app_log = logging.getLogger("gateway.app")
gen_log = logging.getLogger("gateway.error")


#: ``--logdate`` without a format: uWSGI's ``ctime()``-style prefix.
DEFAULT_LOGDATE = "%a %b %d %H:%M:%S %Y"


class _DateFormatter(logging.Formatter):
    """``--logdate``: each line prefixed with the local time as ``strftime(datefmt)`` and `` - ``."""

    def __init__(self, datefmt: str) -> None:
        super().__init__("%(message)s")
        self._datefmt = datefmt

    def format(self, record: logging.LogRecord) -> str:
        return time.strftime(self._datefmt, time.localtime(record.created)) + " - " + super().format(record)


def date_format(cfg: Any) -> Optional[str]:
    """The strftime format every server line starts with: the last of ``--logdate`` and
    ``--log-prefix`` given (uWSGI: one handler sets both), or None."""
    given = cfg.in_order("logdate", "log-prefix") if hasattr(cfg, "in_order") else []
    if given:
        return str(given[-1][1])
    return cfg.logdate or None


def setup(level: int = logging.INFO, stream: Optional[TextIO] = None, logdate: Optional[str] = None,
          request_stream: Optional[TextIO] = None) -> None:
    """Send the three loggers to ``stream`` (stderr by default), uWSGI style: bare lines
    (``logdate``: a ``strftime`` format each line starts with).  ``request_stream``
    (``--req-logger file:PATH``) takes the request lines of ``gateway.access`` instead.

    Called once by the CLI; tests and embedders may configure logging themselves.
    """
    root = logging.getLogger("gateway")
    if getattr(root, "_gateway_configured", False):
        return
    formatter = _DateFormatter(logdate) if logdate else logging.Formatter("%(message)s")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    root._gateway_configured = True  # type: ignore[attr-defined]
    if request_stream is not None:
        requests = logging.StreamHandler(request_stream)
        requests.setFormatter(formatter)
        access_log.addHandler(requests)
        access_log.propagate = False


def requests_to_fd(fd: int) -> None:
    """In a child of the log master: the request lines of ``gateway.access`` go to ``fd`` (the
    write end of its request-log pipe, ``--req-logger``), with the same format as the others."""
    root = logging.getLogger("gateway")
    formatter = root.handlers[0].formatter if root.handlers else logging.Formatter("%(message)s")
    for handler in list(access_log.handlers):
        access_log.removeHandler(handler)
    stream = open(fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    access_log.addHandler(handler)
    access_log.propagate = False
