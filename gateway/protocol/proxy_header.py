"""Sans-IO PROXY protocol headers (HAProxy's, versions 1 and 2): who the client really is.

A load balancer in front of the server (HAProxy ``send-proxy``, AWS NLB/ELB, ...) opens
each connection with one header naming the client's address, then the client's bytes
follow (`the spec <https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>`_):

* version 1, text: ``PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\\r\\n`` (``TCP6``, or
  ``UNKNOWN`` with anything up to the CRLF), at most 107 bytes;
* version 2, binary: the 12-byte signature ``\\r\\n\\r\\n\\0\\r\\nQUIT\\n``, version/command,
  family/protocol, a 16-bit length, then the addresses (IPv4 12 bytes, IPv6 36, UNIX
  216) and TLVs (skipped).  ``LOCAL`` (a health check of the balancer itself) and
  unknown families carry no client address.

As in uWSGI (``--enable-proxy-protocol``), the header is optional: a connection that
does not start with one is plain HTTP.  :func:`parse` is called on the first bytes of a
connection until it says something other than :data:`NEED_DATA`::

    result = parse(buf)
    if result is NEED_DATA: wait for more bytes
    info, used = result      # info None: no header (used 0) or one without an address

A header that starts right but is malformed raises :class:`ProxyHeaderError` (the
connection gets a 400 and is closed).
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple, Optional, Tuple, Union

from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1_events import NEED_DATA, Sentinel

__all__ = ["ProxyInfo", "ProxyHeaderError", "parse", "encode_v1", "encode_v2", "NEED_DATA", "V2_SIGNATURE"]

V1_PREFIX = b"PROXY "
#: the longest version 1 header, CRLF included
V1_MAX = 107
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
#: the largest version 2 header accepted (the 16-byte header + addresses and TLVs)
V2_MAX = 16 + 4096
_V2_HEAD = struct.Struct(">12sBBH")


class ProxyHeaderError(RemoteProtocolError):
    """A PROXY header that starts right but is malformed."""


class ProxyInfo(NamedTuple):
    """The client's address and port, and the one it connected to, as the balancer saw them."""

    source: str
    source_port: int
    destination: str
    destination_port: int


Result = Union[Sentinel, Tuple[Optional[ProxyInfo], int]]


def parse(buf: bytes) -> Result:
    """The header at the start of ``buf`` (see the module docstring)."""
    if buf[:6] == V1_PREFIX[: len(buf)] and len(buf) < 6:
        return NEED_DATA
    if buf[:12] == V2_SIGNATURE[: len(buf)] and len(buf) < 16:
        return NEED_DATA
    if buf.startswith(V1_PREFIX):
        return _parse_v1(buf)
    if buf.startswith(V2_SIGNATURE):
        return _parse_v2(buf)
    return None, 0


def _port(text: str) -> int:
    if not text.isdigit() or len(text) > 5 or int(text) > 65535 or (len(text) > 1 and text[0] == "0"):
        raise ProxyHeaderError("PROXY header: bad port %r" % text[:8])
    return int(text)


def _parse_v1(buf: bytes) -> Result:
    end = buf.find(b"\r\n", 0, V1_MAX)
    if end < 0:
        if len(buf) >= V1_MAX:
            raise ProxyHeaderError("PROXY header: no CRLF in its first %d bytes" % V1_MAX)
        return NEED_DATA
    try:
        line = buf[:end].decode("ascii")
    except UnicodeDecodeError:
        raise ProxyHeaderError("PROXY header: not ASCII") from None
    fields = line.split(" ")
    if len(fields) >= 2 and fields[1] == "UNKNOWN":
        return None, end + 2
    if len(fields) != 6 or fields[1] not in ("TCP4", "TCP6"):
        raise ProxyHeaderError("PROXY header: expected 'PROXY TCP4|TCP6 SRC DST SPORT DPORT', got %r" % line[:64])
    version = 4 if fields[1] == "TCP4" else 6
    addresses = []
    for text in fields[2:4]:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise ProxyHeaderError("PROXY header: bad address %r" % text[:48]) from None
        if address.version != version:
            raise ProxyHeaderError("PROXY header: %s is not an IPv%d address" % (text, version))
        addresses.append(str(address))
    return ProxyInfo(addresses[0], _port(fields[4]), addresses[1], _port(fields[5])), end + 2


def _parse_v2(buf: bytes) -> Result:
    _, ver_cmd, fam, length = _V2_HEAD.unpack_from(buf)
    if ver_cmd >> 4 != 2:
        raise ProxyHeaderError("PROXY v2 header: version %d" % (ver_cmd >> 4))
    command = ver_cmd & 0x0F
    if command > 1:
        raise ProxyHeaderError("PROXY v2 header: command %d" % command)
    total = 16 + length
    if total > V2_MAX:
        raise ProxyHeaderError("PROXY v2 header: %d bytes, more than %d" % (total, V2_MAX))
    if len(buf) < total:
        return NEED_DATA
    if command == 0:  # LOCAL: the balancer's own connection
        return None, total
    family, proto = fam >> 4, fam & 0x0F
    body = buf[16:total]
    if family == 1 and proto == 1:  # TCP over IPv4
        if length < 12:
            raise ProxyHeaderError("PROXY v2 header: %d bytes of IPv4 addresses" % length)
        src, dst, sport, dport = struct.unpack_from(">4s4sHH", body)
        return ProxyInfo(str(ipaddress.IPv4Address(src)), sport, str(ipaddress.IPv4Address(dst)), dport), total
    if family == 2 and proto == 1:  # TCP over IPv6
        if length < 36:
            raise ProxyHeaderError("PROXY v2 header: %d bytes of IPv6 addresses" % length)
        src, dst, sport, dport = struct.unpack_from(">16s16sHH", body)
        return ProxyInfo(str(ipaddress.IPv6Address(src)), sport, str(ipaddress.IPv6Address(dst)), dport), total
    return None, total  # UNSPEC, UDP, UNIX: no TCP client address to report


def encode_v1(info: ProxyInfo) -> bytes:
    """A version 1 header (for tests and clients)."""
    kind = "TCP6" if ":" in info.source else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (kind, info.source, info.destination, info.source_port,
                                          info.destination_port)).encode("ascii")


def encode_v2(info: Optional[ProxyInfo], tlvs: bytes = b"") -> bytes:
    """A version 2 header (``info`` None: LOCAL)."""
    if info is None:
        return _V2_HEAD.pack(V2_SIGNATURE, 0x20, 0, len(tlvs)) + tlvs
    if ":" in info.source:
        body = struct.pack(">16s16sHH", ipaddress.IPv6Address(info.source).packed,
                           ipaddress.IPv6Address(info.destination).packed, info.source_port, info.destination_port)
        fam = 0x21
    else:
        body = struct.pack(">4s4sHH", ipaddress.IPv4Address(info.source).packed,
                           ipaddress.IPv4Address(info.destination).packed, info.source_port, info.destination_port)
        fam = 0x11
    return _V2_HEAD.pack(V2_SIGNATURE, 0x21, fam, len(body) + len(tlvs)) + body + tlvs
