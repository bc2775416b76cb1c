"""--subscribe-to / --subscribe2 values (gateway.router.subscribe_spec) and the announce
rounds built from them (gateway.process.subscriber.Subscriber)."""

from __future__ import annotations

import socket

import pytest

from gateway.process.subscriber import Subscriber, SubscriberConfigError
from gateway.router.subscribe_spec import (
    SubscribeSpecError,
    SubscribeTarget,
    parse_subscribe2,
    parse_subscribe_to,
    read_keys_file,
)
from gateway.router.subscription import SUBSCRIBE, UNSUBSCRIBE, parse_subscription


@pytest.mark.parametrize("value, expected", [
    ("127.0.0.1:7000:a.example", SubscribeTarget("127.0.0.1:7000", key="a.example")),
    ("127.0.0.1:7000:a.example,5", SubscribeTarget("127.0.0.1:7000", key="a.example", modifier1=5)),
    ("/run/sub.sock:a.example", SubscribeTarget("/run/sub.sock", key="a.example")),
    ("10.0.0.1:3031=127.0.0.1:7000:a.example",
     SubscribeTarget("127.0.0.1:7000", key="a.example", address="10.0.0.1:3031")),
    ("=1=127.0.0.1:7000:a.example", SubscribeTarget("127.0.0.1:7000", key="a.example", socket_index=1)),
    ("127.0.0.1:7000:@/etc/keys", SubscribeTarget("127.0.0.1:7000", keys_file="/etc/keys")),
    ("localhost:7000:a.example:8080", SubscribeTarget("localhost:7000", key="a.example:8080")),
    ("[::1]:7000:a.example", SubscribeTarget("[::1]:7000", key="a.example")),
    ("@sub:a.example", SubscribeTarget("@sub", key="a.example")),
])
def test_subscribe_to_forms(value, expected):
    assert parse_subscribe_to(value) == expected


@pytest.mark.parametrize("value, why", [
    ("127.0.0.1:7000", "expected SERVER:KEY"),
    ("nohost", "expected SERVER:KEY"),
    ("127.0.0.1:7000:", "no key"),
    ("127.0.0.1:x:key", "HOST:PORT, a /unix/path"),
    (":7000:key", "HOST:PORT, a /unix/path"),
    ("127.0.0.1:7000:key,5,/sign.pem", "signed subscriptions"),
    ("127.0.0.1:7000:key,999", "modifier1 must be a number from 0 to 255"),
    ("=x=127.0.0.1:7000:key", "expected =N=SERVER:KEY"),
    ("127.0.0.1:7000:@", "no file name"),
    ("127.0.0.1:7000:" + "k" * 256, "over 255 bytes"),
    ("/" + "s" * 300 + "=127.0.0.1:7000:key", "the announced address is over 255 bytes"),
])
def test_subscribe_to_errors_name_the_option(value, why):
    with pytest.raises(SubscribeSpecError, match=why) as e:
        parse_subscribe_to(value)
    assert str(e.value).startswith("--subscribe-to " + value)


def test_subscribe2_keys():
    t = parse_subscribe2("server=127.0.0.1:7000,key=a.example,addr=10.0.0.1:3031,weight=4,modifier1=5,"
                         "modifier2=2,check=/tmp/maint,sni_key=/k.pem")
    assert t == SubscribeTarget("127.0.0.1:7000", key="a.example", address="10.0.0.1:3031", weight=4, modifier1=5,
                                modifier2=2, check="/tmp/maint", sni=(("sni_key", "/k.pem"),))
    # socket=N wins over addr=, as in uWSGI
    assert parse_subscribe2("server=h:1,key=k,socket=2,addr=x:1") == SubscribeTarget("h:1", key="k", socket_index=2)


@pytest.mark.parametrize("value, why", [
    ("server=h:1", "server= and key= are required"),
    ("key=k", "server= and key= are required"),
    ("server=h:1,key=k,bogus=1", "unknown key 'bogus'"),
    ("server=h:1,key=k,weight", "is not KEY=VALUE"),
    ("server=h:1,key=k,weight=x", "weight must be a number"),
    ("server=h:1,key=k,sign=/p.pem", "signed subscriptions"),
    # the router refuses an address over 255 bytes (announces lost silently); over 65535 the
    # master's announce round raised instead of sending
    ("server=h:1,key=k,addr=" + "a" * 256, "the announced address is over 255 bytes"),
    ("server=h:1,key=k,addr=" + "a" * 70000, "the announced address is over 255 bytes"),
    ("server=h:1,key=k,sni_crt=/" + "c" * 1024, "sni_crt is over 1024 bytes"),
])
def test_subscribe2_errors(value, why):
    with pytest.raises(SubscribeSpecError, match=why):
        parse_subscribe2(value)


def test_keys_file():
    assert read_keys_file("# comment\na.example\n\nb.example,5\nbad,x\n" + "k" * 300 + "\n c.example \n") == [
        ("a.example", 0), ("b.example", 5), ("c.example", 0)]


# -- announce rounds ----------------------------------------------------------------------

def test_a_round_announces_every_key_with_the_instance_values(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("f1.example\nf2.example,7\n")
    targets = [("subscribe-to", parse_subscribe_to("127.0.0.1:7000:a.example")),
               ("subscribe-to", parse_subscribe_to("=1=127.0.0.1:7000:b.example")),
               ("subscribe-to", parse_subscribe_to("127.0.0.1:7000:@%s" % keys)),
               ("subscribe2", parse_subscribe2("server=127.0.0.1:7001,key=c.example,weight=9,modifier2=3"))]
    s = Subscriber(targets, ["127.0.0.1:3031", "127.0.0.1:3032"], cores=8, weight=2)
    subs = [(server, parse_subscription(data)) for server, data in s.datagrams(SUBSCRIBE)]
    assert [(server, x.key, x.address, x.modifier1, x.modifier2, x.cores, x.weight) for server, x in subs] == [
        ("127.0.0.1:7000", "a.example", "127.0.0.1:3031", 0, 0, 8, 2),
        ("127.0.0.1:7000", "b.example", "127.0.0.1:3032", 0, 0, 8, 2),
        ("127.0.0.1:7000", "f1.example", "127.0.0.1:3031", 0, 0, 8, 2),
        ("127.0.0.1:7000", "f2.example", "127.0.0.1:3031", 7, 0, 8, 2),
        ("127.0.0.1:7001", "c.example", "127.0.0.1:3031", 0, 3, 8, 9),
    ]
    assert {parse_subscription(d).command for _, d in s.datagrams(UNSUBSCRIBE)} == {UNSUBSCRIBE}
    keys.write_text("f3.example\n")  # the file is read at each round
    assert [parse_subscription(d).key for _, d in s.datagrams(SUBSCRIBE)][2:4] == ["f3.example", "c.example"]


def test_a_check_file_that_exists_skips_its_subscription(tmp_path):
    flag = tmp_path / "maintenance"
    s = Subscriber([("subscribe2", parse_subscribe2("server=127.0.0.1:7000,key=k,check=%s" % flag))],
                   ["127.0.0.1:3031"], cores=1, weight=0)
    assert len(s.datagrams(SUBSCRIBE)) == 1
    flag.write_text("")
    assert s.datagrams(SUBSCRIBE) == []


def test_an_address_gateways_router_refuses_is_a_startup_warning(gateway_errors):
    # a gateway FastRouter refuses a host name in an announce: the instance says so at start
    # instead of being silently never routed to
    Subscriber([("subscribe2", parse_subscribe2("server=127.0.0.1:7000,key=k,addr=app.internal:3031"))], [], 1, 0)
    assert any("the announced address app.internal:3031 cannot be used by gateway's FastRouter" in r.getMessage()
               for r in gateway_errors.records)
    gateway_errors.clear()
    Subscriber([("subscribe2", parse_subscribe2("server=127.0.0.1:7000,key=k,addr=10.0.0.5:3031"))], [], 1, 0)
    assert not gateway_errors.records


def test_forced_modifier1():
    s = Subscriber([("subscribe-to", parse_subscribe_to("127.0.0.1:7000:k,5"))], ["127.0.0.1:3031"], 1, 0,
                   force_modifier1=9)
    assert parse_subscription(s.datagrams(SUBSCRIBE)[0][1]).modifier1 == 9


def test_no_socket_to_announce_is_a_startup_error():
    with pytest.raises(SubscriberConfigError, match="--subscribe-to: this instance has no socket 1"):
        Subscriber([("subscribe-to", parse_subscribe_to("=1=127.0.0.1:7000:k"))], ["127.0.0.1:3031"], 1, 0)


def test_announce_sends_the_datagrams():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    try:
        server = "127.0.0.1:%d" % rx.getsockname()[1]
        s = Subscriber([("subscribe-to", parse_subscribe_to(server + ":k"))], ["127.0.0.1:3031"], 1, 0)
        s.announce(UNSUBSCRIBE)
        got = parse_subscription(rx.recv(4096))
        assert (got.command, got.key, got.address) == (UNSUBSCRIBE, "k", "127.0.0.1:3031")
        s.close()
    finally:
        rx.close()


def test_server_names_resolve_to_ipv4_first_and_bad_names_fail_at_startup():
    s = Subscriber([("subscribe-to", parse_subscribe_to("localhost:7000:k"))], ["127.0.0.1:3031"], 1, 0)
    assert s.servers["localhost:7000"] == (socket.AF_INET, ("127.0.0.1", 7000))
    s = Subscriber([("subscribe-to", parse_subscribe_to("[::1]:7000:k"))], ["127.0.0.1:3031"], 1, 0)
    assert s.servers["[::1]:7000"][0] == socket.AF_INET6
    with pytest.raises(SubscriberConfigError, match="--subscribe-to: cannot resolve the subscription server"):
        Subscriber([("subscribe-to", parse_subscribe_to("no-such-host.invalid:7000:k"))], ["127.0.0.1:3031"], 1, 0)
