"""``--honour-range``: a ``Range`` request answered from a ``wsgi.file_wrapper`` response.

A thin WSGI layer in front of the apps (and of ``--static-map``, whose answers are file
wrappers too)::

    app = RangeLayer(app)

When a request carries ``Range: bytes=...`` and the app answers ``200`` with a
``wsgi.file_wrapper`` over a regular file (seekable, with a size), the answer becomes
``206 Partial Content`` with ``Content-Range`` and the range's ``Content-Length``, the
file positioned at the range's start (so ``--offload-threads`` still sends it from the
loop), or ``416 Range Not Satisfiable`` with ``Content-Range: bytes */SIZE`` when the range
starts past the end.  Only the first range of the header counts, as in uWSGI
(:mod:`gateway.protocol.http_range`).  Anything else (another status, a body that is not
a file wrapper, a response that already has a ``Content-Range`` or a ``Content-Encoding``)
goes out untouched.  ``If-Range`` with a date gets the range only if the file was not
modified after it; with an entity tag (gateway sends none) the whole file.

The app's ``start_response`` is held until the app returns (the decision needs its body);
a ``write()`` before that, or an ``exc_info`` call, releases it at once, unchanged.
"""

from __future__ import annotations

import os
import stat
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from gateway.protocol.http_range import parse_range, resolve
from gateway.server.wsgi_call import FileWrapper

Headers = List[Tuple[str, str]]


class RangeLayer:
    """The WSGI layer (see the module docstring)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        header = environ.get("HTTP_RANGE")
        if not header:
            return self.app(environ, start_response)
        held: List[Any] = []  # [status, headers] until released
        sent: List[Callable[[bytes], None]] = []  # the real write(), once released
        returned = False

        def hold(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], None]:
            if returned or (exc_info is not None and sent):
                # a generator calling start_response on its first step (no file wrapper
                # then), or an exc_info call once the head is out (which raises)
                return start_response(status, headers, exc_info)
            held[:] = [status, headers]
            return _late_writer(held, start_response, sent)

        result = self.app(environ, hold)
        returned = True
        if not held:
            return result
        status, headers = held
        ranged = _ranged(environ, header, status, headers, result)
        del held[:]
        if ranged is None:
            start_response(status, headers)
            return result
        status, headers = ranged
        start_response(status, headers)
        if status.startswith("416"):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            return []
        return result


def _late_writer(held: List[Any], start_response: Callable,
                 sent: List[Callable[[bytes], None]]) -> Callable[[bytes], None]:
    """The ``write()`` given to the app: the held head goes out first, unchanged."""

    def write(data: bytes) -> None:
        if held:
            status, headers = held
            del held[:]
            sent.append(start_response(status, headers))
        if sent:
            sent[0](data)

    return write


def _ranged(environ: Dict[str, Any], header: str, status: str, headers: Headers,
            result: Any) -> Optional[Tuple[str, Headers]]:
    """The new status and headers for a ranged answer of ``result``, or None to leave it."""
    if not status.startswith("200") or type(result) is not FileWrapper:
        return None
    names = {name.lower() for name, _ in headers}
    if "content-range" in names or "content-encoding" in names:
        return None
    fobj = result.filelike
    try:
        st = os.fstat(fobj.fileno())
        offset = fobj.tell()
    except (AttributeError, OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if not _if_range_holds(environ.get("HTTP_IF_RANGE"), st.st_mtime):
        return None
    size = max(st.st_size - offset, 0)
    code, first, last = resolve(parse_range(header), size)
    kept = [(n, v) for n, v in headers if n.lower() != "content-length"]
    if code == 200:
        return None
    if code == 416:
        return "416 Requested Range Not Satisfiable", kept + [("Content-Range", "bytes */%d" % size),
                                                              ("Content-Length", "0")]
    try:
        fobj.seek(offset + first)
    except (AttributeError, OSError, ValueError):
        return None
    length = last - first + 1
    result.remaining = length
    return "206 Partial Content", kept + [("Content-Range", "bytes %d-%d/%d" % (first, last, size)),
                                          ("Content-Length", str(length))]


def _if_range_holds(value: Optional[str], mtime: float) -> bool:
    """``If-Range``: absent, or a date the file was not modified after (an entity tag never
    matches: gateway sends none)."""
    if not value:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return False
    try:
        return int(mtime) <= parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
