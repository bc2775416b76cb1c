"""``--static-map``, ``--check-static``, ``--static-index``: files answered before the app.

uWSGI serves mapped files in the worker itself, without calling the app, and so do we, as a
thin WSGI layer in front of the apps (created in each worker)::

    app = StaticFiles(app, maps=[("/static", "/srv/site/static")], roots=["/srv/site/public"],
                      index=["index.html"])

* ``--static-map /static=/srv/static``: a request whose ``PATH_INFO`` is ``/static`` or
  starts with ``/static/`` is looked up under the directory, the rest of the path below it;
  ``--static-map2`` looks the whole path up (``/static/a.css`` is ``/srv/static/static/a.css``);
* ``--check-static /srv/public``: any request path is looked up under the directory;
* ``--check-static-docroot``: then under the request's own ``DOCUMENT_ROOT`` (a var the web
  server sends: nginx's ``uwsgi_params`` has ``DOCUMENT_ROOT $document_root``; an HTTP
  client cannot set it, its headers become ``HTTP_*``; a route may build it from request
  values, so only an absolute one without a ``..`` component is used);
* ``--static-index index.html`` (repeatable): a directory is answered by the first of these
  files it holds;
* ``--static-skip-ext .py`` (repeatable): request paths ending so always go to the app, and
  so do files whose real path ends so (a symlink to one, an index file), as uWSGI checks;
* ``--static-safe DIR`` (repeatable): a file whose real path leads out of the mapped
  directory (a symlink) is still served when it is under DIR;
* the answer's type, expiry (``--static-expires*``) and precompressed variants
  (``--static-gzip*``) follow the worker's :class:`~gateway.server.static_policy.FilePolicy`.

A file that is not there (or a directory without an index) goes on to the app, as in uWSGI.
Only ``GET`` and ``HEAD`` are served; the path is percent-decoded already (``PATH_INFO``, its
bytes tunnelled as latin-1: they are looked up as the file name those bytes make), and
the resolved real path must stay inside the mapped directory or a ``--static-safe`` one (``..``
or a symlink out of them goes to the app, never to the file).  The answer: ``Content-Type``,
``Content-Length``, ``Last-Modified``, and ``304 Not Modified`` for an ``If-Modified-Since``
at or after the file's time.  The body is a ``wsgi.file_wrapper``, so
``--offload-threads`` sends it from the loop.  With ``--file-serve-mode`` (the policy's
``serve_header``) the answer is an ``X-Sendfile``/``X-Accel-Redirect`` header naming the
file, for the web server in front to send.
"""

from __future__ import annotations

import os
import stat
import time
from email.utils import formatdate, parsedate_to_datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import quote

from gateway.protocol.environ import file_name
from gateway.regular_files import open_regular
from gateway.server.static_policy import DEFAULT_POLICY, FilePolicy

__all__ = ["StaticFiles", "file_response", "parse_static_map", "serve_header_value"]


_PATH_MAX = 4096


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
                 index: Sequence[str] = (),
                 policy: FilePolicy = DEFAULT_POLICY, maps_whole_path: Sequence[Tuple[str, str]] = (),
                 safe: Sequence[str] = (), paths_cache: Optional[Tuple[Optional[str], int]] = None,
                 docroot: bool = False) -> None:
        self.app = app
        #: --check-static-docroot: look up under the request's DOCUMENT_ROOT too (last)
        self.docroot = docroot
        #: --static-cache-paths SECONDS [--static-cache-paths-name CACHE]: (cache, seconds)
        self.paths_cache = paths_cache
        # (mountpoint, directory, the whole path is looked up): longest mountpoint first,
        # /static/img wins over /static
        mounts = [(m, os.path.realpath(d), False) for m, d in maps]
        mounts += [(m, os.path.realpath(d), True) for m, d in maps_whole_path]
        self.maps = sorted(mounts, key=lambda mdw: -len(mdw[0]))
        self.roots = [os.path.realpath(r) for r in roots]
        self.index = list(index)
        #: types, expiry, precompressed variants (--static-expires*, --static-gzip*, --mimefile)
        self.policy = policy
        #: --static-safe: directories a mapped file's real path may lead into
        self.safe = tuple(os.path.realpath(d) for d in safe)

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = file_name(environ.get("PATH_INFO", ""))
        if path is not None and environ.get("REQUEST_METHOD") in ("GET", "HEAD") and not (
                self.policy.skipped(path)):  # --static-skip-ext: to the app
            found = self._find(path)
            if found is None and self.docroot:
                root = file_name(environ.get("DOCUMENT_ROOT"))
                if root is not None and _plain_root(root):
                    found = self._lookup(os.path.realpath(root), path)
            if found is not None:
                return self._serve(environ, start_response, *found)
        return self.app(environ, start_response)

    # -- lookup ---------------------------------------------------------------------------

    def _find(self, path: str) -> Optional[Tuple[str, os.stat_result]]:
        for mount, directory, whole in self.maps:
            if path == mount or path.startswith(mount + "/"):
                found = self._lookup(directory, path if whole else path[len(mount):])
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
        # a map to a file (--static-map /favicon.ico=/srv/icon.png) is asked with no rest
        joined = os.path.join(directory, rest.lstrip("/")) if rest else directory
        candidate = self._realpath(joined)
        inside = directory if directory.endswith(os.sep) else directory + os.sep  # "/" is a root too
        if candidate != directory and not candidate.startswith(inside) and not any(
                candidate.startswith(safe + os.sep) for safe in self.safe):
            return None  # .. or a symlink leading out of the directory (and not to a --static-safe one)
        try:
            # the name asked for, not its real path: the kernel refuses "a.txt/" and "a.txt/x/.."
            # (ENOTDIR), which realpath() turns into "a.txt" (uWSGI's realpath() fails there too)
            st = os.stat(joined)
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
        if self.policy.skipped(candidate):
            return None  # --static-skip-ext on the file itself too: a symlink to it, an index
        return candidate, st

    def _realpath(self, filename: str) -> str:
        """``realpath(filename)``, through the cache with ``--static-cache-paths`` (uWSGI's
        key: the joined path; value: its real path, kept that many seconds).  The
        containment checks run on the result either way."""
        if self.paths_cache is None:
            return os.path.realpath(filename)
        import gateway.subsystems as _subs

        cache = _subs.current.caches.get(self.paths_cache[0]) if _subs.current is not None else None
        if cache is None:
            return os.path.realpath(filename)
        key = os.fsencode(filename)
        hit = cache.get_memo(key)
        if hit and len(hit) <= _PATH_MAX:
            real = os.fsdecode(bytes(hit))
            # only what realpath() could have returned, for this very file: the cache may hold
            # what an app or a replication peer put there, and the containment check compares
            # strings ("ROOT/../x" and "ROOT/a-symlink-out/x" start with "ROOT/")
            if "\0" not in real and os.path.isabs(real) and os.path.normpath(real) == real:
                try:
                    if os.path.samefile(real, filename):
                        return real
                except OSError:
                    pass
        real = os.path.realpath(filename)
        cache.update(key, os.fsencode(real), self.paths_cache[1])
        return real

    # -- answer ---------------------------------------------------------------------------

    def _serve(self, environ: Dict[str, Any], start_response: Callable, path: str,
               st: os.stat_result) -> Iterable[bytes]:
        result = file_response(environ, start_response, path, st, self.policy)
        if result is None:
            return self.app(environ, start_response)  # gone or unreadable since the stat
        return result


def _plain_root(root: str) -> bool:
    """Is ``root`` a ``DOCUMENT_ROOT`` to look files up under: an absolute path (a relative one
    would be looked up from the worker's directory: the app's own files), without a NUL
    (realpath() raises) nor a ``..`` component.  A route may build it from request values
    (``setdocroot:/srv/${HTTP_HOST}``): ``Host: ..`` would make it the parent directory, and
    the containment check of the lookup holds under the root it is given."""
    return os.path.isabs(root) and "\0" not in root and ".." not in root.split("/")


def file_response(environ: Dict[str, Any], start_response: Callable, path: str, st: os.stat_result,
                  policy: FilePolicy = DEFAULT_POLICY) -> Optional[Iterable[bytes]]:
    """Answer the regular file ``path`` (``st``: its stat) as a WSGI response, or return
    None, having called nothing, when it cannot be opened.

    Shared by :class:`StaticFiles` and the ``static:`` route action: ``Content-Type`` from
    the ``policy`` (the name's extension), ``Content-Length``, ``Last-Modified``, ``304 Not
    Modified`` for an ``If-Modified-Since`` at or after the file's time (with the ``Vary``,
    ``Expires`` and ``Cache-Control`` of the full answer), ``Expires`` and
    ``Cache-Control`` from the policy's first matching rule, a precompressed ``.br``/``.gz``
    variant when the policy selects the file and the client accepts it (``Content-Encoding``,
    ``Vary: Accept-Encoding``), and a ``wsgi.file_wrapper`` body (so ``--offload-threads``
    sends it from the loop).  With the policy's ``serve_header`` (``--file-serve-mode``) the
    answer is that header naming the file, and no body.
    """
    ctype = policy.content_type(path)
    expires_at = policy.expiry(environ, path, ctype, st.st_mtime)
    # nginx drops the Content-Encoding of an answer it follows through X-Accel-Redirect: a
    # .gz/.br variant named there would reach the client as compressed bytes it takes for the
    # file itself, so that mode names the file (nginx's gzip_static can choose a variant)
    precompress = policy.serve_header != "X-Accel-Redirect"
    variant = policy.precompressed(environ, path) if precompress else None
    vary = precompress and policy.wants_precompressed(path)
    encoding = None
    if variant is not None:
        path, st, encoding = variant
    # the headers a cache keeps for this answer, in a 304 too (RFC 9110 15.4.5: a 304 renews
    # a stored answer's freshness with its Expires/Cache-Control; uWSGI's 304 has none)
    cache_headers: List[Tuple[str, str]] = []
    if vary:
        cache_headers.append(("Vary", "Accept-Encoding"))  # caches must keep both variants apart
    if expires_at is not None:
        cache_headers.append(("Expires", formatdate(expires_at, usegmt=True)))
        cache_headers.append(("Cache-Control", "max-age=%d" % max(0, int(expires_at - time.time() + 0.5))))
    mtime = int(st.st_mtime)
    last_modified = formatdate(mtime, usegmt=True)
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since:
        try:
            if mtime <= parsedate_to_datetime(since).timestamp():
                start_response("304 Not Modified", cache_headers + [("Last-Modified", last_modified)])
                return []
        except (TypeError, ValueError, IndexError, OverflowError):
            pass  # an unreadable date: answer the file
    headers: List[Tuple[str, str]] = [("Content-Type", ctype or "application/octet-stream")]
    if encoding:
        headers.append(("Content-Encoding", encoding))
    headers += cache_headers
    if policy.serve_header:
        # --file-serve-mode: the web server in front sends the file (uWSGI neither opens it
        # nor says its length)
        name = serve_header_value(policy.serve_header, path)
        if name is None:
            return None  # not a header value: the app answers, as for an unreadable file
        headers.append((policy.serve_header, name))
        headers.append(("Last-Modified", last_modified))
        start_response("200 OK", headers)
        return []
    try:
        # what was checked may have changed since (into a FIFO: an open that blocks the loop)
        fd, st = open_regular(path)
    except OSError:
        return None
    f = os.fdopen(fd, "rb")
    headers.append(("Content-Length", str(st.st_size)))
    headers.append(("Last-Modified", last_modified))
    start_response("200 OK", headers)
    return file_body(environ, f)


def file_body(environ: Dict[str, Any], f: Any) -> Iterable[bytes]:
    """The body of an open file ``f``: the server's ``wsgi.file_wrapper`` (sendfile, offload)
    where there is one, else its 64 KiB blocks; ``f`` is closed at the end either way."""
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None:
        return wrapper(f, 65536)
    return _read_blocks(f)


def serve_header_value(header: str, path: str) -> Optional[str]:
    """The value of ``header`` (``--file-serve-mode``) naming the file ``path``, or None when
    it cannot name it.

    ``X-Accel-Redirect`` is a URI to nginx: it cuts it at a ``?`` (the rest becomes its
    arguments) and decodes ``%XX`` escapes, so the real path's bytes are percent-encoded
    (all but the unreserved characters and ``/``) and nginx opens this very file, not
    ``a`` for ``a?b.txt`` nor ``50A.txt`` for ``50%41.txt``.  ``X-Sendfile`` is the path
    itself (its bytes tunnelled as latin-1), as uWSGI sends it; one with a CR or LF cannot be
    a header value (None).
    """
    raw = os.fsencode(path)
    if header == "X-Accel-Redirect":
        return quote(raw, safe="/")
    name = raw.decode("latin-1")
    if "\r" in name or "\n" in name:
        return None
    return name


def _read_blocks(f: Any) -> Iterable[bytes]:
    try:
        while True:
            block = f.read(65536)
            if not block:
                return
            yield block
    finally:
        f.close()
