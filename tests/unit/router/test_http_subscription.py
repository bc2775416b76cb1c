"""The HTTP router's subscription mode, without sockets: the table tells when an address is gone,
the pool closes that node's idle connections and keeps no new one, and a picked node's
modifiers go into the uwsgi packet."""

from __future__ import annotations

from types import SimpleNamespace

from gateway.protocol.uwsgi import encode_packet
from gateway.router.http_subscription import NO_NODE, SubscribedConnection, SubscribedPool
from gateway.router.pool import UpstreamPool
from gateway.router.subscription import SUBSCRIBE, UNSUBSCRIBE, Subscription, SubscriptionTable


class FakeLoop:
    def time(self) -> float:
        return 100.0


class FakeUpstream:
    def __init__(self) -> None:
        self.closed = False
        self.owner = object()
        self.idle_since = 0.0

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def sub(key: str, address: str, command: int = SUBSCRIBE, **numbers: int) -> Subscription:
    return Subscription(command, key, address, **numbers)


def test_an_address_is_gone_once_no_key_lists_it():
    table = SubscriptionTable(tolerance=10)
    gone = []
    table.on_gone = gone.append
    table.apply(sub("a", "n1:1"), 0.0)
    table.apply(sub("b", "n1:1"), 0.0)
    table.apply(sub("a", "n2:1"), 0.0)
    table.apply(sub("a", "n1:1"), 0.0)  # a refresh adds no reference
    table.apply(sub("a", "n1:1", UNSUBSCRIBE), 1.0)
    assert gone == [] and table.has_address("n1:1")  # still under b
    table.apply(sub("b", "n1:1", UNSUBSCRIBE), 1.0)
    assert gone == ["n1:1"] and not table.has_address("n1:1")
    assert table.mark_failed("n2:1") and gone == ["n1:1", "n2:1"]
    table.apply(sub("c", "n3:1"), 0.0)
    table.expire(100.0)
    assert gone == ["n1:1", "n2:1", "n3:1"] and table.keys == {}


def test_drop_closes_the_idle_connections_of_one_node():
    pool = UpstreamPool(FakeLoop(), max_idle=8, idle_timeout=5.0)
    a1, a2, b = FakeUpstream(), FakeUpstream(), FakeUpstream()
    pool.put(a1, "a")
    pool.put(a2, "a")
    pool.put(b, "b")
    assert pool.drop("a") == 2 and a1.closed and a2.closed and not b.closed
    assert pool.count == 1 and pool.get("a") is None and pool.get("b") is b
    assert pool.drop("nothing") == 0


def test_the_subscription_pool_keeps_only_nodes_of_the_table():
    table = SubscriptionTable()
    pool = SubscribedPool(FakeLoop(), 8, 5.0, table)
    table.on_gone = pool.drop
    table.apply(sub("k", "n:1"), 0.0)
    kept, late = FakeUpstream(), FakeUpstream()
    assert pool.put(kept, "n:1")
    table.apply(sub("k", "n:1", UNSUBSCRIBE), 0.0)
    assert kept.closed and pool.count == 0  # the node left: its idle connection is closed
    assert not pool.put(late, "n:1") and late.closed  # an answer that ends after it left: not kept
    assert not pool.put(FakeUpstream(), "fallback:1")


def connection(table: SubscriptionTable, modifier1: int = 0, fallback_key: str = "") -> SubscribedConnection:
    """A SubscribedConnection with just what ``_pick`` reads (no loop, no sockets)."""
    conn = SubscribedConnection.__new__(SubscribedConnection)
    conn.router = SimpleNamespace(table=table, fallback_key=fallback_key)
    conn.settings = SimpleNamespace(modifier1=modifier1, modifier2=0)
    conn._key = "k"
    conn._tried = []
    conn._packet = encode_packet(0, b"vars", 0)
    return conn


def test_pick_uses_the_key_then_the_fallback_key_and_sets_the_nodes_modifiers():
    table = SubscriptionTable()
    table.apply(sub("k", "127.0.0.1:3031", modifier1=5, modifier2=9), 0.0)
    table.apply(sub("fb", "127.0.0.1:4000"), 0.0)
    conn = connection(table)
    family, address, spec = conn._pick()
    assert spec == "127.0.0.1:3031" and address == ("127.0.0.1", 3031)
    assert conn._packet[:1] == b"\x05" and conn._packet[3:4] == b"\x09" and conn._packet[4:] == b"vars"
    assert conn._pick() is NO_NODE  # the only node of the key was tried already, no fallback key
    conn = connection(table, modifier1=30, fallback_key="fb")
    conn._key = "unknown"
    assert conn._pick()[2] == "127.0.0.1:4000"
    assert conn._packet[0] == 30  # --http-modifier1 wins over the node's
    assert conn._pick() is NO_NODE
