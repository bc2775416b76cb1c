"""The FastRouter's choice of a subscribed node (gateway.router.fastrouter.FastRouter.candidate)."""

from __future__ import annotations

import asyncio

from gateway.router.fastrouter import FastRouter, FastRouterSettings
from gateway.router.subscription import SUBSCRIBE, Subscription, SubscriptionTable


def test_a_node_whose_address_cannot_be_used_is_dropped_and_the_next_node_serves():
    # a node in the table that parse_upstream cannot read must not fail the requests that
    # pick it: the request goes on to the next node, and the bad node leaves the table
    table = SubscriptionTable()
    table.apply(Subscription(SUBSCRIBE, "k", "127.0.0.1:notaport"), 0)
    table.apply(Subscription(SUBSCRIBE, "k", "127.0.0.1:3031"), 0)
    loop = asyncio.new_event_loop()
    try:
        router = FastRouter(FastRouterSettings([], [], timeout=4.0), loop, table)
        picks = [router.candidate("k", []) for _ in range(4)]
    finally:
        loop.close()
    assert all(p is not None and p[2] == "127.0.0.1:3031" for p in picks)
    assert [n.address for n in table.keys["k"]] == ["127.0.0.1:3031"]
