"""``--honour-range``: one byte range of a ``Range`` header, resolved against a size (sans-IO).

uWSGI reads only the first range of ``Range: bytes=...`` (everything after a comma is
ignored) and so does this module: ``bytes=A-B``, ``bytes=A-`` (to the end) and
``bytes=-N`` (the last N bytes).  :func:`resolve` then says what to answer for a
representation of ``size`` bytes::

    >>> resolve(parse_range("bytes=0-99"), 1000)
    (206, 0, 99)
    >>> resolve(parse_range("bytes=2000-"), 1000)
    (416, 0, 0)
    >>> resolve(parse_range("bytes=0-"), 1000)   # the whole thing: a plain 200, as uWSGI
    (200, 0, 999)

A header that is not a byte range at all (another unit, no dash, a last position before
the first) is ignored: 200, as RFC 9110 §14.2 asks (uWSGI answers 416 to those).
"""

from __future__ import annotations

from typing import Optional, Tuple

#: ``bytes=A-`` and ``bytes=-N`` reach the end: a last position past any size
_END = 1 << 62
#: digits of a position read as a number; a longer one is past any size (:data:`_END`),
#: never handed to ``int()`` (which refuses more than 4300 digits)
_MAX_DIGITS = 18


def _position(digits: str) -> int:
    """An ASCII-digit position, :data:`_END` when too long to be a real one."""
    return int(digits) if len(digits) <= _MAX_DIGITS else _END


def _is_position(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes ``²`` and other digits ``int`` refuses)."""
    return text.isdigit() and text.isascii()


def parse_range(header: str) -> Optional[Tuple[int, int]]:
    """``(first, last)`` of the first range (``first`` negative: the last ``-first`` bytes;
    ``last`` :data:`_END`: to the end), or None when ``header`` is no usable byte range."""
    spec = header.split(",", 1)[0].strip()
    unit, sep, rng = spec.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    first, dash, last = rng.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (_is_position(first) or first == "") or not (_is_position(last) or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        if _position(last) == 0:
            return _END, _END  # the last 0 bytes: never satisfiable (RFC 9110 §14.1.2)
        return -_position(last), _END
    start = _position(first)
    end = _position(last) if last else _END
    if end < start:
        return None
    return start, end


def resolve(parsed: Optional[Tuple[int, int]], size: int) -> Tuple[int, int, int]:
    """``(status, first, last)`` for ``size`` bytes: 206 with the inclusive positions, 200 for
    the whole (no range, or one covering everything), 416 when the range starts past the end."""
    if parsed is None:
        return 200, 0, size - 1
    first, last = parsed
    if first < 0:
        first = max(size + first, 0)
    last = min(last, size - 1)
    if first == 0 and last == size - 1:
        return 200, 0, size - 1
    if first > last:
        return 416, 0, 0
    return 206, first, last
