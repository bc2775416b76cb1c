"""Connected-state distribution framing: 4-byte packets, ticks, pass-through messages.

After the handshake every packet is ``[len:u32][payload]``.  A zero length is a
*tick* (keep-alive).  Because we never negotiate ``DIST_HDR_ATOM_CACHE`` nor
``FRAGMENTS``, every message is a pass-through packet::

    'p'(112)  131 ControlTuple  [131 Message]

where the message term is present only for the control operations that carry one
(``SEND``, ``REG_SEND``, ``SEND_SENDER``, ``PAYLOAD_*``, ``SPAWN_REQUEST``,
``ALIAS_SEND``...).  Anything else (a distribution header 131 68, fragments) is
refused with :class:`~.errors.ErlangProtocolError`: the peer sent what we did not
negotiate.

:class:`DistReader` turns received bytes into events: :data:`TICK`,
:class:`Message` (control tuple + payload), or :class:`BadMessage` for a packet whose
framing was fine but whose terms did not decode (the connection stays usable: one
broken message fails one call, not the node).  ``max_packet`` bounds what one packet
may claim, so a peer cannot make us buffer without limit.  The ``encode_*`` helpers
build the bytes we send.  No sockets, no clocks, no logging here.
"""

from __future__ import annotations

import struct
from typing import Any, List, NamedTuple, Optional, Union

from . import etf
from .errors import ErlangProtocolError

#: Default bound on one received packet (``--erlang-max-packet``).
DEFAULT_MAX_PACKET = 64 * 1024 * 1024

PASS_THROUGH = 112  # 'p'
TICK_BYTES = b"\x00\x00\x00\x00"

# Control operations (erl_dist_protocol "Protocol between connected nodes").
LINK = 1
SEND = 2
EXIT = 3
UNLINK = 4
NODE_LINK = 5
REG_SEND = 6
GROUP_LEADER = 7
EXIT2 = 8
SEND_TT = 12
EXIT_TT = 13
REG_SEND_TT = 16
EXIT2_TT = 18
MONITOR_P = 19
DEMONITOR_P = 20
MONITOR_P_EXIT = 21
SEND_SENDER = 22
SEND_SENDER_TT = 23
PAYLOAD_EXIT = 24
PAYLOAD_EXIT_TT = 25
PAYLOAD_EXIT2 = 26
PAYLOAD_EXIT2_TT = 27
PAYLOAD_MONITOR_P_EXIT = 28
SPAWN_REQUEST = 29
SPAWN_REQUEST_TT = 30
SPAWN_REPLY = 31
SPAWN_REPLY_TT = 32
ALIAS_SEND = 33
ALIAS_SEND_TT = 34
UNLINK_ID = 35
UNLINK_ID_ACK = 36

#: A *_TT (trace token) operation -> its plain operation; the token is the last element.
TRACE_TOKEN_OPS = {
    SEND_TT: SEND,
    EXIT_TT: EXIT,
    REG_SEND_TT: REG_SEND,
    EXIT2_TT: EXIT2,
    SEND_SENDER_TT: SEND_SENDER,
    PAYLOAD_EXIT_TT: PAYLOAD_EXIT,
    PAYLOAD_EXIT2_TT: PAYLOAD_EXIT2,
    SPAWN_REQUEST_TT: SPAWN_REQUEST,
    SPAWN_REPLY_TT: SPAWN_REPLY,
    ALIAS_SEND_TT: ALIAS_SEND,
}

#: Operations followed by a message term.
PAYLOAD_OPS = frozenset(
    {
        SEND,
        REG_SEND,
        SEND_SENDER,
        PAYLOAD_EXIT,
        PAYLOAD_EXIT2,
        PAYLOAD_MONITOR_P_EXIT,
        SPAWN_REQUEST,
        ALIAS_SEND,
        SEND_TT,
        REG_SEND_TT,
        SEND_SENDER_TT,
        PAYLOAD_EXIT_TT,
        PAYLOAD_EXIT2_TT,
        SPAWN_REQUEST_TT,
        ALIAS_SEND_TT,
    }
)


class _NoPayload:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_PAYLOAD"


#: Payload of a control message that carries none.
NO_PAYLOAD: Any = _NoPayload()


class Tick:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TICK"


TICK = Tick()


class Message(NamedTuple):
    """A decoded pass-through message: the control tuple and its payload."""

    control: tuple
    payload: Any = NO_PAYLOAD

    @property
    def op(self) -> int:
        return self.control[0]


class BadMessage(NamedTuple):
    """A packet that framed correctly but did not decode.

    ``control`` is the control tuple when only the payload was broken (so the
    receiver can answer whoever waits for it), else None; then ``packet`` holds
    the packet and ``offset`` where its payload starts (for
    :func:`~.etf.decode_shallow`).
    """

    reason: str
    control: Optional[tuple] = None
    packet: bytes = b""
    offset: int = 0


Event = Union[Tick, Message, BadMessage]


class DistReader:
    """Sans-IO reader for the connected phase of one connection."""

    def __init__(self, max_packet: int = DEFAULT_MAX_PACKET, atoms: Optional[Any] = None, peer: str = "peer") -> None:
        self.max_packet = max_packet
        self.atoms = atoms
        self.peer = peer
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def receive_data(self, data: bytes) -> List[Event]:
        """Feed received bytes; return the complete events they finish.

        Raises :class:`ErlangProtocolError` when the stream itself is broken (a
        packet over ``max_packet``, a non pass-through packet): the connection must
        then be closed.
        """
        buf = self._buf
        view: Union[bytes, bytearray]
        if buf:
            buf += data
            view = buf
        else:
            view = data
        events: List[Event] = []
        n = len(view)
        off = 0
        unpack = struct.unpack_from
        max_packet = self.max_packet
        while n - off >= 4:
            (size,) = unpack(">I", view, off)
            if size == 0:
                events.append(TICK)
                off += 4
                continue
            if size > max_packet:
                raise ErlangProtocolError(
                    "%s announced a %d-byte packet (limit %d, see --erlang-max-packet)" % (self.peer, size, max_packet)
                )
            end = off + 4 + size
            if end > n:
                break
            if view[off + 4] != PASS_THROUGH:
                raise ErlangProtocolError(
                    "%s sent a packet of type %d; only pass-through 'p' packets are spoken here "
                    "(DIST_HDR_ATOM_CACHE and FRAGMENTS were not negotiated)" % (self.peer, view[off + 4])
                )
            events.append(self._decode(bytes(view[off + 5 : end])))
            off = end
        if buf:
            del buf[:off]
        elif off < n:
            buf += view[off:]
        return events

    def _decode(self, packet: bytes) -> Event:
        atoms = self.atoms
        try:
            control, end = etf.decode_from(packet, 0, atoms=atoms)
        except etf.ETFError as e:
            return BadMessage("%s sent an undecodable control term: %s" % (self.peer, e))
        if type(control) is not tuple or not control or type(control[0]) is not int:
            return BadMessage("%s sent a control message that is not a tuple with an operation: %r" % (self.peer, control))
        if end == len(packet):
            if control[0] in PAYLOAD_OPS:
                return BadMessage("%s sent operation %d without its message" % (self.peer, control[0]), control)
            return Message(control)
        try:
            payload, end2 = etf.decode_from(packet, end, atoms=atoms)
        except etf.ETFError as e:
            return BadMessage("%s sent an undecodable message: %s" % (self.peer, e), control, packet, end)
        if end2 != len(packet):
            return BadMessage("%s sent %d trailing bytes after the message" % (self.peer, len(packet) - end2), control)
        return Message(control, payload)


_PACK_LEN = struct.Struct(">I").pack
#: 'p' 131 SMALL_TUPLE(5) SMALL_INT(31): the head of a SPAWN_REPLY packet's control
_SPAWN_REPLY_HEAD = b"p\x83h\x05a\x1f"
#: 'p' 131 SMALL_TUPLE(4) SMALL_INT(28): PAYLOAD_MONITOR_P_EXIT
_PAYLOAD_MONITOR_P_EXIT_HEAD = b"p\x83h\x04a\x1c"


def encode_spawn_reply(req_id: Any, to: Any, flags: int, result: Any) -> bytes:
    """The packet ``{SPAWN_REPLY, ReqId, To, Flags, Result}`` (Result: the new pid or an
    error atom): the hot path of every ``rpc:call`` into us, spliced by hand."""
    enc = etf.encode_body
    body = b"".join((_SPAWN_REPLY_HEAD, enc(req_id), enc(to), etf.encode_body(flags), enc(result)))
    return _PACK_LEN(len(body)) + body


def encode_payload_monitor_exit(target: Any, watcher: Any, ref: Any, reason: Any) -> bytes:
    """The packet ``{PAYLOAD_MONITOR_P_EXIT, Target, Watcher, Ref}`` + ``Reason``."""
    enc = etf.encode_body
    body = b"".join((_PAYLOAD_MONITOR_P_EXIT_HEAD, enc(target), enc(watcher), enc(ref), etf.encode(reason)))
    return _PACK_LEN(len(body)) + body


def frame(body: bytes) -> bytes:
    """``[len:u32] body``."""
    return struct.pack(">I", len(body)) + body


def encode_message(control: tuple, payload: Any = NO_PAYLOAD) -> bytes:
    """A whole pass-through packet for ``control`` (and ``payload`` if given)."""
    if payload is NO_PAYLOAD:
        body = b"p" + etf.encode(control)
    else:
        body = b"p" + etf.encode(control) + etf.encode(payload)
    return struct.pack(">I", len(body)) + body


def encode_prefixed(control_bytes: bytes, payload: Any = NO_PAYLOAD) -> bytes:
    """Like :func:`encode_message` with the control term already encoded (with 131)."""
    if payload is NO_PAYLOAD:
        body = b"p" + control_bytes
    else:
        body = b"p" + control_bytes + etf.encode(payload)
    return struct.pack(">I", len(body)) + body
