"""uWSGI's per-request "magic var" that acts before any app runs: ``UWSGI_SETENV`` (the ones
that choose or load an app are :mod:`gateway.mounts`', ``UWSGI_CACHE_GET`` is
:mod:`gateway.server.check_cache`'s, ``UWSGI_POSTFILE`` :mod:`gateway.server.post_file`'s).

The web server sets it (``uwsgi_param UWSGI_SETENV TZ=UTC;``); an HTTP client cannot (its
headers arrive as ``HTTP_*``).  :func:`request_hook` runs as each request starts, as uWSGI
applies it while it parses the vars:

* ``UWSGI_SETENV NAME=VALUE``: ``setenv()`` in the worker, for this request and the next
  ones: C libraries and child processes see it; Python's ``os.environ`` (a copy made at start)
  does not, unless ``--reload-os-env``, as in uWSGI.  A value without ``=`` does nothing.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

from gateway.logs import gen_log


def request_hook(core: Optional[Any], environ: Dict[str, Any]) -> None:
    """A request-start hook of :class:`~gateway.server.settings.ServerSettings`."""
    setenv = environ.get("UWSGI_SETENV")
    if setenv is not None:
        apply_setenv(setenv)


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
