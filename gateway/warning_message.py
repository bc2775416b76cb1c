"""``uwsgi.set_warning_message(msg)``: the instance's warning, answered to every uwsgi PING.

uWSGI keeps one 80-character message in its shared memory; its ping plugin (modifier1 100)
answers ``64 LL LL 01`` with the message's length, then the message, so that
``uwsgi --ping ADDR`` (a load balancer's health check) shows it.  Here too the message is
shared by every process of the instance: :func:`create` makes its
:class:`~gateway.sharedmem.region.Region` before the first fork.  A message set in one
worker is answered by all.

::

    uwsgi.set_warning_message("database unreachable")   # pings now carry it
    uwsgi.set_warning_message("")                       # and no longer
"""

from __future__ import annotations

import struct
from typing import Any, Optional

from gateway.logs import gen_log
from gateway.protocol.uwsgi import MOD1_PING

#: uWSGI's bound (``char warning_message[81]``).
MAX_LEN = 80

_region: Optional[Any] = None
_local = bytearray(MAX_LEN + 1)  # before create() (and in tests): this process only


def create() -> None:
    """Make the shared message (idempotent); call before forking the workers."""
    global _region
    if _region is None:
        from gateway.sharedmem.region import Region

        _region = Region("warning", MAX_LEN + 1)


def _buf() -> Any:
    return _region.buf if _region is not None else _local


def set_message(message: Any) -> bool:
    """``uwsgi.set_warning_message``: a str of at most 80 UTF-8 bytes (longer ones are cut,
    with uWSGI's log line); returns True, as uWSGI."""
    if not isinstance(message, str):
        raise TypeError("set_warning_message() argument 1 must be str, not %s" % type(message).__name__)
    if "\0" in message:
        raise ValueError("set_warning_message(): embedded null character")
    data = message.encode("utf-8")
    if len(data) > MAX_LEN:
        gen_log.warning("- warning message must be max %d chars, it will be truncated -", MAX_LEN)
        data = data[:MAX_LEN]
    buf = _buf()
    buf[: len(data) + 1] = data + b"\0"
    return True


def message() -> bytes:
    """The current message (``b""`` when none)."""
    raw = bytes(_buf()[: MAX_LEN + 1])
    return raw[: raw.index(b"\0")] if b"\0" in raw else raw[:MAX_LEN]


def ping_reply() -> bytes:
    """The answer to a uwsgi PING: uWSGI's header (modifier2 1, the message's length) and the
    message."""
    text = message()
    return struct.pack("<BHB", MOD1_PING, len(text), 1) + text
