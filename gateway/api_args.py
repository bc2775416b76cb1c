"""Arguments of the ``uwsgi`` module's functions, converted once for every subsystem.

uWSGI's C functions parse their arguments with ``PyArg_ParseTuple``: a bytes-like object or
a str (UTF-8) where it wants bytes, an integer (``__index__``, not a bool) where it wants a
number.  The caches, metrics, signals, shared areas, mules and websockets all call these,
so a wrong type gets the same ``TypeError`` whichever function it reached, and a number too
large for the C type uWSGI parses it into the same ``OverflowError`` (:func:`c_int_arg`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["bytes_arg", "c_int_arg", "int_arg"]


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


#: ``PyArg_ParseTuple``'s range-checked integer formats: (lowest, highest, CPython's message
#: below, above).  The unchecked ones (``B``, ``I``...) take any integer and wrap: callers use
#: :func:`int_arg` and wrap themselves.
_C_RANGES = {
    "b": (0, 255, "unsigned byte integer is less than minimum", "unsigned byte integer is greater than maximum"),
    "i": (-2 ** 31, 2 ** 31 - 1, "signed integer is less than minimum", "signed integer is greater than maximum"),
    "l": (-2 ** 63, 2 ** 63 - 1, "Python int too large to convert to C long", "Python int too large to convert to C long"),
    "L": (-2 ** 63, 2 ** 63 - 1, "int too big to convert", "int too big to convert"),
}


def c_int_arg(value: Any, what: str, fmt: str) -> int:
    """``value`` as :func:`int_arg` does, within the range of the C type ``PyArg_ParseTuple``
    format ``fmt`` (``b``, ``i``, ``l``, ``L``) parses it into: ``OverflowError`` with
    CPython's message otherwise, as uWSGI's function raises (instead of storing a value
    silently cut to that width)."""
    n = int_arg(value, what)
    low, high, below, above = _C_RANGES[fmt]
    if n < low:
        raise OverflowError(below)
    if n > high:
        raise OverflowError(above)
    return n
