"""The ``uwsgi`` module's file calls: ``parsefile`` and ``extract``.

::

    uwsgi.parsefile("/var/spool/job")   # {b"key": b"value", ...} of a uwsgi packet saved in a file
    uwsgi.extract("/etc/motd")          # the file's content (bytes), None when empty

As uWSGI 2.0.31 (``plugins/python/uwsgi_pymodule.c``): ``parsefile`` reads the packet's
4-byte header and vars block (:mod:`gateway.protocol.uwsgi` decodes it) and gives a dict
of bytes for modifier1 0 or 17 (a spooler file), None for another modifier1, a file that
cannot be read or a broken block.  ``extract`` gives a file's bytes, None when it is
empty; uWSGI's ``http://``, ``sym://``... addresses are refused (as by ``--extract``).
Differences: a file that cannot be opened gives None with a log line (uWSGI's
``extract`` exits the worker), so does a FIFO, device or directory (opened without
blocking: :mod:`gateway.regular_files`), and ``extract`` reads at most
:data:`EXTRACT_MAX` bytes.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

from gateway.logs import gen_log
from gateway.protocol.uwsgi import HEADER_SIZE, MAX_PACKET, UwsgiError, decode_header, decode_vars
from gateway.regular_files import open_regular

#: modifier1 values whose packets ``parsefile`` decodes: a request (0) and a spooler job (17)
PARSEFILE_MODIFIERS = (0, 17)
#: the largest file ``extract`` reads (``ValueError`` beyond)
EXTRACT_MAX = 64 * 1048576


def _path(value: Any, what: str) -> str:
    if isinstance(value, bytes):
        return os.fsdecode(value)
    if not isinstance(value, str):
        raise TypeError("%s() argument must be str, not %s" % (what, type(value).__name__))
    return value


def parse_packet_vars(data: bytes) -> Optional[Dict[bytes, bytes]]:
    """The vars of the uwsgi packet at the start of ``data``, None when it is truncated,
    broken or not a vars packet (modifier1 0 or 17).  Pure: :func:`parsefile`'s parser."""
    if len(data) < HEADER_SIZE:
        return None
    modifier1, size, _ = decode_header(data)
    block = data[HEADER_SIZE : HEADER_SIZE + size]
    if len(block) != size or modifier1 not in PARSEFILE_MODIFIERS:
        return None
    try:
        pairs = decode_vars(block, max_vars=MAX_PACKET)
    except UwsgiError:
        return None
    return dict(pairs)


def parsefile(path: Any) -> Optional[Dict[bytes, bytes]]:
    """The vars of the uwsgi packet saved in file ``path`` (a dict of bytes), or None."""
    name = _path(path, "parsefile")
    try:
        with os.fdopen(open_regular(name)[0], "rb") as f:
            data = f.read(HEADER_SIZE + MAX_PACKET)
    except OSError as e:
        gen_log.error("uwsgi.parsefile(): open(%r): %s", name, e.strerror or e)
        return None
    parsed = parse_packet_vars(data)
    if parsed is None:
        gen_log.warning("uwsgi.parsefile(): %s does not hold a uwsgi vars packet", name)
    return parsed


def extract(path: Any) -> Optional[bytes]:
    """The content of file ``path``, None when it is empty or cannot be read (logged)."""
    name = _path(path, "extract")
    if "://" in name:
        gen_log.error("uwsgi.extract(%r): only a file can be extracted (uWSGI's %s addresses are not "
                      "supported by gateway)", name, name.split("://", 1)[0] + "://")
        return None
    try:
        with os.fdopen(open_regular(name)[0], "rb") as f:
            data = f.read(EXTRACT_MAX + 1)
    except OSError as e:
        gen_log.error("uwsgi.extract(): open(%r): %s", name, e.strerror or e)
        return None
    if len(data) > EXTRACT_MAX:
        raise ValueError("uwsgi.extract(): %s is over %d bytes" % (name, EXTRACT_MAX))
    return data or None
