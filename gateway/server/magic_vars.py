"""uWSGI's per-request "magic vars" that act before any app runs: ``UWSGI_SETENV`` and
``UWSGI_POSTFILE`` (the ones that choose or load an app are :mod:`gateway.mounts`', and
``UWSGI_CACHE_GET`` is :mod:`gateway.server.check_cache`'s).

The web server sets them (``uwsgi_param UWSGI_SETENV TZ=UTC;``); an HTTP client cannot (its
headers arrive as ``HTTP_*``).  :func:`request_hook` runs as each request starts, as uWSGI
applies them while it parses the vars:

* ``UWSGI_SETENV NAME=VALUE``: ``setenv()`` in the worker, for this request and the next
  ones: C libraries and child processes see it; Python's ``os.environ`` (a copy made at start)
  does not, unless ``--reload-os-env``, as in uWSGI.  A value without ``=`` does nothing.
* ``UWSGI_POSTFILE PATH``: ignored, with one warning per worker (uWSGI reads the body from
  that file instead of the connection; see the README for why gateway does not).
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

from gateway.logs import gen_log
from gateway.mounts import warn_once

POSTFILE_IGNORED = ("UWSGI_POSTFILE is ignored: the body is read from the connection (uWSGI opens the "
                    "file the web server names and hands it to the app as the body)")


def request_hook(core: Optional[Any], environ: Dict[str, Any]) -> None:
    """A request-start hook of :class:`~gateway.server.settings.ServerSettings`."""
    setenv = environ.get("UWSGI_SETENV")
    if setenv is not None:
        apply_setenv(setenv)
    if "UWSGI_POSTFILE" in environ:
        warn_once("UWSGI_POSTFILE", POSTFILE_IGNORED)


def apply_setenv(spec: str) -> None:
    """``NAME=VALUE``: the process environment's NAME becomes VALUE (libc's ``setenv()``,
    which ``os.environ`` does not see)."""
    name, sep, value = spec.partition("=")
    if not sep:
        return
    try:
        os.putenv(name, value)
    except (ValueError, OSError) as e:
        gen_log.error("setenv(): %s (UWSGI_SETENV %r)", e, spec)
