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
from typing import Optional, TextIO

access_log = logging.getLogger("gateway.access")
app_log = logging.getLogger("gateway.app")
gen_log = logging.getLogger("gateway.error")


def setup(level: int = logging.INFO, stream: Optional[TextIO] = None) -> None:
    """Send the three loggers to ``stream`` (stderr by default), uWSGI style: bare lines.

    Called once by the CLI; tests and embedders may configure logging themselves.
    """
    root = logging.getLogger("gateway")
    if getattr(root, "_gateway_configured", False):
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    root._gateway_configured = True  # type: ignore[attr-defined]
