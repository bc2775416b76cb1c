"""The sans-IO SCGI codec: requests captured from nginx, hand-made malformations, fuzzing.

Every fixture is parsed whole, byte by byte and in seeded random splits, and must give the
same events.  ``tests/fixtures/cgi/scgi/`` holds requests captured from nginx 1.22
(``tests/fixtures/cgi/record.py``, with its own naive decoder for the expectations).
"""

from __future__ import annotations

import glob
import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.protocol import scgi as S

from .split_driver import SplitDriver, expected_body, merged, random_splits

FIXTURES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "cgi", "scgi", "*.bin")))
FUZZ_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "1000"))
_DRIVER = SplitDriver(S.ScgiParser, S.ScgiError)
events, outcome, all_splits_agree = _DRIVER.events, _DRIVER.outcome, _DRIVER.all_splits_agree







@pytest.mark.parametrize("path", FIXTURES, ids=[os.path.basename(p)[:-4] for p in FIXTURES])
def test_nginx_fixture(path):
    with open(path, "rb") as f:
        data = f.read()
    with open(path[:-4] + ".json") as f:
        expected = json.load(f)
    result = all_splits_agree(data, bytewise=len(data) < 5000, max_body=1 << 20)
    assert result[0] == "ok", result
    req = result[1][0]
    assert req.vars == [tuple(p) for p in expected["vars"]]
    assert req.vars[0][0] == "CONTENT_LENGTH"  # nginx puts it first, as the spec asks
    body = expected_body(expected, result[1])
    assert req.content_length == len(body)
    assert result[1][1:] == ([S.Data(body)] if body else []) + [S.EndOfMessage(), S.PAUSED]


def test_nginx_fixtures_are_there():
    assert {"get_query", "post_body", "post_large", "head"} <= {os.path.basename(p)[:-4] for p in FIXTURES}


def test_round_trip():
    data = S.encode_request([("REQUEST_METHOD", "POST"), ("PATH_INFO", "/\xe9")], b"hello")
    assert data.startswith(b"57:CONTENT_LENGTH\x005\x00SCGI\x001\x00")
    evs = events([data])
    assert evs[0].env == {"CONTENT_LENGTH": "5", "SCGI": "1", "REQUEST_METHOD": "POST", "PATH_INFO": "/\xe9"}
    assert evs[1:] == [S.Data(b"hello"), S.EndOfMessage(), S.PAUSED]


def test_no_bytes_then_eof_is_connection_closed():
    assert type(events([])[0]) is S.ConnectionClosed


def test_bytes_after_the_body_stay_buffered():
    p = S.ScgiParser()
    p.receive_data(S.encode_request([], b"ab") + b"extra")
    assert type(p.next_event()) is S.Request
    assert p.next_event() == S.Data(b"ab")
    assert type(p.next_event()) is S.EndOfMessage
    assert p.next_event() is S.PAUSED and p.buffered() == 5


def _raw(block: bytes, tail: bytes = b",") -> bytes:
    return b"%d:%b%b" % (len(block), block, tail)


MALFORMED = [
    ("http_request", b"GET / HTTP/1.1\r\n\r\n", {}, "BadNetstring"),
    ("non_digit_length", b"1x:", {}, "BadNetstring"),
    ("no_comma", _raw(b"A\x00b\x00", b";"), {}, "BadNetstring"),
    ("too_large", b"99999:", {}, "HeaderTooLarge"),
    ("too_large_declared", _raw(b"K\x00" + b"v" * 5000 + b"\x00"), {}, "HeaderTooLarge"),
    ("empty_headers", b"0:,", {}, "BadHeaders"),
    ("no_final_nul", _raw(b"A\x00b"), {}, "BadHeaders"),
    ("odd_count", _raw(b"A\x00b\x00C\x00"), {}, "BadHeaders"),
    ("empty_name", _raw(b"\x00b\x00"), {}, "BadHeaders"),
    ("too_many", _raw(b"".join(b"K%d\x00v\x00" % i for i in range(5))), {"max_vars": 4}, "TooManyVars"),
    ("bad_content_length", _raw(b"CONTENT_LENGTH\x00-1\x00"), {}, "BadContentLength"),
    ("body_over_limit", _raw(b"CONTENT_LENGTH\x0011\x00") + b"x" * 11, {"max_body": 10}, "BodyTooLarge"),
    ("eof_in_length", b"12", {}, "TruncatedRequest"),
    ("eof_in_headers", b"12:CONTENT_LEN", {}, "TruncatedRequest"),
    ("eof_in_body", _raw(b"CONTENT_LENGTH\x005\x00") + b"abc", {}, "TruncatedBody"),
]


@pytest.mark.parametrize("name,data,kw,error", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed(name, data, kw, error):
    result = all_splits_agree(data, **kw)
    assert result[:2] == ("error", error), result


def test_status_hints():
    with pytest.raises(S.HeaderTooLarge) as e:
        events([b"99999:"])
    assert e.value.status_hint == 431
    with pytest.raises(S.BodyTooLarge) as e2:
        events([MALFORMED[11][1]], max_body=10)
    assert e2.value.status_hint == 413


_name = st.text(st.characters(min_codepoint=1, max_codepoint=255), min_size=1, max_size=40)
_value = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=60)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(_name, _value), max_size=20), body=st.binary(max_size=200), seed=st.integers(0, 2**32))
def test_fuzz_round_trip_any_split(pairs, body, seed):
    data = S.encode_request(pairs, body)
    evs = merged(events(next(random_splits(data, random.Random(seed), 1)), max_size=1 << 16, max_vars=100))
    sent = [(k, v) for k, v in pairs if k not in ("CONTENT_LENGTH", "SCGI")]
    assert evs[0].vars[2:] == sent and evs[0].content_length == len(body)
    assert evs[1:] == ([S.Data(body)] if body else []) + [S.EndOfMessage(), S.PAUSED]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300), seed=st.integers(0, 2**32))
def test_fuzz_garbage_only_raises_protocol_errors_and_splits_agree(data, seed):
    whole = outcome([data])
    parts = next(random_splits(data, random.Random(seed), 1)) if data else [data]
    assert outcome(parts) == whole


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
       which=st.integers(0, 100))
def test_fuzz_mutated_nginx_requests(edits, which):
    with open(FIXTURES[which % len(FIXTURES)], "rb") as f:
        data = bytearray(f.read()[:3000])
    for pos, byte in edits:
        data[pos % len(data)] = byte
    whole = outcome([bytes(data)], max_body=1 << 20)
    assert outcome(next(random_splits(bytes(data), random.Random(which), 1)), max_body=1 << 20) == whole
