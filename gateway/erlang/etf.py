"""Erlang External Term Format (ETF): Python values to bytes and back, sans-IO.

The distribution layer speaks ETF for every control message and every message
body; uWSGI's Erlang API hands those terms to Python code.  No codec on PyPI
gives the mapping uWSGI needs (binaries as ``bytes``, a real atom type, pids
and refs that keep their creation, decoding at an offset for the two terms of
a pass-through ``p`` packet) at a useful speed, so this module is our own
(see ``shared/reference/erlang.md`` section 3).  It only turns bytes into
values and values into bytes: no sockets, no logging.

Mapping (Python value -> Erlang term -> decoded back as):

* ``bytes`` (also ``bytearray``, ``memoryview``) -> binary -> ``bytes``
* ``str`` -> binary (UTF-8) -> ``bytes`` (:func:`to_str` turns it back)
* :class:`Atom` -> atom (always the UTF-8 tags 119/118) -> :class:`Atom`
  (tags 100/115 are read as Latin-1, 118/119 as UTF-8)
* ``True``, ``False``, ``None`` -> ``true``, ``false``, ``undefined`` -> the same
  constants (so ``Atom("true")`` encodes as ``true`` and comes back as ``True``)
* ``int`` of any size -> integer or bignum -> ``int``
* ``float`` (finite only, as in Erlang) -> NEW_FLOAT -> ``float`` (FLOAT_EXT read too)
* ``list`` -> list -> ``list``; a STRING_EXT is read as a list of ints
* :class:`ImproperList` -> list with a non-``[]`` tail -> :class:`ImproperList`
* ``tuple`` -> tuple -> ``tuple``
* ``dict`` -> map -> ``dict``; keys Python cannot hold as they are come wrapped
  in :class:`MapKey`
* :class:`Pid`, :class:`Reference`, :class:`Port` -> pid, reference, port -> the
  same classes (old and new tags read; NEW_PID, NEWER_REFERENCE, NEW_PORT or
  V4_PORT written)
* :class:`BitBinary` -> bitstring -> :class:`BitBinary` (``bytes`` when it turns
  out to be a whole number of bytes)
* :class:`Export` -> ``fun M:F/A`` -> :class:`Export`
* :class:`Fun` -> local fun -> :class:`Fun`, opaque: its bytes are kept and written
  back verbatim, and two funs are equal when their bytes are
* a compressed term (tag 80) is read, never written

:class:`Atom` subclasses ``str`` (so ``Atom("rex") == "rex"`` and atoms work as
keys of ``str``-keyed registries), but the encoder dispatches on the exact type
and checks ``Atom`` before ``str``: an ``Atom`` always becomes an atom, a plain
``str`` always a binary.  The price: in a Python dict ``Atom("a")`` and ``"a"``
are the same key.  Decoded maps never meet this (binaries decode to ``bytes``).

Decoding is bounded for input from a hostile node: new atoms count against an
:class:`AtomTable` (``max_atoms``), nesting against ``max_depth``, a compressed
term against ``max_size``; every length field is checked against the bytes that
are really there before anything is allocated; and :func:`decode` raises only
:class:`ETFError` (with the offset of the fault) on any input.

Speed: one handler per tag in a table indexed by the tag byte, precompiled
``struct`` formats, cached atom and pid encodings, and decoded pids shared
through the atom table (a conversation repeats the same few pids).  See
``bench/etf_bench.py``.
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from typing import Any, Callable, Iterable

__all__ = [
    "encode",
    "encode_body",
    "decode",
    "decode_from",
    "Atom",
    "Pid",
    "Reference",
    "Port",
    "BitBinary",
    "ImproperList",
    "Export",
    "Fun",
    "MapKey",
    "AtomTable",
    "ETFError",
    "AtomLimitError",
    "to_str",
    "MAX_DEPTH",
    "MAX_ATOMS",
    "UNDECODED",
    "decode_shallow",
    "MAX_ATOM_CHARS",
    "MAX_REF_WORDS",
    "MAX_UNCOMPRESSED_SIZE",
    "VERSION",
]

#: The version byte every encoded term starts with.
VERSION = 131
#: Deepest nesting of tuples/lists/maps accepted when decoding or encoding
#: (real Erlang echoes a 10,000-deep list; a term is also bounded by its bytes).
MAX_DEPTH = 100_000
#: Nesting the recursive (fast) paths handle; deeper terms are decoded and encoded
#: again by the iterative paths (:func:`_decode_deep`, :func:`_encode_deep`), so
#: no depth up to ``max_depth`` ever meets Python's recursion limit.
RECURSION_DEPTH = 256
#: Deepest nesting of a map key that is not hashable in Python (see :class:`MapKey`).
MAX_KEY_DEPTH = 512
#: Default size of an :class:`AtomTable` (distinct atom names it will hold).
MAX_ATOMS = 1048576
#: Erlang's own limit on the length of an atom, in characters.
MAX_ATOM_CHARS = 255
#: Most ID words a reference may carry (OTP 26+ sends up to 5).
MAX_REF_WORDS = 5
#: Largest ``UncompressedSize`` of a compressed term (tag 80) we inflate.
MAX_UNCOMPRESSED_SIZE = 64 * 1024 * 1024
#: How many atom encodings :func:`encode` remembers.
ATOM_ENCODE_CACHE_SIZE = 65536
#: How many decoded pids an :class:`AtomTable` remembers (by their bytes), so the
#: pids of a busy conversation are not rebuilt for every message.
PID_CACHE_SIZE = 4096


class ETFError(ValueError):
    """A term could not be decoded (the sender broke ETF) or encoded (the caller gave
    a value ETF cannot represent).  The message says which, and where."""


class AtomLimitError(ETFError):
    """Decoding would create more distinct atoms than the :class:`AtomTable` allows."""


# --------------------------------------------------------------------------- values


class Atom(str):
    """An Erlang atom: a ``str`` subclass, encoded as an atom rather than a binary.

    ``Atom("ok") == "ok"`` holds (it is a ``str``); :func:`encode` still tells them
    apart.  Atoms decoded from the wire are interned in an :class:`AtomTable`.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Atom({str.__repr__(self)})"


class _Frozen:
    """Base of the immutable value classes: attributes are set once, in ``__init__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")


_set = object.__setattr__


def _as_atom(name: Any, what: str) -> Atom:
    if name.__class__ is Atom:
        return name
    if isinstance(name, str):
        return Atom(name)
    raise TypeError(f"{what} must be an atom name (str), not {type(name).__name__}")


class Pid(_Frozen):
    """An Erlang process identifier: ``node``, ``id``, ``serial`` and ``creation``.

    Equal pids have equal fields; ``creation`` tells incarnations of a node apart.
    """

    __slots__ = ("node", "id", "serial", "creation", "_etf")

    node: Atom
    id: int
    serial: int
    creation: int
    _etf: bytes | None  # its encoding, cached by the encoder

    def __init__(self, node: str, id: int, serial: int = 0, creation: int = 0) -> None:
        _pid_node(self, node if node.__class__ is Atom else _as_atom(node, "Pid node"))
        _pid_id(self, id)
        _pid_serial(self, serial)
        _pid_creation(self, creation)
        _pid_etf(self, None)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Pid:
            return NotImplemented
        return (
            self.id == other.id
            and self.serial == other.serial
            and self.node == other.node
            and self.creation == other.creation
        )

    def __hash__(self) -> int:
        return hash((self.node, self.id, self.serial, self.creation))

    def __repr__(self) -> str:
        return f"<{self.node}.{self.id}.{self.serial}>"

    def __reduce__(self) -> tuple:
        return (Pid, (self.node, self.id, self.serial, self.creation))


class Reference(_Frozen):
    """An Erlang reference: ``node``, ``creation`` and 1 to 5 32-bit ``ids`` words
    (wire order: the first word is the one Erlang prints last)."""

    __slots__ = ("node", "creation", "ids")

    node: Atom
    creation: int
    ids: tuple[int, ...]

    def __init__(self, node: str, creation: int, ids: Iterable[int]) -> None:
        _ref_node(self, node if node.__class__ is Atom else _as_atom(node, "Reference node"))
        _ref_creation(self, creation)
        _ref_ids(self, tuple(ids))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Reference:
            return NotImplemented
        return (
            self.ids == other.ids
            and self.node == other.node
            and self.creation == other.creation
        )

    def __hash__(self) -> int:
        return hash((self.node, self.creation, self.ids))

    def __repr__(self) -> str:
        return "#Ref<%s>" % ".".join([str(self.node), *map(str, reversed(self.ids))])

    def __reduce__(self) -> tuple:
        return (Reference, (self.node, self.creation, self.ids))


class Port(_Frozen):
    """An Erlang port identifier: ``node``, ``id`` (up to 64 bits) and ``creation``."""

    __slots__ = ("node", "id", "creation")

    node: Atom
    id: int
    creation: int

    def __init__(self, node: str, id: int, creation: int = 0) -> None:
        _set(self, "node", _as_atom(node, "Port node"))
        _set(self, "id", id)
        _set(self, "creation", creation)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Port:
            return NotImplemented
        return (
            self.id == other.id
            and self.node == other.node
            and self.creation == other.creation
        )

    def __hash__(self) -> int:
        return hash((self.node, self.id, self.creation))

    def __repr__(self) -> str:
        return f"#Port<{self.node}.{self.id}>"

    def __reduce__(self) -> tuple:
        return (Port, (self.node, self.id, self.creation))


class BitBinary(_Frozen):
    """A bitstring whose length is not a whole number of bytes.

    ``data`` holds the bytes; only the ``bits`` (1..8) most significant bits of the
    last byte belong to the value (the others are cleared, as Erlang ignores them).
    """

    __slots__ = ("data", "bits")

    data: bytes
    bits: int

    def __init__(self, data: bytes, bits: int) -> None:
        data = bytes(data)
        if not data:
            raise ValueError("BitBinary needs at least one byte (use b'' for an empty binary)")
        if not 1 <= bits <= 8:
            raise ValueError(f"BitBinary bits must be 1..8 (bits used in the last byte), not {bits}")
        if bits != 8:
            data = data[:-1] + bytes((data[-1] & (0xFF00 >> bits) & 0xFF,))
        _set(self, "data", data)
        _set(self, "bits", bits)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not BitBinary:
            return NotImplemented
        return self.bits == other.bits and self.data == other.data

    def __hash__(self) -> int:
        return hash((BitBinary, self.data, self.bits))

    def __repr__(self) -> str:
        return f"BitBinary({self.data!r}, {self.bits})"

    def __reduce__(self) -> tuple:
        return (BitBinary, (self.data, self.bits))


class Export(_Frozen):
    """An external fun ``fun Module:Function/Arity``."""

    __slots__ = ("module", "function", "arity")

    module: Atom
    function: Atom
    arity: int

    def __init__(self, module: str, function: str, arity: int) -> None:
        _set(self, "module", _as_atom(module, "Export module"))
        _set(self, "function", _as_atom(function, "Export function"))
        _set(self, "arity", arity)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Export:
            return NotImplemented
        return (
            self.module == other.module
            and self.function == other.function
            and self.arity == other.arity
        )

    def __hash__(self) -> int:
        return hash((Export, self.module, self.function, self.arity))

    def __repr__(self) -> str:
        return f"fun {self.module}:{self.function}/{self.arity}"

    def __reduce__(self) -> tuple:
        return (Export, (self.module, self.function, self.arity))


class Fun(_Frozen):
    """A local fun, kept opaque: ``raw`` is its whole NEW_FUN_EXT encoding (from the
    tag byte 112 on, without the version byte), re-emitted verbatim by :func:`encode`.
    Only the node that created it can call it."""

    __slots__ = ("raw",)

    raw: bytes

    def __init__(self, raw: bytes) -> None:
        raw = bytes(raw)
        if len(raw) < 5 or raw[0] != 112 or _U32(raw, 1)[0] != len(raw) - 1:
            raise ValueError("Fun.raw must be a complete NEW_FUN_EXT (tag 112, Size, ...)")
        _set(self, "raw", raw)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Fun:
            return NotImplemented
        return self.raw == other.raw

    def __hash__(self) -> int:
        return hash((Fun, self.raw))

    def __repr__(self) -> str:
        return f"Fun({self.raw!r})"

    def __reduce__(self) -> tuple:
        return (Fun, (self.raw,))


class ImproperList:
    """A list whose tail is not ``[]``: ``[1, 2 | tail]`` is ``ImproperList([1, 2], tail)``.

    ``items`` is never empty and ``tail`` is never a list (those would be a proper
    list, or just the tail).  Like ``list`` it is mutable and unhashable.
    """

    __slots__ = ("items", "tail")

    def __init__(self, items: Iterable[Any], tail: Any) -> None:
        items = list(items)
        if not items:
            raise ValueError("ImproperList needs at least one item ([] | T is just T)")
        if isinstance(tail, (list, ImproperList)):
            raise ValueError("ImproperList tail must not be a list (that is a longer list)")
        self.items = items
        self.tail = tail

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not ImproperList:
            return NotImplemented
        return self.items == other.items and self.tail == other.tail

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ImproperList({self.items!r}, {self.tail!r})"


class MapKey:
    """A map key Python cannot use as a dict key as it is, wrapped to be one.

    The decoder wraps a key in ``MapKey`` when it is unhashable (a list, a map, a
    tuple holding one) or when it equals, in Python, a different key of the same
    map (``1``, ``1.0`` and ``true`` are three keys in Erlang but one in Python).
    ``MapKey(t)`` equals only another ``MapKey`` of an exactly equal term (Erlang's
    ``=:=``: ``1`` and ``1.0`` differ).  :func:`encode` writes ``t`` itself, so a
    ``MapKey`` may also be used to build such maps::

        decode(encode({MapKey([1, 2]): b"v"})) == {MapKey([1, 2]): b"v"}
    """

    __slots__ = ("term", "_frozen", "_hash")

    def __init__(self, term: Any) -> None:
        self.term = term
        self._frozen = _freeze(term, MAX_KEY_DEPTH)
        self._hash = hash(self._frozen)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not MapKey:
            return NotImplemented
        return self._frozen == other._frozen

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"MapKey({self.term!r})"


def _freeze(term: Any, depth: int) -> Any:
    """A hashable form of ``term`` whose equality is Erlang's exact ``=:=``."""
    if depth <= 0:
        raise ETFError(f"map key nested deeper than {MAX_KEY_DEPTH}")
    cls = term.__class__
    if cls is bool or term is None:
        return ("a", _SPECIAL_NAMES[term])
    if cls is Atom:
        return ("a", str(term))
    if cls is int:
        return ("i", term)
    if cls is float:
        # 0.0 and -0.0 are two terms (and two map keys) since OTP 27: keep the sign
        return ("f", term, math.copysign(1.0, term))
    if cls is bytes or cls is str or cls is bytearray or cls is memoryview:
        return ("b", term.encode("utf-8") if cls is str else bytes(term))
    if cls is MapKey:
        return term._frozen
    if cls is list:
        return ("l", tuple([_freeze(x, depth - 1) for x in term]))
    if cls is tuple:
        return ("t", tuple([_freeze(x, depth - 1) for x in term]))
    if cls is ImproperList:
        return ("l", tuple([_freeze(x, depth - 1) for x in term.items]), _freeze(term.tail, depth - 1))
    if cls is dict:
        return ("m", frozenset([(_freeze(k, depth - 1), _freeze(v, depth - 1)) for k, v in term.items()]))
    if isinstance(term, (Pid, Reference, Port, BitBinary, Export, Fun)):
        return ("o", term)
    raise ETFError(f"cannot use {type(term).__name__} as an Erlang term")


_SPECIAL_NAMES = {True: "true", False: "false", None: "undefined"}
_SPECIAL_VALUES = {"true": True, "false": False, "undefined": None}
_SPECIAL_ATOMS = {True: Atom("true"), False: Atom("false"), None: Atom("undefined")}


def to_str(value: Any) -> str:
    """An Erlang string as ``str``: a list of code points (STRING_EXT decodes to a list
    of ints), a binary (UTF-8), or an atom.  Raises :class:`ETFError` otherwise."""
    cls = value.__class__
    if cls is list:
        try:
            return "".join(map(chr, value))
        except (TypeError, ValueError, OverflowError):
            raise ETFError("to_str: the list is not a list of Unicode code points") from None
    if cls is bytes or cls is bytearray or cls is memoryview:
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ETFError(f"to_str: the binary is not UTF-8 ({exc.reason} at {exc.start})") from None
    if isinstance(value, str):
        return str(value)
    raise ETFError(f"to_str: {type(value).__name__} is not an Erlang string")


# --------------------------------------------------------------------------- atoms


class AtomTable:
    """Interns the atoms decoded from remote input, up to ``max_atoms`` distinct names.

    Erlang atoms are never freed, and neither are ours: a hostile node could
    otherwise make us grow without bound by sending new atom names.  Once the table
    is full, decoding a *new* atom raises :class:`AtomLimitError`; atoms already
    known keep decoding.  Decoding uses a module-wide table unless given another.
    """

    __slots__ = ("max_atoms", "max_cached_pids", "_names", "_utf8", "_latin1", "_pids")

    def __init__(self, max_atoms: int = MAX_ATOMS, max_cached_pids: int = PID_CACHE_SIZE) -> None:
        self.max_atoms = max_atoms
        self.max_cached_pids = max_cached_pids
        # NEW_PID_EXT bytes (tag included) -> Pid; pids are immutable, so shared
        self._pids: dict[bytes, Pid] = {}
        self._names: dict[str, Atom] = {}
        # raw bytes from the wire -> decoded value (an Atom, or True/False/None)
        self._utf8: dict[bytes, Any] = {}
        self._latin1: dict[bytes, Any] = {}

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def intern(self, name: str) -> Atom:
        """The table's ``Atom`` for ``name``, adding it if new (and if there is room)."""
        atom = self._names.get(name)
        if atom is None:
            if len(name) > MAX_ATOM_CHARS:
                raise ETFError(f"atom of {len(name)} characters (Erlang allows {MAX_ATOM_CHARS})")
            if len(self._names) >= self.max_atoms:
                raise AtomLimitError(f"atom table full ({self.max_atoms} atoms): refusing new atom {name[:40]!r}")
            atom = self._names[name] = Atom(name)
        return atom

    def pin(self, name: str) -> Atom:
        """Intern ``name`` even when the table is full: an atom the node itself knows
        or serves (its name, its peers', registered names, protocol atoms) must
        always decode, whatever a hostile peer filled the table with."""
        atom = self._names.get(name)
        if atom is None:
            if len(name) > MAX_ATOM_CHARS:
                raise ETFError(f"atom of {len(name)} characters (Erlang allows {MAX_ATOM_CHARS})")
            atom = self._names[name] = Atom(name)
        return atom

    def _add(self, raw: bytes, utf8: bool, offset: int) -> Any:
        """Slow path of the decoder: a byte string not seen before in this encoding."""
        try:
            name = raw.decode("utf-8" if utf8 else "latin-1")
        except UnicodeDecodeError as exc:
            raise ETFError(f"atom at offset {offset} is not valid UTF-8 ({exc.reason})") from None
        if len(name) > MAX_ATOM_CHARS:
            raise ETFError(f"atom at offset {offset} has {len(name)} characters (Erlang allows {MAX_ATOM_CHARS})")
        atom = self.intern(name)
        value = _SPECIAL_VALUES.get(name, atom)
        (self._utf8 if utf8 else self._latin1)[raw] = value
        return value


_default_atoms = AtomTable()


# --------------------------------------------------------------------------- decoding

_U16 = struct.Struct(">H").unpack_from
_U32 = struct.Struct(">I").unpack_from
_I32 = struct.Struct(">i").unpack_from
_F64 = struct.Struct(">d").unpack_from
_U32U8 = struct.Struct(">IB").unpack_from
_U32U32 = struct.Struct(">II").unpack_from
_U64U32 = struct.Struct(">QI").unpack_from
_U32X3 = struct.Struct(">III").unpack_from
_U32U32U8 = struct.Struct(">IIB").unpack_from
_WORDS = [struct.Struct(">%dI" % n).unpack_from for n in range(MAX_REF_WORDS + 1)]
_CREATION_WORDS = [struct.Struct(">%dI" % (n + 1)).unpack_from for n in range(MAX_REF_WORDS + 1)]


# The handlers below take (data, pos just past the tag, depth left, atom table)
# and return (term, pos just past the term).  ``_DEC[tag]`` picks one.
_Ctx = AtomTable


def _truncated(data: bytes, pos: int) -> ETFError:
    tag = data[pos] if pos < len(data) else None
    what = f"term (tag {tag}) at offset {pos}" if tag is not None else f"term expected at offset {pos}"
    return ETFError(f"truncated input: {what} runs past the end ({len(data)} bytes)")


def _too_long(what: str, n: int, pos: int, data: bytes) -> ETFError:
    return ETFError(
        f"{what} at offset {pos} claims {n} but only {len(data) - pos} bytes remain"
    )


class _TooDeep(ETFError):
    """The recursive path reached its depth: the iterative one takes over (or, at
    ``max_depth``, the message tells the caller)."""


def _too_deep(pos: int) -> ETFError:
    return _TooDeep(f"term at offset {pos} is nested deeper than max_depth")


def _bad_tag(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    tag = data[pos - 1]
    if tag == 80:
        raise ETFError(f"compressed term (tag 80) at offset {pos - 1}: only allowed right after the version byte")
    if tag == 82:
        raise ETFError(f"atom cache reference (tag 82) at offset {pos - 1}: no distribution header in use")
    raise ETFError(f"unknown term tag {tag} at offset {pos - 1}")


def _small_int(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    return data[pos], pos + 1


def _int(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    return _I32(data, pos)[0], pos + 4


def _small_big(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n = data[pos]
    sign = data[pos + 1]
    start = pos + 2
    end = start + n
    if end > len(data):
        raise _too_long("SMALL_BIG_EXT length", n, start, data)
    value = int.from_bytes(data[start:end], "little")
    return (-value if sign else value), end


def _large_big(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n, sign = _U32U8(data, pos)
    start = pos + 5
    end = start + n
    if end > len(data):
        raise _too_long("LARGE_BIG_EXT length", n, start, data)
    value = int.from_bytes(data[start:end], "little")
    return (-value if sign else value), end


def _new_float(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    value = _F64(data, pos)[0]
    if value - value != 0.0:  # nan or +-inf: Erlang has neither
        raise ETFError(f"float at offset {pos - 1} is not finite")
    return value, pos + 8


def _old_float(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    end = pos + 31
    if end > len(data):
        raise _truncated(data, pos - 1)
    text = data[pos:end].rstrip(b"\x00")
    try:
        value = float(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ETFError(f"FLOAT_EXT at offset {pos - 1} is not a number: {text[:31]!r}") from None
    if value - value != 0.0:
        raise ETFError(f"float at offset {pos - 1} is not finite")
    return value, end


def _atom_decoder(width: int, utf8: bool) -> Callable[..., tuple[Any, int]]:
    """Decoder of one atom tag: a ``width``-byte length (1 or 2), then the name bytes,
    interned in the context's UTF-8 or Latin-1 table (one closure per tag, no branch)."""

    def decode(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
        start = pos + width
        end = start + (data[pos] if width == 1 else _U16(data, pos)[0])
        if end > len(data):
            raise _truncated(data, pos - 1)
        raw = data[start:end]
        try:
            return (ctx._utf8 if utf8 else ctx._latin1)[raw], end
        except KeyError:
            return ctx._add(raw, utf8, pos - 1), end

    return decode


_atom_utf8_small = _atom_decoder(1, True)
_atom_utf8 = _atom_decoder(2, True)
_atom_latin1_small = _atom_decoder(1, False)
_atom_latin1 = _atom_decoder(2, False)


_ATOM_DEC = {
    119: _atom_utf8_small,
    118: _atom_utf8,
    115: _atom_latin1_small,
    100: _atom_latin1,
}


def _atom_field(data: bytes, pos: int, ctx: _Ctx, what: str) -> tuple[Atom, int]:
    """An atom inside a pid/ref/port/export: always an ``Atom``, never True/None."""
    handler = _ATOM_DEC.get(data[pos])
    if handler is None:
        raise ETFError(f"{what} at offset {pos} must be an atom, found tag {data[pos]}")
    value, pos = handler(data, pos + 1, 0, ctx)
    if value.__class__ is not Atom:
        value = _SPECIAL_ATOMS[value]
    return value, pos


def _nil(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    return [], pos


def _string(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    end = pos + 2 + _U16(data, pos)[0]
    if end > len(data):
        raise _too_long("STRING_EXT length", end - pos - 2, pos + 2, data)
    return list(data[pos + 2 : end]), end


def _binary(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n = _U32(data, pos)[0]
    start = pos + 4
    end = start + n
    if end > len(data):
        raise _too_long("BINARY_EXT length", n, start, data)
    return data[start:end], end


def _bit_binary(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n, bits = _U32U8(data, pos)
    start = pos + 5
    end = start + n
    if end > len(data):
        raise _too_long("BIT_BINARY_EXT length", n, start, data)
    if n == 0:
        if bits != 0:
            raise ETFError(f"BIT_BINARY_EXT at offset {pos - 1}: empty, yet {bits} bits in its last byte")
        return b"", end
    if not 1 <= bits <= 8:
        raise ETFError(f"BIT_BINARY_EXT at offset {pos - 1}: {bits} bits in the last byte (must be 1..8)")
    if bits == 8:
        return data[start:end], end
    return BitBinary(data[start:end], bits), end


# Deliberate repeats: the containers below each inline the same item loop rather
# than share a helper, so a nesting level costs one Python frame and an item no
# extra call on the hot path.  Terms
# deeper than RECURSION_DEPTH go to _decode_deep, which has no recursion at all.


def _small_tuple(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n = data[pos]
    pos += 1
    if not depth:
        raise _too_deep(pos - 2)
    depth -= 1
    items: list = []
    append = items.append
    dec = _DEC
    try:
        for _ in range(n):
            tag = data[pos]
            if tag == 97:  # small integers skip a call
                append(data[pos + 1])
                pos += 2
            else:
                item, pos = dec[tag](data, pos + 1, depth, ctx)
                append(item)
    except (IndexError, struct.error):
        raise _truncated(data, pos) from None
    return tuple(items), pos


def _large_tuple(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n = _U32(data, pos)[0]
    pos += 4
    if n > len(data) - pos:
        raise _too_long("LARGE_TUPLE_EXT arity", n, pos, data)
    if not depth:
        raise _too_deep(pos - 5)
    depth -= 1
    items: list = []
    append = items.append
    dec = _DEC
    try:
        for _ in range(n):
            tag = data[pos]
            if tag == 97:  # small integers skip a call
                append(data[pos + 1])
                pos += 2
            else:
                item, pos = dec[tag](data, pos + 1, depth, ctx)
                append(item)
    except (IndexError, struct.error):
        raise _truncated(data, pos) from None
    return tuple(items), pos


def _list(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n = _U32(data, pos)[0]
    pos += 4
    if n >= len(data) - pos:  # n elements and a tail, each at least one byte
        raise _too_long("LIST_EXT length", n, pos, data)
    if not depth:
        raise _too_deep(pos - 5)
    depth -= 1
    items: list = []
    append = items.append
    dec = _DEC
    try:
        for _ in range(n):
            tag = data[pos]
            if tag == 97:  # small integers skip a call
                append(data[pos + 1])
                pos += 2
            else:
                item, pos = dec[tag](data, pos + 1, depth, ctx)
                append(item)
        if data[pos] == 106:
            return items, pos + 1
        tail, pos = dec[data[pos]](data, pos + 1, depth, ctx)
    except (IndexError, struct.error):
        raise _truncated(data, pos) from None
    cls = tail.__class__
    if cls is list:  # [a | [b]] is [a, b]: Erlang never sends it, but it is valid
        items.extend(tail)
        return items, pos
    if cls is ImproperList:
        items.extend(tail.items)
        tail = tail.tail
    if not items:  # [] ++ T is T
        return tail, pos
    improper = ImproperList.__new__(ImproperList)
    improper.items = items
    improper.tail = tail
    return improper, pos


def _map(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n = _U32(data, pos)[0]
    start = pos - 1
    pos += 4
    if n > (len(data) - pos) // 2:
        raise _too_long("MAP_EXT arity", n, pos, data)
    if not depth:
        raise _too_deep(start)
    depth -= 1
    items: list = []
    append = items.append
    dec = _DEC
    try:
        for _ in range(n + n):
            tag = data[pos]
            if tag == 97:  # small integers skip a call
                append(data[pos + 1])
                pos += 2
            else:
                item, pos = dec[tag](data, pos + 1, depth, ctx)
                append(item)
    except (IndexError, struct.error):
        raise _truncated(data, pos) from None
    try:
        result = dict(zip(items[::2], items[1::2]))
        if len(result) == n:
            return result, pos
    except TypeError:
        pass
    return _map_slow(items, start), pos


def _map_slow(flat: list, offset: int) -> dict:
    """Build a map whose keys are unhashable or collide in Python (see MapKey)."""
    result: dict = {}
    seen = set()
    for i in range(0, len(flat), 2):
        key = flat[i]
        frozen = _freeze(key, MAX_KEY_DEPTH)
        if frozen in seen:
            raise ETFError(f"map at offset {offset} has the key {key!r} twice")
        seen.add(frozen)
        try:
            if key in result:
                key = MapKey(key)
        except TypeError:
            key = MapKey(key)
        result[key] = flat[i + 1]
    return result


def _new_pid(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    atom_tag = data[pos]
    if atom_tag == 119 or atom_tag == 115:
        end = pos + 14 + data[pos + 1]
    else:
        end = pos + 15 + _U16(data, pos + 1)[0]
    if end <= len(data):
        raw = data[pos - 1 : end]
        pid = ctx._pids.get(raw)
        if pid is not None:
            return pid, end
    node, pos = _atom_field(data, pos, ctx, "pid node")
    pid_id, serial, creation = _U32X3(data, pos)
    pid = _new_instance(Pid)
    _pid_node(pid, node)
    _pid_id(pid, pid_id)
    _pid_serial(pid, serial)
    _pid_creation(pid, creation)
    # The bytes are what encode() would write when the node atom is SMALL_ATOM_UTF8.
    _pid_etf(pid, raw if atom_tag == 119 else None)
    pids = ctx._pids
    if len(pids) >= ctx.max_cached_pids:
        pids.clear()
    pids[raw] = pid
    return pid, pos + 12


def _old_pid(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    node, pos = _atom_field(data, pos, ctx, "pid node")
    pid_id, serial, creation = _U32U32U8(data, pos)
    return Pid(node, pid_id, serial, creation), pos + 9


def _newer_ref(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n = _U16(data, pos)[0]
    if n > MAX_REF_WORDS:
        raise ETFError(f"reference at offset {pos - 1} has {n} ID words (at most {MAX_REF_WORDS})")
    node, pos = _atom_field(data, pos + 2, ctx, "reference node")
    words = _CREATION_WORDS[n](data, pos)
    ref = _new_instance(Reference)
    _ref_node(ref, node)
    _ref_creation(ref, words[0])
    _ref_ids(ref, words[1:])
    return ref, pos + 4 + 4 * n


def _new_ref(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    n = _U16(data, pos)[0]
    if n > MAX_REF_WORDS:
        raise ETFError(f"reference at offset {pos - 1} has {n} ID words (at most {MAX_REF_WORDS})")
    node, pos = _atom_field(data, pos + 2, ctx, "reference node")
    creation = data[pos]
    ids = _WORDS[n](data, pos + 1)
    return Reference(node, creation, ids), pos + 1 + 4 * n


def _old_ref(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    node, pos = _atom_field(data, pos, ctx, "reference node")
    ref_id, creation = _U32U8(data, pos)
    return Reference(node, creation, (ref_id,)), pos + 5


def _new_port(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    node, pos = _atom_field(data, pos, ctx, "port node")
    port_id, creation = _U32U32(data, pos)
    return Port(node, port_id, creation), pos + 8


def _v4_port(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    node, pos = _atom_field(data, pos, ctx, "port node")
    port_id, creation = _U64U32(data, pos)
    return Port(node, port_id, creation), pos + 12


def _old_port(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    node, pos = _atom_field(data, pos, ctx, "port node")
    port_id, creation = _U32U8(data, pos)
    return Port(node, port_id, creation), pos + 5


def _export(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    module, pos = _atom_field(data, pos, ctx, "export module")
    function, pos = _atom_field(data, pos, ctx, "export function")
    tag = data[pos]
    if tag == 97:
        arity = data[pos + 1]
        pos += 2
    elif tag == 98:
        arity = _I32(data, pos + 1)[0]
        pos += 5
    else:
        raise ETFError(f"export arity at offset {pos} must be an integer, found tag {tag}")
    if not 0 <= arity <= 255:
        raise ETFError(f"export arity at offset {pos} is {arity} (must be 0..255)")
    return Export(module, function, arity), pos


def _new_fun(data: bytes, pos: int, depth: int, ctx: _Ctx) -> tuple[Any, int]:
    size = _U32(data, pos)[0]
    end = pos + size
    if size < 4 or end > len(data):
        raise _too_long("NEW_FUN_EXT size", size, pos, data)
    fun = _new_instance(Fun)
    _set(fun, "raw", data[pos - 1 : end])
    return fun, end


_new_instance = object.__new__
# The slots' own setters: the decoder fills new instances without going through
# the classes' refusing __setattr__ (and faster than object.__setattr__).
_pid_node = Pid.node.__set__  # type: ignore[attr-defined,misc]
_pid_id = Pid.id.__set__  # type: ignore[attr-defined,misc]
_pid_serial = Pid.serial.__set__  # type: ignore[attr-defined,misc]
_pid_creation = Pid.creation.__set__  # type: ignore[attr-defined,misc]
_pid_etf = vars(Pid)["_etf"].__set__
_ref_node = Reference.node.__set__  # type: ignore[attr-defined,misc]
_ref_creation = Reference.creation.__set__  # type: ignore[attr-defined,misc]
_ref_ids = Reference.ids.__set__  # type: ignore[attr-defined,misc]

_DEC: list = [_bad_tag] * 256
for _tag, _handler in {
    97: _small_int,
    98: _int,
    110: _small_big,
    111: _large_big,
    70: _new_float,
    99: _old_float,
    119: _atom_utf8_small,
    118: _atom_utf8,
    115: _atom_latin1_small,
    100: _atom_latin1,
    104: _small_tuple,
    105: _large_tuple,
    106: _nil,
    107: _string,
    108: _list,
    109: _binary,
    77: _bit_binary,
    116: _map,
    88: _new_pid,
    103: _old_pid,
    90: _newer_ref,
    114: _new_ref,
    101: _old_ref,
    89: _new_port,
    120: _v4_port,
    102: _old_port,
    113: _export,
    112: _new_fun,
}.items():
    _DEC[_tag] = _handler
del _tag, _handler


def decode_from(
    data: bytes,
    offset: int = 0,
    *,
    atoms: AtomTable | None = None,
    max_depth: int = MAX_DEPTH,
    max_size: int = MAX_UNCOMPRESSED_SIZE,
) -> tuple[Any, int]:
    """Decode the term that starts at ``data[offset]`` (the version byte 131).

    Returns ``(term, end)`` where ``end`` is the offset just past the term, so
    several terms can be read from one buffer (a ``p`` packet holds two).
    ``atoms`` interns new atoms (the module-wide table by default); ``max_depth``
    bounds nesting and ``max_size`` the inflated size of a compressed term.
    Raises :class:`ETFError`, and nothing else, on any malformed input.
    """
    if data.__class__ is not bytes:
        data = bytes(data)
    if offset < 0:
        raise ETFError(f"negative offset {offset}")
    ctx = atoms if atoms is not None else _default_atoms
    try:
        if data[offset] != VERSION:
            raise ETFError(f"expected the version byte 131 at offset {offset}, found {data[offset]}")
        pos = offset + 1
        if data[pos] == 80:
            return _compressed(data, pos, max_depth, max_size, ctx)
        return _DEC[data[pos]](data, pos + 1, max_depth if max_depth < RECURSION_DEPTH else RECURSION_DEPTH, ctx)
    except (IndexError, struct.error):
        raise _truncated(data, offset if offset >= len(data) else offset + 1) from None
    except (_TooDeep, RecursionError) as exc:
        if max_depth <= RECURSION_DEPTH and exc.__class__ is _TooDeep:
            raise
    try:
        return _decode_deep(data, offset + 1, max_depth, ctx)
    except (IndexError, struct.error):
        raise _truncated(data, offset + 1) from None
    except RecursionError:  # pragma: no cover - only a fun's environment recurses here
        raise ETFError(f"term at offset {offset} is nested too deeply for the Python stack") from None


def _compressed(data: bytes, pos: int, max_depth: int, max_size: int, ctx: _Ctx) -> tuple[Any, int]:
    size = _U32(data, pos + 1)[0]
    if not 0 < size <= max_size:
        raise ETFError(f"compressed term at offset {pos} declares {size} inflated bytes (must be 1..{max_size})")
    start = pos + 5
    inflater = zlib.decompressobj()
    try:
        inner = inflater.decompress(memoryview(data)[start:], size)
        if not inflater.eof and inflater.decompress(inflater.unconsumed_tail, 1):
            raise ETFError(f"compressed term at offset {pos} inflates to more than its declared {size} bytes")
    except zlib.error as exc:
        raise ETFError(f"compressed term at offset {pos}: {exc}") from None
    if not inflater.eof:
        raise ETFError(f"compressed term at offset {pos}: truncated zlib stream")
    if len(inner) != size:
        raise ETFError(f"compressed term at offset {pos} inflates to {len(inner)} bytes, not the declared {size}")
    end = len(data) - len(inflater.unused_data)
    try:
        try:
            term, used = _DEC[inner[0]](inner, 1, max_depth if max_depth < RECURSION_DEPTH else RECURSION_DEPTH, ctx)
        except (_TooDeep, RecursionError) as exc:
            if max_depth <= RECURSION_DEPTH and exc.__class__ is _TooDeep:
                raise
            term, used = _decode_deep(inner, 0, max_depth, ctx)
    except (IndexError, struct.error):
        raise ETFError(f"compressed term at offset {pos}: inflated term is truncated") from None
    except ETFError as exc:  # keep the class: an AtomLimitError stays one
        raise type(exc)(f"compressed term at offset {pos}: inside it, {exc}") from None
    if used != size:
        raise ETFError(f"compressed term at offset {pos}: {size - used} stray bytes after the inflated term")
    return term, end


def _decode_deep(data: bytes, pos: int, max_depth: int, ctx: _Ctx, lenient: bool = False) -> tuple[Any, int]:
    """Decode the term whose tag is ``data[pos]`` without recursion: a stack of the
    open tuples, lists and maps (other terms go through the recursive handlers).

    The slow path for terms nested deeper than :data:`RECURSION_DEPTH` (up to
    ``max_depth``); it builds exactly what the recursive path builds.  ``lenient``
    (:func:`decode_shallow`): a container past ``max_depth`` is skipped and
    becomes :data:`UNDECODED` instead of failing."""
    stack: list = []  # open containers: [tag, items, items still expected, offset]
    dec = _DEC
    while True:
        tag = data[pos]
        if tag == 104 or tag == 105 or tag == 108 or tag == 116:
            start = pos
            if tag == 104:
                count = data[pos + 1]
                pos += 2
            else:
                n = _U32(data, pos + 1)[0]
                pos += 5
                if tag == 105:
                    if n > len(data) - pos:
                        raise _too_long("LARGE_TUPLE_EXT arity", n, pos, data)
                    count = n
                elif tag == 108:
                    if n >= len(data) - pos:
                        raise _too_long("LIST_EXT length", n, pos, data)
                    count = n + 1  # and the tail
                else:
                    if n > (len(data) - pos) // 2:
                        raise _too_long("MAP_EXT arity", n, pos, data)
                    count = n + n
            if len(stack) >= max_depth:
                if not lenient:
                    raise _too_deep(start)
                value: Any = UNDECODED
                pos = _skip(data, start, ctx)
            elif count:
                stack.append([tag, [], count, start])
                continue
            else:
                value = {} if tag == 116 else ()
        else:
            value, pos = dec[tag](data, pos + 1, RECURSION_DEPTH, ctx)
        while stack:
            frame = stack[-1]
            frame[1].append(value)
            frame[2] -= 1
            if frame[2]:
                break
            stack.pop()
            value = _close_container(frame[0], frame[1], frame[3])
        else:
            return value, pos


def _close_container(tag: int, items: list, start: int) -> Any:
    """The term of a container :func:`_decode_deep` has read all the items of."""
    if tag == 116:
        try:
            result = dict(zip(items[::2], items[1::2]))
            if len(result) * 2 == len(items):
                return result
        except TypeError:
            pass
        return _map_slow(items, start)
    if tag != 108:
        return tuple(items)
    tail = items.pop()
    cls = tail.__class__
    if cls is list:
        items.extend(tail)
        return items
    if cls is ImproperList:
        items.extend(tail.items)
        tail = tail.tail
    if not items:
        return tail
    improper = ImproperList.__new__(ImproperList)
    improper.items = items
    improper.tail = tail
    return improper


#: What :func:`decode_shallow` puts in place of a container nested too deep or an
#: atom the table refused.
UNDECODED = Atom("$undecoded")


class _LenientAtoms(AtomTable):
    """An atom table view for :func:`decode_shallow`: known atoms as usual, a refused
    one as :data:`UNDECODED` (nothing is added past the limit)."""

    __slots__ = ("_table",)

    def __init__(self, table: AtomTable) -> None:
        self._table = table
        self.max_atoms = table.max_atoms
        self.max_cached_pids = 0
        self._pids = table._pids
        self._names = table._names
        self._utf8 = table._utf8
        self._latin1 = table._latin1

    def _add(self, raw: bytes, utf8: bool, offset: int) -> Any:
        try:
            return self._table._add(raw, utf8, offset)
        except ETFError:
            return UNDECODED


def decode_shallow(data: bytes, offset: int = 0, *, atoms: AtomTable | None = None, max_depth: int = 8) -> Any:
    """The top ``max_depth`` levels of the term at ``data[offset]`` (version byte
    included), for a term that did not decode: deeper containers and refused atoms
    become :data:`UNDECODED`, so the receiver can still find whom to answer (a
    ``{From, Tag}``, a call's reference).  Raises :class:`ETFError` if even that fails."""
    ctx = _LenientAtoms(atoms if atoms is not None else _default_atoms)
    try:
        if data[offset] != VERSION:
            raise ETFError(f"expected the version byte 131 at offset {offset}, found {data[offset]}")
        if data[offset + 1] == 80:
            raise ETFError("a compressed term is not decoded shallowly")
        return _decode_deep(data, offset + 1, max_depth, ctx, lenient=True)[0]
    except (IndexError, struct.error, RecursionError):
        raise ETFError(f"truncated or unreadable term at offset {offset}") from None


def _skip(data: bytes, pos: int, ctx: _Ctx) -> int:
    """The offset just past the term whose tag is ``data[pos]``, without building
    its containers (iterative)."""
    remaining = 1
    while remaining:
        remaining -= 1
        tag = data[pos]
        if tag == 104:
            remaining += data[pos + 1]
            pos += 2
        elif tag == 105 or tag == 108 or tag == 116:
            n = _U32(data, pos + 1)[0]
            remaining += n + 1 if tag == 108 else (n + n if tag == 116 else n)
            pos += 5
        elif tag == 106:
            pos += 1
        elif tag == 97:
            pos += 2
        else:
            pos = dec_end = _DEC[tag](data, pos + 1, RECURSION_DEPTH, ctx)[1]
            if dec_end > len(data):
                raise IndexError
    if pos > len(data):
        raise IndexError
    return pos


def decode(
    data: bytes,
    *,
    atoms: AtomTable | None = None,
    max_depth: int = MAX_DEPTH,
    max_size: int = MAX_UNCOMPRESSED_SIZE,
) -> Any:
    """Decode one whole term (version byte included); trailing bytes are an error."""
    term, end = decode_from(data, 0, atoms=atoms, max_depth=max_depth, max_size=max_size)
    if end != len(data):
        raise ETFError(f"{len(data) - end} trailing bytes after the term (term ends at offset {end})")
    return term


# --------------------------------------------------------------------------- encoding

_P_INT = struct.Struct(">Bi").pack
_P_TAG32 = struct.Struct(">BI").pack
_P_TAG16 = struct.Struct(">BH").pack
_P_FLOAT = struct.Struct(">Bd").pack
_P_BIG = struct.Struct(">BIB").pack
_P_U32X3 = struct.Struct(">III").pack
_P_U32X2 = struct.Struct(">II").pack
_P_U64U32 = struct.Struct(">QI").pack
_P_REF_HEAD = struct.Struct(">BH").pack
_P_REF_WORDS = [struct.Struct(">%dI" % (n + 1)).pack for n in range(MAX_REF_WORDS + 1)]
_P_BITS = struct.Struct(">BIB").pack

_SMALL_INTS = [bytes((97, n)) for n in range(256)]
_SMALL_TUPLES = [bytes((104, n)) for n in range(256)]
_TRUE = b"w\x04true"
_FALSE = b"w\x05false"
_UNDEFINED = b"w\x09undefined"
_atom_cache: dict[str, bytes] = {}


def _atom_bytes(name: str) -> bytes:
    cached = _atom_cache.get(name)
    if cached is not None:
        return cached
    if len(name) > MAX_ATOM_CHARS:
        raise ETFError(f"cannot encode an atom of {len(name)} characters (Erlang allows {MAX_ATOM_CHARS})")
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:
        raise ETFError(f"cannot encode atom {name!r}: not valid Unicode") from None
    n = len(raw)
    encoded = (bytes((119, n)) if n < 256 else _P_TAG16(118, n)) + raw
    if len(_atom_cache) < ATOM_ENCODE_CACHE_SIZE:
        _atom_cache[name] = encoded
    return encoded


def _enc_atom(term: Atom, out: list, depth: int) -> None:
    out.append(_atom_cache.get(term) or _atom_bytes(term))


def _enc_int(term: int, out: list, depth: int) -> None:
    if 0 <= term < 256:
        out.append(_SMALL_INTS[term])
    elif -2147483648 <= term <= 2147483647:
        out.append(_P_INT(98, term))
    else:
        magnitude = -term if term < 0 else term
        n = (magnitude.bit_length() + 7) >> 3
        digits = magnitude.to_bytes(n, "little")
        if n < 256:
            out.append(bytes((110, n, term < 0)))
        elif n < 4294967296:
            out.append(_P_BIG(111, n, term < 0))
        else:
            raise ETFError("cannot encode an integer of 2**32 bytes or more")
        out.append(digits)


def _enc_float(term: float, out: list, depth: int) -> None:
    if term - term != 0.0:
        raise ETFError(f"cannot encode {term!r}: Erlang floats are finite")
    out.append(_P_FLOAT(70, term))


def _enc_bool(term: bool, out: list, depth: int) -> None:
    out.append(_TRUE if term else _FALSE)


def _enc_none(term: None, out: list, depth: int) -> None:
    out.append(_UNDEFINED)


def _enc_bytes(term: bytes, out: list, depth: int) -> None:
    out.append(_P_TAG32(109, len(term)))
    out.append(term)


def _enc_buffer(term: Any, out: list, depth: int) -> None:
    _enc_bytes(bytes(term), out, depth)


def _enc_str(term: str, out: list, depth: int) -> None:
    try:
        raw = term.encode("utf-8")
    except UnicodeEncodeError:
        raise ETFError(f"cannot encode str {term[:40]!r}...: not valid Unicode (lone surrogate)") from None
    out.append(_P_TAG32(109, len(raw)))
    out.append(raw)


# As in the decoder, containers repeat their item loop (deliberately, for speed:
# one frame per nesting level, no call per item); deeper terms go to _encode_deep.


def _enc_tuple(term: tuple, out: list, depth: int) -> None:
    if not depth:
        raise _TooDeep("term nested deeper than max_depth (or it contains itself)")
    depth -= 1
    n = len(term)
    out.append(_SMALL_TUPLES[n] if n < 256 else _P_TAG32(105, n))
    append = out.append
    get = _ENC.get
    small = _SMALL_INTS
    for item in term:
        cls = item.__class__
        if cls is int and 0 <= item < 256:  # small integers skip a call
            append(small[item])
        else:
            (get(cls) or _enc_other)(item, out, depth)


def _enc_list(term: list, out: list, depth: int) -> None:
    if not term:
        out.append(b"j")
        return
    if not depth:
        raise _TooDeep("term nested deeper than max_depth (or it contains itself)")
    depth -= 1
    out.append(_P_TAG32(108, len(term)))
    append = out.append
    get = _ENC.get
    small = _SMALL_INTS
    for item in term:
        cls = item.__class__
        if cls is int and 0 <= item < 256:  # small integers skip a call
            append(small[item])
        else:
            (get(cls) or _enc_other)(item, out, depth)
    append(b"j")


def _enc_improper(term: ImproperList, out: list, depth: int) -> None:
    if not depth:
        raise _TooDeep("term nested deeper than max_depth (or it contains itself)")
    depth -= 1
    items, tail = term.items, term.tail
    if not items or isinstance(tail, (list, ImproperList)):
        raise ETFError("cannot encode an ImproperList with no items or with a list as its tail")
    out.append(_P_TAG32(108, len(items)))
    append = out.append
    get = _ENC.get
    small = _SMALL_INTS
    for item in items:
        cls = item.__class__
        if cls is int and 0 <= item < 256:  # small integers skip a call
            append(small[item])
        else:
            (get(cls) or _enc_other)(item, out, depth)
    (get(tail.__class__) or _enc_other)(tail, out, depth)


def _enc_dict(term: dict, out: list, depth: int) -> None:
    if not depth:
        raise _TooDeep("term nested deeper than max_depth (or it contains itself)")
    depth -= 1
    out.append(_P_TAG32(116, len(term)))
    get = _ENC.get
    for key, value in term.items():
        (get(key.__class__) or _enc_other)(key, out, depth)
        (get(value.__class__) or _enc_other)(value, out, depth)


def _enc_map_key(term: MapKey, out: list, depth: int) -> None:
    item = term.term
    (_ENC.get(item.__class__) or _enc_other)(item, out, depth)


def _enc_pid(term: Pid, out: list, depth: int) -> None:
    cached = term._etf
    if cached is None:
        try:
            cached = b"X" + _atom_bytes(term.node) + _P_U32X3(term.id, term.serial, term.creation)
        except (struct.error, TypeError):
            raise ETFError(f"cannot encode {term!r}: id, serial and creation must be 32-bit unsigned") from None
        _set(term, "_etf", cached)
    out.append(cached)


def _enc_ref(term: Reference, out: list, depth: int) -> None:
    ids = term.ids
    n = len(ids)
    if n > MAX_REF_WORDS:
        raise ETFError(f"cannot encode {term!r}: {n} ID words (at most {MAX_REF_WORDS})")
    try:
        out.append(_P_REF_HEAD(90, n) + _atom_bytes(term.node) + _P_REF_WORDS[n](term.creation, *ids))
    except (struct.error, TypeError):
        raise ETFError(f"cannot encode {term!r}: creation and ids must be 32-bit unsigned") from None


def _enc_port(term: Port, out: list, depth: int) -> None:
    try:
        if 0 <= term.id < 4294967296:
            out.append(b"Y" + _atom_bytes(term.node) + _P_U32X2(term.id, term.creation))
        else:
            out.append(b"x" + _atom_bytes(term.node) + _P_U64U32(term.id, term.creation))
    except (struct.error, TypeError):
        raise ETFError(f"cannot encode {term!r}: id must be 64-bit and creation 32-bit unsigned") from None


def _enc_bit_binary(term: BitBinary, out: list, depth: int) -> None:
    out.append(_P_BITS(77, len(term.data), term.bits))
    out.append(term.data)


def _enc_export(term: Export, out: list, depth: int) -> None:
    if not 0 <= term.arity <= 255:
        raise ETFError(f"cannot encode {term!r}: arity must be 0..255")
    out.append(b"q" + _atom_bytes(term.module) + _atom_bytes(term.function) + _SMALL_INTS[term.arity])


def _enc_fun(term: Fun, out: list, depth: int) -> None:
    out.append(term.raw)


def _enc_other(term: Any, out: list, depth: int) -> None:
    """Subclasses of the supported types (IntEnum, namedtuple, OrderedDict, ...)."""
    if isinstance(term, Atom):
        return _enc_atom(term, out, depth)
    for base, handler in _BASES:
        if isinstance(term, base):
            return handler(term, out, depth)
    raise ETFError(f"cannot encode a {type(term).__name__} as an Erlang term")


_ENC: dict[type, Any] = {
    Atom: _enc_atom,
    int: _enc_int,
    bytes: _enc_bytes,
    str: _enc_str,
    tuple: _enc_tuple,
    list: _enc_list,
    dict: _enc_dict,
    float: _enc_float,
    bool: _enc_bool,
    type(None): _enc_none,
    Pid: _enc_pid,
    Reference: _enc_ref,
    Port: _enc_port,
    BitBinary: _enc_bit_binary,
    ImproperList: _enc_improper,
    Export: _enc_export,
    Fun: _enc_fun,
    MapKey: _enc_map_key,
    bytearray: _enc_buffer,
    memoryview: _enc_buffer,
}

# Order matters: a subclass is encoded as its first matching base.
_BASES: list[tuple[type, Any]] = [
    (str, _enc_str),
    (int, _enc_int),
    (float, _enc_float),
    (bytes, _enc_buffer),
    (bytearray, _enc_buffer),
    (tuple, _enc_tuple),
    (list, _enc_list),
    (dict, _enc_dict),
]


def encode_body(term: Any) -> bytes:
    """:func:`encode` without the version byte: to splice terms into a bigger one
    (the distribution layer builds its fixed-shape control messages this way)."""
    if term.__class__ is Pid:
        cached = term._etf
        if cached is not None:
            return cached
    out: list = []
    _encode_into(term, out, MAX_DEPTH)
    return b"".join(out)


def encode(term: Any, *, max_depth: int = MAX_DEPTH) -> bytes:
    """Encode ``term`` as ETF, version byte 131 included.

    Raises :class:`ETFError` for values ETF cannot hold (unknown types, non-finite
    floats, atoms over 255 characters, nesting deeper than ``max_depth``, which
    includes self-referencing containers).
    """
    out = [b"\x83"]
    _encode_into(term, out, max_depth)
    return b"".join(out)


def _encode_into(term: Any, out: list, max_depth: int) -> None:
    """The recursive encoder up to :data:`RECURSION_DEPTH`, else the iterative one."""
    mark = len(out)
    try:
        try:
            (_ENC.get(term.__class__) or _enc_other)(
                term, out, max_depth if max_depth < RECURSION_DEPTH else RECURSION_DEPTH
            )
            return
        except (_TooDeep, RecursionError) as exc:
            if max_depth <= RECURSION_DEPTH and exc.__class__ is _TooDeep:
                raise
        del out[mark:]
        _encode_deep(term, out, max_depth)
    except RecursionError:  # pragma: no cover - only a fun's environment recurses there
        raise ETFError("term nested too deeply for the Python stack") from None
    except struct.error as exc:  # a length beyond 32 bits: a 4 GB binary, say
        raise ETFError(f"cannot encode: a size does not fit its field ({exc})") from None


def _encode_deep(term: Any, out: list, max_depth: int) -> None:
    """Encode ``term`` without recursion: a stack of the open containers' item
    iterators (other terms go through the recursive handlers).

    The slow path for terms nested deeper than :data:`RECURSION_DEPTH` (up to
    ``max_depth``); it writes exactly what the recursive path writes, and refuses a
    container that contains itself."""
    append = out.append
    get = _ENC.get
    on_path: set = set()
    # (items to encode, id of their container or 0, bytes to write after them)
    stack: list = [(iter((term,)), 0, b"")]
    while stack:
        items, _, _ = stack[-1]
        for item in items:
            cls = item.__class__
            while cls is MapKey:
                item = item.term
                cls = item.__class__
            if cls is tuple or cls is dict or cls is ImproperList or (cls is list and item):
                if len(stack) > max_depth:
                    raise _too_deep(0)
                key = id(item)
                if key in on_path:
                    raise ETFError("cannot encode a container that contains itself")
                on_path.add(key)
                if cls is tuple:
                    n = len(item)
                    append(_SMALL_TUPLES[n] if n < 256 else _P_TAG32(105, n))
                    stack.append((iter(item), key, b""))
                elif cls is list:
                    append(_P_TAG32(108, len(item)))
                    stack.append((iter(item), key, b"j"))
                elif cls is dict:
                    append(_P_TAG32(116, len(item)))
                    stack.append((itertools.chain.from_iterable(item.items()), key, b""))
                else:
                    if not item.items or isinstance(item.tail, (list, ImproperList)):
                        raise ETFError("cannot encode an ImproperList with no items or with a list as its tail")
                    append(_P_TAG32(108, len(item.items)))
                    stack.append((itertools.chain(item.items, (item.tail,)), key, b""))
                break
            (get(cls) or _enc_other)(item, out, RECURSION_DEPTH)
        else:
            _, key, trailer = stack.pop()
            if trailer:
                append(trailer)
            on_path.discard(key)
