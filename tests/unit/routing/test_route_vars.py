"""``$N`` and ``${...}`` expansion in route actions (gateway.routing.vars)."""

from __future__ import annotations

import base64
import os
import time
from email.utils import parsedate_to_datetime

import pytest

from gateway.routing.vars import RequestView, expand

ENV = {
    "PATH_INFO": "/a/b.css",
    "HTTP_HOST": "example.org",
    "QUERY_STRING": "x=1&empty=&y=two&x=3",
    "HTTP_COOKIE": "sid=abc;  theme = dark ; blank=",
    "wsgi.input": object(),
}


def view(captures=()):
    return RequestView(dict(ENV), captures, worker_id=3)


@pytest.mark.parametrize("template, expected", [
    ("plain text", "plain text"),
    ("${PATH_INFO}", "/a/b.css"),
    ("http://${HTTP_HOST}${PATH_INFO}", "http://example.org/a/b.css"),
    ("${MISSING}|", "|"),
    ("${wsgi.input}|", "|"),  # not text: empty
    ("$1-$2-$0", "one-two-one two"),
    ("$7", ""),  # no such group
    ("cost $ 5 $x", "cost $ 5 $x"),  # other dollars are literal
    ("end$", "end$"),
    ("${PATH_INFO", "${PATH_INFO"),  # unterminated: kept
    ("${qs[x]}", "1"),  # the first x
    ("${qs[empty]}|${qs[y]}", "|two"),  # an empty value does not count
    ("${qs[nope]}", ""),
    ("${cookie[sid]}/${cookie[blank]}", "abc/"),
    ("${mime[PATH_INFO]}", "text/css"),
    ("${upper[HTTP_HOST]} ${lower[HTTP_HOST]}", "EXAMPLE.ORG example.org"),
    ("${hex[HTTP_HOST]}", b"example.org".hex()),
    ("${base64[HTTP_HOST]}", base64.b64encode(b"example.org").decode()),
    ("${uwsgi[wid]}", "3"),
    ("${uwsgi[pid]}", "<this process's pid>"),
    ("${unknown[PATH_INFO]}", ""),  # an unknown route var is a (missing) request var
])
def test_expansion(template, expected):
    # the pid is filled in here, not in the ids: parallel test processes must collect the same tests
    expected = expected.replace("<this process's pid>", str(os.getpid()))
    assert expand(template, view(("one two", "one", "two"))) == expected


def test_a_capture_is_not_expanded_again():
    # uWSGI expands captures first, then ${...} in the result; we never re-read request text
    assert expand("<$1>", view(("/${HTTP_HOST}", "${HTTP_HOST}"))) == "<${HTTP_HOST}>"
    assert expand("${HTTP_HOST}", view(("${HTTP_HOST}",))) == "example.org"


def test_time_vars():
    before = int(time.time())
    assert before <= int(expand("${time[unix]}", view())) <= before + 2
    assert abs(int(expand("${time[micros]}", view())) / 1e6 - time.time()) < 2
    assert expand("${time[other]}", view()) == ""
    later = parsedate_to_datetime(expand("${httptime[3600]}", view())).timestamp()
    assert before + 3590 <= later <= before + 3610


def test_uuid_is_fresh_each_time():
    a, b = expand("${uwsgi[uuid]}", view()), expand("${uwsgi[uuid]}", view())
    assert len(a) == 36 and a != b
