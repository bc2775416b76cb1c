"""Node names: short vs long as Erlang decides, and the per-worker suffix."""

import pytest

from gateway.erlang import names


@pytest.mark.parametrize(
    "given, full, long",
    [
        ("gw", "gw@vm", False),
        ("gw@", "gw@vm", False),
        ("gw@localhost", "gw@localhost", False),
        ("gw@vm", "gw@vm", False),
        ("gw@127.0.0.1", "gw@127.0.0.1", True),
        ("gw@host.example.org", "gw@host.example.org", True),
        ("gw@::1", "gw@::1", True),
    ],
)
def test_parse(given, full, long):
    n = names.parse(given, hostname="vm.example.org")
    assert n.full == full
    assert str(n) == full
    assert n.long is long


@pytest.mark.parametrize("bad", ["", "@host", "a@b@c", "a b@host", "x" * 256 + "@h"])
def test_parse_refuses(bad):
    with pytest.raises(ValueError):
        names.parse(bad, hostname="vm")


def test_bare_name_needs_a_hostname():
    with pytest.raises(ValueError):
        names.parse("gw", hostname="")


def test_per_worker_names():
    base = names.parse("gw@localhost")
    assert names.for_worker(base, 1, 1).full == "gw@localhost"
    assert names.for_worker(base, 1, 4).full == "gw_1@localhost"
    assert names.for_worker(base, 4, 4).full == "gw_4@localhost"
    assert names.for_worker(names.parse("gw@10.0.0.1"), 2, 2).long
    with pytest.raises(ValueError):
        names.for_worker(base, 0, 2)


def test_same_style():
    assert names.same_style(names.parse("a@localhost"), names.parse("b@vm"))
    assert not names.same_style(names.parse("a@localhost"), names.parse("b@127.0.0.1"))
