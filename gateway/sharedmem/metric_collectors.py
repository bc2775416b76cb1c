"""uWSGI 2.0's metric collectors (``--metric name=N,collector=C[,freq=S][,arg1=...][,arg1n=...][,children=A;B]``).

A ``--metric`` with a collector gets its value from the master, every ``freq`` seconds (1 by
default), as ``initial_value + collector()``; applications read it but cannot change it
(``metric_set`` & co. give None), as in uWSGI. The collectors, with uWSGI's arithmetic
(64-bit, wrapping; ``avg`` truncates toward zero):

* ``file``: the ``arg1n``-th whitespace-separated field (from 0) of the first 4 KiB of the file
  ``arg1``, as ``strtoll`` reads it (0 when there is none, or the file cannot be read);
* ``sum``, ``avg``: of the ``children`` metrics' values;
* ``adder``, ``multiplier``: the children's sum plus, or times, ``arg1n``;
* ``accumulator``: the metric's own value plus the children's sum (so, with ``initial_value``,
  it grows by that much more each time, as uWSGI's).

uWSGI's ``ptr`` (a C pointer) and ``func`` (a C symbol) collectors have no Python meaning and are
refused at startup.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, Sequence

__all__ = ["COLLECTORS", "UNSUPPORTED", "file_field", "strtoll"]

_MASK = (1 << 64) - 1
_STRTOLL = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_BLANKS = b" \t\r\0\n"
#: what the ``file`` collector reads of its file (uWSGI's buffer)
FILE_READ = 4096


def wrap64(v: int) -> int:
    """``v`` as a C signed 64-bit integer (wrapping)."""
    v &= _MASK
    return v - (1 << 64) if v >= 1 << 63 else v


def strtoll(data: bytes) -> int:
    """C's ``strtoll(data, NULL, 10)``: leading blanks, a sign, digits; 0 without digits; the
    result clamped to the 64-bit range."""
    m = _STRTOLL.match(data)
    if not m:
        return 0
    return max(-(1 << 63), min((1 << 63) - 1, int(m.group(1))))


def file_field(data: bytes, index: int) -> int:
    """The ``file`` collector's value of ``data``: field ``index`` as uWSGI's scan finds it (a
    leading blank counts as the end of an empty field 0, as there, so ``index`` 1 of " 5 6" is 5)."""
    start, pos, in_blanks = 0, 0, False
    for i, byte in enumerate(data):
        blank = byte in _BLANKS
        if not in_blanks:
            if blank:
                if pos == index:
                    return strtoll(data[start:])
                in_blanks = True
        elif not blank:
            in_blanks, start, pos = False, i, pos + 1
    return strtoll(data[start:]) if pos == index else 0


def _sum(values: Sequence[int]) -> int:
    return wrap64(sum(values))


def _avg(values: Sequence[int]) -> int:
    if not values:
        return 0
    total = _sum(values)
    q = abs(total) // len(values)
    return q if total >= 0 else -q


#: children's values, the metric's own value, arg1n -> the collected part of the value
COLLECTORS: Dict[str, Callable[[Sequence[int], int, int], int]] = {
    "sum": lambda values, own, n: _sum(values),
    "avg": lambda values, own, n: _avg(values),
    "accumulator": lambda values, own, n: wrap64(own + _sum(values)),
    "adder": lambda values, own, n: wrap64(_sum(values) + n),
    "multiplier": lambda values, own, n: wrap64(_sum(values) * n),
    "file": lambda values, own, n: 0,  # (read by Metrics.run_collectors: it needs the file)
}
#: uWSGI's collectors that gateway refuses, and why
UNSUPPORTED = {"ptr": "it reads a C pointer", "func": "it calls a C symbol (dlsym)"}
