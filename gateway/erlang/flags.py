"""The distribution flags: one table, and the values this node advertises and requires.

Every flag the handshake cares about lives in :data:`TABLE`, with whether OTP 25
and OTP 26+ refuse a peer without it and whether we send it.  Two traps this table
exists to avoid (see ``shared/reference/erlang.md`` section 1.4):

* ``MANDATORY_25_DIGEST`` is bit 26 (``0x4000000``); the OTP docs' "1 bsl 36" is
  wrong.  We send it *and* every bit it stands for.
* ``SPAWN`` (bit 32) is what makes ``rpc:call`` from OTP 25+ reach us at all:
  without it Erlang answers ``{badrpc, notsup}`` and sends nothing.

We never set ``DIST_HDR_ATOM_CACHE`` nor ``FRAGMENTS``, so every message travels as
a pass-through ``p`` packet in both directions.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple


class Flag(NamedTuple):
    name: str
    bit: int
    mandatory_25: bool  # OTP 25 refuses a peer without it
    mandatory_26: bool  # OTP 26, 27, 28 refuse a peer without it
    sent: bool  # we advertise it


#: name, value, mandatory in OTP 25, mandatory in OTP 26+, sent by us
TABLE: Tuple[Flag, ...] = (
    Flag("PUBLISHED", 0x1, False, False, False),  # only in visible mode
    Flag("ATOM_CACHE", 0x2, False, False, False),
    Flag("EXTENDED_REFERENCES", 0x4, True, True, True),
    Flag("DIST_MONITOR", 0x8, False, False, True),
    Flag("FUN_TAGS", 0x10, True, True, True),
    Flag("DIST_MONITOR_NAME", 0x20, False, False, True),
    Flag("HIDDEN_ATOM_CACHE", 0x40, False, False, False),
    Flag("NEW_FUN_TAGS", 0x80, True, True, True),
    Flag("EXTENDED_PIDS_PORTS", 0x100, True, True, True),
    Flag("EXPORT_PTR_TAG", 0x200, True, True, True),
    Flag("BIT_BINARIES", 0x400, True, True, True),
    Flag("NEW_FLOATS", 0x800, True, True, True),
    Flag("UNICODE_IO", 0x1000, False, False, True),
    Flag("DIST_HDR_ATOM_CACHE", 0x2000, False, False, False),  # keeps pass-through
    Flag("SMALL_ATOM_TAGS", 0x4000, False, False, True),
    Flag("UTF8_ATOMS", 0x10000, True, True, True),
    Flag("MAP_TAG", 0x20000, True, True, True),
    Flag("BIG_CREATION", 0x40000, True, True, True),
    Flag("SEND_SENDER", 0x80000, False, False, True),
    Flag("BIG_SEQTRACE_LABELS", 0x100000, False, False, True),
    Flag("PENDING_CONNECT", 0x200000, False, False, False),
    Flag("EXIT_PAYLOAD", 0x400000, False, False, True),
    Flag("FRAGMENTS", 0x800000, False, False, False),  # keeps pass-through
    Flag("HANDSHAKE_23", 0x1000000, True, True, True),
    Flag("UNLINK_ID", 0x2000000, False, True, True),
    Flag("MANDATORY_25_DIGEST", 0x4000000, False, False, True),
    Flag("SPAWN", 1 << 32, False, False, True),
    Flag("NAME_ME", 1 << 33, False, False, False),
    Flag("V4_NC", 1 << 34, False, True, True),
    Flag("ALIAS", 1 << 35, False, False, True),
    Flag("ALTACT_SIG", 1 << 37, False, False, False),  # OTP 28 priority messages
)

_BY_NAME = {f.name: f.bit for f in TABLE}

PUBLISHED = _BY_NAME["PUBLISHED"]
EXTENDED_REFERENCES = _BY_NAME["EXTENDED_REFERENCES"]
DIST_MONITOR = _BY_NAME["DIST_MONITOR"]
EXTENDED_PIDS_PORTS = _BY_NAME["EXTENDED_PIDS_PORTS"]
DIST_HDR_ATOM_CACHE = _BY_NAME["DIST_HDR_ATOM_CACHE"]
UTF8_ATOMS = _BY_NAME["UTF8_ATOMS"]
MAP_TAG = _BY_NAME["MAP_TAG"]
BIG_CREATION = _BY_NAME["BIG_CREATION"]
SEND_SENDER = _BY_NAME["SEND_SENDER"]
EXIT_PAYLOAD = _BY_NAME["EXIT_PAYLOAD"]
FRAGMENTS = _BY_NAME["FRAGMENTS"]
HANDSHAKE_23 = _BY_NAME["HANDSHAKE_23"]
UNLINK_ID = _BY_NAME["UNLINK_ID"]
MANDATORY_25_DIGEST = _BY_NAME["MANDATORY_25_DIGEST"]
SPAWN = _BY_NAME["SPAWN"]
NAME_ME = _BY_NAME["NAME_ME"]
V4_NC = _BY_NAME["V4_NC"]
ALIAS = _BY_NAME["ALIAS"]

#: What OTP 25 requires of a peer (read from a running 25.2.3: ``0x1070F94``).
MANDATORY_25 = sum(f.bit for f in TABLE if f.mandatory_25)
#: What OTP 26+ requires of a peer.
MANDATORY_26 = sum(f.bit for f in TABLE if f.mandatory_26)

#: What we advertise as a hidden node: ``0xD075F5FBC``.
HIDDEN = sum(f.bit for f in TABLE if f.sent)
#: Visible node: the same plus PUBLISHED.
VISIBLE = HIDDEN | PUBLISHED

#: What we require of a peer: the OTP 25 set (everything our codec and the
#: pass-through format rely on).  ``MANDATORY_25_DIGEST`` stands for all of it.
REQUIRED = MANDATORY_25


def our_flags(visible: bool = False) -> int:
    """The flag word we send in ``N`` messages."""
    return VISIBLE if visible else HIDDEN


def effective_peer_flags(flags: int) -> int:
    """The peer's flags with ``MANDATORY_25_DIGEST`` expanded to the set it stands for."""
    if flags & MANDATORY_25_DIGEST:
        flags |= MANDATORY_25
    return flags


def missing_required(peer_flags: int, required: int = REQUIRED) -> int:
    """The bits of ``required`` the peer did not advertise (0 if none)."""
    return required & ~effective_peer_flags(peer_flags)


def names(bits: int) -> Tuple[str, ...]:
    """Names of the flags set in ``bits`` (unknown bits as hex), for error messages."""
    out = []
    rest = bits
    for f in TABLE:
        if bits & f.bit:
            out.append(f.name)
            rest &= ~f.bit
    bit = 1
    while rest:
        if rest & bit:
            out.append(hex(bit))
            rest &= ~bit
        bit <<= 1
    return tuple(out)
