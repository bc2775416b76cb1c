"""The one table of distribution flags: the values OTP checks (erlang.md 1.4 and 7)."""

from gateway.erlang import flags


def test_hidden_value_is_the_tested_one():
    assert flags.HIDDEN == 0xD075F5FBC
    assert flags.VISIBLE == 0xD075F5FBD
    assert flags.our_flags() == flags.HIDDEN
    assert flags.our_flags(visible=True) == flags.HIDDEN | flags.PUBLISHED


def test_mandatory_sets_match_otp():
    # read from a running OTP 25.2.3
    assert flags.MANDATORY_25 == 0x1070F94
    # OTP 26+ adds V4_NC and UNLINK_ID
    assert flags.MANDATORY_26 == flags.MANDATORY_25 | (1 << 34) | 0x2000000


def test_trap_bits():
    assert flags.MANDATORY_25_DIGEST == 0x4000000  # not 1 bsl 36 as the docs say
    assert flags.SPAWN == 1 << 32  # rpc:call from OTP 25+ needs it
    assert flags.HIDDEN & flags.SPAWN
    assert flags.HIDDEN & flags.MANDATORY_25_DIGEST
    # pass-through only: never the atom cache header nor fragments
    assert not flags.HIDDEN & flags.DIST_HDR_ATOM_CACHE
    assert not flags.HIDDEN & flags.FRAGMENTS
    assert not flags.HIDDEN & flags.NAME_ME


def test_we_send_every_mandatory_bit_explicitly():
    assert flags.HIDDEN & flags.MANDATORY_26 == flags.MANDATORY_26


def test_table_has_unique_single_bits():
    bits = [f.bit for f in flags.TABLE]
    assert len(bits) == len(set(bits))
    assert all(b & (b - 1) == 0 for b in bits)
    assert len({f.name for f in flags.TABLE}) == len(flags.TABLE)


def test_digest_bit_stands_for_the_otp25_set():
    only = flags.MANDATORY_25_DIGEST | flags.HANDSHAKE_23
    assert flags.missing_required(only) == 0
    assert flags.missing_required(flags.HANDSHAKE_23) == flags.MANDATORY_25 & ~flags.HANDSHAKE_23
    assert flags.missing_required(flags.HIDDEN & ~flags.MAP_TAG) == 0  # the digest bit covers it
    assert flags.missing_required(flags.HIDDEN & ~flags.MAP_TAG & ~flags.MANDATORY_25_DIGEST) == flags.MAP_TAG


def test_names_for_messages():
    assert flags.names(flags.MAP_TAG | flags.SPAWN) == ("MAP_TAG", "SPAWN")
    assert flags.names(1 << 60) == (hex(1 << 60),)
