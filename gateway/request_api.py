"""The ``uwsgi`` module's per-request calls: log variables, ``log_this_request``, ``add_var``, ``cl``.

::

    uwsgi.set_logvar("user", user.name)      # --log-format '... %(user_name)' shows it
    uwsgi.log_this_request()                 # logged even with --disable-logging
    uwsgi.add_var("TENANT", "acme")          # %(var.TENANT) in --log-format
    uwsgi.cl()                               # the request's Content-Length (0 without one)

Each call acts on the request the caller serves (its core, or its ``--threads`` thread:
:mod:`gateway.server.current_request`) and raises uWSGI's ``SystemError`` outside one.
The state lives in the request's environ under ``gateway.*`` keys, read by
:mod:`gateway.logformat` and :func:`gateway.server.wsgi_call.run_request`, so it ends
with the request.  Signatures and return values are uWSGI 2.0.31's
(``plugins/python/uwsgi_pymodule.c``): ``set_logvar`` and ``log_this_request`` return
None, ``get_logvar`` the value as bytes or None, ``add_var`` True.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional

from gateway.api_args import bytes_arg
from gateway.logformat import ADDED_VARS, LOGVARS
from gateway.server.current_request import current_environ

#: uWSGI keeps a log variable's key and value in 256-byte arrays with a one-byte length;
#: longer ones are cut to this length (uWSGI's own cast wraps them modulo 256).
MAX_LOGVAR_LEN = 255
#: Log variables one request may set (uWSGI has no bound: one malloc each).
MAX_LOGVARS = 64
#: environ key of ``log_this_request()``
LOG_THIS = "gateway.log_this"
#: uwsgi protocol vars have 16-bit lengths
MAX_VAR_LEN = 0xFFFF


def set_logvar(key: Any, value: Any) -> None:
    """Set this request's log variable ``key`` (``%(key)`` in ``--log-format``)."""
    store_logvar(current_environ("set_logvar"), bytes_arg(key, "set_logvar"), bytes_arg(value, "set_logvar"))
    return None


def store_logvar(environ: Dict[str, Any], key: bytes, value: bytes) -> None:
    """Set log variable ``key`` of the request whose environ this is (``set_logvar`` and the
    ``logvar:`` route action); both are cut to :data:`MAX_LOGVAR_LEN` bytes."""
    k = key[:MAX_LOGVAR_LEN]
    logvars: Optional[Dict[bytes, bytes]] = environ.get(LOGVARS)
    if logvars is None:
        logvars = environ[LOGVARS] = {}
    if k not in logvars and len(logvars) >= MAX_LOGVARS:
        raise ValueError("uwsgi.set_logvar(): at most %d log variables per request" % MAX_LOGVARS)
    logvars[k] = value[:MAX_LOGVAR_LEN]


def get_logvar(key: Any) -> Optional[bytes]:
    """This request's log variable ``key`` (bytes), or None when it is not set."""
    k = bytes_arg(key, "get_logvar")[:MAX_LOGVAR_LEN]
    logvars = current_environ("get_logvar").get(LOGVARS)
    return logvars.get(k) if logvars is not None else None


def log_this_request() -> None:
    """Log this request even when ``--disable-logging`` (or the log-only-if rules) would not
    (a ``--route donotlog:`` still wins, as in uWSGI)."""
    current_environ("log_this_request")[LOG_THIS] = True
    return None


def add_var(key: Any, value: Any) -> bool:
    """Add a request variable (``%(var.KEY)`` in ``--log-format``); a later one wins.

    As in uWSGI the request's variables must fit the ``--buffer-size`` (``ValueError``
    otherwise); the app's environ is not changed (uWSGI built it before the call).
    """
    k = bytes_arg(key, "add_var")
    v = bytes_arg(value, "add_var")
    environ = current_environ("add_var")
    if len(k) > MAX_VAR_LEN or len(v) > MAX_VAR_LEN or len(k) + len(v) + 4 > _room(environ):
        raise ValueError("unable to add request var, check your buffer size")
    added: Optional[Dict[str, str]] = environ.get(ADDED_VARS)
    if added is None:
        added = environ[ADDED_VARS] = {}
    added[k.decode("latin-1")] = v.decode("latin-1")  # an environ-style str, as a var from the wire
    return True


def _room(environ: Dict[str, Any]) -> int:
    """Bytes of ``--buffer-size`` the request's vars (environ strings and added vars, each
    with its two 2-byte lengths, as on the uwsgi wire) leave free."""
    uwsgi = sys.modules.get("gateway.uwsgi_module")
    size = getattr(uwsgi, "buffer_size", 4096)
    used = 0
    for k, v in environ.items():
        if type(v) is str:
            used += len(k) + len(v) + 4
    for k, v in environ.get(ADDED_VARS, {}).items():
        used += len(k) + len(v) + 4
    return size - used


def cl() -> int:
    """The request's Content-Length (0 when it has none, e.g. a chunked body)."""
    value = current_environ("cl").get("CONTENT_LENGTH") or ""
    try:
        n = int(value)
    except ValueError:
        return 0
    return n if n > 0 else 0
