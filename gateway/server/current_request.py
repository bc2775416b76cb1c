"""Which request the caller is serving: the environ behind ``uwsgi.set_logvar`` & co.

A request runs in an async core (``core.info`` is its environ) or, with ``--threads``,
its app call runs in a thread of the worker's pool (:mod:`gateway.server.app_threads`
records the environ for that thread while the app runs).  uWSGI's per-request calls
(``uwsgi.set_logvar``, ``uwsgi.add_var``, ``uwsgi.cl``...) find their request here::

    environ = current_environ("set_logvar")   # SystemError outside a request, as uWSGI

"""

from __future__ import annotations

import threading
from typing import Any, Dict, Optional

import loop_engine

_thread = threading.local()


def set_thread_environ(environ: Optional[Dict[str, Any]]) -> None:
    """Record (``None``: forget) the request the calling ``--threads`` thread runs."""
    _thread.environ = environ


def environ_or_none() -> Optional[Dict[str, Any]]:
    """The environ of the request the caller serves, or None outside any request."""
    core = loop_engine.current_core()
    if core is not None:
        info = core.info
        return info if isinstance(info, dict) else None
    return getattr(_thread, "environ", None)


def current_environ(what: str) -> Dict[str, Any]:
    """:func:`environ_or_none`, raising uWSGI's ``SystemError`` outside a request."""
    environ = environ_or_none()
    if environ is None:
        raise SystemError("uwsgi.%s(): you can call uwsgi api function only from the main callable "
                          "(inside a request)" % what)
    return environ
