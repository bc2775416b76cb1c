"""Arguments of the ``uwsgi`` module's functions, converted once for every subsystem.

uWSGI's C functions parse their arguments with ``PyArg_ParseTuple``: a bytes-like object or
a str (UTF-8) where it wants bytes, an integer (``__index__``, not a bool) where it wants a
number.  The caches, metrics, signals, shared areas, mules and websockets all call these two,
so a wrong type gets the same ``TypeError`` whichever function it reached.
"""

from __future__ import annotations

from typing import Any

__all__ = ["bytes_arg", "int_arg"]


def bytes_arg(value: Any, what: str) -> bytes:
    """``value`` as bytes (a str is UTF-8 encoded); ``TypeError`` naming ``what`` otherwise."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s: a bytes-like object or str is required, not '%s'" % (what, type(value).__name__))


def int_arg(value: Any, what: str) -> int:
    """``value`` as an int (anything with ``__index__`` but a bool); ``TypeError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            return value.__index__()
        except AttributeError:
            raise TypeError("%s: an integer is required, not '%s'" % (what, type(value).__name__)) from None
    return value
