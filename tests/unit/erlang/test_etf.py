"""Tests of the ETF codec (gateway.erlang.etf).

The vectors in tests/fixtures/etf/ were written by a real OTP 25 node
(generate.escript); each is decoded and compared, type-strictly, with the value
Erlang itself rendered for it.  Round trips through a live ``erl`` check the
other direction: Erlang must read what we write as the term we meant.  The rest
covers the type mapping, the bounds a hostile node must not get past, and fuzzing
(fixed seeds) that may only ever produce ETFError.
"""

from __future__ import annotations

import collections
import enum
import math
import os
import pickle
import random
import runpy
import shutil
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest

from gateway.erlang import etf
from gateway.erlang.etf import (
    MAX_DEPTH,
    Atom,
    AtomLimitError,
    AtomTable,
    BitBinary,
    ETFError,
    Export,
    Fun,
    ImproperList,
    MapKey,
    Pid,
    Port,
    Reference,
    decode,
    decode_from,
    encode,
    to_str,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "etf"
EXPECTED: dict = runpy.run_path(str(FIXTURES / "expected.py"))["EXPECTED"]
NAMES = sorted(EXPECTED)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.bin").read_bytes()


# Fixtures whose bytes we do not reproduce when re-encoding, and why.  Erlang reads
# our bytes back as the same term (checked by test_erlang_reads_our_encoding_*).
NOT_CANONICAL = {
    "atom_ascii_tag100": "we always write UTF-8 atom tags (119/118), OTP 25's term_to_binary/1 writes 100",
    "atom_latin1_tag100": "atom tag choice (100 -> 119)",
    "atom_255_ascii": "atom tag choice (100 -> 118/119)",
    "atom_small_latin1_tag115": "atom tag choice (115 -> 119)",
    "atom_small_latin1_tag115_e9": "atom tag choice (Latin-1 115 -> UTF-8 119, longer bytes)",
    "fun_export_tag100": "atom tag choice inside EXPORT_EXT",
    "float_old_ext": "we write NEW_FLOAT_EXT (70), never the text FLOAT_EXT (99)",
    "float_old_ext_neg": "NEW_FLOAT_EXT instead of FLOAT_EXT",
    "string_abc": "a list of small ints is written as LIST_EXT, Erlang writes STRING_EXT",
    "string_bytes": "LIST_EXT instead of STRING_EXT",
    "list_nested": "[1] inside is a STRING_EXT in Erlang's encoding",
    "list_tail_list_raw": "hand-built [1 | [2]] as two LIST_EXTs; we write one",
    "representative": "lists:seq(1, 100) is a STRING_EXT in Erlang's encoding",
    "mixed": '"str" is a STRING_EXT in Erlang\'s encoding',
    "map_non_atom_keys": 'the key "s" is a STRING_EXT in Erlang\'s encoding',
    "map_unhashable_keys": "the key [1, 2] is a STRING_EXT in Erlang's encoding",
    "pid_old_tag103": "old PID_EXT is re-encoded as NEW_PID_EXT",
    "ref_old_tag101": "old REFERENCE_EXT is re-encoded as NEWER_REFERENCE_EXT",
    "ref_new_tag114": "NEW_REFERENCE_EXT is re-encoded as NEWER_REFERENCE_EXT",
    "port_old_tag102": "old PORT_EXT is re-encoded as NEW_PORT_EXT",
    "otp28_mixed_default": '"str" is a STRING_EXT in Erlang\'s encoding',
    "otp28_port_v4": "OTP 28 writes V4_PORT_EXT for every port; we write NEW_PORT_EXT while the id fits 32 bits",
    "compressed_repr": "we never compress",
    "compressed_big_list": "we never compress",
}


# --------------------------------------------------------------------------- helpers


def same(a: object, b: object) -> bool:
    """Type-strict equality: 1, 1.0 and True differ, so do b'a', 'a' and Atom('a')."""
    if type(a) is not type(b):
        return False
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(map(same, a, b))  # type: ignore[arg-type]
    if type(a) is dict:
        if len(a) != len(b):  # type: ignore[arg-type]
            return False
        b_keys = {k: k for k in b}  # type: ignore[union-attr]
        return all(
            k in b_keys and same(k, b_keys[k]) and same(v, b[k])  # type: ignore[index]
            for k, v in a.items()  # type: ignore[union-attr]
        )
    if type(a) is ImproperList:
        return same(a.items, b.items) and same(a.tail, b.tail)  # type: ignore[union-attr]
    if type(a) is MapKey:
        return same(a.term, b.term)  # type: ignore[union-attr]
    if type(a) is float:
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)  # type: ignore[arg-type]
    return a == b


def assert_same(got: object, want: object) -> None:
    assert same(got, want), f"\n got: {got!r}\nwant: {want!r}"


# --------------------------------------------------------------------------- fixtures


def test_fixtures_are_all_there():
    assert len(NAMES) >= 80
    for name in NAMES:
        assert (FIXTURES / f"{name}.bin").is_file(), name
    assert set(NOT_CANONICAL) <= set(NAMES)


def test_fixtures_cover_every_tag():
    """Every tag of erlang.md 1.7 (except the atom cache reference) occurs in some vector."""
    seen: set[int] = set()
    for name in NAMES:
        data = fixture(name)
        if data[1] == 80:
            seen.add(80)
            data = b"\x83" + zlib.decompress(data[6:])
        seen |= _tags(data)
    wanted = {97, 98, 110, 111, 70, 99, 119, 118, 115, 100, 104, 105, 106, 107, 108, 109,
              77, 116, 88, 90, 89, 120, 103, 114, 101, 102, 113, 112, 80}
    assert wanted - seen == set()


def _tags(data: bytes) -> set[int]:
    """The tags met while walking a term (containers by hand, leaves by decode_from)."""
    tags = set()
    atoms = AtomTable()

    def walk(pos: int) -> int:
        tag = data[pos]
        tags.add(tag)
        if tag in (104, 105, 108, 116):
            if tag == 104:
                n, pos = data[pos + 1], pos + 2
            else:
                n, pos = struct.unpack_from(">I", data, pos + 1)[0], pos + 5
            for _ in range(2 * n if tag == 116 else n + (tag == 108)):
                pos = walk(pos)
            return pos
        if tag in (88, 103, 89, 120, 102, 101, 113):
            tags.add(data[pos + 1])  # the node (or module) atom
        elif tag in (90, 114):
            tags.add(data[pos + 3])
        _, end = decode_from(b"\x83" + data[pos:], 0, atoms=atoms)
        return pos + end - 1

    walk(1)
    return tags


@pytest.mark.parametrize("name", NAMES)
def test_fixture_decodes_to_what_erlang_said(name):
    assert_same(decode(fixture(name)), EXPECTED[name])


@pytest.mark.parametrize("name", NAMES)
def test_fixture_reencodes(name):
    data = fixture(name)
    value = decode(data)
    ours = encode(value)
    if name in NOT_CANONICAL:
        assert ours != data, f"{name} is canonical now: drop it from NOT_CANONICAL"
    else:
        assert ours == data
    assert_same(decode(ours), EXPECTED[name])


@pytest.mark.parametrize("name", NAMES)
def test_fixture_with_trailing_bytes(name):
    data = fixture(name)
    with pytest.raises(ETFError, match="trailing"):
        decode(data + b"\x00")
    term, end = decode_from(data + b"\x83j", 0)
    assert end == len(data)
    assert_same(term, EXPECTED[name])


def test_decode_from_reads_a_pass_through_packet():
    """A 'p' packet: control tuple and message, two terms back to back."""
    ctrl = decode(fixture("control_send_sender"))
    msg = (Atom("i_am_echo"), Atom("ping"))
    packet = b"p" + encode(ctrl) + encode(msg)
    first, mid = decode_from(packet, 1)
    second, end = decode_from(packet, mid)
    assert_same(first, ctrl)
    assert_same(second, msg)
    assert end == len(packet)
    with pytest.raises(ETFError, match="version byte 131 at offset 0"):
        decode_from(packet, 0)
    with pytest.raises(ETFError, match="offset"):
        decode_from(packet, len(packet))


def test_decode_from_after_compressed_term():
    data = fixture("compressed_repr")
    term, end = decode_from(data + encode(Atom("next")), 0)
    assert end == len(data)
    assert_same(decode_from(data + encode(Atom("next")), end)[0], Atom("next"))


def test_decode_accepts_buffers():
    data = fixture("mixed")
    assert_same(decode(bytearray(data)), EXPECTED["mixed"])
    assert_same(decode(memoryview(data)), EXPECTED["mixed"])


def test_captured_dist_message_from_erlang_md():
    """The raw OTP -> Python message quoted in erlang.md section 2."""
    raw = bytes.fromhex(
        "70 83 68 03 61 16 58 77 0b" + b"a@localhost".hex() + "00000058 00000000 6b022227"
        "58 77 0c" + b"py@localhost".hex() + "00000001 00000000 6b022243"
        "83 68 02 77 09" + b"i_am_echo".hex() + "77 04" + b"ping".hex()
    )
    ctrl, pos = decode_from(raw, 1)
    msg, end = decode_from(raw, pos)
    assert ctrl == (22, Pid("a@localhost", 88, 0, 0x6B022227), Pid("py@localhost", 1, 0, 0x6B022243))
    assert_same(msg, (Atom("i_am_echo"), Atom("ping")))
    assert end == len(raw)
    assert b"p" + encode(ctrl) + encode(msg) == raw


# --------------------------------------------------------------------------- type mapping


def test_scalars_encode_as_erlang_writes_them():
    assert encode(0) == b"\x83a\x00"
    assert encode(255) == b"\x83a\xff"
    assert encode(256) == b"\x83b\x00\x00\x01\x00"
    assert encode(-1) == b"\x83b\xff\xff\xff\xff"
    assert encode(2**31) == b"\x83n\x04\x00\x00\x00\x00\x80"
    assert encode(-(2**31) - 1) == b"\x83n\x04\x01\x01\x00\x00\x80"
    assert encode(2**2040 - 1)[:4] == b"\x83n\xff\x00"
    assert encode(2**2040)[:7] == b"\x83o\x00\x00\x01\x00\x00"
    assert encode(1.5) == b"\x83F" + struct.pack(">d", 1.5)
    assert encode(True) == b"\x83w\x04true"
    assert encode(False) == b"\x83w\x05false"
    assert encode(None) == b"\x83w\x09undefined"
    assert encode([]) == b"\x83j"
    assert encode(()) == b"\x83h\x00"
    assert encode({}) == b"\x83t\x00\x00\x00\x00"


@pytest.mark.parametrize("n", [0, 1, -1, 255, 256, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1,
                               2**63, 2**64, -(2**64), 2**2039, 2**2040, -(2**2040), 7**5000])
def test_integers_round_trip(n):
    assert_same(decode(encode(n)), n)


def test_atom_is_a_str_but_encodes_as_an_atom():
    a = Atom("ok")
    assert a == "ok" and a == Atom("ok") and hash(a) == hash("ok")
    assert isinstance(a, str)
    assert encode(a) == b"\x83w\x02ok"
    assert encode("ok") == b"\x83m\x00\x00\x00\x02ok"
    assert_same(decode(encode("ok")), b"ok")  # a str comes back as the binary it became
    assert_same(decode(encode(a)), Atom("ok"))
    assert repr(a) == "Atom('ok')"
    assert encode(Atom("été")) == b"\x83w\x05" + "été".encode()
    assert encode(Atom("é" * 255))[:4] == b"\x83v\x01\xfe"  # 510 bytes: ATOM_UTF8_EXT
    assert encode(Atom("true")) == encode(True)
    assert decode(encode(Atom("undefined"))) is None


def test_decoded_atoms_are_interned_per_table():
    table = AtomTable()
    a = decode(encode(Atom("interned_one")), atoms=table)
    b = decode(b"\x83d\x00\x0cinterned_one", atoms=table)  # Latin-1 tag, same name
    assert a is b and "interned_one" in table


def test_atom_encoding_errors():
    with pytest.raises(ETFError, match="256 characters"):
        encode(Atom("a" * 256))
    with pytest.raises(ETFError, match="Unicode"):
        encode(Atom("\udc80"))
    with pytest.raises(ETFError, match="Unicode"):
        encode("\udc80")


def test_latin1_and_utf8_atom_tags():
    assert_same(decode(b"\x83d\x00\x01\xe9"), Atom("é"))
    assert_same(decode(b"\x83s\x01\xe9"), Atom("é"))
    assert_same(decode(b"\x83w\x02\xc3\xa9"), Atom("é"))
    assert_same(decode(b"\x83v\x00\x02\xc3\xa9"), Atom("é"))
    with pytest.raises(ETFError, match="UTF-8"):
        decode(b"\x83w\x01\xe9")
    with pytest.raises(ETFError, match="256 characters"):
        decode(b"\x83v\x01\x00" + b"a" * 256)


def test_subclasses_encode_as_their_base():
    class Color(enum.IntEnum):
        RED = 1

    class Name(str, enum.Enum):
        X = "x"

    Point = collections.namedtuple("Point", "x y")

    class MyAtom(Atom):
        pass

    assert encode(Color.RED) == encode(1)
    assert encode(Name.X) == encode("x")
    assert encode(Point(1, 2)) == encode((1, 2))
    assert encode(collections.OrderedDict(a=1)) == encode({"a": 1})
    assert encode(MyAtom("m")) == encode(Atom("m"))
    assert encode(bytearray(b"ab")) == encode(b"ab") == encode(memoryview(b"ab"))


@pytest.mark.parametrize("bad", [object(), {1, 2}, 1j, float("nan"), float("inf"), -float("inf"),
                                 Ellipsis, type])
def test_unencodable_values(bad):
    with pytest.raises(ETFError):
        encode(bad)
    with pytest.raises(ETFError):
        encode([1, (2, {3: bad})])


def test_non_finite_floats_are_refused_on_decode():
    for value in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ETFError, match="not finite"):
            decode(b"\x83F" + struct.pack(">d", value))
    with pytest.raises(ETFError, match="not finite"):
        decode(b"\x83c" + b"inf".ljust(31, b"\x00"))
    with pytest.raises(ETFError, match="not a number"):
        decode(b"\x83c" + b"1.5x".ljust(31, b"\x00"))


def test_pid_value_semantics():
    p = Pid("a@h", 1, 2, 3)
    assert p.node == Atom("a@h") and type(p.node) is Atom
    assert (p.id, p.serial, p.creation) == (1, 2, 3)
    assert p == Pid(Atom("a@h"), 1, 2, 3)
    assert p != Pid("a@h", 1, 2, 4)  # another incarnation of the node
    assert p != Pid("b@h", 1, 2, 3)
    assert p != (Atom("a@h"), 1, 2, 3)
    assert hash(p) == hash(Pid("a@h", 1, 2, 3))
    assert len({p, Pid("a@h", 1, 2, 3), Pid("a@h", 1, 2, 4)}) == 2
    assert repr(p) == "<a@h.1.2>"
    with pytest.raises(AttributeError):
        p.id = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.other = 5  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del p.node
    assert pickle.loads(pickle.dumps(p)) == p
    wire = b"\x83Xw\x03a@h" + struct.pack(">III", 1, 2, 3)
    assert encode(p) == wire and encode(p) == wire  # the second time from the cache
    assert_same(decode(encode(p)), p)


def test_decoded_pids_are_shared_and_the_cache_is_bounded():
    table = AtomTable(max_cached_pids=3)
    pids = [Pid("n@h", i, 0, 1) for i in range(10)]
    for _ in range(2):
        for pid in pids:
            got = decode(encode(pid), atoms=table)
            assert_same(got, pid)
            assert len(table._pids) <= 3
    data = encode((pids[0], pids[0]))
    first, second = decode(data, atoms=table)
    assert first is second
    # a pid read with a Latin-1 node atom still encodes with the UTF-8 tag
    latin1 = b"\x83Xd\x00\x03n@h" + struct.pack(">III", 7, 0, 1)
    pid = decode(latin1, atoms=table)
    assert encode(pid) == encode(Pid("n@h", 7, 0, 1)) != latin1
    assert decode(latin1, atoms=table) is pid


def test_pid_fields_must_fit():
    for bad in (Pid("a@h", 2**32, 0, 0), Pid("a@h", 0, -1, 0), Pid("a@h", 0, 0, "x")):  # type: ignore[arg-type]
        with pytest.raises(ETFError, match="32-bit"):
            encode(bad)
    with pytest.raises(TypeError):
        Pid(5, 1, 2, 3)  # type: ignore[arg-type]


def test_reference_value_semantics():
    r = Reference("a@h", 7, (1, 2, 3))
    assert r == Reference(Atom("a@h"), 7, [1, 2, 3])
    assert r != Reference("a@h", 8, (1, 2, 3))
    assert hash(r) == hash(Reference("a@h", 7, (1, 2, 3)))
    assert repr(r) == "#Ref<a@h.3.2.1>"  # Erlang prints the words last to first
    with pytest.raises(AttributeError):
        r.ids = ()  # type: ignore[misc]
    for n in range(0, 6):
        ref = Reference("a@h", 1, range(n))
        assert_same(decode(encode(ref)), ref)
    with pytest.raises(ETFError, match="ID words"):
        encode(Reference("a@h", 1, range(6)))
    with pytest.raises(ETFError, match="32-bit"):
        encode(Reference("a@h", 1, (2**32,)))
    assert pickle.loads(pickle.dumps(r)) == r


def test_port_value_semantics():
    p = Port("a@h", 5, 1)
    assert encode(p)[1] == 89  # NEW_PORT_EXT while the id fits 32 bits
    assert encode(Port("a@h", 2**32, 1))[1] == 120  # V4_PORT_EXT beyond
    assert_same(decode(encode(Port("a@h", 2**64 - 1, 1))), Port("a@h", 2**64 - 1, 1))
    with pytest.raises(ETFError):
        encode(Port("a@h", 2**64, 1))
    assert repr(p) == "#Port<a@h.5>"
    assert p != Port("a@h", 5, 2) and hash(p) == hash(Port("a@h", 5, 1))
    with pytest.raises(AttributeError):
        p.id = 1  # type: ignore[misc]


def test_bit_binary():
    b = BitBinary(b"\xff", 3)
    assert b.data == b"\xe0"  # bits beyond the 3 used are cleared, as Erlang ignores them
    assert b == BitBinary(b"\xe0", 3) and hash(b) == hash(BitBinary(b"\xe0", 3))
    assert encode(b) == b"\x83M\x00\x00\x00\x01\x03\xe0"
    assert_same(decode(b"\x83M\x00\x00\x00\x01\x03\xff"), b)
    assert_same(decode(b"\x83M\x00\x00\x00\x01\x08\x07"), b"\x07")  # 8 bits: a binary
    assert_same(decode(b"\x83M\x00\x00\x00\x00\x00"), b"")
    for bad in (b"\x83M\x00\x00\x00\x01\x00\x07", b"\x83M\x00\x00\x00\x01\x09\x07",
                b"\x83M\x00\x00\x00\x00\x08"):
        with pytest.raises(ETFError, match="BIT_BINARY"):
            decode(bad)
    with pytest.raises(ValueError):
        BitBinary(b"", 1)
    with pytest.raises(ValueError):
        BitBinary(b"a", 0)
    with pytest.raises(ValueError):
        BitBinary(b"a", 9)


def test_improper_lists():
    il = ImproperList([1, 2], Atom("t"))
    assert encode(il) == b"\x83l\x00\x00\x00\x02a\x01a\x02w\x01t"
    assert_same(decode(encode(il)), il)
    assert il != ImproperList([1, 2], Atom("u")) and il != [1, 2]
    with pytest.raises(TypeError):
        hash(il)
    with pytest.raises(ValueError):
        ImproperList([], 1)
    with pytest.raises(ValueError):
        ImproperList([1], [2])
    # what Erlang accepts, normalised: [] ++ T is T, [1 | [2]] is [1, 2]
    assert_same(decode(b"\x83l\x00\x00\x00\x00a\x01"), 1)
    assert_same(decode(b"\x83l\x00\x00\x00\x01a\x01l\x00\x00\x00\x01a\x02a\x03"), ImproperList([1, 2], 3))
    assert_same(decode(b"\x83l\x00\x00\x00\x01a\x01k\x00\x01\x02"), [1, 2])


def test_export_and_fun():
    e = Export("lists", "map", 2)
    assert_same(decode(encode(e)), e)
    assert repr(e) == "fun lists:map/2"
    assert decode(b"\x83qw\x01mw\x01fb\x00\x00\x00\x01") == Export("m", "f", 1)  # arity as INTEGER_EXT
    with pytest.raises(ETFError, match="arity"):
        decode(b"\x83qw\x01mw\x01fb\x00\x00\x01\x00")
    with pytest.raises(ETFError, match="arity"):
        encode(Export("m", "f", 256))
    fun = decode(fixture("fun_closure"))
    assert type(fun) is Fun and encode(fun) == fixture("fun_closure")
    assert hash(fun) == hash(Fun(fun.raw))
    with pytest.raises(ValueError):
        Fun(b"p\x00\x00\x00\x09")
    with pytest.raises(ETFError, match="NEW_FUN_EXT"):
        decode(b"\x83p\x00\x00\x00\x02")


def test_strings_and_to_str():
    assert decode(fixture("string_abc")) == [97, 98, 99]
    assert to_str(decode(fixture("string_abc"))) == "abc"
    assert to_str(decode(fixture("list_unicode"))) == "日本"
    assert to_str(b"\xc3\xa9t\xc3\xa9") == "été"
    assert to_str([]) == ""
    assert to_str(Atom("x")) == "x" and type(to_str(Atom("x"))) is str
    with pytest.raises(ETFError):
        to_str([1, "a"])
    with pytest.raises(ETFError):
        to_str([0x110000])
    with pytest.raises(ETFError):
        to_str(b"\xff")
    with pytest.raises(ETFError):
        to_str(5)


def test_maps_with_unhashable_and_colliding_keys():
    m = {MapKey([1, 2]): b"l", MapKey({Atom("x"): 1}): b"m", 1: b"one", MapKey(1.0): b"float", MapKey(True): b"t"}
    assert_same(decode(encode(m)), m)
    assert MapKey([1]) == MapKey([1]) and hash(MapKey([1])) == hash(MapKey([1]))
    assert MapKey([1]) != MapKey([1.0]) and MapKey([1]) != MapKey([True])
    assert MapKey(1) != 1 and MapKey((Atom("a"),)) == MapKey((Atom("a"),))
    assert encode({MapKey(5): 1}) == encode({5: 1})
    assert repr(MapKey([1])) == "MapKey([1])"


def test_duplicate_map_keys_are_refused():
    with pytest.raises(ETFError, match="twice"):
        decode(b"\x83t\x00\x00\x00\x02a\x01a\x02a\x01a\x03")
    with pytest.raises(ETFError, match="twice"):
        decode(b"\x83t\x00\x00\x00\x02ja\x01ja\x02")  # [] twice: unhashable path
    # 1 and 1.0 are different keys in Erlang: no error
    assert len(decode(encode({1: 1, MapKey(1.0): 2}))) == 2


# --------------------------------------------------------------------------- bounds


def test_atom_table_limit():
    table = AtomTable(max_atoms=3)
    assert decode(encode([Atom("a1"), Atom("a2"), Atom("a3")]), atoms=table) == ["a1", "a2", "a3"]
    with pytest.raises(AtomLimitError, match="atom table full"):
        decode(encode(Atom("a4")), atoms=table)
    assert issubclass(AtomLimitError, ETFError)
    assert decode(encode((Atom("a3"), Atom("a1"))), atoms=table) == ("a3", "a1")  # known atoms still work
    assert decode(b"\x83d\x00\x02a2", atoms=table) == "a2"  # ...in either encoding
    assert len(table) == 3
    with pytest.raises(AtomLimitError):
        decode(encode(Pid("node@new", 1, 0, 0)), atoms=table)
    with pytest.raises(AtomLimitError):
        table.intern("a5")
    assert table.intern("a2") is decode(encode(Atom("a2")), atoms=table)


def test_atom_table_counts_true_false_undefined():
    table = AtomTable(max_atoms=2)
    assert decode(encode([True, None]), atoms=table) == [True, None]
    with pytest.raises(AtomLimitError):
        decode(encode(False), atoms=table)


def test_default_atom_table_is_module_wide():
    name = "default_table_atom_%d" % os.getpid()
    decode(encode(Atom(name)))
    assert name in etf._default_atoms


def nested_list(depth: int) -> bytes:
    return b"\x83" + b"l\x00\x00\x00\x01" * depth + b"j" * (depth + 1)


def test_depth_limit():
    """Deep terms decode and encode without Python recursion up to MAX_DEPTH (real
    Erlang echoes a 10,000-deep list), and no deeper."""
    assert MAX_DEPTH >= 10_000
    assert decode(nested_list(MAX_DEPTH)) is not None
    with pytest.raises(ETFError, match="nested deeper"):
        decode(nested_list(MAX_DEPTH + 1))
    deep = 20_000  # the same limit, cheaper to build: max_depth below MAX_DEPTH
    with pytest.raises(ETFError, match="nested deeper"):
        decode(b"\x83" + b"h\x01" * (deep + 1) + b"j", max_depth=deep)
    with pytest.raises(ETFError, match="nested deeper"):
        decode(b"\x83" + b"t\x00\x00\x00\x01a\x00" * (deep + 1) + b"j", max_depth=deep)
    with pytest.raises(ETFError, match="nested deeper"):
        decode(nested_list(10), max_depth=5)
    with pytest.raises(ETFError, match="nested deeper"):
        decode(nested_list(1000), max_depth=999)
    value: list = []
    for _ in range(deep):
        value = [value]
    data = encode(value, max_depth=deep)
    assert data == nested_list(deep)
    assert encode(decode(data)) == data  # (== on such lists would recurse in C)
    with pytest.raises(ETFError, match="nested deeper"):
        encode([value], max_depth=deep)
    with pytest.raises(ETFError, match="nested deeper"):
        encode([[[1]]], max_depth=2)


@pytest.mark.parametrize("depth", [255, 256, 257, 600, 5000])
def test_deep_terms_of_every_container_round_trip(depth):
    """Past the recursive path's depth the iterative one builds the same terms."""
    term: Any = Atom("leaf")
    for i in range(depth):
        kind = i % 5
        if kind == 0:
            term = [term, i]
        elif kind == 1:
            term = (term, b"x")
        elif kind == 2:
            term = {Atom("k"): term, i: 1.5}
        elif kind == 3:
            term = ImproperList([1, term], Atom("tail"))
        else:
            term = {MapKey([i]): term}
    data = encode(term)
    again = decode(data)
    assert encode(again) == data
    # the recursive path alone (shallow enough) agrees on a cut of the same shape
    if depth <= 255:
        assert again == term


def test_self_referencing_containers_are_refused():
    cyclic: list = [1]
    cyclic.append(cyclic)
    with pytest.raises(ETFError):
        encode(cyclic)
    d: dict = {}
    d[1] = d
    with pytest.raises(ETFError):
        encode(d)


def test_deep_decode_from_a_deep_stack():
    """Near the recursion limit a deep term still decodes: the iterative path takes
    over (never a RecursionError)."""
    def recurse(n):
        if n:
            return recurse(n - 1)
        return decode(nested_list(5000))

    assert recurse(sys.getrecursionlimit() - 100) is not None


ABSURD = {
    "large tuple 2^32-1": b"\x83i\xff\xff\xff\xff",
    "binary 4 GB": b"\x83m\xff\xff\xff\xff",
    "list 2^32-1": b"\x83l\xff\xff\xff\xff",
    "map 2^32-1": b"\x83t\xff\xff\xff\xff",
    "bit binary 4 GB": b"\x83M\xff\xff\xff\xff\x03",
    "large big 4 GB": b"\x83o\xff\xff\xff\xff\x00",
    "small big 255": b"\x83n\xff\x00",
    "string 65535": b"\x83k\xff\xff",
    "atom 65535": b"\x83v\xff\xff",
    "fun 4 GB": b"\x83p\xff\xff\xff\xff",
    "newer ref 65535 words": b"\x83Z\xff\xffw\x01a\x00\x00\x00\x00",
    "compressed 4 GB": b"\x83P\xff\xff\xff\xff" + zlib.compress(b"j"),
}


@pytest.mark.parametrize("name", sorted(ABSURD))
def test_absurd_lengths_fail_fast_without_allocating(name):
    data = ABSURD[name] + b"a\x01" * 16
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ETFError):
            decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 0.5
    assert peak < 256 * 1024


def test_compressed_bounds():
    inner = encode([b"x" * 1000] * 10)[1:]
    good = b"\x83P" + struct.pack(">I", len(inner)) + zlib.compress(inner)
    assert decode(good) == [b"x" * 1000] * 10
    with pytest.raises(ETFError, match="must be 1..100"):
        decode(good, max_size=100)
    lying_small = b"\x83P" + struct.pack(">I", len(inner) - 1) + zlib.compress(inner)
    with pytest.raises(ETFError, match="more than its declared"):
        decode(lying_small)
    lying_big = b"\x83P" + struct.pack(">I", len(inner) + 1) + zlib.compress(inner)
    with pytest.raises(ETFError, match="inflates to"):
        decode(lying_big)
    with pytest.raises(ETFError, match="1.."):
        decode(b"\x83P\x00\x00\x00\x00" + zlib.compress(b""))
    with pytest.raises(ETFError, match="compressed term at offset 1: .*header"):
        decode(b"\x83P\x00\x00\x00\x05" + b"not zlib data")
    with pytest.raises(ETFError, match="truncated"):
        decode(good[:-3])
    with pytest.raises(ETFError, match="stray"):
        decode(b"\x83P\x00\x00\x00\x03" + zlib.compress(b"a\x01j"))
    with pytest.raises(ETFError, match="tag 80"):
        decode(b"\x83P\x00\x00\x00\x07" + zlib.compress(b"P\x00\x00\x00\x01j\x00"))
    with pytest.raises(ETFError, match="tag 80"):
        decode(b"\x83h\x01P\x00\x00\x00\x01" + zlib.compress(b"j"))


def test_zip_bomb_is_inflated_only_up_to_the_declared_size():
    bomb = zlib.compress(b"\x00" * (200 * 1024 * 1024), 9)  # 200 MB of zeros in ~200 KB
    data = b"\x83P" + struct.pack(">I", 1000) + bomb
    tracemalloc.start()
    try:
        with pytest.raises(ETFError):
            decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    with pytest.raises(ETFError, match="must be 1.."):
        decode(b"\x83P" + struct.pack(">I", 200 * 1024 * 1024) + bomb)


def test_unknown_and_unsupported_tags():
    for tag in (0, 75, 81, 117, 121, 255):
        with pytest.raises(ETFError, match=f"unknown term tag {tag} at offset 1"):
            decode(bytes((131, tag, 0, 0, 0, 0)))
    with pytest.raises(ETFError, match="atom cache"):
        decode(b"\x83R\x00")
    with pytest.raises(ETFError, match="must be an atom"):
        decode(b"\x83Xa\x01" + b"\x00" * 12)
    with pytest.raises(ETFError, match="version byte"):
        decode(b"\x82a\x01")
    with pytest.raises(ETFError, match="offset 0"):
        decode(b"")


# --------------------------------------------------------------------------- fuzzing


@pytest.mark.parametrize("name", NAMES)
def test_every_truncation_is_an_etf_error_with_offset(name):
    data = fixture(name)
    for cut in range(len(data)):
        with pytest.raises(ETFError, match="offset|truncated") as info:
            decode(data[:cut])
        assert type(info.value) in (ETFError, AtomLimitError)


def test_random_mutations_only_raise_etf_error():
    rng = random.Random(1234)
    table = AtomTable(max_atoms=5000)
    blobs = [fixture(name) for name in NAMES]
    decoded = 0
    for _ in range(20000):
        data = bytearray(rng.choice(blobs))
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            pos = rng.randrange(len(data)) if data else 0
            if op < 0.5 and data:
                data[pos] = rng.randrange(256)
            elif op < 0.65:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
            elif op < 0.8 and data:
                del data[pos : pos + rng.randint(1, 4)]
            elif data:
                # an interesting value in a length field
                value = rng.choice([0, 1, 255, 256, 65535, 2**31 - 1, 2**32 - 1])
                data[pos : pos + 4] = struct.pack(">I", value)
        try:
            decode(bytes(data), atoms=table, max_size=1 << 20)
            decoded += 1
        except ETFError:
            pass
    assert decoded > 100  # the mutations also produce valid terms, so decoding was exercised


def test_random_bytes_only_raise_etf_error():
    rng = random.Random(99)
    table = AtomTable(max_atoms=5000)
    for _ in range(20000):
        data = bytes([131, rng.choice(list(etf._ATOM_DEC) + [97, 98, 104, 105, 108, 116, 107, 109, 77, 88, 90, 80])])
        data += bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        try:
            decode(data, atoms=table, max_size=1 << 20)
        except ETFError:
            pass


# --------------------------------------------------------------------------- random round trips

NODES = [Atom("py@localhost"), Atom("a@host"), Atom("été@host")]


def random_atom(rng: random.Random) -> Atom:
    alphabet = "abcxyz_@09ÉéλЖ日本🙂'\\\" "
    n = rng.choice([1, 2, 5, 20, 255])
    name = "".join(rng.choice(alphabet) for _ in range(n))
    if name in ("true", "false", "undefined"):
        name += "_"
    return Atom(name)


def random_float(rng: random.Random) -> float:
    while True:
        f = struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0]
        if math.isfinite(f):
            return rng.choice([f, rng.uniform(-1e6, 1e6), 0.5, 0.0])


def random_int(rng: random.Random) -> int:
    bits = rng.choice([7, 8, 16, 31, 32, 33, 63, 64, 65, 200, 2041, 3000])
    n = rng.getrandbits(bits)
    return -n if rng.random() < 0.4 else n


def random_scalar(rng: random.Random):
    kind = rng.randrange(13)
    if kind == 0:
        return random_int(rng)
    if kind == 1:
        return random_float(rng)
    if kind == 2:
        return random_atom(rng)
    if kind == 3:
        return rng.randbytes(rng.choice([0, 1, 5, 300]))
    if kind == 4:
        return rng.choice([True, False, None])
    if kind == 5:
        return Pid(rng.choice(NODES), rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(32))
    if kind == 6:
        return Reference(rng.choice(NODES), rng.getrandbits(32), [rng.getrandbits(32) for _ in range(rng.randint(1, 5))])
    if kind == 7:
        return Port(rng.choice(NODES), rng.getrandbits(rng.choice([16, 64])), rng.getrandbits(32))
    if kind == 8:
        return BitBinary(rng.randbytes(rng.randint(1, 9)), rng.randint(1, 7))
    if kind == 9:
        return Export(random_atom(rng), random_atom(rng), rng.randint(0, 255))
    if kind == 10:
        return rng.randrange(256)
    if kind == 11:
        return []
    return ()


def random_term(rng: random.Random, depth: int = 4, budget: list | None = None):
    """A random term of at most ``depth`` levels and about 60 values in all."""
    if budget is None:
        budget = [60]
    budget[0] -= 1
    if depth == 0 or budget[0] <= 0 or rng.random() < 0.35:
        return random_scalar(rng)
    kind = rng.randrange(5)
    size = rng.randint(0, 5)
    if kind == 0:
        return [random_term(rng, depth - 1, budget) for _ in range(size)]
    if kind == 1:
        return tuple(random_term(rng, depth - 1, budget) for _ in range(size))
    if kind == 2:
        items = [random_term(rng, depth - 1, budget) for _ in range(size + 1)]
        return ImproperList(items, random_scalar_not_list(rng))
    result: dict = {}
    for _ in range(size):
        key = random_term(rng, depth - 1, budget)
        try:
            hash(key)
        except TypeError:
            key = MapKey(key)
        if key not in result:
            result[key] = random_term(rng, depth - 1, budget)
    return result


def random_scalar_not_list(rng: random.Random):
    while True:
        tail = random_scalar(rng)
        if type(tail) is not list:
            return tail


def test_random_terms_round_trip():
    rng = random.Random(20261122)
    for _ in range(3000):
        term = random_term(rng)
        data = encode(term)
        assert_same(decode(data), term)
        end = decode_from(b"xx" + data + b"yy", 2)[1]
        assert end == 2 + len(data)


# --------------------------------------------------------------------------- against a real Erlang

ERL_TIMEOUT = 120


def escript_binary() -> str:
    path = shutil.which("escript")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("escript (Erlang/OTP) is required when CI=true")
        pytest.skip("escript (Erlang/OTP) not installed")
    return path


def erl_atom(name: str) -> str:
    out = []
    for ch in name:
        if ch in "'\\":
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("\\x{%X}" % ord(ch))
    return "'" + "".join(out) + "'"


def erl_binary(data: bytes) -> str:
    return "<<" + ",".join(map(str, data)) + ">>"


def erl_src(term) -> str:
    """Erlang source for a Python term, written independently of our encoder."""
    cls = type(term)
    if term is True:
        return "true"
    if term is False:
        return "false"
    if term is None:
        return "undefined"
    if cls is Atom:
        return erl_atom(term)
    if cls is int:
        return f"({term})"
    if cls is float:
        return "(%.17e)" % term
    if cls is bytes:
        return erl_binary(term)
    if cls is str:
        return erl_binary(term.encode())
    if cls is BitBinary:
        *whole, last = term.data
        parts = [str(b) for b in whole] + [f"{last >> (8 - term.bits)}:{term.bits}"]
        return "<<" + ",".join(parts) + ">>"
    if cls is list:
        return "[" + ",".join(map(erl_src, term)) + "]"
    if cls is ImproperList:
        return "[" + ",".join(map(erl_src, term.items)) + "|" + erl_src(term.tail) + "]"
    if cls is tuple:
        return "{" + ",".join(map(erl_src, term)) + "}"
    if cls is dict:
        return "#{" + ",".join(f"{erl_src(k)} => {erl_src(v)}" for k, v in term.items()) + "}"
    if cls is MapKey:
        return erl_src(term.term)
    if cls is Pid:
        return f"mkpid({erl_atom(term.node)},{term.id},{term.serial},{term.creation})"
    if cls is Reference:
        return f"mkref({erl_atom(term.node)},{term.creation},{list(term.ids)})"
    if cls is Port:
        return f"mkport({erl_atom(term.node)},{term.id},{term.creation})"
    if cls is Export:
        return f"fun {erl_atom(term.module)}:{erl_atom(term.function)}/{term.arity}"
    if cls is Fun:
        return "binary_to_term(" + erl_binary(b"\x83" + term.raw) + ")"
    raise TypeError(cls)


ERL_CHECKER = r"""#!/usr/bin/env escript
%% Reads our encodings, compares each with the term built from Erlang source,
%% and writes back Erlang's own encodings of that term (three ways).  Interpreted:
%% the compiler cannot put an atom of more than 255 UTF-8 bytes in a .beam.
-mode(interpret).

main([In, Out]) ->
    {ok, Bin} = file:read_file(In),
    Ours = split(Bin),
    Expected = expected(),
    length(Ours) =:= length(Expected) orelse halt(3),
    ok = file:write_file(Out, [check(B, E) || {B, E} <- lists:zip(Ours, Expected)]).

split(<<>>) -> [];
split(<<N:32, B:N/binary, Rest/binary>>) -> [B | split(Rest)].

check(B, E) ->
    {Status, Text} =
        try binary_to_term(B) of
            E -> {1, <<>>};
            Other -> {0, iolist_to_binary(io_lib:format("~p", [Other]))}
        catch C:R -> {2, iolist_to_binary(io_lib:format("~p:~p", [C, R]))}
        end,
    Outs = [term_to_binary(E), term_to_binary(E, [{minor_version, 2}]), term_to_binary(E, [compressed])],
    [Status, [<<(byte_size(O)):32, O/binary>> || O <- Outs ++ [Text]]].

atom_ext(A) -> B = atom_to_binary(A, utf8), <<118, (byte_size(B)):16, B/binary>>.
mkpid(N, Id, Ser, Cr) -> binary_to_term(<<131, 88, (atom_ext(N))/binary, Id:32, Ser:32, Cr:32>>).
mkref(N, Cr, Ids) ->
    binary_to_term(<<131, 90, (length(Ids)):16, (atom_ext(N))/binary, Cr:32, << <<I:32>> || I <- Ids >>/binary>>).
mkport(N, Id, Cr) when Id < 1 bsl 32 -> binary_to_term(<<131, 89, (atom_ext(N))/binary, Id:32, Cr:32>>);
mkport(N, Id, Cr) -> binary_to_term(<<131, 120, (atom_ext(N))/binary, Id:64, Cr:32>>).

expected() -> [
%s
].
"""


def hand_picked_terms() -> list:
    return [
        "a str becomes a binary",
        "été",
        b"",
        bytes(range(256)),
        Atom(""),
        Atom("é" * 255),
        Atom("'quoted\\atom'"),
        [Atom("a"), b"b", 1.5, -(2**70), 2**2100],
        {Atom("k"): [1, 2, 3], MapKey([1]): MapKey({}), b"bin": (), 2.5: None},
        {1: Atom("int"), MapKey(1.0): Atom("float"), MapKey(True): Atom("atom")},
        ImproperList([1, 2], b"tail"),
        BitBinary(b"\xab\xc0", 3),
        tuple(range(300)),
        list(range(300)),
        (22, Pid("a@localhost", 88, 0, 0x6B022227), Pid("py@localhost", 1, 0, 0x6B022243)),
        Reference("a@h", 5, (1, 2, 3, 4, 5)),
        Port("a@h", 2**40, 2),
        Export("lists", "map", 2),
        0.0,
        1.7976931348623157e308,
        5e-324,
    ]


@pytest.mark.needs("erl")
@pytest.mark.timeout(ERL_TIMEOUT)
def test_round_trips_through_real_erlang(tmp_path):
    escript = escript_binary()
    rng = random.Random(777)
    cases: list[tuple[str, object, bytes, str]] = []  # (label, python term, our bytes, erlang source)
    for name in NAMES:
        value = EXPECTED[name]
        cases.append((f"fixture {name}", value, encode(value), f"binary_to_term({erl_binary(fixture(name))})"))
    for i, term in enumerate(hand_picked_terms()):
        cases.append((f"hand-picked #{i}", term, encode(term), erl_src(term)))
    for i in range(300):
        term = random_term(rng)
        cases.append((f"random #{i}", term, encode(term), erl_src(term)))

    script = tmp_path / "check.escript"
    script.write_text(ERL_CHECKER % ",\n".join(src for _, _, _, src in cases), encoding="utf-8")
    (tmp_path / "in.bin").write_bytes(b"".join(struct.pack(">I", len(b)) + b for _, _, b, _ in cases))
    proc = subprocess.run(
        [escript, str(script), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")],
        capture_output=True, timeout=ERL_TIMEOUT - 10,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:] + proc.stdout.decode(errors="replace")[-3000:]
    out = (tmp_path / "out.bin").read_bytes()

    pos = 0
    failures = []
    for label, _term, ours, _ in cases:
        status = out[pos]
        pos += 1
        blobs = []
        for _ in range(4):
            (n,) = struct.unpack_from(">I", out, pos)
            blobs.append(out[pos + 4 : pos + 4 + n])
            pos += 4 + n
        if status != 1:
            failures.append(f"{label}: Erlang read our bytes as {blobs[3].decode(errors='replace')[:300]}")
            continue
        want = decode(ours)  # what the term is once it went through ETF (a str became bytes)
        ways = list(zip(("default", "minor_version 2", "compressed"), blobs[:3]))
        if "Fun(" in repr(want):
            # A Fun is its bytes, verbatim; Erlang's default encoding writes the atoms
            # inside it with Latin-1 tags, which makes another (equivalent) Fun to us.
            ways = ways[1:2]
        for how, blob in ways:
            if not same(decode(blob), want):
                failures.append(f"{label}: Erlang's {how} encoding decodes to {decode(blob)!r}, want {want!r}")
    assert pos == len(out)
    assert not failures, "\n".join(failures[:20])


def test_atom_limit_inside_a_compressed_term_is_still_an_atom_limit_error():
    inner = encode([Atom("z1"), Atom("z2")])[1:]
    data = b"\x83P" + struct.pack(">I", len(inner)) + zlib.compress(inner)
    with pytest.raises(AtomLimitError, match="compressed term at offset 1"):
        decode(data, atoms=AtomTable(max_atoms=1))


def test_decode_from_refuses_a_negative_offset():
    with pytest.raises(ETFError, match="negative offset"):
        decode_from(b"\x83j", -2)


def test_zero_and_minus_zero_are_two_map_keys():
    """OTP 27+ keeps 0.0 and -0.0 apart (two keys): both decode, and encode back."""
    wire = bytes.fromhex("8374000000024600000000000000007703706f7346800000000000000077036e6567")
    m = etf.decode(wire)
    assert len(m) == 2
    assert m[0.0] == etf.Atom("pos")
    assert m[etf.MapKey(-0.0)] == etf.Atom("neg")
    assert etf.MapKey(0.0) != etf.MapKey(-0.0)
    assert etf.encode(m) == wire
    with pytest.raises(etf.ETFError):  # a real duplicate is still refused
        etf.decode(bytes.fromhex("837400000002460000000000000000770170460000000000000000770171"))
