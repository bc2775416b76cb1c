"""Sans-IO spool files: one spooler task as uWSGI writes it to a spooler directory.

A task file (``core/spooler.c::uwsgi_spool_request`` in uWSGI 2.0) is a uwsgi packet
whose modifier1 is 17, followed by the task's body, unframed::

    u8 17 | u16le size | u8 0 | vars block (size bytes) | body (the rest of the file)

The vars block is the task dict (``u16le keylen, key, u16le vallen, value``, see
:mod:`gateway.protocol.uwsgi`).  Three keys are read by the spooler machinery itself:

* ``spooler``: the directory (as configured, after ``realpath``) the task goes to;
* ``priority``: a subdirectory of it, scanned in numeric order (uWSGI scans it only
  with ``--spooler-ordered``);
* ``at``: a unix time (an integer, or a float whose fraction is ignored) before which
  the task must not run; uWSGI stores it as the file's mtime.

``body`` never appears in the block: the writer moves it after the packet, and the
reader hands it back under the key ``body``.

The file name is ``uwsgi_spoolfile_on_<host>_<pid>_<counter>_<rand>_<sec>_<usec>``
(:func:`task_file_name`); the spooler only looks at names with that prefix (and, when
ordered, at numeric priority directories).  This module only turns bytes into tasks
and back: opening, locking and scheduling are :mod:`gateway.spooler`'s business.
"""

from __future__ import annotations

import re
from typing import Iterable, List, NamedTuple, Optional, Tuple

from gateway.protocol.errors import LocalProtocolError
from gateway.protocol.uwsgi import (
    HEADER_SIZE,
    MAX_PACKET,
    UwsgiError,
    decode_header,
    decode_vars,
    encode_header,
    encode_vars,
)

__all__ = [
    "MOD1_SPOOLER", "FILE_PREFIX", "SpoolFileError", "TaskTooLarge", "MalformedTask",
    "SpoolTask", "Reserved", "encode_task", "decode_task", "reserved_fields", "task_file_name",
    "is_task_name", "is_priority_name", "scan_order",
]

#: modifier1 of a spool file's header (uWSGI's "spooler request").
MOD1_SPOOLER = 17
#: every task file's name starts with this; nothing else in the directory is a task.
FILE_PREFIX = "uwsgi_spoolfile_on_"
#: the most key/value pairs a 64 KiB vars block can hold (each pair takes at least 5 bytes).
_MAX_PAIRS = MAX_PACKET // 5 + 1


class SpoolFileError(ValueError):
    """A task that cannot be written or read."""


class TaskTooLarge(SpoolFileError):
    """The task's vars block is over 64 KiB (uWSGI: ``args buffer is limited to 64k, use
    the 'body' for bigger values``), or the file over the reader's limit."""


class MalformedTask(SpoolFileError):
    """A file in the spooler directory that is not a valid task (truncated, bad vars)."""


class SpoolTask(NamedTuple):
    """A decoded task: its vars in file order (bytes keys and values) and its body."""

    vars: List[Tuple[bytes, bytes]]
    body: bytes
    modifier1: int = MOD1_SPOOLER
    modifier2: int = 0


class Reserved(NamedTuple):
    """The keys the spooler machinery reads (``None``/0 when absent)."""

    spooler: Optional[bytes]
    priority: Optional[bytes]
    at: int


def encode_task(pairs: Iterable[Tuple[bytes, bytes]], body: bytes = b"") -> bytes:
    """The bytes of a task file: header, vars block, then ``body``.

    Raises :class:`TaskTooLarge` when the vars block is over 64 KiB (put big values in
    the body, as uWSGI says) and :class:`SpoolFileError` for an empty key.
    """
    pairs = list(pairs)
    if any(not key for key, _ in pairs):
        raise SpoolFileError("uwsgi var keys cannot be empty")
    try:
        block = encode_vars(pairs)
    except LocalProtocolError as e:  # a key or value over 65535 bytes (uWSGI would cut it short)
        raise TaskTooLarge("%s: use the 'body' for bigger values" % e) from None
    if len(block) > MAX_PACKET:
        raise TaskTooLarge("spooler args buffer is limited to 64k (got %d bytes): use the 'body' for bigger "
                           "values" % len(block))
    return encode_header(MOD1_SPOOLER, len(block), 0) + block + body


def decode_task(data: bytes) -> SpoolTask:
    """The task in ``data`` (a whole file).  Raises :class:`MalformedTask`.

    As uWSGI, modifier1 is not checked and everything after the vars block is the body.
    """
    if len(data) < HEADER_SIZE:
        raise MalformedTask("spool file of %d bytes: shorter than the 4-byte header" % len(data))
    modifier1, size, modifier2 = decode_header(data)
    end = HEADER_SIZE + size
    if len(data) < end:
        raise MalformedTask("spool file truncated: the header announces %d bytes of vars, %d follow"
                            % (size, len(data) - HEADER_SIZE))
    try:
        pairs = decode_vars(data[HEADER_SIZE:end], max_vars=_MAX_PAIRS)
    except UwsgiError as e:
        raise MalformedTask("spool file: %s" % e) from None
    return SpoolTask(pairs, data[end:], modifier1, modifier2)


def _leading_int(value: bytes) -> int:
    """uWSGI's ``uwsgi_str_num``: the leading decimal digits, 0 when none."""
    i = 0
    while i < len(value) and 48 <= value[i] <= 57:
        i += 1
    return int(value[:i]) if i else 0


def reserved_fields(pairs: Iterable[Tuple[bytes, bytes]]) -> Reserved:
    """``spooler``, ``priority`` and ``at`` of a task's vars (the last one wins, as uWSGI)."""
    spooler = priority = None
    at = 0
    for key, value in pairs:
        if key == b"spooler":
            spooler = value
        elif key == b"priority":
            priority = value
        elif key == b"at":
            at = _leading_int(value.split(b".", 1)[0])
    return Reserved(spooler, priority, at)


def task_file_name(hostname: str, pid: int, counter: int, rand: int, sec: int, usec: int) -> str:
    """uWSGI's task file name (the pid and counter make it unique per writer process)."""
    return "%s%s_%d_%d_%d_%d_%d" % (FILE_PREFIX, hostname, pid, counter, rand, sec, usec)


def is_task_name(name: str) -> bool:
    return name.startswith(FILE_PREFIX)


def is_priority_name(name: str) -> bool:
    """A priority subdirectory's name: decimal digits (uWSGI's ``is_a_number``)."""
    return name.isdigit() and name.isascii()


def scan_order(name: str) -> Tuple[Tuple[int, int], ...]:
    """Sort key of ``--spooler-ordered``: uWSGI scans with glibc's ``versionsort``, names
    compared character by character but each run of digits as one number.  So priority 1
    comes before 10, the numeric names before the task files (a digit sorts before a
    letter), and a writer's task 9 before its task 10 (its counter, in the name, is a
    number: bytewise, ``..._10_`` would come first)."""
    key: List[Tuple[int, int]] = []
    for run in _RUNS.findall(name):
        if run.isdigit() and run.isascii():
            key.append((0x30, int(run)))  # a number sorts where its first digit would
        else:
            key.extend((ord(c), -1) for c in run)
    return tuple(key)


_RUNS = re.compile(r"[0-9]+|[^0-9]+")
