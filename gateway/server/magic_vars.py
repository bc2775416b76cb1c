"""uWSGI's per-request "magic var" that acts before any app runs: ``UWSGI_SETENV`` (the ones
that choose or load an app are :mod:`gateway.mounts`', ``UWSGI_CACHE_GET`` is
:mod:`gateway.server.check_cache`'s, ``UWSGI_POSTFILE`` :mod:`gateway.server.post_file`'s).

The web server sets it (``uwsgi_param UWSGI_SETENV TZ=UTC;``), so only the vars protocols
(``--socket``, FastCGI, SCGI) carry it; an HTTP client cannot (its headers arrive as
``HTTP_*``).  :class:`~gateway.server.vars_conn.VarsConnection` applies it as it builds the
environ, before the request runs, as uWSGI applies it while it parses the vars (so a route's
``addvar:`` comes too late for it there and here):

* ``UWSGI_SETENV NAME=VALUE``: ``setenv()`` in the worker, for this request and the next
  ones: C libraries and child processes see it; Python's ``os.environ`` (a copy made at start)
  does not, unless ``--reload-os-env``, as in uWSGI.  A value without ``=`` does nothing.
"""

from __future__ import annotations

import os

from gateway.logs import gen_log


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
