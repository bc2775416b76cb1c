"""``uwsgi.spool()``'s side: turn a task dict into a file in a spooler directory.

The file appears atomically: it is written under a temporary name the spooler ignores
(``.tmp_`` + the final name), its mtime set to ``at`` when given, then renamed.  uWSGI
instead creates the final name and holds an ``fcntl`` lock while writing; a spooler
finding a locked file skips it, so both ways a spooler never runs half a task, and a
uWSGI spooler sharing the directory reads our files (and we read its).
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import time
from typing import Any, Dict, List, Mapping, Tuple

from gateway.logs import gen_log
from gateway.protocol.spool_file import TaskTooLarge, encode_task, is_priority_name, reserved_fields, task_file_name
from gateway.spooler import Spoolers

#: per-process task counter (uWSGI's ``internal_counter``: with the pid, it makes names unique)
_counter = itertools.count(1)
_HOSTNAME = socket.gethostname()


class SpoolError(ValueError):
    """A task that cannot be spooled (uWSGI raises ``ValueError`` too)."""


def _as_bytes(what: str, value: Any) -> bytes:
    """A key or value as bytes: bytes as they are, str as UTF-8 (what uWSGI's
    ``uwsgidecorators`` sends), numbers as their decimal text."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value).encode("ascii")
    raise SpoolError("spooler callable dictionary must contain only bytes or str (%s %r is %s)"
                     % (what, value, type(value).__name__))


def task_pairs(task: Mapping[Any, Any]) -> Tuple[List[Tuple[bytes, bytes]], bytes]:
    """The vars of a task dict, and its body (the ``body`` key, moved out of the vars)."""
    pairs: List[Tuple[bytes, bytes]] = []
    body = b""
    for key, value in task.items():
        k = _as_bytes("key", key)
        if k == b"body":
            body = _as_bytes("body", value)
            continue
        pairs.append((k, _as_bytes("value of %r" % (key,), value)))
    return pairs, body


def enqueue(spoolers: Spoolers, task: Dict[Any, Any]) -> str:
    """Write ``task`` as a task file and wake its spoolers: the file's path.

    Raises :class:`SpoolError` (unknown ``spooler``, bad ``priority``, over 64 KiB of
    vars, a file over ``--spooler-max-size``) or ``OSError``.
    """
    pairs, body = task_pairs(task)
    return enqueue_pairs(spoolers, pairs, body)


def enqueue_pairs(spoolers: Spoolers, pairs: List[Tuple[bytes, bytes]], body: bytes = b"") -> str:
    """:func:`enqueue` of a task already in its vars (a remote spool packet's, modifier1 17):
    the reserved keys (``spooler``, ``priority``, ``at``) work the same."""
    reserved = reserved_fields(pairs)
    directory = spoolers.dir_for(reserved.spooler)
    if directory is None:
        name = os.fsdecode(reserved.spooler or b"")
        gen_log.error('[uwsgi-spooler] unable to find spooler "%s"', name)  # (uWSGI's line)
        raise SpoolError("unable to find spooler %r (the --spooler directories are %s)" % (name, ", ".join(spoolers.dirs)))
    try:
        data = encode_task(pairs, body)
    except TaskTooLarge as e:
        gen_log.error("[uwsgi-spooler] args buffer is limited to 64k, use the 'body' for bigger values")
        raise SpoolError(str(e)) from None
    except ValueError as e:
        raise SpoolError(str(e)) from None
    if len(data) > spoolers.max_size:
        raise SpoolError("task of %d bytes: over --spooler-max-size (%d)" % (len(data), spoolers.max_size))
    target = directory
    if reserved.priority:
        priority = os.fsdecode(reserved.priority)
        if not is_priority_name(priority):
            # uWSGI makes any name a subdirectory (even "../x"), and scans only numeric ones
            raise SpoolError("priority %r: must be a number (the subdirectory scanned in numeric order)" % priority)
        target = os.path.join(directory, priority)
        os.makedirs(target, exist_ok=True)
    now = time.time()
    name = task_file_name(_HOSTNAME, os.getpid(), next(_counter), random.randrange(1 << 31),
                          int(now), int((now % 1) * 1_000_000))
    path = os.path.join(target, name)
    tmp = os.path.join(target, ".tmp_" + name)
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if reserved.at > 0:
                os.utime(f.fileno(), (reserved.at, reserved.at))
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if not spoolers.quiet:
        gen_log.info("[spooler] written %d bytes to file %s", len(data), path)
    spoolers.wake(directory)
    return path
