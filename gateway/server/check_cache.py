"""Answers from the cache, before the app: ``--check-cache [CACHE]`` and ``UWSGI_CACHE_GET``.

* ``--check-cache``: a GET whose ``REQUEST_URI`` is a key of the cache is answered with the
  item's value (``200``, ``Content-Length``), without calling the app.
* ``UWSGI_CACHE_GET KEY`` (a var the web server sets, any method): with any cache configured,
  KEY's value in the first cache is the answer, the same way; a missing or empty item lets
  the request go on to the app, as in uWSGI (which, on a hit, writes the bare value without a
  status line or headers: the README says why gateway answers ``200``).

uWSGI does this while parsing the request, before its routing; here the middleware
wraps the whole chain (routes, static files, apps).  An empty value is a miss.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import gateway.subsystems as _subs


class CheckCache:
    """WSGI middleware: see the module docstring.  ``check_uri``: ``--check-cache`` given
    (``cache`` is its cache); ``UWSGI_CACHE_GET`` is always looked up, in the first cache."""

    def __init__(self, app: Callable[..., Iterable[bytes]], cache: Optional[str], check_uri: bool = True) -> None:
        self.app = app
        self.cache = cache or None
        self.check_uri = check_uri

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        key = environ.get("UWSGI_CACHE_GET")
        if key:
            found = self._lookup(None, key)
            if found is not None:
                return self._answer(found, start_response)
        if self.check_uri and environ.get("REQUEST_METHOD") == "GET":
            uri = environ.get("REQUEST_URI")
            if uri:
                found = self._lookup(self.cache, uri)
                if found is not None:
                    return self._answer(found, start_response)
        return self.app(environ, start_response)

    @staticmethod
    def _lookup(cache_name: Optional[str], key: str) -> Optional[bytes]:
        s = _subs.current
        if s is None:
            return None
        cache = s.caches.get(cache_name)
        if cache is None:
            return None
        value = cache.get_memo(key.encode("latin-1"))
        return bytes(value) if value else None

    @staticmethod
    def _answer(body: bytes, start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
