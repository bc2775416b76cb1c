"""PEP 3333 environ building: a pure function from a parsed HTTP request head to a dict.

Rules that new servers get wrong, applied here once (style.md, pitfalls 9 and 10):

* every CGI value is a native ``str``; bytes are tunnelled as latin-1;
* ``PATH_INFO`` is percent-decoded bytes as latin-1, its ``.``/``..`` segments removed
  first (as uWSGI's and nginx's), ``QUERY_STRING`` stays raw, ``REQUEST_URI`` is the raw
  request target (uWSGI sets it; many apps read it);
* ``SERVER_PORT`` and ``REMOTE_PORT`` are strings;
* header names containing ``_`` are dropped (``X-Auth_User`` must not spoof
  ``X-Auth-User``; nginx drops them too);
* repeated ``Cookie`` headers are joined with ``"; "``, other repeats with ``", "`` (uWSGI's);
* ``Content-Type`` / ``Content-Length`` map to ``CONTENT_TYPE`` / ``CONTENT_LENGTH``.

The static part of every environ (``wsgi.*``, server name and port, ``uwsgi.*``) is
built once per listener by :func:`base_environ` and copied per request.  :func:`file_name`
turns a tunnelled path back into the name the filesystem knows (static files, ``static:``).
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, Iterable, Optional, Tuple
from urllib.parse import unquote_to_bytes

#: Header name -> environ key, filled on first sight.  Bounded: a client sending
#: thousands of distinct header names must not grow it without limit.
_KEY_CACHE: Dict[str, Optional[str]] = {
    "Content-Type": "CONTENT_TYPE",
    "Content-Length": "CONTENT_LENGTH",
    "content-type": "CONTENT_TYPE",
    "content-length": "CONTENT_LENGTH",
}
_KEY_CACHE_MAX = 2048


def header_key(name: str) -> Optional[str]:
    """The environ key for a header name, or None if the header must be dropped."""
    key = _KEY_CACHE.get(name)
    if key is not None or name in _KEY_CACHE:
        return key
    if "_" in name:
        key = None
    else:
        upper = name.upper().replace("-", "_")
        if upper in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = upper
        else:
            key = "HTTP_" + upper
    if len(_KEY_CACHE) < _KEY_CACHE_MAX:
        _KEY_CACHE[name] = key
    return key


_ENCODED_SLASH = re.compile("(%2[fF])")


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 on a raw (still percent-encoded) absolute path: ``/a/./b/../c`` is
    ``/a/c``; ``..`` never climbs above the root (``/../a`` is ``/a``, ``/..`` is ``/``).

    uWSGI does this before decoding (``http_url_decode``, for ``--http-socket``, its router and
    ``rewrite``), and nginx does it for ``$document_uri``, so an app behind either never sees a
    ``..`` segment; an app that joins ``PATH_INFO`` to a directory relies on that.  Segments are
    the raw path's, so ``%2F`` never makes one (``/a%2F..%2Fb`` keeps its ``..``, as in uWSGI);
    a dot written ``%2E`` counts as a dot (RFC 3986 §6.2.2.2: ``%2E`` *is* ``.``; uWSGI misses
    ``/%2e%2e/``, nginx does not).  A path that does not start with ``/`` (``*``) is kept.
    """
    if not path.startswith("/") or ("/." not in path and "/%2" not in path):
        return path
    out = []
    trailing = False
    for segment in path[1:].split("/"):
        dots = segment.replace("%2e", ".").replace("%2E", ".") if "%" in segment else segment
        trailing = dots in (".", "..")
        if not trailing:
            out.append(segment)
        elif dots == ".." and out:
            out.pop()
    if trailing:
        out.append("")
    return "/" + "/".join(out)


def decode_path(path: str, keep_slashes: bool = False) -> str:
    """The ``PATH_INFO`` of a raw request path: dot segments removed
    (:func:`remove_dot_segments`), then percent-decoded into PEP 3333's latin-1 tunnelled ``str``.

    ``path`` is itself the latin-1 decoding of the bytes on the wire, raw non-ASCII bytes
    included (``/\xc3\xa0%20k``): it goes back to those bytes before the escapes are
    decoded.  (``unquote_to_bytes`` given a ``str`` encodes it as UTF-8 first, which would
    decode the raw bytes a second time: ``'/Ã\x83Â\xa0 k'`` instead of ``'/Ã\xa0 k'``.)
    An invalid escape (``%zz``, a ``%`` at the end) stays as written.

    With ``keep_slashes`` (``--http-path-info-no-decode-slashes``) an encoded slash stays
    as it was written (``%2F`` or ``%2f``), so ``/a%2Fb/c`` keeps two segments apart from
    ``/a/b/c``; every other escape is decoded.
    """
    path = remove_dot_segments(path)
    if "%" not in path:
        return path
    if keep_slashes:
        parts = _ENCODED_SLASH.split(path)  # the odd items are the separators, kept verbatim
        return "".join(part if i % 2 else _unquote(part) for i, part in enumerate(parts))
    return _unquote(path)


def _unquote(path: str) -> str:
    return unquote_to_bytes(path.encode("latin-1")).decode("latin-1")


def base_environ(
    server_name: str,
    server_port: str,
    *,
    multithread: bool,
    multiprocess: bool,
    errors: Any,
    file_wrapper: Any,
    extra: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """The per-listener constant part of every environ."""
    env: Dict[str, Any] = {
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "SCRIPT_NAME": "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": errors,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    if file_wrapper is not None:  # None: --wsgi-disable-file-wrapper
        env["wsgi.file_wrapper"] = file_wrapper
    if extra:
        env.update(extra)
    return env


def request_environ(
    base: Dict[str, Any],
    method: str,
    target: str,
    path: str,
    query: str,
    version: str,
    headers: Iterable[Tuple[str, str]],
    remote_addr: str,
    remote_port: str,
    keep_slashes: bool = False,
) -> Dict[str, Any]:
    """A fresh environ for one request (``wsgi.input`` is added by the caller); ``keep_slashes``:
    ``%2F`` stays encoded in ``PATH_INFO`` (``--http-path-info-no-decode-slashes``)."""
    env = base.copy()
    env["REQUEST_METHOD"] = method
    env["REQUEST_URI"] = target
    # the common path has neither an escape nor a dot segment: no call
    env["PATH_INFO"] = path if "%" not in path and "/." not in path else decode_path(path, keep_slashes)
    env["QUERY_STRING"] = query
    env["SERVER_PROTOCOL"] = version
    env["REMOTE_ADDR"] = remote_addr
    env["REMOTE_PORT"] = remote_port
    cache = _KEY_CACHE
    for name, value in headers:
        key = cache.get(name, "")
        if key == "":
            key = header_key(name)
        if key is None:
            continue
        old = env.get(key)
        if old is None:
            env[key] = value
        elif key == "HTTP_COOKIE":
            env[key] = old + "; " + value
        else:
            env[key] = old + ", " + value
    scheme = env.get("HTTP_X_FORWARDED_PROTO")
    if scheme is not None:
        # uWSGI maps X-Forwarded-Proto to wsgi.url_scheme; only the two sane values.
        scheme = scheme.split(",", 1)[0].strip().lower()
        if scheme in ("http", "https"):
            env["wsgi.url_scheme"] = scheme
    else:
        ssl = env.get("HTTP_X_FORWARDED_SSL")
        if ssl is not None and forwarded_ssl(ssl):
            env["wsgi.url_scheme"] = "https"
    return env


def forwarded_ssl(value: str) -> bool:
    """uWSGI's reading of ``X-Forwarded-Ssl`` (and of the ``HTTPS`` var): https when it starts
    with ``on`` (any case) or ``1``."""
    return value[:2].lower() == "on" or value[:1] == "1"


def file_name(value: Any) -> Optional[str]:
    """A WSGI environ path (its bytes tunnelled as latin-1, PEP 3333) as the file name ``os``
    functions take (the filesystem encoding, undecodable bytes as surrogates), so that a file
    named ``caf\u00e9.txt`` is found from ``/caf\xc3\xa9.txt``; None when it is no such string."""
    if not isinstance(value, str):
        return None
    if value.isascii():
        return value
    try:
        return os.fsdecode(value.encode("latin-1"))
    except UnicodeEncodeError:
        return None  # not a latin-1 tunnelled value (set by an app or a route): no file name
