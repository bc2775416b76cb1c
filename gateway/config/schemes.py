"""uWSGI's "schemes" in ``@(...)`` references: ``@(exec://COMMAND)`` and ``@(fd://N)``.

uWSGI reads ``@(...)`` through ``uwsgi_open_and_read``, which knows schemes besides plain
files.  Two of them make sense here:

* ``exec://COMMAND``: the standard output of ``/bin/sh -c COMMAND`` (its stdin ``/dev/null``,
  its stderr ours, its exit status ignored, as uWSGI), bounded by :data:`EXEC_TIMEOUT` seconds
  where uWSGI would wait forever;
* ``fd://N``: what an inherited descriptor holds, read to its end.

The others (``http://``, ``data://``, ``sym://``, ``section://``, ``call://``, ``callint://``,
``emperor://``) name things of uWSGI's own binary or network reads at start-up: refused
with a clear error rather than read as a file of that name.
"""

from __future__ import annotations

import os
import re
import subprocess

__all__ = ["EXEC_TIMEOUT", "UnsupportedScheme", "read_scheme", "scheme_of"]

#: At most this many seconds for an ``@(exec://...)`` command.
EXEC_TIMEOUT = 60.0

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9]*)://")

#: uWSGI 2.0's registered schemes
KNOWN = frozenset({"exec", "fd", "http", "data", "sym", "section", "call", "callint", "emperor"})


class UnsupportedScheme(ValueError):
    """A uWSGI scheme gateway does not read."""


def scheme_of(reference: str) -> str | None:
    """The uWSGI scheme ``reference`` starts with (``exec``...), or None for a plain path."""
    match = _SCHEME.match(reference)
    return match.group(1) if match and match.group(1) in KNOWN else None


def read_scheme(reference: str) -> str:
    """The text ``reference`` (``scheme://rest``) names.

    Raises :class:`OSError` when it cannot be read, :class:`UnsupportedScheme` for a scheme
    gateway does not read.
    """
    scheme = scheme_of(reference)
    rest = reference[len(scheme or "") + 3:]
    if scheme == "exec":
        try:
            done = subprocess.run(["/bin/sh", "-c", rest], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  start_new_session=True, timeout=EXEC_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise OSError("the command did not end in %g seconds" % EXEC_TIMEOUT) from None
        return done.stdout.decode("utf-8", "surrogateescape")
    if scheme == "fd":
        try:
            fd = int(rest)
        except ValueError:
            raise OSError("'%s' is not a file descriptor number" % rest) from None
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "surrogateescape")
    raise UnsupportedScheme("the %s:// scheme is not supported by gateway (exec:// and fd:// are)" % scheme)
