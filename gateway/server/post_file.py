"""``UWSGI_POSTFILE``: the request body read from a file the web server names, not from the
connection.

nginx can write a request body to a file of its own and pass its name instead of the bytes
(``client_body_in_file_only on; uwsgi_pass_request_body off; uwsgi_param UWSGI_POSTFILE
$request_body_file;``), as uWSGI's ``UWSGI_POSTFILE`` var reads it.  :func:`body_source`
opens that file for :class:`~gateway.server.wsgi_input.WSGIInput` (every way of reading
``wsgi.input`` works on it: ``read``/``readline``, ``uwsgi.chunked_read``, ``--threads``,
``--post-buffering``).  It gives ``CONTENT_LENGTH`` bytes at most; a shorter file ends the
body there (uWSGI fails the app's read).  A file that cannot be opened is logged as uWSGI
does (``open("/tmp/x"): No such file or directory``) and the body is the connection's; so is
one that is not a regular file (a FIFO would block the worker's loop in ``open()``, a device
never end: :func:`~gateway.regular_files.open_regular`).

The file is the web server's: it is closed at the end of the body or when the request's
environ goes, never removed.
"""

from __future__ import annotations

import os
import re
from typing import IO, Any, Dict, Optional

from gateway.logs import gen_log
from gateway.regular_files import open_regular

_DIGITS = re.compile(r"\d*")


class PostFile:
    """A :class:`~gateway.server.wsgi_input.BodySource` over an open file: ``length`` bytes
    at most, never a wait."""

    def __init__(self, f: IO[bytes], length: int, peer: str) -> None:
        self._file: Optional[IO[bytes]] = f
        self._left = length
        self.peer = peer

    def read_body_chunk(self, want: int, timeout: Optional[float], nb: bool = False) -> Optional[bytes]:
        f = self._file
        if f is None:
            return None
        data = f.read(min(max(want, 1), self._left)) if self._left > 0 else b""
        if not data:
            self.close()
            return None
        self._left -= len(data)
        return data

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def body_source(environ: Dict[str, Any], peer: str) -> Optional[PostFile]:
    """The body of a request with ``UWSGI_POSTFILE``: its file, or None (no such var, or the
    file cannot be opened: logged)."""
    path = environ.get("UWSGI_POSTFILE")
    if path is None:
        return None
    try:
        fd, _ = open_regular(path)  # never a FIFO or a device: either would stall the worker
    except OSError as e:
        gen_log.error('open("%s"): %s', path, e.strerror or e)
        return None
    # uWSGI's reading of CONTENT_LENGTH: its leading digits
    length = int(_DIGITS.match(environ.get("CONTENT_LENGTH", "")).group() or 0)  # type: ignore[union-attr]
    return PostFile(os.fdopen(fd, "rb"), length, peer)
