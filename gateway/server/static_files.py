"""``--static-map``, ``--check-static``, ``--static-index``: files answered before the app.

uWSGI serves mapped files in the worker itself, without calling the app, and so do we, as a
thin WSGI layer in front of the apps (created in each worker)::

    app = StaticFiles(app, maps=[("/static", "/srv/site/static")], roots=["/srv/site/public"],
                      index=["index.html"])

* ``--static-map /static=/srv/static``: a request whose ``PATH_INFO`` is ``/static`` or
  starts with ``/static/`` is looked up under the directory, the rest of the path below it;
* ``--check-static /srv/public``: any request path is looked up under the directory;
* ``--static-index index.html`` (repeatable): a directory is answered by the first of these
  files it holds;
* ``--static-skip-ext .py`` (repeatable): request paths ending so always go to the app;
* ``--static-expires REGEXP SECONDS`` (repeatable): a file whose real path matches gets
  ``Expires`` (now + SECONDS) and ``Cache-Control: max-age``; the first match wins.

A file that is not there (or a directory without an index) goes on to the app, as in uWSGI.
Only ``GET`` and ``HEAD`` are served; the path is percent-decoded already (``PATH_INFO``), and
the resolved real path must stay inside the mapped directory (``..`` or a symlink out of it
goes to the app, never to the file).  The answer: ``Content-Type`` from the extension
(:mod:`mimetypes`), ``Content-Length``, ``Last-Modified``, and ``304 Not Modified`` for an
``If-Modified-Since`` at or after the file's time.  The body is a ``wsgi.file_wrapper``, so
``--offload-threads`` sends it from the loop.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
import time
from email.utils import formatdate, parsedate_to_datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

__all__ = ["StaticFiles", "file_response", "parse_static_map"]


def parse_static_map(spec: str) -> Tuple[str, str]:
    """``/mountpoint=/directory`` -> ``("/mountpoint", "/directory")`` (:class:`StaticFiles`
    resolves the directory); ValueError when malformed."""
    mount, sep, directory = spec.partition("=")
    mount = mount.rstrip("/")
    if not sep or not mount.startswith("/") or not directory:
        raise ValueError("--static-map %s: expected /mountpoint=/directory" % spec)
    return mount, directory


class StaticFiles:
    """The WSGI layer (see the module docstring)."""

    def __init__(self, app: Callable, maps: Sequence[Tuple[str, str]] = (), roots: Sequence[str] = (),
                 index: Sequence[str] = (), skip_ext: Sequence[str] = (),
                 expires: Sequence[Tuple[str, int]] = ()) -> None:
        self.app = app
        # longest mountpoint first: /static/img wins over /static
        self.maps = sorted(((m, os.path.realpath(d)) for m, d in maps), key=lambda md: -len(md[0]))
        self.roots = [os.path.realpath(r) for r in roots]
        self.index = list(index)
        #: --static-skip-ext: paths ending so are never served as files (they go to the app)
        self.skip_ext = tuple(skip_ext)
        #: --static-expires: (compiled regexp on the file's real path, seconds)
        self.expires = [(re.compile(rx), seconds) for rx, seconds in expires]

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and not (self.skip_ext and path.endswith(self.skip_ext)):
            found = self._find(path)
            if found is not None:
                return self._serve(environ, start_response, *found)
        return self.app(environ, start_response)

    # -- lookup ---------------------------------------------------------------------------

    def _find(self, path: str) -> Optional[Tuple[str, os.stat_result]]:
        for mount, directory in self.maps:
            if path == mount or path.startswith(mount + "/"):
                found = self._lookup(directory, path[len(mount):])
                if found is not None:
                    return found
        for directory in self.roots:
            found = self._lookup(directory, path)
            if found is not None:
                return found
        return None

    def _lookup(self, directory: str, rest: str) -> Optional[Tuple[str, os.stat_result]]:
        if "\0" in rest:
            return None
        candidate = os.path.realpath(os.path.join(directory, rest.lstrip("/")))
        if candidate != directory and not candidate.startswith(directory + os.sep):
            return None  # .. or a symlink leading out of the directory
        try:
            st = os.stat(candidate)
        except OSError:
            return None
        if stat.S_ISDIR(st.st_mode):
            for name in self.index:
                found = self._lookup(directory, os.path.join(candidate[len(directory):], name))
                if found is not None:
                    return found
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return candidate, st

    # -- answer ---------------------------------------------------------------------------

    def _serve(self, environ: Dict[str, Any], start_response: Callable, path: str,
               st: os.stat_result) -> Iterable[bytes]:
        result = file_response(environ, start_response, path, st, self.expires)
        if result is None:
            return self.app(environ, start_response)  # gone or unreadable since the stat
        return result


def file_response(environ: Dict[str, Any], start_response: Callable, path: str, st: os.stat_result,
                  expires: Sequence[Tuple["re.Pattern[str]", int]] = ()) -> Optional[Iterable[bytes]]:
    """Answer the regular file ``path`` (``st``: its stat) as a WSGI response, or return
    None, having called nothing, when it cannot be opened.

    Shared by :class:`StaticFiles` and the ``static:`` route action: ``Content-Type`` from
    the extension, ``Content-Length``, ``Last-Modified``, ``304 Not Modified`` for an
    ``If-Modified-Since`` at or after the file's time, ``Expires``/``Cache-Control`` from
    the first of ``expires`` (compiled regexp on the path, seconds) that matches, and a
    ``wsgi.file_wrapper`` body (so ``--offload-threads`` sends it from the loop).
    """
    mtime = int(st.st_mtime)
    last_modified = formatdate(mtime, usegmt=True)
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since:
        try:
            if mtime <= parsedate_to_datetime(since).timestamp():
                start_response("304 Not Modified", [("Last-Modified", last_modified)])
                return []
        except (TypeError, ValueError, IndexError, OverflowError):
            pass  # an unreadable date: answer the file
    try:
        f = open(path, "rb")
    except OSError:
        return None
    ctype, encoding = mimetypes.guess_type(path)
    headers: List[Tuple[str, str]] = [
        ("Content-Type", ctype or "application/octet-stream"),
        ("Content-Length", str(st.st_size)),
        ("Last-Modified", last_modified),
    ]
    if encoding:
        headers.append(("Content-Encoding", encoding))
    for rx, seconds in expires:
        if rx.search(path):
            headers.append(("Expires", formatdate(time.time() + seconds, usegmt=True)))
            headers.append(("Cache-Control", "max-age=%d" % seconds))
            break
    start_response("200 OK", headers)
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None:
        return wrapper(f, 65536)
    return _read_blocks(f)


def _read_blocks(f: Any) -> Iterable[bytes]:
    try:
        while True:
            block = f.read(65536)
            if not block:
                return
            yield block
    finally:
        f.close()
