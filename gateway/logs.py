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
import os
import sys
import time
import traceback
from types import TracebackType
from typing import Any, Optional, TextIO

access_log = logging.getLogger("gateway.access")
app_log = logging.getLogger("gateway.app")
gen_log = logging.getLogger("gateway.error")


#: ``--logdate`` without a format: uWSGI's ``ctime()`` prefix (``Sat Dec  5 02:18:23 2026``).
DEFAULT_LOGDATE = "%a %b %e %H:%M:%S %Y"

#: ``extra`` of a record whose exception is printed as uWSGI prints an app's (``PyErr_Print``):
#: the traceback alone, from the app's first frame, never prefixed by ``--logdate``.
APP_TRACEBACK = {"app_traceback": True}

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _app_frames(tb: Optional[TracebackType]) -> Optional[TracebackType]:
    """``tb`` without its leading frames in gateway's own code (the runner that called the
    app), as uWSGI's traceback starts in the app; all of ``tb`` if every frame is gateway's."""
    first = tb
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_PACKAGE):
        tb = tb.tb_next
    return tb if tb is not None else first


class _LineFormatter(logging.Formatter):
    """A bare message per line, uWSGI style.  With ``--logdate`` (``datefmt``) the line starts
    with the local time as ``strftime(datefmt)`` and `` - ``, except where uWSGI writes without
    its ``uwsgi_log()`` (which adds the date): the request lines and the apps' tracebacks."""

    def __init__(self, datefmt: Optional[str] = None) -> None:
        super().__init__("%(message)s")
        self._datefmt = datefmt

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info
        if exc and exc[1] is not None and getattr(record, "app_traceback", False):
            return "".join(traceback.format_exception(exc[0], exc[1], _app_frames(exc[2]))).rstrip("\n")
        line = super().format(record)
        if self._datefmt is None or record.name == "gateway.access":
            return line
        return time.strftime(self._datefmt, time.localtime(record.created)) + " - " + line


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
    formatter = _LineFormatter(logdate or None)
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
    formatter = root.handlers[0].formatter if root.handlers else _LineFormatter()
    for handler in list(access_log.handlers):
        access_log.removeHandler(handler)
    stream = open(fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    access_log.addHandler(handler)
    access_log.propagate = False
