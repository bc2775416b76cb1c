"""PCRE's named groups read by Python's re (gateway.routing.pcre), as uWSGI's rules use them."""

from __future__ import annotations

import pytest

from gateway.routing.pcre import compile_pcre, to_python
from gateway.routing.rules import compile_chain


@pytest.mark.parametrize("pcre, python", [
    (r"^/blog/(?<year>\d+)/(?'slug'[a-z-]+)$", r"^/blog/(?P<year>\d+)/(?P<slug>[a-z-]+)$"),
    (r"(?<w>a)\k<w>\k'w'\k{w}", r"(?P<w>a)(?P=w)(?P=w)(?P=w)"),
    # left alone: look-behinds, Python's own spelling, escapes, character classes
    (r"(?<=a)b(?<!c)(?P<x>d)", r"(?<=a)b(?<!c)(?P<x>d)"),
    (r"\(?<x>", r"\(?<x>"),
    (r"[(?<x>]", r"[(?<x>]"),
    (r"[]\](?<x>]y", r"[]\](?<x>]y"),
    (r"[^]](?<x>y)", r"[^]](?P<x>y)"),
    (r"^/plain/(\d+)$", r"^/plain/(\d+)$"),
])
def test_named_groups_are_rewritten_outside_escapes_and_classes(pcre, python):
    assert to_python(pcre) == python


def test_a_rule_with_pcre_named_groups_compiles_and_numbers_them_as_pcre():
    assert compile_pcre(r"^/(?<a>x)(?'b'y)$").match("/xy").groups() == ("x", "y")
    chain = compile_chain([("route", r"^/(?<year>\d+)/(?'n'\d+)$ addvar:R=$2-$1"),
                           ("route-if", r"regexp:${PATH_INFO};^/(?<y>\d+) addvar:S=$1")])
    environ = {"PATH_INFO": "/2024/7", "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
    outcome = chain.run(environ, 1)
    assert outcome.kind == "app" and (environ["R"], environ["S"]) == ("7-2024", "2024")
