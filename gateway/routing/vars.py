"""Text expansion in route actions and condition arguments: ``$N`` and ``${...}``.

uWSGI expands, in every action argument (and every condition argument):

* ``$0`` .. ``$9``: the groups of the rule's regular expression (``$0`` the whole match);
  a group that did not take part, or a rule without a regexp, gives the empty string;
* ``${VAR}``: the request variable ``VAR`` (a CGI/WSGI environ key such as ``PATH_INFO``,
  ``HTTP_HOST``, ``QUERY_STRING``), empty when absent;
* ``${name[ARG]}``: a *route variable*, computed (table :data:`ROUTE_VARS`):
  ``qs[KEY]``, ``cookie[NAME]``, ``mime[VAR]``, ``time[unix|micros]``, ``httptime[SECONDS]``,
  ``base64[VAR]``, ``hex[VAR]``, ``upper[VAR]``, ``lower[VAR]``,
  ``uwsgi[wid|pid|uuid|sor|status|rsize|rtime]``, ``metric[NAME]``.  ``status`` is the
  response's (0 in the request chain), ``rsize`` (body bytes) and ``rtime`` (microseconds)
  are known in the final chain (0 before), from the keys of :data:`RESPONSE_KEYS`.
  An unknown ``name[...]`` is looked up as a plain request variable, as in uWSGI.

Any other ``$`` is literal.  uWSGI expands in two passes (captures first, then
``${...}`` in the result), so a capture holding ``${...}`` is itself expanded; we expand in
one pass, so text from the request is never re-read as a variable reference.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import time
import uuid
from email.utils import formatdate
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

__all__ = ["NO_SERVICES", "RESPONSE_KEYS", "ROUTE_VARS", "ExpansionTooLarge", "RequestView", "Services", "expand",
           "request_var"]

#: ``${uwsgi[status|rsize|rtime]}`` -> the environ key the response chains fill (ints)
RESPONSE_KEYS = {"status": "gateway.route_status", "rsize": "gateway.route_rsize", "rtime": "gateway.route_rtime"}


class Services:
    """The process-wide facilities some actions and vars use (metrics, signals, caches).

    This base has none of them (every metric unknown, no cache, signals refused); the
    WSGI layer passes one bound to :mod:`gateway.subsystems.api`, tests pass fakes.
    """

    def metric(self, op: str, name: str, value: int) -> bool:
        """Apply ``op`` (inc, dec, mul, div, set) to metric ``name``; False if unknown."""
        return False

    def metric_get(self, name: str) -> int:
        return 0

    def signal(self, num: int) -> bool:
        """Raise uWSGI signal ``num``; False when signals are not available."""
        return False

    def cache_get(self, key: str, cache: Optional[str]) -> Optional[bytes]:
        return None

    def cache_update(self, key: str, value: bytes, expires: int, cache: Optional[str]) -> bool:
        """Store ``value`` under ``key`` (replacing one); False when it cannot be stored."""
        return False

    def harakiri(self, seconds: int) -> None:
        """Give the current request a harakiri deadline of its own (``uwsgi.set_user_harakiri``)."""

    def set_logvar(self, environ: Dict[str, Any], key: bytes, value: bytes) -> None:
        """Set the request's log variable ``key`` (``%(key)`` in ``--log-format``)."""

    def alarm(self, name: str, message: bytes) -> bool:
        """Raise the ``--alarm`` ``name`` (``uwsgi.alarm``); False when there is none."""
        return False


NO_SERVICES = Services()


class RequestView:
    """What expansion reads: the environ, the current captures, the worker id, the services."""

    __slots__ = ("environ", "captures", "worker_id", "services")

    def __init__(self, environ: Dict[str, Any], captures: Sequence[Optional[str]] = (), worker_id: int = 1,
                 services: Services = NO_SERVICES) -> None:
        self.environ = environ
        self.captures = captures
        self.worker_id = worker_id
        self.services = services


def request_var(environ: Mapping[str, Any], name: str) -> Optional[str]:
    """The text value of request variable ``name`` (None when absent or not text)."""
    value = environ.get(name)
    return value if isinstance(value, str) else None


def _pairs(text: str, sep: str, key: str, strip: bool) -> Optional[str]:
    # uWSGI's check_qs/check_cookie: the first KEY=VALUE with a non-empty VALUE
    for part in text.split(sep):
        if strip:
            part = part.strip()
        name, eq, value = part.partition("=")
        if eq and name == key and value:
            return value
    return None


def _qs(req: RequestView, arg: str) -> Optional[str]:
    return _pairs(request_var(req.environ, "QUERY_STRING") or "", "&", arg, strip=False)


def _cookie(req: RequestView, arg: str) -> Optional[str]:
    return _pairs(request_var(req.environ, "HTTP_COOKIE") or "", ";", arg, strip=True)


def _mime(req: RequestView, arg: str) -> Optional[str]:
    value = request_var(req.environ, arg)
    return mimetypes.guess_type(value)[0] if value else None


def _time(req: RequestView, arg: str) -> Optional[str]:
    if arg == "unix":
        return str(int(time.time()))
    if arg == "micros":
        return str(int(time.time() * 1_000_000))
    return None


def _httptime(req: RequestView, arg: str) -> Optional[str]:
    return formatdate(int(time.time()) + _leading_int(arg), usegmt=True)


def _base64(req: RequestView, arg: str) -> Optional[str]:
    value = request_var(req.environ, arg)
    return base64.b64encode(value.encode("latin-1", "replace")).decode("ascii") if value is not None else None


def _hex(req: RequestView, arg: str) -> Optional[str]:
    value = request_var(req.environ, arg)
    return value.encode("latin-1", "replace").hex() if value is not None else None


def _upper(req: RequestView, arg: str) -> Optional[str]:
    value = request_var(req.environ, arg)
    return value.upper() if value is not None else None


def _lower(req: RequestView, arg: str) -> Optional[str]:
    value = request_var(req.environ, arg)
    return value.lower() if value is not None else None


def _uwsgi(req: RequestView, arg: str) -> Optional[str]:
    if arg == "wid":
        return str(req.worker_id)
    if arg == "pid":
        return str(os.getpid())
    if arg == "uuid":
        return str(uuid.uuid4())
    key = RESPONSE_KEYS.get(arg)
    if key is not None:
        return str(req.environ.get(key, 0))
    if arg == "sor":
        start = req.environ.get("gateway.request_start")
        return str(int(float(start) * 1_000_000)) if start else str(int(time.time() * 1_000_000))
    return None


def _metric(req: RequestView, arg: str) -> Optional[str]:
    return str(req.services.metric_get(arg))


#: ``${name[ARG]}`` route variables, as uWSGI registers them in core/routing.c (and its
#: router_metrics plugin: ``metric[NAME]``).
ROUTE_VARS: Dict[str, Callable[[RequestView, str], Optional[str]]] = {
    "qs": _qs,
    "cookie": _cookie,
    "mime": _mime,
    "time": _time,
    "httptime": _httptime,
    "base64": _base64,
    "hex": _hex,
    "upper": _upper,
    "lower": _lower,
    "uwsgi": _uwsgi,
    "metric": _metric,
}


def _leading_int(text: str) -> int:
    """C's ``strtol(text, NULL, 10)``: the leading (signed) integer, 0 when there is none."""
    text = text.lstrip()
    end = 1 if text[:1] in ("+", "-") else 0
    while end < len(text) and text[end].isdigit():
        end += 1
    try:
        return int(text[:end])
    except ValueError:
        return 0


def _lookup(req: RequestView, key: str) -> str:
    bracket = key.find("[")
    if bracket > 0 and key.endswith("]"):
        func = ROUTE_VARS.get(key[:bracket])
        if func is not None:
            return func(req, key[bracket + 1:-1]) or ""
    return request_var(req.environ, key) or ""


class ExpansionTooLarge(ValueError):
    """:func:`expand` with a ``limit``: the result would be longer."""


def expand(template: str, req: RequestView, limit: Optional[int] = None,
           convert: Optional[Callable[[str], str]] = None) -> str:
    """``template`` with ``$N`` and ``${...}`` replaced (see the module docstring).

    The text between variables is copied a span at a time (a ``template`` transformation
    expands a whole response body).  ``limit``: the longest result, else
    :class:`ExpansionTooLarge` (a body of short variables naming long values grows).
    ``convert`` is applied to each substituted value (not to the template's own text)."""
    find = template.find
    i = find("$")
    if i < 0:
        return template
    out = [template[:i]]
    size = i
    n = len(template)
    while i >= 0:
        if i + 1 >= n:  # a trailing "$" stays
            out.append("$")
            size += 1
            i += 1
            break
        nxt = template[i + 1]
        if nxt.isdigit() and nxt.isascii():
            group = int(nxt)
            piece = (req.captures[group] or "") if group < len(req.captures) else ""
            if convert is not None:
                piece = convert(piece)
            i += 2
        elif nxt == "{":
            close = find("}", i + 2)
            if close < 0:  # unterminated: kept as written (uWSGI does the same)
                piece = template[i:]
                i = n
            else:
                piece = _lookup(req, template[i + 2:close])
                if convert is not None:
                    piece = convert(piece)
                i = close + 1
        else:
            piece = "$"
            i += 1
        following = find("$", i)
        literal = template[i:following] if following >= 0 else template[i:]
        out.append(piece)
        out.append(literal)
        size += len(piece) + len(literal)
        if limit is not None and size > limit:
            raise ExpansionTooLarge("the expansion is over %d characters" % limit)
        i = following
    return "".join(out)
