"""The subscription packet and the key -> nodes table (gateway.router.subscription), against
datagrams a real uWSGI 2.0.31 sent (tests/fixtures/subscription/)."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from gateway.protocol.uwsgi import encode_packet, encode_vars
from gateway.router import subscription
from gateway.router.subscription import (
    SUBSCRIBE,
    UNSUBSCRIBE,
    Subscription,
    SubscriptionError,
    SubscriptionTable,
    encode_subscription,
    parse_subscription,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "subscription")


def fixture(name: str) -> bytes:
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def packet(pairs, modifier1=224, modifier2=0) -> bytes:
    return encode_packet(modifier1, encode_vars(pairs), modifier2)


def sub(key="a.example", address="127.0.0.1:3031", weight=1, command=SUBSCRIBE) -> Subscription:
    return Subscription(command, key, address, weight=weight)


# -- the packet ---------------------------------------------------------------------------

def test_a_real_uwsgi_announce_parses_and_our_encoding_is_byte_identical():
    raw = fixture("uwsgi-2.0.31-subscribe.bin")
    s = parse_subscription(raw)
    assert (s.command, s.key, s.address, s.cores, s.load) == (SUBSCRIBE, "real.example", "127.0.0.1:7521", 1, 0)
    assert s.weight == 1  # uWSGI announces weight 0 by default: the router counts it as 1
    ours = encode_subscription(Subscription(SUBSCRIBE, "real.example", "127.0.0.1:7521", cores=1, weight=0))
    assert ours == raw


def test_a_real_uwsgi_unsubscribe_is_modifier2_1():
    s = parse_subscription(fixture("uwsgi-2.0.31-unsubscribe.bin"))
    assert (s.command, s.key, s.address) == (UNSUBSCRIBE, "real.example", "127.0.0.1:7521")


def test_extra_vars_come_last():
    raw = encode_subscription(sub(), extra=[("sni_key", "/k.pem")])
    assert raw.endswith(b"\x07\x00sni_key\x06\x00/k.pem")
    assert parse_subscription(raw).key == "a.example"


@pytest.mark.parametrize("raw, why", [
    (b"\xe0\x00", "shorter than a uwsgi header"),
    (packet([("key", "k"), ("address", "10.0.0.1:1")], modifier1=0), "not a subscription packet"),
    (packet([("key", "k"), ("address", "10.0.0.1:1")], modifier2=7), "unknown subscription command"),
    (packet([("key", "k"), ("address", "10.0.0.1:1")]) + b"x", "announces"),
    (packet([("address", "10.0.0.1:1")]), "without a key"),
    (packet([("key", "k")]), "without an address"),
    (packet([("key", "k" * 256), ("address", "10.0.0.1:1")]), "key of 256 bytes"),
    (packet([("key", "k"), ("address", "10.0.0.1:1"), ("weight", "x")]), "weight is not a number"),
    (packet([("key", "k"), ("address", "10.0.0.1:1"), ("modifier1", "300")]), "over 255"),
    (packet([("key", "k"), ("address", "10.0.0.1:1"), ("sign", "xx"), ("unix", "1")]), "signed"),
    (b"\xe0\x04\x00\x00\x03\x00ke", "runs past the end"),
    (b"\xe0" + b"\x00" * 5000, "over 4096"),
])
def test_bad_datagrams_are_refused_with_a_reason(raw, why):
    with pytest.raises(SubscriptionError, match=why):
        parse_subscription(raw)


@pytest.mark.parametrize("address, why", [
    ("evil.example:3031", "not an IPv4 address"),  # a name: resolving it would stop the router's loop
    ("127.0.0.1:99999", "port is not a number"),
    ("127.0.0.1:http", "port is not a number"),
    ("127.0.0.1:", "port is not a number"),
    ("[::1]:0", "port is not a number"),
    ("[evil.example]:3031", "not an IPv6 address"),
    ("[127.0.0.1]:3031", "not an IPv6 address"),
    ("::1:3031", "not an IPv4 address"),
    ("/" + "x" * 200, "over 107 bytes"),
    ("@", "not an @abstract"),
])
def test_announced_addresses_the_router_cannot_connect_to_without_a_lookup_are_refused(address, why):
    with pytest.raises(SubscriptionError, match=why):
        parse_subscription(packet([("key", "k"), ("address", address)]))


@pytest.mark.parametrize("address", ["127.0.0.1:3031", ":3031", "[::1]:3031", "/run/app.sock", "app.sock", "@app"])
def test_numeric_and_unix_addresses_are_accepted(address):
    assert parse_subscription(packet([("key", "k"), ("address", address)])).address == address


# -- the table ----------------------------------------------------------------------------

def test_new_refreshed_and_removed_nodes():
    t = SubscriptionTable(tolerance=17)
    assert t.apply(sub(), 100.0) == "a.example => new node: 127.0.0.1:3031"
    assert t.apply(sub(weight=5), 105.0) is None  # a refresh: no log line, values updated
    node = t.keys["a.example"][0]
    assert (node.weight, node.last_check) == (5, 105.0)
    assert t.apply(sub(command=UNSUBSCRIBE, address="127.0.0.1:9"), 106.0) is None  # unknown node
    assert t.apply(sub(command=UNSUBSCRIBE), 106.0) == "a.example => removing node 127.0.0.1:3031"
    assert t.keys == {} and t.hits == {}
    assert t.pick("a.example") is None


def test_nodes_silent_longer_than_the_tolerance_expire():
    t = SubscriptionTable(tolerance=10)
    t.apply(sub(address="n1:1"), 100.0)
    t.apply(sub(address="n2:1"), 100.0)
    t.apply(sub(address="n2:1"), 108.0)  # n2 keeps announcing
    assert t.expire(110.0) == []
    assert t.expire(110.5) == ["a.example => marking n1:1 as failed (no announce received in 10 seconds)"]
    assert [n.address for n in t.keys["a.example"]] == ["n2:1"]
    assert len(t.expire(119.0)) == 1 and t.keys == {}


def test_weighted_round_robin_honours_the_weights_and_interleaves():
    t = SubscriptionTable()
    t.apply(sub(address="heavy:1", weight=3), 0)
    t.apply(sub(address="light:1", weight=1), 0)
    picks = [t.pick("a.example").address for _ in range(8)]
    assert Counter(picks) == {"heavy:1": 6, "light:1": 2}
    assert picks[:4].count("light:1") == 1  # spread over each cycle of 4
    assert t.hits["a.example"] == 8
    assert sum(n.requests for n in t.keys["a.example"]) == 8


def test_pick_skips_the_nodes_already_tried():
    t = SubscriptionTable()
    t.apply(sub(address="n1:1"), 0)
    t.apply(sub(address="n2:1"), 0)
    first = t.pick("a.example").address
    assert t.pick("a.example", exclude=[first]).address != first
    assert t.pick("a.example", exclude=["n1:1", "n2:1"]) is None


def test_a_failed_node_leaves_every_key_until_it_announces_again():
    t = SubscriptionTable()
    t.apply(sub(key="k1", address="n1:1"), 0)
    t.apply(sub(key="k2", address="n1:1"), 0)
    t.apply(sub(key="k2", address="n2:1"), 0)
    assert t.mark_failed("n1:1") is True
    assert list(t.keys) == ["k2"] and [n.address for n in t.keys["k2"]] == ["n2:1"]
    assert t.mark_failed("n1:1") is False
    assert t.apply(sub(key="k1", address="n1:1"), 1) == "k1 => new node: n1:1"


def test_the_table_is_bounded():
    t = SubscriptionTable(max_keys=2, max_nodes=2)
    t.apply(sub(key="k1"), 0)
    t.apply(sub(key="k2"), 0)
    with pytest.raises(SubscriptionError, match="already 2 keys"):
        t.apply(sub(key="k3"), 0)
    t.apply(sub(key="k1", address="n2:1"), 0)
    with pytest.raises(SubscriptionError, match="already 2 nodes"):
        t.apply(sub(key="k1", address="n3:1"), 0)


def test_the_table_is_bounded_in_all_not_only_per_key():
    # 4096 keys x 64 nodes was the only bound: a flood of announces could fill 260,000 nodes
    t = SubscriptionTable(max_keys=10, max_nodes=10, max_total=15)
    for i in range(15):
        t.apply(sub(key="k%d" % (i // 8), address="10.0.0.1:%d" % (i + 1)), 0)
    with pytest.raises(SubscriptionError, match="already 15 nodes in all"):
        t.apply(sub(key="k1", address="10.0.0.2:1"), 0)
    with pytest.raises(SubscriptionError, match="already 15 nodes in all"):
        t.apply(sub(key="k9", address="10.0.0.2:1"), 0)
    assert sorted(t.keys) == ["k0", "k1"]  # the refused new key left nothing behind
    t.apply(sub(key="k0", address="10.0.0.1:1", command=UNSUBSCRIBE), 0)
    t.apply(sub(key="k9", address="10.0.0.2:1"), 0)  # room again
    assert t.mark_failed("10.0.0.2:1") and "k9" not in t.keys
    assert subscription.MAX_NODES <= 16384


def test_stats_follow_uwsgis_subscriptions_list():
    t = SubscriptionTable()
    t.apply(Subscription(SUBSCRIBE, "k", "n:1", modifier1=5, cores=4, load=2, weight=2), 1234.5)
    t.pick("k")
    assert t.stats() == [{"key": "k", "hits": 1, "nodes": [{
        "name": "n:1", "modifier1": 5, "modifier2": 0, "last_check": 1234, "requests": 1, "cores": 4,
        "load": 2, "weight": 2, "failcount": 0}]}]


def test_times_are_the_callers_monotonic_clock_and_stats_show_unix_times():
    # the routers pass time.monotonic(): a wall-clock jump neither keeps dead nodes nor drops live ones
    t = SubscriptionTable(tolerance=30)
    t.apply(Subscription(SUBSCRIBE, "k", "n:1"), 500.0)  # monotonic seconds
    assert t.stats(wall_offset=1_700_000_000.0)[0]["nodes"][0]["last_check"] == 1_700_000_500
    assert t.expire(529.0) == [] and t.expire(531.0) != []
