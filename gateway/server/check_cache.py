"""``--check-cache [CACHE]``: a GET whose ``REQUEST_URI`` is a key of the cache is
answered with the item's value (``200``, ``Content-Length``), without calling the app.

uWSGI does this while parsing the request, before its routing; here the middleware
wraps the whole chain (routes, static files, apps).  An empty value is a miss.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import gateway.subsystems as _subs


class CheckCache:
    """WSGI middleware: see the module docstring."""

    def __init__(self, app: Callable[..., Iterable[bytes]], cache: Optional[str]) -> None:
        self.app = app
        self.cache = cache or None

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            uri = environ.get("REQUEST_URI")
            s = _subs.current
            if uri and s is not None:
                cache = s.caches.get(self.cache)
                if cache is not None:
                    value = cache.get_memo(uri.encode("latin-1"))
                    if value:
                        body = bytes(value)
                        start_response("200 OK", [("Content-Length", str(len(body)))])
                        return [body]
        return self.app(environ, start_response)
