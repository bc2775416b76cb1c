"""The ``uwsgi`` module's spooler functions (present only with ``--spooler``, as in uWSGI).

``spool``/``send_to_spooler`` accept a dict, or keyword arguments; keys and values
``bytes`` or ``str`` (UTF-8), numbers as their decimal text.  uWSGI on Python 3 takes
only bytes keys (a str key raises ``ValueError``) and turns an int value into that many
NUL bytes; accepting both is a deliberate relaxation.  The return value is the task
file's path as bytes, as in uWSGI.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

from gateway import spooler as _spooler
from gateway.protocol.spool_file import MalformedTask, decode_task, is_task_name
from gateway.spooler import Spoolers
from gateway.spooler.tasks import task_dict
from gateway.spooler.writer import SpoolError, enqueue

__all__ = ["spool", "send_to_spooler", "set_spooler_frequency", "spooler_jobs", "spooler_pid",
           "spooler_pids", "spooler_get_task", "FUNCTIONS"]


def _spoolers() -> Spoolers:
    current = _spooler.current
    if current is None:
        raise SpoolError("no spooler available: start the server with --spooler DIR")
    return current


def spool(*args: Any, **kwargs: Any) -> bytes:
    """Write a task for the spooler: ``spool({b"key": b"value", ...})`` or ``spool(key=...)``.

    Reserved keys: ``spooler`` (which ``--spooler`` directory; default the first),
    ``priority`` (a number: a subdirectory, scanned in numeric order), ``at`` (unix time
    before which the task does not run), ``body`` (bytes stored after the vars, for
    values over 64 KiB).  Raises ``ValueError`` when the task cannot be spooled.
    """
    if args:
        if len(args) > 1 or not isinstance(args[0], dict):
            raise SpoolError("The argument of spooler callable must be a dictionary")
        task: Dict[Any, Any] = dict(args[0])
    elif kwargs:
        task = dict(kwargs)
    else:
        raise SpoolError("The argument of spooler callable must be a dictionary")
    try:
        path = enqueue(_spoolers(), task)
    except OSError as e:
        raise SpoolError("unable to spool job: %s" % (e.strerror or e)) from None
    return os.fsencode(path)


send_to_spooler = spool


def set_spooler_frequency(seconds: int) -> bool:
    """How often idle spoolers rescan, for every spooler (from their next sleep)."""
    _spoolers().set_frequency(int(seconds))
    return True


def spooler_jobs() -> List[bytes]:
    """Paths of the task files in the first spooler directory (not its priority subdirectories,
    as uWSGI)."""
    directory = _spoolers().dirs[0]
    out = []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    for name in names:
        if is_task_name(name):
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path) and os.access(path, os.R_OK | os.W_OK):
                out.append(os.fsencode(path))
    return out


def spooler_pid() -> int:
    """The pid of the first spooler process (0 while none runs)."""
    current = _spooler.current
    return current.pid(0) if current is not None and current.slots else 0


def spooler_pids() -> List[int]:
    """One pid per spooler process (directories times ``--spooler-processes``)."""
    current = _spooler.current
    return current.pids() if current is not None else []


def spooler_get_task(path: Any) -> Optional[Dict[Any, Any]]:
    """The dict the spooler callable would receive for the task file ``path``; None when it
    is not a readable task."""
    text = os.fsdecode(path)
    try:
        if not os.access(text, os.R_OK | os.W_OK):
            return None
        limit = _spoolers().max_size
        if os.path.getsize(text) > limit:
            return None
        with open(text, "rb") as f:
            data = f.read(limit + 1)
        return task_dict(text, decode_task(data))
    except (OSError, MalformedTask):
        return None


#: name -> function, bound into the ``uwsgi`` module when spoolers are configured
FUNCTIONS: Tuple[Tuple[str, Any], ...] = (
    ("spool", spool), ("send_to_spooler", send_to_spooler), ("set_spooler_frequency", set_spooler_frequency),
    ("spooler_jobs", spooler_jobs), ("spooler_pid", spooler_pid), ("spooler_pids", spooler_pids),
    ("spooler_get_task", spooler_get_task),
)
