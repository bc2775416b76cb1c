"""``--error-page-403/404/500``: an HTML file for the error answers gateway makes itself.

uWSGI serves these pages only for its "managed" errors (core/errors.c: ``uwsgi_500`` when
no app is found, ``uwsgi_404``/``uwsgi_403`` in the file-serving plugins), never for a
status an app or a ``--route`` rule chose.  Gateway's managed errors are the 500 of an app
that raised before its response went out, the 500 of a request no mounted app takes, and
the 404 of a ``static:`` route whose file is missing.  Gateway never answers 403 itself, so
``--error-page-403`` is accepted for compatibility and has nothing to apply to.

Each option may be repeated: the first file that can be read is sent (``text/html``), read
again for every answer, as uWSGI does (an edited page shows at once).  A file larger than
:data:`MAX_ERROR_PAGE` is skipped with a warning.  The pages are per process
(:func:`configure`, called by the worker at startup).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from gateway.logs import gen_log

__all__ = ["MAX_ERROR_PAGE", "configure", "managed_error", "page"]

#: the largest error page sent (bytes); a larger file is skipped
MAX_ERROR_PAGE = 1 << 20

_pages: Dict[int, Tuple[str, ...]] = {}

_TEXT = {403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}


def configure(pages: Mapping[int, Sequence[str]]) -> None:
    """The files of ``--error-page-CODE`` by code (empty sequences: none)."""
    _pages.clear()
    _pages.update({code: tuple(paths) for code, paths in pages.items() if paths})


def page(code: int) -> Optional[bytes]:
    """The HTML of the first readable ``--error-page-CODE`` file, or None."""
    for path in _pages.get(code, ()):
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_ERROR_PAGE + 1)
        except OSError:
            continue
        if len(data) > MAX_ERROR_PAGE:
            gen_log.warning("--error-page-%d %s: larger than %d bytes, not sent", code, path, MAX_ERROR_PAGE)
            continue
        return data
    return None


def managed_error(code: int, start_response: Callable, text: Optional[bytes] = None) -> List[bytes]:
    """Answer the managed error ``code`` (403, 404 or 500) through ``start_response``: its
    ``--error-page`` when there is one, else ``text`` (default: the reason) as text/plain."""
    status = "%d %s" % (code, _TEXT.get(code, "Error"))
    html = page(code)
    if html is not None:
        start_response(status, [("Content-Type", "text/html"), ("Content-Length", str(len(html)))])
        return [html]
    body = text if text is not None else _TEXT.get(code, "Error").encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
