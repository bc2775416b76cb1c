"""The version-6 distribution handshake, both roles, as a sans-IO state machine.

Theory of operation.  Until the handshake completes every packet is
``[len:u16][payload]``.  A is the initiator (it connected), B the acceptor::

    A -> B  send_name   'N' flags:u64 creation:u32 nlen:u16 name
                        (old form 'n' version:u16 flags:u32 name, accepted by B only)
    B -> A  status      's' + ok | ok_simultaneous | nok | not_allowed | alive
    A -> B  (alive)     's' + true | false
    B -> A  challenge   'N' flags:u64 challenge:u32 creation:u32 nlen:u16 name
    A -> B  (old form)  complement 'c' flags_high:u32 creation:u32
    A -> B  reply       'r' challenge_a:u32 digest[16]   digest = md5(cookie + str(challenge_b))
    B -> A  ack         'a' digest[16]                   digest = md5(cookie + str(challenge_a))

then both switch to 4-byte framing (:mod:`.dist`).  An Erlang node answers a wrong
cookie by closing the socket after the reply, so EOF in ``AWAIT_ACK`` is reported as
:class:`~.errors.AuthenticationFailed`.

Use: build a :class:`Handshake`, write :meth:`Handshake.initiate` (initiator), then feed
every received chunk to :meth:`Handshake.receive_data` (``b""`` = EOF) and write the
bytes it returns.  It returns events: :class:`Established` (then ``leftover`` holds
bytes that already belong to the connected phase) or :class:`Rejected` (the acceptor
refused the peer: write the status bytes, then close).  A peer breaking the protocol
raises :class:`~.errors.ErlangProtocolError`; a refusal raises
:class:`~.errors.ConnectionRejected` / :class:`~.errors.NotAllowed`; a wrong cookie
raises :class:`~.errors.AuthenticationFailed`.  After any exception the machine is in
``ERROR`` and refuses further input.

The acceptor asks an injected ``status_policy(peer_name) -> str`` what to answer
(``"ok"``, ``"ok_simultaneous"``, ``"nok"``, ``"alive"``, ``"not_allowed"``), so the
node's knowledge of its other connections stays out of here; :func:`simultaneous_status`
is Erlang's rule for two nodes connecting to each other at once.  The challenge comes
from an injected ``challenge_source() -> int`` (tests pass a constant).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import struct
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple, Union

from . import flags as dflags
from .errors import AuthenticationFailed, ConnectionRejected, ErlangProtocolError, NotAllowed

#: Largest handshake packet we accept (names are at most 255 + 1 + 255 bytes).
DEFAULT_MAX_PACKET = 4096
VERSION = 6
OLD_VERSION = 5


class Role(enum.Enum):
    INITIATOR = "initiator"
    ACCEPTOR = "acceptor"


class State(enum.Enum):
    # initiator
    SEND_NAME = "send_name"
    AWAIT_STATUS = "await_status"
    AWAIT_CHALLENGE = "await_challenge"
    AWAIT_ACK = "await_ack"
    # acceptor
    AWAIT_NAME = "await_name"
    AWAIT_ALIVE_ANSWER = "await_alive_answer"
    AWAIT_COMPLEMENT = "await_complement"
    AWAIT_REPLY = "await_reply"
    # both
    ESTABLISHED = "established"
    CLOSED = "closed"  # we refused the peer (Rejected)
    ERROR = "error"


@dataclass(frozen=True)
class Established:
    peer_name: str
    peer_flags: int
    peer_creation: int


@dataclass(frozen=True)
class Rejected:
    """The acceptor refused the peer with ``status`` (already in the returned bytes)."""

    peer_name: str
    status: str
    reason: str


Event = Union[Established, Rejected]

REFUSING_STATUSES = ("nok", "not_allowed")
ACCEPTING_STATUSES = ("ok", "ok_simultaneous")


def digest(challenge: int, cookie: bytes) -> bytes:
    """MD5 of the cookie followed by the challenge in decimal (as unsigned 32-bit)."""
    return hashlib.md5(cookie + str(challenge & 0xFFFFFFFF).encode("ascii")).digest()


def simultaneous_status(our_name: str, peer_name: str) -> str:
    """Erlang's rule when ``peer_name`` connects while we are connecting to it:
    the node whose name compares greater keeps its own attempt."""
    return "nok" if our_name > peer_name else "ok_simultaneous"


def _always_ok(peer_name: str) -> str:
    return "ok"


def _random_challenge() -> int:
    return secrets.randbits(32)


def _packet(payload: bytes) -> bytes:
    return struct.pack(">H", len(payload)) + payload


class Handshake:
    """One side of one handshake.

    ``node_name``: our full name; ``cookie``: str or bytes; ``flags``: what we send
    (:func:`.flags.our_flags`); ``creation``: ours, from EPMD; ``expected_peer``: the
    name the initiator dialled (the challenge must carry it); ``required_flags``: what
    the peer must have (OTP 25's mandatory set by default).
    """

    def __init__(
        self,
        role: Role,
        node_name: str,
        cookie: Union[str, bytes],
        flags: int,
        creation: int,
        *,
        expected_peer: Optional[str] = None,
        challenge_source: Callable[[], int] = _random_challenge,
        status_policy: Callable[[str], str] = _always_ok,
        required_flags: int = dflags.REQUIRED,
        max_packet: int = DEFAULT_MAX_PACKET,
    ) -> None:
        self.role = role
        self.node_name = node_name
        self.cookie = cookie.encode("utf-8") if isinstance(cookie, str) else bytes(cookie)
        self.flags = flags
        self.creation = creation
        self.expected_peer = expected_peer
        self.challenge_source = challenge_source
        self.status_policy = status_policy
        self.required_flags = required_flags
        self.max_packet = max_packet
        self.state = State.SEND_NAME if role is Role.INITIATOR else State.AWAIT_NAME
        self.peer_name: Optional[str] = expected_peer
        self.peer_flags = 0
        self.peer_creation = 0
        self.status: Optional[str] = None
        self.leftover = b""
        self._buf = bytearray()
        self._our_challenge = 0
        self._old_form = False

    # ---- public interface

    def initiate(self) -> bytes:
        """Initiator only: the ``send_name`` packet (always the version-6 ``N`` form)."""
        if self.role is not Role.INITIATOR or self.state is not State.SEND_NAME:
            raise RuntimeError("initiate() is for a fresh initiator (state %s)" % self.state.value)
        name = self.node_name.encode("utf-8")
        self.state = State.AWAIT_STATUS
        return _packet(b"N" + struct.pack(">QIH", self.flags, self.creation, len(name)) + name)

    def receive_data(self, data: bytes) -> Tuple[bytes, List[Event]]:
        """Feed received bytes (``b""`` = EOF); return (bytes to send, events)."""
        if self.state in (State.ESTABLISHED, State.CLOSED):
            raise RuntimeError("handshake already finished (%s)" % self.state.value)
        if self.state is State.ERROR:
            raise RuntimeError("handshake failed earlier")
        if self.state is State.SEND_NAME:
            raise RuntimeError("call initiate() first")
        if not data:
            self._fail_eof()
        self._buf += data
        out: List[bytes] = []
        events: List[Event] = []
        try:
            while self.state not in (State.ESTABLISHED, State.CLOSED):
                payload = self._next_packet()
                if payload is None:
                    break
                self._handle(payload, out, events)
        except Exception:
            self.state = State.ERROR
            raise
        if self.state in (State.ESTABLISHED, State.CLOSED):
            self.leftover = bytes(self._buf)
            self._buf.clear()
        return b"".join(out), events

    # ---- internals

    def _peer(self) -> str:
        return self.peer_name or "the peer"

    def _error(self, message: str) -> ErlangProtocolError:
        return ErlangProtocolError("handshake with %s: %s" % (self._peer(), message))

    def _fail_eof(self) -> None:
        state = self.state
        self.state = State.ERROR
        if state is State.AWAIT_ACK:
            raise AuthenticationFailed(
                "%s closed the connection after our challenge reply: "
                "the cookies do not match" % self._peer()
            )
        if state is State.AWAIT_STATUS:
            raise ConnectionRejected(
                "%s closed the connection without answering our name "
                "(a version mismatch, or our name style differs from its own)" % self._peer()
            )
        raise ErlangProtocolError("handshake with %s: connection closed in state %s" % (self._peer(), state.value))

    def _next_packet(self) -> Optional[bytes]:
        buf = self._buf
        if len(buf) < 2:
            return None
        (n,) = struct.unpack_from(">H", buf)
        if n == 0:
            raise self._error("empty handshake packet")
        if n > self.max_packet:
            raise self._error("handshake packet of %d bytes (limit %d)" % (n, self.max_packet))
        if len(buf) < 2 + n:
            return None
        payload = bytes(buf[2 : 2 + n])
        del buf[: 2 + n]
        return payload

    def _handle(self, p: bytes, out: List[bytes], events: List[Event]) -> None:
        tag = p[0]
        st = self.state
        if st is State.AWAIT_STATUS:
            if tag != ord("s"):
                raise self._error("expected a status ('s'), got tag %r" % chr(tag))
            self._on_status(p[1:].decode("latin-1"), out)
        elif st is State.AWAIT_CHALLENGE:
            if tag != ord("N"):
                raise self._error("expected a version-6 challenge ('N'), got tag %r" % chr(tag))
            self._on_challenge(p, out)
        elif st is State.AWAIT_ACK:
            if tag != ord("a"):
                raise self._error("expected a challenge ack ('a'), got tag %r" % chr(tag))
            if len(p) != 17:
                raise self._error("challenge ack of %d bytes, expected 17" % len(p))
            if p[1:] != digest(self._our_challenge, self.cookie):
                raise AuthenticationFailed("%s sent a wrong digest: the cookies do not match" % self._peer())
            self.state = State.ESTABLISHED
            events.append(Established(self._peer(), self.peer_flags, self.peer_creation))
        elif st is State.AWAIT_NAME:
            self._on_name(p, out, events)
        elif st is State.AWAIT_ALIVE_ANSWER:
            if tag != ord("s"):
                raise self._error("expected 's' true/false after our 'alive', got tag %r" % chr(tag))
            answer = p[1:]
            if answer == b"true":
                self._send_challenge(out)
            elif answer == b"false":
                self.state = State.CLOSED
                events.append(Rejected(self._peer(), "alive", "the peer gave up: it still has a connection to us"))
            else:
                raise self._error("answer to 'alive' must be true or false, got %r" % answer)
        elif st is State.AWAIT_COMPLEMENT:
            if tag != ord("c"):
                raise self._error("expected a complement ('c') after the old 'n' name, got tag %r" % chr(tag))
            if len(p) < 9:
                raise self._error("complement of %d bytes, expected 9" % len(p))
            high, creation = struct.unpack_from(">II", p, 1)
            self.peer_flags |= high << 32
            self.peer_creation = creation
            self.state = State.AWAIT_REPLY
        elif st is State.AWAIT_REPLY:
            if tag != ord("r"):
                raise self._error("expected a challenge reply ('r'), got tag %r" % chr(tag))
            if len(p) != 21:
                raise self._error("challenge reply of %d bytes, expected 21" % len(p))
            (their_challenge,) = struct.unpack_from(">I", p, 1)
            if p[5:] != digest(self._our_challenge, self.cookie):
                raise AuthenticationFailed("%s sent a wrong digest: the cookies do not match" % self._peer())
            out.append(_packet(b"a" + digest(their_challenge, self.cookie)))
            self.state = State.ESTABLISHED
            events.append(Established(self._peer(), self.peer_flags, self.peer_creation))
        else:  # pragma: no cover - guarded by receive_data
            raise RuntimeError("unexpected state %s" % st)

    # initiator side

    def _on_status(self, status: str, out: List[bytes]) -> None:
        self.status = status
        if status in ACCEPTING_STATUSES:
            self.state = State.AWAIT_CHALLENGE
        elif status == "alive":
            # We have no other connection to this peer, so ours is the live one.
            out.append(_packet(b"strue"))
            self.state = State.AWAIT_CHALLENGE
        elif status == "not_allowed":
            raise NotAllowed("%s refused us: not_allowed (our flags or name)" % self._peer(), status)
        elif status == "nok":
            raise ConnectionRejected(
                "%s refused us: nok (it is connecting to us at the same time)" % self._peer(), status
            )
        elif status.startswith("named:"):
            raise self._error("unexpected 'named:' status: we never ask to be named")
        else:
            raise ConnectionRejected("%s refused us with status %r" % (self._peer(), status), status)

    def _on_challenge(self, p: bytes, out: List[bytes]) -> None:
        if len(p) < 19:
            raise self._error("challenge of %d bytes is too short" % len(p))
        flags, challenge, creation, nlen = struct.unpack_from(">QIIH", p, 1)
        if len(p) < 19 + nlen:
            raise self._error("challenge name of %d bytes overruns the packet" % nlen)
        name = self._decode_name(p[19 : 19 + nlen])
        if self.expected_peer is not None and name != self.expected_peer:
            raise self._error("we dialled %s but %s answered" % (self.expected_peer, name))
        self.peer_name = name
        self._check_flags(flags)
        self.peer_flags = flags
        self.peer_creation = creation
        self._our_challenge = self.challenge_source() & 0xFFFFFFFF
        out.append(_packet(b"r" + struct.pack(">I", self._our_challenge) + digest(challenge, self.cookie)))
        self.state = State.AWAIT_ACK

    # acceptor side

    def _on_name(self, p: bytes, out: List[bytes], events: List[Event]) -> None:
        tag = p[0]
        if tag == ord("N"):
            if len(p) < 15:
                raise self._error("send_name of %d bytes is too short" % len(p))
            flags, creation, nlen = struct.unpack_from(">QIH", p, 1)
            if len(p) < 15 + nlen:
                raise self._error("name of %d bytes overruns the packet" % nlen)
            name = self._decode_name(p[15 : 15 + nlen])  # trailing bytes are ignored
        elif tag == ord("n"):
            if len(p) < 7:
                raise self._error("old send_name of %d bytes is too short" % len(p))
            version, flags = struct.unpack_from(">HI", p, 1)
            if version != OLD_VERSION:
                raise self._error("distribution version %d in the old 'n' name (we speak 5 and 6)" % version)
            name = self._decode_name(p[7:])
            creation = 0
            self._old_form = True
        else:
            raise self._error("expected send_name ('N' or 'n'), got tag %r" % chr(tag))
        self.peer_name = name
        self.peer_flags = flags
        self.peer_creation = creation
        missing = dflags.missing_required(flags, self.required_flags)
        if not flags & dflags.HANDSHAKE_23:
            missing |= dflags.HANDSHAKE_23
        if missing:
            out.append(_packet(b"snot_allowed"))
            self.state = State.CLOSED
            events.append(Rejected(name, "not_allowed", "missing flags %s" % ", ".join(dflags.names(missing))))
            return
        if "@" not in name:
            out.append(_packet(b"snot_allowed"))
            self.state = State.CLOSED
            events.append(Rejected(name, "not_allowed", "node name %r has no host part" % name))
            return
        status = self.status_policy(name)
        self.status = status
        out.append(_packet(b"s" + status.encode("ascii")))
        if status in ACCEPTING_STATUSES:
            self._send_challenge(out)
        elif status == "alive":
            self.state = State.AWAIT_ALIVE_ANSWER
        else:
            self.state = State.CLOSED
            events.append(Rejected(name, status, "refused by our status policy"))

    def _send_challenge(self, out: List[bytes]) -> None:
        self._our_challenge = self.challenge_source() & 0xFFFFFFFF
        name = self.node_name.encode("utf-8")
        out.append(
            _packet(b"N" + struct.pack(">QIIH", self.flags, self._our_challenge, self.creation, len(name)) + name)
        )
        self.state = State.AWAIT_COMPLEMENT if self._old_form else State.AWAIT_REPLY

    # helpers

    def _decode_name(self, raw: bytes) -> str:
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._error("node name is not UTF-8") from None
        if not name:
            raise self._error("empty node name")
        return name

    def _check_flags(self, flags: int) -> None:
        missing = dflags.missing_required(flags, self.required_flags)
        if not flags & dflags.HANDSHAKE_23:
            missing |= dflags.HANDSHAKE_23
        if missing:
            raise NotAllowed(
                "%s lacks distribution flags we require: %s" % (self._peer(), ", ".join(dflags.names(missing))),
                "not_allowed",
            )
