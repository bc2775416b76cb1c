"""The cache replication datagrams (gateway/protocol/cache_udp.py) against datagrams
captured from uWSGI 2.0.31, and their application by a udp server / sending by a node."""

import socket
import time

import pytest

from gateway.protocol.cache_udp import (
    DELETE,
    MAX_DATAGRAM,
    SET,
    CacheChange,
    CacheUdpError,
    decode,
    encode,
)
from gateway.sharedmem.cache import CacheSpec, SharedCache
from gateway.subsystems.cache_udp import CacheUdpConfigError, NodeSender, UdpServer, parse_address

# sent by uWSGI 2.0.31 (--cache2 name=c,items=10,blocksize=64,nodes=127.0.0.1:P) for, in turn,
# cache_set("key", "value"), cache_update("key", "other", 100) at unix time 1796412210,
# cache_del("key"), cache_inc("n", 5) (uWSGI sends the operand, not the result)
CAPTURED = [
    (b"o\x0f\x00\n\x03\x00key\x05\x00value\x01\x000", CacheChange(SET, b"key", b"value", 0)),
    (b"o\x18\x00\n\x03\x00key\x05\x00other\n\x001796412310", CacheChange(SET, b"key", b"other", 1796412310)),
    (b"o\x05\x00\x0b\x03\x00key", CacheChange(DELETE, b"key")),
    (b"o\x10\x00\n\x01\x00n\x08\x00\x05\x00\x00\x00\x00\x00\x00\x00\x01\x000",
     CacheChange(SET, b"n", (5).to_bytes(8, "little"), 0)),
]


@pytest.mark.parametrize("data,change", CAPTURED)
def test_captured_uwsgi_datagrams_decode_and_encode_byte_for_byte(data, change):
    assert decode(data) == change
    if change.op == DELETE:  # ours carry two zero bytes more, so uWSGI's udp server applies them
        assert encode(change) == b"o\x07\x00\x0b\x03\x00key\x00\x00"
        assert decode(encode(change)) == change
    else:
        assert encode(change) == data


def test_a_set_without_its_optional_expiry_decodes():
    assert decode(b"o\x0a\x00\n\x01\x00k\x05\x00value") == CacheChange(SET, b"k", b"value", 0)


@pytest.mark.parametrize("data,why", [
    (b"", "too short"),
    (b"o\x03\x00\x0b\x01", "too short"),
    (b"p\x04\x00\x0b\x01\x00k\x00"[:7], "modifier1"),
    (b"o\x09\x00\x0b\x01\x00k", "header says"),
    (b"o\x03\x00\x0c\x01\x00k", "modifier2"),
    (b"o\x03\x00\x0b\x00\x00k", "key length"),
    (b"o\x03\x00\x0b\x05\x00k", "key length"),
    (b"o\x04\x00\x0b\x01\x00kx", "after the key"),
    (b"o\x05\x00\x0b\x01\x00k\x00\x01", "after the key"),
    (b"o\x03\x00\n\x01\x00k", "no value length"),
    (b"o\x05\x00\n\x01\x00k\x00\x00", "value length"),
    (b"o\x06\x00\n\x01\x00k\x05\x00v", "value length"),
    (b"o\x07\x00\n\x01\x00k\x01\x00v\x01", "truncated expiry"),
    (b"o\x09\x00\n\x01\x00k\x01\x00v\x01\x00x", "bad expiry"),
    (b"o\x09\x00\n\x01\x00k\x01\x00v\x02\x001", "bad expiry"),
    (b"o\x1d\x00\n\x01\x00k\x01\x00v\x15\x00" + b"9" * 21, "bad expiry"),
    (b"o\x1c\x00\n\x01\x00k\x01\x00v\x14\x00" + b"9" * 20, "out of range"),
])
def test_malformed_datagrams_are_refused(data, why):
    with pytest.raises(CacheUdpError, match=why):
        decode(data)


def test_every_truncation_of_a_valid_datagram_is_refused():
    data = CAPTURED[1][0]
    for n in range(len(data)):
        with pytest.raises(CacheUdpError):
            decode(data[:n])


def test_encode_bounds():
    with pytest.raises(CacheUdpError, match="empty key"):
        encode(CacheChange(DELETE, b""))
    with pytest.raises(CacheUdpError, match="empty value"):
        encode(CacheChange(SET, b"k", b""))
    with pytest.raises(CacheUdpError, match="do not fit"):
        encode(CacheChange(SET, b"k", b"v" * 65530))
    with pytest.raises(CacheUdpError, match="do not fit"):
        encode(CacheChange(SET, b"k", b"v" * 70000))
    biggest = CacheChange(SET, b"k", b"v" * (MAX_DATAGRAM - 4 - 2 - 1 - 2 - 2 - 1))
    assert len(encode(biggest)) == MAX_DATAGRAM and decode(encode(biggest)) == biggest
    big_expiry = CacheChange(SET, b"k", b"v", 2 ** 64 - 1)
    assert decode(encode(big_expiry)) == big_expiry


def make(spec="name=c,items=10,blocksize=64,keysize=16"):
    return SharedCache(CacheSpec.parse(spec), 2)


def test_a_udp_server_applies_changes_as_local_updates_with_absolute_expiry():
    c = make()
    server = UdpServer(c, ["127.0.0.1:0"])
    try:
        sent = []
        c.nodes = type("Spy", (), {"send": lambda self, ch: sent.append(ch)})()  # type: ignore[assignment]
        c.set(b"key", b"old")
        sent.clear()
        assert server.apply(CAPTURED[1][0]) is True  # an update, even of an existing key
        assert c.get(b"key") == b"other"
        item = c.items_off + c._index(b"key", __import__("zlib").crc32(b"key")) * c.itemsize
        assert int.from_bytes(c.buf[item + 16: item + 24], "little") == 1796412310  # absolute, kept as sent
        assert server.apply(CAPTURED[2][0]) is True and c.get(b"key") is None
        assert server.apply(b"garbage") is False and server.malformed == 1
        assert sent == []  # received changes are not sent on
    finally:
        server.close()


def test_changes_made_through_the_api_are_sent_to_the_nodes():
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    try:
        port = receiver.getsockname()[1]
        c = make()
        c.nodes = NodeSender("c", ["127.0.0.1:%d" % port])
        before = int(time.time())
        assert c.set(b"a", b"1", 60)
        got = decode(receiver.recv(70000))
        assert got.op == SET and (got.key, got.value) == (b"a", b"1") and before + 60 <= got.expires <= before + 61
        assert c.math("inc", b"n", 5) and c.math("inc", b"n", 2)
        decode(receiver.recv(70000))
        assert decode(receiver.recv(70000)).value == (7).to_bytes(8, "little", signed=True)  # the result
        assert c.delete(b"a")
        assert decode(receiver.recv(70000)) == CacheChange(DELETE, b"a")
        assert not c.delete(b"a") and not c.set(b"n", b"x")  # failures send nothing
        c.update(b"z", b"1")
        assert decode(receiver.recv(70000)).key == b"z"
        c.nodes.close()
    finally:
        receiver.close()


def test_addresses():
    assert parse_address("127.0.0.1:4000", "x", wildcard=False) == ("127.0.0.1", 4000)
    assert parse_address(":4000", "x", wildcard=True) == ("0.0.0.0", 4000)
    for bad in ("4000", "host:", "127.0.0.1:0x", "127.0.0.1:70000"):
        with pytest.raises(CacheUdpConfigError, match="invalid udp address"):
            parse_address(bad, "x", wildcard=False)
    with pytest.raises(CacheUdpConfigError, match="a host is needed"):
        parse_address(":4000", "x", wildcard=False)


def test_refused_changes_are_logged_at_most_once_a_second(caplog):
    import logging

    c = make()
    server = UdpServer(c, ["127.0.0.1:0"])
    try:
        delete_missing = encode(CacheChange(DELETE, b"absent"))
        with caplog.at_level(logging.WARNING, "gateway.error"):
            for _ in range(500):  # a flood from any host that can reach the port
                assert server.apply(delete_missing) is False
        lines = [r.getMessage() for r in caplog.records if "unable to update cache" in r.getMessage()]
        assert len(lines) == 1 and server.refused == 500
        server._refused_logged -= 2  # a second later: one line, with the count of the unsaid ones
        with caplog.at_level(logging.WARNING, "gateway.error"):
            server.apply(delete_missing)
        assert "and 499 more" in caplog.records[-1].getMessage()
    finally:
        server.close()
