"""``--py-autoreload N``: reload the instance when a source file of an imported module changes.

A development aid, as uWSGI's python reloader: every N seconds the worker compares the
modification times of its imported modules' files (``.py``, or the ``.py`` beside a ``.pyc``)
with what it saw first; the first change found is logged
(``[uwsgi-python-reloader] module/file app/views.py has been modified``) and the master is
asked for a graceful reload (its SIGHUP: new workers import everything again).  Only under a
master (a lone worker has nobody to restart it); each scan is a ``stat`` per module, on the
worker's loop.  ``--py-auto-reload-ignore NAME`` leaves the module NAME (its ``sys.modules``
name) out of the scan.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, Iterable, Optional

__all__ = ["ModuleWatcher"]


class ModuleWatcher:
    """``changed = watcher.scan()``: the first module file modified since the first scan, or None."""

    def __init__(self, ignore: Iterable[str] = ()) -> None:
        self._seen: Dict[str, float] = {}
        self._ignore = frozenset(ignore)

    def scan(self) -> Optional[str]:
        seen = self._seen
        ignore = self._ignore
        for name, module in list(sys.modules.items()):
            if name in ignore:
                continue
            path = getattr(module, "__file__", None)
            if not path or not isinstance(path, str):
                continue
            if path.endswith((".pyc", ".pyo")):
                path = path[:-1]
            try:
                mtime = os.stat(path).st_mtime
            except OSError:
                continue
            first = seen.setdefault(path, mtime)
            if mtime != first:
                seen[path] = mtime  # reported once
                return path
        return None
