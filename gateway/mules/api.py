"""The ``uwsgi`` module's mule and farm functions (uWSGI 2.0 ``uwsgi_pymodule.c``).

``mule_msg`` and ``farm_msg`` work in every process (a worker, a mule, the master at
app import); ``mule_get_msg`` and ``farm_get_msg`` only in a mule; ``mule_id`` is 0
outside one.  The message loop's hook is the module attribute ``uwsgi.mule_msg_hook``.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from gateway import mules as _mules
from gateway.api_args import bytes_arg, c_int_arg, int_arg
from gateway.mules import process as _process

Message = Union[bytes, bytearray, memoryview, str]


def mule_id() -> int:
    """This mule's id (1..N); 0 in a worker or in the master."""
    rt = _process.runtime
    return rt.mid if rt is not None else 0


def mule_msg(message: Message, mule: Any = None) -> bool:
    """Queue ``message`` for a mule: ``mule`` = None or 0 (the first free mule), an id,
    or a farm name.  True when queued, False when that queue is full (logged).  Raises
    ValueError without mules, for an unknown target, or for a message bigger than
    ``--mule-msg-size``.  Never blocks."""
    data = bytes_arg(message, "mule_msg")
    ms = _mules.current
    if ms is None:
        raise ValueError("no mule configured")
    return ms.send(data, mule)


def _farm_name(name: Any, what: str) -> str:
    """A farm name where uWSGI parses it with ``s``: a str, else uWSGI's TypeError."""
    if not isinstance(name, str):
        raise TypeError("%s() argument 1 must be str, not %s" % (what, type(name).__name__))
    return name


def farm_msg(farm: str, message: Message) -> None:
    """Queue ``message`` for the first free mule of ``farm`` (uWSGI returns None, and an
    unknown farm is silently ignored there too).  ``farm`` is a str (uWSGI's TypeError
    otherwise; ``mule_msg`` takes bytes too)."""
    farm = _farm_name(farm, "farm_msg")
    data = bytes_arg(message, "farm_msg")
    ms = _mules.current
    if ms is None or farm not in ms.farm_names:
        return None
    ms.send(data, farm)
    return None


def mule_get_msg(signals: Any = True, farms: Any = True, buffer_size: int = 65536,
                 timeout: int = -1) -> Optional[bytes]:
    """In a mule: wait for the next message (see :meth:`~gateway.mules.process.MuleRuntime.get_msg`)."""
    rt = _process.runtime
    if rt is None:
        raise ValueError("you can receive mule messages only in a mule !!!")
    size, wait = c_int_arg(buffer_size, "mule_get_msg", "i"), c_int_arg(timeout, "mule_get_msg", "i")  # (uWSGI's "ii")
    return rt.get_msg(signals not in (None, False), farms not in (None, False), size, wait)


def farm_get_msg() -> Optional[bytes]:
    """In a mule: wait for the next message of one of its farms (None if it has none)."""
    rt = _process.runtime
    if rt is None:
        raise ValueError("you can receive farm messages only in a mule !!!")
    return rt.farm_get_msg()


def mule_file(mule: Any = None) -> Optional[bytes]:
    """The script mule ``mule`` (default: this one) runs, as given to ``--mule=`` (bytes), or
    None for a mule without one.  uWSGI's errors: ``ValueError`` for an id beyond the mules,
    ``SystemError`` for id 0 (a worker asking about itself)."""
    mid = mule_id() if mule is None else int_arg(mule, "mule_file")
    if mid == 0:
        raise SystemError("mule_file(): this process is not a mule: give a mule id")
    ms = _mules.current
    count = ms.count if ms is not None else 0
    if mid > count:
        raise ValueError("The id you provided doesn't correspond to any mule")
    if mid < 0 or ms is None:
        return None
    script = ms.scripts[mid - 1]
    return os.fsencode(script) if script else None


def mule_msg_recv_size() -> int:
    """What a mule's message loop reads of each message (``--mule-msg-recv-size``, 65536 by
    default, as uWSGI's ``uwsgi.mule_msg_recv_size()``)."""
    ms = _mules.current
    return ms.recv_size if ms is not None else 65536


def in_farm(name: Optional[str] = None) -> Optional[bool]:
    """True when this mule belongs to farm ``name`` (any farm without a name); else None.
    ``name`` is a str (uWSGI's TypeError otherwise, in any process)."""
    if name is not None:
        name = _farm_name(name, "in_farm")
    rt = _process.runtime
    if rt is None:
        return None
    for i in rt.farms:
        if name is None or rt.mules.farm_names[i] == name:
            return True
    return None


__all__ = ["mule_id", "mule_msg", "farm_msg", "mule_get_msg", "farm_get_msg", "in_farm", "mule_file",
           "mule_msg_recv_size"]
