"""How a static file is answered: its type, its expiry, a precompressed variant.

Shared by ``--static-map``/``--check-static`` (:mod:`gateway.server.static_files`) and the
``static:`` route action, built once per worker from the options::

    policy = FilePolicy.from_config(cfg)
    ctype = policy.content_type("/srv/site/app.css")

* **Types**: :mod:`mimetypes` (which reads ``/etc/mime.types`` as uWSGI does by default),
  then each ``--mimefile FILE`` (``type ext1 ext2`` lines), the later winning; by the name's
  last extension (``a.tar.gz`` is ``application/gzip``, sent without ``Content-Encoding``).
* **Expiry** (uWSGI's ``--static-expires*`` families, each ``MATCH SECONDS``): a regexp on the
  file's real path (``--static-expires``), on ``PATH_INFO`` (``-path-info``), on
  ``REQUEST_URI`` (``-uri``), or the exact content type (``-type``); the ``-mtime``
  variants count the seconds from the file's modification time instead of now.  They are
  tried in uWSGI's order (path, path-info, uri, type; each before its ``-mtime`` variant)
  and the first match gives ``Expires`` and ``Cache-Control: max-age``.
* **Precompressed files** (``--static-gzip REGEXP``, ``--static-gzip-all``,
  ``--static-gzip-dir DIR``, ``--static-gzip-ext EXT``): for a file they select, when the
  client accepts it, ``FILE.br`` (``br``) or else ``FILE.gz`` (``gzip``) is sent instead if it
  exists, with ``Content-Encoding`` and the original file's type.  A variant is a regular
  file whose real path is in the directory of the file's real path (a symlink beside it is
  fine; one leading anywhere else is ignored).
* **Serve mode** (``--file-serve-mode``): ``X-Sendfile`` or ``X-Accel-Redirect`` names the
  header that answers a file instead of its bytes (the web server in front sends it); ``""``:
  the bytes themselves.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["FilePolicy", "DEFAULT_POLICY", "read_mime_file"]

Rules = Sequence[Tuple[str, int]]


def read_mime_file(path: str) -> Dict[str, str]:
    """``{".ext": "type"}`` from a ``mime.types`` file (``type ext ext ...`` lines, ``#`` comments);
    ``OSError`` when it cannot be read."""
    types: Dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            for ext in words[1:]:
                types["." + ext.lower()] = words[0]
    return types


class FilePolicy:
    """See the module docstring; every argument is optional."""

    def __init__(
        self,
        *,
        expires: Rules = (),
        expires_mtime: Rules = (),
        expires_path_info: Rules = (),
        expires_path_info_mtime: Rules = (),
        expires_uri: Rules = (),
        expires_uri_mtime: Rules = (),
        expires_type: Rules = (),
        expires_type_mtime: Rules = (),
        gzip_all: bool = False,
        gzip: Sequence[str] = (),
        gzip_dirs: Sequence[str] = (),
        gzip_exts: Sequence[str] = (),
        mime_types: Optional[Dict[str, str]] = None,
        serve_header: str = "",
        skip_ext: Sequence[str] = (),
    ) -> None:
        def compiled(rules: Rules) -> List[Tuple["re.Pattern[str]", int]]:
            return [(re.compile(rx), seconds) for rx, seconds in rules]

        #: (what is matched, compiled rules, from the mtime?) in uWSGI's order
        self._expires: List[Tuple[str, List[Tuple["re.Pattern[str]", int]], bool]] = [
            ("file", compiled(expires), False), ("file", compiled(expires_mtime), True),
            ("path_info", compiled(expires_path_info), False), ("path_info", compiled(expires_path_info_mtime), True),
            ("uri", compiled(expires_uri), False), ("uri", compiled(expires_uri_mtime), True),
        ]
        self._expires_type = [(dict(expires_type), False), (dict(expires_type_mtime), True)]
        self.gzip_all = gzip_all
        self._gzip = [re.compile(rx) for rx in gzip]
        self._gzip_dirs = tuple(gzip_dirs)
        self._gzip_exts = tuple(gzip_exts)
        self._mime = dict(mime_types or {})
        #: --file-serve-mode: "X-Sendfile" / "X-Accel-Redirect" answers with the file's name
        #: in that header and no body; "": the file's bytes
        self.serve_header = serve_header
        #: --static-skip-ext: files whose real path ends so are never served (the static map's
        #: lookup and the ``static:`` route action both ask :meth:`skipped`, as uWSGI's
        #: ``uwsgi_file_serve`` checks for both)
        self.skip_ext = tuple(skip_ext)

    def skipped(self, path: str) -> bool:
        """``path`` ends with a ``--static-skip-ext`` extension: not to be served."""
        return bool(self.skip_ext) and path.endswith(self.skip_ext)

    @classmethod
    def from_config(cls, cfg: Any) -> "FilePolicy":
        """The policy of ``--static-expires*``, ``--static-gzip*`` and ``--mimefile``
        (``OSError`` naming the file when a ``--mimefile`` cannot be read)."""
        mime: Dict[str, str] = {}
        for path in cfg.mimefile or ():
            mime.update(read_mime_file(path))
        return cls(
            expires=cfg.static_expires, expires_mtime=cfg.static_expires_mtime,
            expires_path_info=cfg.static_expires_path_info, expires_path_info_mtime=cfg.static_expires_path_info_mtime,
            expires_uri=cfg.static_expires_uri, expires_uri_mtime=cfg.static_expires_uri_mtime,
            expires_type=cfg.static_expires_type, expires_type_mtime=cfg.static_expires_type_mtime,
            gzip_all=bool(cfg.static_gzip_all), gzip=cfg.static_gzip, gzip_dirs=cfg.static_gzip_dir,
            gzip_exts=cfg.static_gzip_ext, mime_types=mime, serve_header=cfg.file_serve_mode or "",
            skip_ext=cfg.static_skip_ext or (),
        )

    def content_type(self, path: str) -> Optional[str]:
        """The type of a file from its name's last extension, as uWSGI looks it up.

        A compressed file is its own type, never the inner one with a ``Content-Encoding``:
        ``a.tar.gz`` is ``application/gzip`` (what :func:`mimetypes.guess_type` would call
        ``application/x-tar`` encoded ``gzip``), so a browser saves the archive a user
        downloads, not its unpacked contents under the ``.gz`` name, and a cache stores the
        bytes as they are.
        """
        ext = os.path.splitext(path)[1]
        if self._mime:
            ctype = self._mime.get(ext.lower())
            if ctype is not None:
                return ctype
        guessed, encoding = mimetypes.guess_type(path)
        if encoding is None:
            return guessed
        return mimetypes.types_map.get(ext) or mimetypes.types_map.get(ext.lower())

    def expiry(self, environ: Dict[str, Any], path: str, ctype: Optional[str], mtime: float) -> Optional[float]:
        """When the answer expires (a timestamp), or None when no rule matches."""
        for kind, rules, from_mtime in self._expires:
            if not rules:
                continue
            subject = path if kind == "file" else environ.get("PATH_INFO" if kind == "path_info" else "REQUEST_URI", "")
            for rx, seconds in rules:
                if rx.search(subject):
                    return (mtime if from_mtime else time.time()) + seconds
        if ctype:
            for table, from_mtime in self._expires_type:
                delta = table.get(ctype)
                if delta is not None:
                    return (mtime if from_mtime else time.time()) + delta
        return None

    def wants_precompressed(self, path: str) -> bool:
        """Whether ``--static-gzip*`` select this file for a precompressed variant."""
        if self.gzip_all:
            return True
        if self._gzip_dirs and path.startswith(self._gzip_dirs):
            return True
        if self._gzip_exts and path.endswith(self._gzip_exts):
            return True
        return any(rx.search(path) for rx in self._gzip)

    def precompressed(self, environ: Dict[str, Any], path: str) -> Optional[Tuple[str, os.stat_result, str]]:
        """``(variant path, its stat, encoding)`` to send instead of ``path``, or None."""
        accept = environ.get("HTTP_ACCEPT_ENCODING", "")
        if not accept or not self.wants_precompressed(path):
            return None
        offered = set()
        for item in accept.split(","):
            name, _, params = item.partition(";")
            q = params.strip().lower()
            if q.startswith("q=") and q[2:].strip().rstrip("0").rstrip(".") in ("0", ""):
                continue  # q=0, q=0.0, q=0.000: "not acceptable"
            offered.add(name.strip().lower())
        home = ""
        for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
            if encoding in offered:
                # The variant's real path must be beside the file's real path: a FILE.gz
                # symlink leading elsewhere would serve what the plain name's directory
                # check refuses (``site/a.css.gz -> /etc/hostname``).
                variant = os.path.realpath(path + suffix)
                home = home or os.path.dirname(os.path.realpath(path))
                if os.path.dirname(variant) != home:
                    continue
                try:
                    st = os.stat(variant)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    return variant, st, encoding
        return None


#: No rules: types from :mod:`mimetypes`, no expiry, no precompressed variants.
DEFAULT_POLICY = FilePolicy()
