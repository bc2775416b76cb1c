"""``--route-if`` conditions (gateway.routing.conditions)."""

from __future__ import annotations

import os

import pytest

from gateway.routing.conditions import RouteSyntaxError, compile_condition
from gateway.routing.vars import RequestView


@pytest.fixture
def files(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(tmp_path / "run.sh", 0o755)
    os.symlink(tmp_path / "f.txt", tmp_path / "link")
    return tmp_path


def holds(text, environ=None, negate=False):
    return compile_condition(text, negate).test(RequestView(environ or {})) is not None


def test_path_conditions(files):
    env = {"DOCUMENT_ROOT": str(files)}
    assert holds("exists:${DOCUMENT_ROOT}/f.txt", env) and holds("exists:%s/d" % files)
    assert not holds("exists:%s/none" % files)
    assert holds("isfile:%s/f.txt" % files) and not holds("isfile:%s/d" % files)
    assert holds("isdir:%s/d" % files) and not holds("isdir:%s/f.txt" % files)
    assert holds("islink:%s/link" % files) and not holds("islink:%s/f.txt" % files)
    assert holds("isexec:%s/run.sh" % files) and not holds("isexec:%s/f.txt" % files)
    assert not holds("isexec:")


@pytest.mark.parametrize("text, expected", [
    ("equal:${A};abc", True), ("isequal:${A};abd", False), ("eq:x;x", True), ("==:;", True),
    ("startswith:${A};ab", True), ("startswith:${A};b", False),
    ("endswith:${A};bc", True), ("endswith:${A};abcd", False),
    ("contains:${A};b", True), ("contain:${A};z", False),
    ("contains:${A};", False), ("contains:;", False),  # uWSGI 2.0.31: an empty RIGHT is in nothing
    ("startswith:${A};", True), ("endswith:${A};", True),  # (there it starts and ends everything)
    ("empty:${MISSING}", True), ("empty:${A}", False),
    ("ishigher:${N};9", True), (">:${N};10", False), ("ishigherequal:${N};10", True), (">=:9;10", False),
    ("islower:${N};11", True), ("<:${N};10", False), ("islowerequal:${N};10", True), ("<=:11;10", False),
    ("<:12abc;13", True),  # strtol: the leading digits
    ("<:abc;1", True),  # no digits: 0
    ("ipv4in:${IP};10.0.0.0/8", True), ("ipv4in:${IP};192.168.0.0/16", False),
    ("ipv4in:${IP};10.1.2.3", True), ("ipv4in:not-an-ip;10.0.0.0/8", False),
    ("ipv4in:::1;10.0.0.0/8", False),
    ("ipv6in:${IP6};2001:db8::/32", True), ("ipv6in:${IP6};2001:db9::/32", False),
    ("ipv6in:${IP};::/0", False),
])
def test_value_conditions(text, expected):
    env = {"A": "abc", "N": "10", "IP": "10.1.2.3", "IP6": "2001:db8::1"}
    assert holds(text, env) is expected
    assert holds(text, env, negate=True) is not expected


def test_regexp_gives_captures_to_the_action():
    cond = compile_condition("regexp:${HTTP_HOST};^(\\w+)\\.example\\.(org|com)$")
    assert cond.test(RequestView({"HTTP_HOST": "blog.example.org"})) == ("blog.example.org", "blog", "org")
    assert cond.test(RequestView({"HTTP_HOST": "example.net"})) is None
    assert compile_condition("re:${X};b", negate=True).test(RequestView({"X": "abc"})) is None
    assert compile_condition("re:${X};z", negate=True).test(RequestView({"X": "abc"})) == ()


@pytest.mark.parametrize("text, message", [
    ("nosuch:x", "unknown route condition 'nosuch'"),
    ("equal:no-semicolon", "expects LEFT;RIGHT"),
    ("regexp:${X};(unclosed", "bad regular expression"),
    ("noargs", "expected NAME:ARGS"),
])
def test_bad_conditions_are_refused(text, message):
    with pytest.raises(RouteSyntaxError, match=message.replace("(", r"\(")):
        compile_condition(text)
