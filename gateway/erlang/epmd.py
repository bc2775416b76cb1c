"""EPMD messages: registration (ALIVE2) and lookup (PORT_PLEASE2), encode/decode only.

EPMD listens on TCP 4369 (``ERL_EPMD_PORT``).  Every request is ``[len:u16][body]``;
responses are not length-prefixed:

* ``ALIVE2_REQ`` (120) registers our alive name and listening port.  EPMD answers
  ``ALIVE2_X_RESP`` (118, result, creation:u32) when both sides know version 6, or
  ``ALIVE2_RESP`` (121, result, creation:u16) on old EPMDs.  The registration lasts as
  long as that TCP connection: the node keeps it open for its whole life.
* ``PORT_PLEASE2_REQ`` (122) asks for a node's port; ``PORT2_RESP`` (119) answers with
  result 0 and the node's port, type, protocol, versions, name and extra, or a
  non-zero result when the name is unknown.  EPMD then closes.

Parsers take everything received so far and return ``None`` while incomplete, so the
caller can feed bytes as they arrive.  Malformed answers raise
:class:`~gateway.erlang.errors.ErlangProtocolError` (who = "epmd").
"""

from __future__ import annotations

import struct
from typing import NamedTuple, Optional

from .errors import ErlangProtocolError

DEFAULT_PORT = 4369

ALIVE2_REQ = 120
ALIVE2_X_RESP = 118
ALIVE2_RESP = 121
PORT_PLEASE2_REQ = 122
PORT2_RESP = 119

NODE_TYPE_NORMAL = 77  # 'M'
NODE_TYPE_HIDDEN = 72  # 'H'
PROTOCOL_TCP_IPV4 = 0
VERSION = 6


class Alive2Response(NamedTuple):
    result: int  # 0 = ok
    creation: int


class Port2Response(NamedTuple):
    result: int  # 0 = found
    port: int = 0
    node_type: int = 0
    protocol: int = 0
    highest: int = 0
    lowest: int = 0
    name: str = ""
    extra: bytes = b""


def encode_alive2_req(
    port: int,
    alive: str,
    hidden: bool = True,
    extra: bytes = b"",
    highest: int = VERSION,
    lowest: int = VERSION,
) -> bytes:
    """``[len][120, port, type, protocol, highest, lowest, nlen, name, elen, extra]``."""
    name = alive.encode("utf-8")
    body = (
        struct.pack(
            ">BHBBHHH",
            ALIVE2_REQ,
            port,
            NODE_TYPE_HIDDEN if hidden else NODE_TYPE_NORMAL,
            PROTOCOL_TCP_IPV4,
            highest,
            lowest,
            len(name),
        )
        + name
        + struct.pack(">H", len(extra))
        + extra
    )
    return struct.pack(">H", len(body)) + body


def parse_alive2_response(data: bytes) -> Optional[Alive2Response]:
    """Decode the answer to ALIVE2_REQ, or None if more bytes are needed."""
    if not data:
        return None
    tag = data[0]
    if tag == ALIVE2_X_RESP:
        if len(data) < 6:
            return None
        result, creation = struct.unpack_from(">BI", data, 1)
    elif tag == ALIVE2_RESP:
        if len(data) < 4:
            return None
        result, creation = struct.unpack_from(">BH", data, 1)
    else:
        raise ErlangProtocolError("unexpected answer %d to ALIVE2_REQ" % tag, who="epmd")
    return Alive2Response(result, creation)


def encode_port_please2_req(alive: str) -> bytes:
    name = alive.encode("utf-8")
    return struct.pack(">HB", len(name) + 1, PORT_PLEASE2_REQ) + name


def parse_port2_response(data: bytes) -> Optional[Port2Response]:
    """Decode the answer to PORT_PLEASE2_REQ, or None if more bytes are needed."""
    if len(data) < 2:
        return None
    if data[0] != PORT2_RESP:
        raise ErlangProtocolError("unexpected answer %d to PORT_PLEASE2_REQ" % data[0], who="epmd")
    result = data[1]
    if result != 0:
        return Port2Response(result)
    if len(data) < 12:
        return None
    port, node_type, protocol, highest, lowest, nlen = struct.unpack_from(">HBBHHH", data, 2)
    end = 12 + nlen
    if len(data) < end + 2:
        return None
    (elen,) = struct.unpack_from(">H", data, end)
    if len(data) < end + 2 + elen:
        return None
    try:
        name = data[12:end].decode("utf-8")
    except UnicodeDecodeError as e:
        raise ErlangProtocolError("node name in PORT2_RESP is not UTF-8: %s" % e, who="epmd") from None
    return Port2Response(result, port, node_type, protocol, highest, lowest, name, bytes(data[end + 2 : end + 2 + elen]))
