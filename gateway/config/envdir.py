"""daemontools' envdir format, for ``--envdir DIR`` and ``--early-envdir DIR``.

Each regular file of DIR names a variable (files whose name starts with a dot are
skipped).  A file's first line is its value, without trailing blanks; a NUL byte in
it stands for a newline.  An empty file removes the variable::

    /etc/app/env/DATABASE_URL   "postgres://db/app\\n"  ->  DATABASE_URL=postgres://db/app
    /etc/app/env/DEBUG          ""                      ->  DEBUG unset

uWSGI reads the whole file and strips only the end, so a value may span lines there;
gateway keeps the first line, as daemontools' ``envdir`` documents.  Files are read in
name order; a directory or a file that cannot be read is an :class:`EnvdirError`.
"""

from __future__ import annotations

import os
import stat
from typing import Dict, MutableMapping, Optional

__all__ = ["EnvdirError", "MAX_VALUE", "apply", "parse_value", "read_envdir"]

#: Bytes read from one file at most (the first line of a bigger file is cut there).
MAX_VALUE = 128 * 1024


class EnvdirError(OSError):
    """An envdir (or one of its files) that cannot be read; the message names the path."""


def parse_value(data: bytes) -> Optional[str]:
    """A file's bytes -> the variable's value, or None (remove it) for an empty file."""
    if not data:
        return None
    line = data.split(b"\n", 1)[0].rstrip(b" \t\r")
    return line.replace(b"\0", b"\n").decode("utf-8", "surrogateescape")


def read_envdir(path: str) -> Dict[str, Optional[str]]:
    """Name -> value (None: unset) for every regular file of the envdir ``path``."""
    try:
        names = sorted(os.listdir(path))
    except OSError as e:
        raise EnvdirError("envdir %s: %s" % (path, e.strerror or e)) from None
    changes: Dict[str, Optional[str]] = {}
    for name in names:
        if name.startswith(".") or "=" in name:
            continue
        filename = os.path.join(path, name)
        try:
            if not stat.S_ISREG(os.stat(filename).st_mode):
                continue
            with open(filename, "rb") as f:
                data = f.read(MAX_VALUE)
        except OSError as e:
            raise EnvdirError("envdir %s: %s" % (filename, e.strerror or e)) from None
        changes[name] = parse_value(data)
    return changes


def apply(changes: Dict[str, Optional[str]], environ: MutableMapping[str, str]) -> None:
    """Set (or, for None, remove) each variable of ``changes`` in ``environ``."""
    for name, value in changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
