"""Process names as ``ps`` and ``top`` show them: ``--auto-procname``, ``--procname-*``.

uWSGI renames its processes ("uWSGI master", "uWSGI worker 1", "uWSGI http 1") so an operator
can tell them apart in ``ps``.  Without a C extension we do it on Linux in two places:

* the kernel's short name (``/proc/PID/comm``: ``top``, ``ps -o comm``, ``pkill``), set with
  ``prctl(PR_SET_NAME)`` through :mod:`ctypes`, 15 bytes at most;
* the command line (``/proc/PID/cmdline``: ``ps aux``, ``htop``), by writing the new title
  over the original ``argv`` strings through ``/proc/self/mem``, padded with NULs; it cannot
  grow past the original command line's length, so a longer title is cut.

Both are best effort: where either is refused (another OS, a locked-down ``/proc``) the
other still applies, and nothing fails.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any, Optional

__all__ = ["process_title", "set_process_title"]

_PR_SET_NAME = 15


def process_title(cfg: Any, label: str) -> Optional[str]:
    """The title for a process uWSGI calls ``label`` ("uWSGI master", "uWSGI worker 2",
    "uWSGI http 1"), or None when no option asks for one.

    ``--procname-master NAME`` names the master, ``--procname NAME`` the others;
    ``--auto-procname`` uses the label itself; ``--procname-prefix`` (``-spaced``: with a
    space after it) and ``--procname-append`` wrap whichever applies.
    """
    if label == "uWSGI master" and cfg.procname_master:
        name = cfg.procname_master
    elif label != "uWSGI master" and cfg.procname:
        name = cfg.procname
    elif cfg.auto_procname or cfg.procname_prefix or cfg.procname_prefix_spaced or cfg.procname_append:
        name = label
    else:
        return None
    if cfg.procname_prefix_spaced:
        name = cfg.procname_prefix_spaced + " " + name
    elif cfg.procname_prefix:
        name = cfg.procname_prefix + name
    if cfg.procname_append:
        name += cfg.procname_append
    return name


def set_process_title(title: str) -> bool:
    """Show ``title`` for this process in ``ps``/``top``; True if the command line changed."""
    _set_comm(title)
    return _set_cmdline(title)


def _set_comm(title: str) -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(title.encode("utf-8", "replace")[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _set_cmdline(title: str) -> bool:
    try:
        with open("/proc/self/stat", "rb") as f:
            # fields after the ")" that ends the command name; arg_start and arg_end are 48 and 49
            fields = f.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])
    except (OSError, IndexError, ValueError):
        return False
    size = end - start
    if size <= 1:
        return False
    data = title.encode("utf-8", "replace")[: size - 1]
    try:
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            mem.write(data + b"\0" * (size - len(data)))
    except (OSError, ValueError, OverflowError):
        return False
    return True
