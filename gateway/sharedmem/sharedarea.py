"""``--sharedarea``: uWSGI's raw shared memory areas and the ``uwsgi.sharedarea_*`` functions.

Each ``--sharedarea`` option adds an area (ids from 0 in option order): ``--sharedarea N``
or ``pages=N`` is N pages of ``mmap.PAGESIZE`` bytes, ``size=BYTES`` is that many bytes
(rounded up to whole pages, as uWSGI).  Every area is a
:class:`~gateway.sharedmem.region.Region` made before the first fork, so every worker
(and mule, spooler...) reads and writes the same bytes.

The functions keep uWSGI 2.0's signatures and results: ``sharedarea_read(id, pos[, len])``
returns bytes (``len`` 0 or absent: up to the end); ``sharedarea_write(id, pos, data)``;
``sharedarea_read8/16/32/64`` (``readbyte``, ``readlong``) and ``write8/16/32/64``
(``writebyte``, ``writelong``) move native-endian signed integers; ``sharedarea_inc32/64``
(``inclong``) and ``dec32/64`` add or subtract (1 by default) in place; ``sharedarea_update``
counts an update; ``sharedarea_memoryview(id)`` is a writable view on the area itself.
A position or length outside the area, or an unknown id, raises ``ValueError`` ("error
calling uwsgi_sharedarea_read()", uWSGI's words), never a crash.  Arguments are checked as
uWSGI's ``PyArg_ParseTuple`` formats check them: an id that is not an integer is a
``TypeError``, a number too large for the C type it is parsed into an ``OverflowError``
(``write8`` takes 0..255, ``write64`` and the positions a signed 64-bit integer, ``inc32``/``dec32``
a 32-bit one); ``write16``/``write32`` keep the low bits, as uWSGI's unchecked ``I``.  Every read, write and
increment holds the area's short cross-process lock, so an increment is atomic across
workers.

``sharedarea_rlock/wlock/unlock(id)`` take the area's user lock, held across calls (for
work on the memoryview): as with ``uwsgi.lock()`` only the calling core waits for it.
Deliberate difference: that lock is exclusive for readers too (uWSGI's is a read-write
lock), and it is not the lock the other functions take, so calling them while holding it
cannot deadlock (uWSGI's would).  ``sharedarea_object`` (a C pointer in uWSGI) is not offered.
The ``file=``, ``fd=`` and ``ptr=`` forms are refused at startup.
"""

from __future__ import annotations

import mmap
import struct
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from gateway.api_args import bytes_arg, c_int_arg, int_arg
from gateway.sharedmem.locks import UserLock
from gateway.sharedmem.region import Region, ShortLock

__all__ = ["FUNCTIONS", "SharedArea", "SharedAreaConfigError", "SharedAreas", "parse_sharedarea"]

PAGE = mmap.PAGESIZE
#: the largest area (a typo like 'pages=100000000' must not take the machine's memory)
MAX_SIZE = 1 << 31


class SharedAreaConfigError(ValueError):
    """A ``--sharedarea`` value that cannot work; ``str()`` names the option."""


def parse_sharedarea(value: str) -> int:
    """The size in bytes of one ``--sharedarea`` value: ``N`` or ``pages=N`` (pages), ``size=B``."""
    text = value.strip()
    if text.isdigit():
        pages = int(text)
    else:
        fields: Dict[str, str] = {}
        for item in text.split(","):
            key, sep, val = item.partition("=")
            if not sep:
                raise SharedAreaConfigError("--sharedarea %r: expected N, pages=N or size=BYTES" % value)
            fields[key.strip()] = val.strip()
        unknown = set(fields) - {"pages", "size"}
        if unknown:
            raise SharedAreaConfigError("--sharedarea %r: %s not supported (only pages= and size=)"
                                        % (value, ", ".join(sorted(unknown))))
        try:
            if "size" in fields:
                size = int(fields["size"])
                pages = size // PAGE + (1 if size % PAGE else 0)
            else:
                pages = int(fields.get("pages", ""))
        except ValueError:
            raise SharedAreaConfigError("--sharedarea %r: not a number" % value) from None
    if pages <= 0:
        raise SharedAreaConfigError("--sharedarea %r: an area needs at least one page" % value)
    if pages * PAGE > MAX_SIZE:
        raise SharedAreaConfigError("--sharedarea %r: larger than %d bytes" % (value, MAX_SIZE))
    return pages * PAGE


class SharedArea:
    """One area: its bytes, its short lock (each operation) and its user lock (rlock/wlock)."""

    def __init__(self, ident: int, size: int) -> None:
        self.id = ident
        self.size = size
        self.region = Region("sharedarea%d" % ident, size + 8)  # + the updates counter
        self.lock = ShortLock(self.region, 0, "sharedarea %d" % ident)
        self.user_lock = UserLock(self.region, 1)
        self.buf = self.region.buf

    def after_fork(self) -> None:
        self.lock.after_fork()
        self.user_lock.after_fork()

    def _check(self, pos: int, length: int, what: str) -> None:
        if pos < 0 or length < 0 or pos + length > self.size or pos >= self.size:
            raise ValueError("error calling uwsgi_sharedarea_%s()" % what)

    def read(self, pos: int, length: int = 0) -> bytes:
        if length == 0:
            self._check(pos, 0, "read")
            length = self.size - pos
        self._check(pos, length, "read")
        with self.lock:
            return bytes(self.buf[pos:pos + length])

    def write(self, pos: int, data: bytes) -> None:
        self._check(pos, len(data), "write")
        with self.lock:
            self.buf[pos:pos + len(data)] = data
            self._count_update()

    def read_int(self, pos: int, fmt: str) -> int:
        size = struct.calcsize(fmt)
        self._check(pos, size, "read%d" % (8 * size))
        with self.lock:
            return int(struct.unpack_from(fmt, self.buf, pos)[0])

    def write_int(self, pos: int, fmt: str, value: int) -> None:
        size = struct.calcsize(fmt)
        self._check(pos, size, "write%d" % (8 * size))
        bits = 8 * size
        value = (value + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))  # wrap like C
        with self.lock:
            struct.pack_into(fmt, self.buf, pos, value)
            self._count_update()

    def add(self, pos: int, fmt: str, amount: int, what: str) -> None:
        size = struct.calcsize(fmt)
        self._check(pos, size, what)
        bits = 8 * size
        with self.lock:
            value = struct.unpack_from(fmt, self.buf, pos)[0] + amount
            value = (value + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
            struct.pack_into(fmt, self.buf, pos, value)
            self._count_update()

    def _count_update(self) -> None:
        struct.pack_into("=Q", self.buf, self.size, (struct.unpack_from("=Q", self.buf, self.size)[0] + 1) % (1 << 64))

    def updates(self) -> int:
        return int(struct.unpack_from("=Q", self.buf, self.size)[0])

    def close(self) -> None:
        try:
            self.region.close()
        except BufferError:  # an app still holds a sharedarea_memoryview: the process is ending anyway
            pass


class SharedAreas:
    """Every ``--sharedarea`` of the instance, by id (created before the first fork)."""

    def __init__(self, sizes: Sequence[int]) -> None:
        self.areas: List[SharedArea] = [SharedArea(i, size) for i, size in enumerate(sizes)]

    @classmethod
    def from_config(cls, values: Sequence[str]) -> "SharedAreas":
        return cls([parse_sharedarea(v) for v in values])

    def get(self, ident: Any, what: str) -> SharedArea:
        if not isinstance(ident, int) or not 0 <= ident < len(self.areas):
            raise ValueError("error calling uwsgi_sharedarea_%s()" % what)
        return self.areas[ident]

    def after_fork(self) -> None:
        for area in self.areas:
            area.after_fork()

    def close(self) -> None:
        for area in self.areas:
            area.close()


#: the areas of this process (set by :class:`gateway.subsystems.Subsystems` before the fork)
current: Optional[SharedAreas] = None


def _id(ident: Any, what: str) -> int:
    """An area id (uWSGI's ``i``: a C int; all arguments are parsed before any is looked up)."""
    return c_int_arg(ident, "sharedarea_" + what, "i")


def _area(ident: Any, what: str) -> SharedArea:
    ident = _id(ident, what)
    if current is None:
        raise ValueError("error calling uwsgi_sharedarea_%s(): no --sharedarea configured" % what)
    return current.get(ident, what)


def _pos(pos: Any, what: str) -> int:
    """A position or length (uWSGI's ``L``: a signed 64-bit integer)."""
    return c_int_arg(pos, "sharedarea_" + what, "L")


def sharedarea_read(ident: int, pos: int, length: int = 0) -> bytes:
    ident, pos, length = _id(ident, "read"), _pos(pos, "read"), _pos(length, "read")
    return _area(ident, "read").read(pos, length)


def sharedarea_write(ident: int, pos: int, data: Any) -> None:
    ident, pos, blob = _id(ident, "write"), _pos(pos, "write"), bytes_arg(data, "sharedarea_write")
    _area(ident, "write").write(pos, blob)


def _reader(fmt: str, what: str) -> Callable[[int, int], int]:
    def read(ident: int, pos: int) -> int:
        ident, pos = _id(ident, what), _pos(pos, what)
        return _area(ident, what).read_int(pos, fmt)

    read.__name__ = "sharedarea_" + what
    return read


#: the ``PyArg_ParseTuple`` format of each writer's value: checked ranges (``b``, ``L``), or
#: None for uWSGI's unchecked ``I`` (any integer, its low bits kept)
_VALUE_FORMATS = {"write8": "b", "write16": None, "write32": None, "write64": "L",
                  "inc32": "i", "dec32": "i", "inc64": "l", "dec64": "l"}


def _value(value: Any, what: str) -> int:
    fmt = _VALUE_FORMATS[what]
    name = "sharedarea_" + what
    return int_arg(value, name) if fmt is None else c_int_arg(value, name, fmt)


def _writer(fmt: str, what: str) -> Callable[[int, int, int], None]:
    def write(ident: int, pos: int, value: int) -> None:
        ident, pos, value = _id(ident, what), _pos(pos, what), _value(value, what)
        _area(ident, what).write_int(pos, fmt, value)

    write.__name__ = "sharedarea_" + what
    return write


def _adder(fmt: str, what: str, sign: int) -> Callable[..., None]:
    def add(ident: int, pos: int, value: int = 1) -> None:
        ident, pos, value = _id(ident, what), _pos(pos, what), _value(value, what)
        _area(ident, what).add(pos, fmt, sign * value, what)

    add.__name__ = "sharedarea_" + what
    return add


def sharedarea_update(ident: int) -> None:
    area = _area(ident, "update")
    with area.lock:
        area._count_update()


def sharedarea_rlock(ident: int) -> None:
    _area(ident, "rlock").user_lock.acquire()


def sharedarea_wlock(ident: int) -> None:
    _area(ident, "wlock").user_lock.acquire()


def sharedarea_unlock(ident: int) -> None:
    _area(ident, "unlock").user_lock.release()


def sharedarea_memoryview(ident: int) -> memoryview:
    ident = c_int_arg(ident, "sharedarea_memoryview", "i")
    if current is None or not isinstance(ident, int) or not 0 <= ident < len(current.areas):
        raise ValueError("cannot get a memoryview object from sharedarea %s" % (ident,))
    area = current.areas[ident]
    return memoryview(area.buf)[:area.size]


#: name -> function, bound into the ``uwsgi`` module when areas are configured (as uWSGI)
FUNCTIONS: Tuple[Tuple[str, Any], ...] = (
    ("sharedarea_read", sharedarea_read), ("sharedarea_write", sharedarea_write),
    ("sharedarea_readbyte", _reader("=b", "read8")), ("sharedarea_writebyte", _writer("=b", "write8")),
    ("sharedarea_read8", _reader("=b", "read8")), ("sharedarea_write8", _writer("=b", "write8")),
    ("sharedarea_read16", _reader("=h", "read16")), ("sharedarea_write16", _writer("=h", "write16")),
    ("sharedarea_read32", _reader("=i", "read32")), ("sharedarea_write32", _writer("=i", "write32")),
    ("sharedarea_read64", _reader("=q", "read64")), ("sharedarea_write64", _writer("=q", "write64")),
    ("sharedarea_readlong", _reader("=q", "read64")), ("sharedarea_writelong", _writer("=q", "write64")),
    ("sharedarea_inc32", _adder("=i", "inc32", 1)), ("sharedarea_inc64", _adder("=q", "inc64", 1)),
    ("sharedarea_inclong", _adder("=q", "inc64", 1)),
    ("sharedarea_dec32", _adder("=i", "dec32", -1)), ("sharedarea_dec64", _adder("=q", "dec64", -1)),
    ("sharedarea_update", sharedarea_update),
    ("sharedarea_rlock", sharedarea_rlock), ("sharedarea_wlock", sharedarea_wlock),
    ("sharedarea_unlock", sharedarea_unlock), ("sharedarea_memoryview", sharedarea_memoryview),
)
