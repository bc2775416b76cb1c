"""PROXY protocol headers (v1 text, v2 binary): the examples of HAProxy's spec, splits, errors, fuzzing."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocol import proxy_header as P

FUZZ_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "1000"))
HTTP = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def feed(data: bytes):
    """parse() on growing prefixes, as bytes arrive one at a time: the first decision."""
    for n in range(len(data) + 1):
        result = P.parse(data[:n])
        if result is not P.NEED_DATA:
            return result, n
    return P.NEED_DATA, len(data)


def test_v1_tcp4_example_from_the_spec():
    header = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
    info, used = P.parse(header + HTTP)
    assert info == P.ProxyInfo("192.168.0.1", 56324, "192.168.0.11", 443) and used == len(header)
    assert feed(header + HTTP) == ((info, used), len(header))  # decided exactly at the CRLF


def test_v1_tcp6_is_normalised():
    info, used = P.parse(b"PROXY TCP6 2001:DB8::1 ::1 1 65535\r\nrest")
    assert info == P.ProxyInfo("2001:db8::1", 1, "::1", 65535) and used == 36


def test_v1_unknown_has_no_address():
    assert P.parse(b"PROXY UNKNOWN\r\n" + HTTP) == (None, 15)
    assert P.parse(b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n") == (None, 35)


def test_no_header_is_plain_http():
    assert P.parse(HTTP) == (None, 0)
    assert P.parse(b"POST / HTTP/1.1\r\n") == (None, 0)
    assert P.parse(b"P") is P.NEED_DATA and P.parse(b"PO") == (None, 0)
    assert P.parse(b"") is P.NEED_DATA
    assert P.parse(b"\r\nGET / HTTP/1.1\r\n") == (None, 0)  # a leading empty line is not v2


def test_v2_ipv4_ipv6_local_and_tlvs():
    info4 = P.ProxyInfo("10.0.0.1", 40000, "10.0.0.2", 80)
    data = P.encode_v2(info4, tlvs=b"\x01\x00\x02h2") + HTTP
    assert data[:12] == b"\r\n\r\n\x00\r\nQUIT\n"
    assert feed(data) == ((info4, 16 + 12 + 5), 16 + 12 + 5)
    info6 = P.ProxyInfo("2001:db8::5", 1234, "2001:db8::6", 443)
    assert P.parse(P.encode_v2(info6)) == (info6, 16 + 36)
    assert P.parse(P.encode_v2(None) + HTTP) == (None, 16)


def test_v2_unix_and_unspec_carry_no_client_address():
    unix = struct.pack(">12sBBH", P.V2_SIGNATURE, 0x21, 0x31, 216) + b"\0" * 216
    assert P.parse(unix) == (None, 232)
    unspec = struct.pack(">12sBBH", P.V2_SIGNATURE, 0x21, 0x00, 0)
    assert P.parse(unspec) == (None, 16)


def test_encode_v1_round_trip():
    info = P.ProxyInfo("203.0.113.9", 5555, "198.51.100.1", 8080)
    assert P.encode_v1(info) == b"PROXY TCP4 203.0.113.9 198.51.100.1 5555 8080\r\n"
    assert P.parse(P.encode_v1(info))[0] == info


BAD = [
    ("v1_no_crlf", b"PROXY TCP4 " + b"1" * 200),
    ("v1_wrong_family", b"PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n"),
    ("v1_missing_field", b"PROXY TCP4 1.2.3.4 1.2.3.5 1\r\n"),
    ("v1_bad_address", b"PROXY TCP4 1.2.3.400 1.2.3.5 1 2\r\n"),
    ("v1_v6_in_tcp4", b"PROXY TCP4 ::1 ::1 1 2\r\n"),
    ("v1_bad_port", b"PROXY TCP4 1.2.3.4 1.2.3.5 65536 2\r\n"),
    ("v1_leading_zero_port", b"PROXY TCP4 1.2.3.4 1.2.3.5 01 2\r\n"),
    ("v1_not_ascii", b"PROXY TCP4 1.2.3.\xff 1.2.3.5 1 2\r\n"),
    ("v2_version_1", struct.pack(">12sBBH", P.V2_SIGNATURE, 0x11, 0x11, 12) + b"\0" * 12),
    ("v2_command_2", struct.pack(">12sBBH", P.V2_SIGNATURE, 0x22, 0x11, 12) + b"\0" * 12),
    ("v2_too_long", struct.pack(">12sBBH", P.V2_SIGNATURE, 0x21, 0x11, 5000)),
    ("v2_short_ipv4", struct.pack(">12sBBH", P.V2_SIGNATURE, 0x21, 0x11, 4) + b"\0" * 4),
    ("v2_short_ipv6", struct.pack(">12sBBH", P.V2_SIGNATURE, 0x21, 0x21, 12) + b"\0" * 12),
]


@pytest.mark.parametrize("name,data", BAD, ids=[b[0] for b in BAD])
def test_malformed_headers_raise(name, data):
    with pytest.raises(P.ProxyHeaderError):
        feed(data)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(data=st.one_of(st.binary(max_size=120), st.binary(max_size=100).map(lambda b: b"PROXY " + b),
                      st.binary(max_size=60).map(lambda b: P.V2_SIGNATURE + b)))
def test_fuzz_any_prefix_gives_need_data_a_decision_or_a_protocol_error(data):
    try:
        result = P.parse(data)
    except P.ProxyHeaderError:
        return
    if result is P.NEED_DATA:
        return
    info, used = result
    assert 0 <= used <= len(data)
    assert info is None or isinstance(info, P.ProxyInfo)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(a=st.ip_addresses(v=4), b=st.ip_addresses(v=4), p=st.integers(0, 65535), q=st.integers(0, 65535),
       v6=st.tuples(st.ip_addresses(v=6), st.ip_addresses(v=6)))
def test_fuzz_round_trips(a, b, p, q, v6):
    for info in (P.ProxyInfo(str(a), p, str(b), q), P.ProxyInfo(str(v6[0]), p, str(v6[1]), q)):
        assert P.parse(P.encode_v1(info) + HTTP) == (info, len(P.encode_v1(info)))
        assert P.parse(P.encode_v2(info) + HTTP) == (info, len(P.encode_v2(info)))
