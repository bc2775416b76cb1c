"""The sans-IO FastCGI codec: requests captured from nginx, hand-made malformations, fuzzing.

Every fixture is parsed whole, byte by byte and in seeded random splits, and must give the
same events.  ``tests/fixtures/cgi/fastcgi/`` holds requests captured from nginx 1.22
(``record.py`` there, with its own naive decoder for the expectations).
"""

from __future__ import annotations

import glob
import json
import os
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.protocol import fastcgi as F
from gateway.protocol.errors import LocalProtocolError

from .split_driver import SplitDriver, expected_body, merged, random_splits

FIXTURES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "cgi", "fastcgi", "*.bin")))
FUZZ_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "1000"))
#: uWSGI's own END_REQUEST bytes (proto/fastcgi.c): empty STDOUT + END_REQUEST, request 1
UWSGI_END_REQUEST = b"\1\x06\0\1\0\0\0\0\1\3\0\1\0\x08\0\0\0\0\0\0\0\0\0\0"
_DRIVER = SplitDriver(F.FastCGIParser, F.FastCGIError)
events, outcome, all_splits_agree = _DRIVER.events, _DRIVER.outcome, _DRIVER.all_splits_agree







# -- real nginx requests -------------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURES, ids=[os.path.basename(p)[:-4] for p in FIXTURES])
def test_nginx_fixture(path):
    with open(path, "rb") as f:
        data = f.read()
    with open(path[:-4] + ".json") as f:
        expected = json.load(f)
    result = all_splits_agree(data, bytewise=len(data) < 5000, max_body=1 << 20)
    assert result[0] == "ok", result
    evs = result[1]
    req = evs[0]
    assert type(req) is F.Request
    assert req.vars == [tuple(p) for p in expected["vars"]]
    assert (req.request_id, req.keep_conn) == (expected["request_id"], expected["keep_conn"])
    body = expected_body(expected, evs)
    assert req.content_length == len(body)
    if body:
        assert evs[1] == F.Data(body)
        assert type(evs[2]) is F.EndOfMessage and evs[3] is F.PAUSED
    else:
        assert type(evs[1]) is F.EndOfMessage and evs[2] is F.PAUSED


def test_nginx_fixtures_are_there():
    names = {os.path.basename(p)[:-4] for p in FIXTURES}
    assert {"get_query", "post_body", "post_large", "keep_conn", "split_path", "big_header"} <= names


def test_split_path_keeps_duplicates_and_the_last_wins():
    path = [p for p in FIXTURES if p.endswith("split_path.bin")][0]
    with open(path, "rb") as f:
        req = events([f.read()])[0]
    assert [v for k, v in req.vars if k == "SCRIPT_NAME"] == ["/f/split", "/f/split"]
    assert req.env["PATH_INFO"] == "/a/b"


# -- building -------------------------------------------------------------------------------


def test_end_request_matches_uwsgi_bytes():
    assert F.encode_end_request(1) == UWSGI_END_REQUEST
    assert F.encode_end_request(0x0203)[2:4] == b"\x02\x03"


def test_stdout_is_cut_in_records_of_65535():
    data = bytes(range(256)) * 600  # 153600 bytes
    wire = F.encode_stdout(7, data)
    got, p, sizes = b"", 0, []
    while p < len(wire):
        version, rtype, rid, clen, plen, _ = struct.unpack_from(">BBHHBB", wire, p)
        assert (version, rtype, rid, plen) == (1, F.STDOUT, 7, 0)
        sizes.append(clen)
        got += wire[p + 8 : p + 8 + clen]
        p += 8 + clen
    assert got == data and sizes == [65535, 65535, 153600 - 2 * 65535]
    assert F.encode_stdout(7, b"") == b""  # an empty record would end the stream


def test_record_content_over_65535_is_refused():
    with pytest.raises(LocalProtocolError):
        F.encode_record(F.STDOUT, 1, b"x" * 65536)


def test_params_round_trip_with_long_names_and_values():
    pairs = [("A", ""), ("B" * 200, "v" * 70000), ("HTTP_X", "\xe9")]
    assert F.decode_params(F.encode_params(pairs)) == pairs


def test_request_round_trip():
    data = F.encode_request([("REQUEST_METHOD", "PUT"), ("CONTENT_LENGTH", "3")], b"abc", request_id=9, keep_conn=True)
    evs = events([data])
    assert evs[0] == F.Request(9, [("REQUEST_METHOD", "PUT"), ("CONTENT_LENGTH", "3")], 3, True,
                               {"REQUEST_METHOD": "PUT", "CONTENT_LENGTH": "3"})
    assert evs[1:] == [F.Data(b"abc"), F.EndOfMessage(), F.PAUSED]


# -- the connection's life ---------------------------------------------------------------------


def test_keep_conn_two_requests_one_after_the_other():
    one = F.encode_request([("PATH_INFO", "/1")], keep_conn=True)
    two = F.encode_request([("PATH_INFO", "/2")], b"zz", request_id=2, keep_conn=True)
    p = F.FastCGIParser()
    assert p.idle
    p.receive_data(one + two)
    assert p.next_event().env == {"PATH_INFO": "/1"}
    assert not p.idle
    assert type(p.next_event()) is F.EndOfMessage
    assert p.next_event() is F.PAUSED  # the next request waits for the answer
    assert not p.idle
    p.start_next()
    assert p.idle  # the graceful stop closes such a connection if nothing is buffered
    req = p.next_event()
    assert (req.request_id, req.env) == (2, {"PATH_INFO": "/2"})
    assert p.next_event() == F.Data(b"zz")
    assert type(p.next_event()) is F.EndOfMessage
    p.start_next()
    assert p.next_event() is F.NEED_DATA
    p.receive_data(b"")
    assert type(p.next_event()) is F.ConnectionClosed


def test_not_idle_once_begin_request_is_read():
    p = F.FastCGIParser()
    p.receive_data(F.encode_begin_request(3, flags=F.KEEP_CONN))
    assert p.next_event() is F.NEED_DATA
    assert not p.idle  # a request is under way: a graceful stop must let it finish


def test_start_next_before_the_end_is_a_local_error():
    p = F.FastCGIParser()
    with pytest.raises(LocalProtocolError):
        p.start_next()


def test_get_values_and_unknown_management_records():
    p = F.FastCGIParser()
    p.receive_data(F.encode_record(F.GET_VALUES, 0, F.encode_params([("FCGI_MAX_CONNS", ""), ("FCGI_MPXS_CONNS", "")]))
                   + F.encode_record(42, 0, b"x"))
    assert p.next_event() == F.Management(F.GET_VALUES, ["FCGI_MAX_CONNS", "FCGI_MPXS_CONNS"])
    assert p.next_event() == F.Management(42, [])
    assert F.encode_unknown_type(42) == b"\x01\x0b\x00\x00\x00\x08\x00\x00" + b"\x2a" + b"\0" * 7
    result = F.encode_get_values_result([("FCGI_MPXS_CONNS", "0")])
    assert result[:2] == b"\x01\x0a" and F.decode_params(result[8:]) == [("FCGI_MPXS_CONNS", "0")]


def test_a_second_request_while_one_is_active_is_rejected():
    p = F.FastCGIParser()
    p.receive_data(F.encode_begin_request(1) + F.encode_begin_request(2) + F.encode_record(F.PARAMS, 1))
    assert p.next_event() == F.Rejected(2, F.CANT_MPX_CONN)
    assert p.next_event().request_id == 1


@pytest.mark.parametrize("role", [F.FILTER, 9])
def test_roles_other_than_responder_and_authorizer_are_rejected(role):
    p = F.FastCGIParser()
    p.receive_data(F.encode_begin_request(3, role=role))
    assert p.next_event() == F.Rejected(3, F.UNKNOWN_ROLE)
    assert p.next_event() is F.NEED_DATA


def test_an_authorizer_request_is_served_as_a_responder_is():
    """lighttpd's and Apache's FastCGI authorizers: the app answers, as in uWSGI."""
    p = F.FastCGIParser()
    p.receive_data(F.encode_begin_request(3, role=F.AUTHORIZER)
                   + F.encode_record(F.PARAMS, 3, F.encode_params([("FCGI_ROLE", "AUTHORIZER")]))
                   + F.encode_record(F.PARAMS, 3))
    assert p.next_event() == F.Request(3, [("FCGI_ROLE", "AUTHORIZER")], 0, False, {"FCGI_ROLE": "AUTHORIZER"})


def test_abort_and_records_of_other_ids():
    p = F.FastCGIParser()
    p.receive_data(F.encode_begin_request(1) + F.encode_record(F.PARAMS, 5, b"junk") + F.encode_record(F.PARAMS, 1)
                   + F.encode_record(F.STDERR, 1, b"ignored") + F.encode_record(F.ABORT_REQUEST, 1))
    assert type(p.next_event()) is F.Request
    assert p.next_event() == F.Aborted(1)


def test_padding_is_skipped():
    rec = struct.pack(">BBHHBB", 1, F.STDIN, 1, 3, 5, 0) + b"abc" + b"\0" * 5
    data = F.encode_begin_request(1) + F.encode_record(F.PARAMS, 1) + rec + F.encode_record(F.STDIN, 1)
    assert all_splits_agree(data)[1][1:3] == [F.Data(b"abc"), F.EndOfMessage()]


# -- malformations: one error class each ----------------------------------------------------------

_BEGIN = F.encode_begin_request(1)
_PARAMS_END = F.encode_record(F.PARAMS, 1)

MALFORMED = [
    ("http_request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", {}, "BadVersion"),
    ("params_too_large", _BEGIN + F.encode_record(F.PARAMS, 1, F.encode_params([("K", "v" * 5000)])), {}, "ParamsTooLarge"),
    ("params_too_large_over_records", _BEGIN + F.encode_record(F.PARAMS, 1, F.encode_params([("K", "v" * 3000)])) * 2,
     {}, "ParamsTooLarge"),
    ("too_many_vars", _BEGIN + F.encode_record(F.PARAMS, 1, F.encode_params([("K%d" % i, "") for i in range(5)]))
     + _PARAMS_END, {"max_vars": 4}, "TooManyVars"),
    ("empty_name", _BEGIN + F.encode_record(F.PARAMS, 1, b"\x00\x01v") + _PARAMS_END, {}, "BadParams"),
    ("pair_past_the_end", _BEGIN + F.encode_record(F.PARAMS, 1, b"\x05\x01ab") + _PARAMS_END, {}, "BadParams"),
    ("long_length_cut", _BEGIN + F.encode_record(F.PARAMS, 1, b"\x01\x80\x00") + _PARAMS_END, {}, "BadParams"),
    ("stdin_before_params_end", _BEGIN + F.encode_record(F.STDIN, 1, b"x"), {}, "UnexpectedRecord"),
    ("params_after_params_end", _BEGIN + _PARAMS_END + F.encode_record(F.PARAMS, 1, b"\x01\x00A"), {}, "UnexpectedRecord"),
    ("short_begin_body", F.encode_record(F.BEGIN_REQUEST, 1, b"\0\1"), {}, "UnexpectedRecord"),
    ("content_length_over_limit", _BEGIN + F.encode_record(F.PARAMS, 1, F.encode_params([("CONTENT_LENGTH", "11")]))
     + _PARAMS_END, {"max_body": 10}, "BodyTooLarge"),
    ("stdin_over_limit", _BEGIN + _PARAMS_END + F.encode_record(F.STDIN, 1, b"x" * 11), {"max_body": 10}, "BodyTooLarge"),
    ("eof_in_record", _BEGIN + F.encode_record(F.PARAMS, 1, b"\x01\x01ab")[:-1], {}, "TruncatedRecord"),
    ("eof_in_header", _BEGIN[:5], {}, "TruncatedRecord"),
    ("eof_before_stdin_end", _BEGIN + _PARAMS_END + F.encode_record(F.STDIN, 1, b"x"), {}, "TruncatedRequest"),
    ("eof_in_params", _BEGIN, {}, "TruncatedRequest"),
]


@pytest.mark.parametrize("name,data,kw,error", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed(name, data, kw, error):
    result = all_splits_agree(data, **kw)
    assert result[:2] == ("error", error), result


def test_an_error_is_raised_again():
    p = F.FastCGIParser()
    p.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(F.BadVersion):
        p.next_event()
    with pytest.raises(F.BadVersion):
        p.next_event()


def test_params_too_large_hints_431_and_body_413():
    with pytest.raises(F.ParamsTooLarge) as e:
        events([MALFORMED[1][1]])
    assert e.value.status_hint == 431
    with pytest.raises(F.BodyTooLarge) as e2:
        events([MALFORMED[10][1]], max_body=10)
    assert e2.value.status_hint == 413


# -- fuzzing -----------------------------------------------------------------------------------------

_name = st.text(st.characters(min_codepoint=1, max_codepoint=255), min_size=1, max_size=140)
_value = st.text(st.characters(max_codepoint=255), max_size=200)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(_name, _value), max_size=20), body=st.binary(max_size=300),
       rid=st.integers(1, 65535), keep=st.booleans(), seed=st.integers(0, 2**32))
def test_fuzz_round_trip_any_split(pairs, body, rid, keep, seed):
    data = F.encode_request(pairs, body, request_id=rid, keep_conn=keep)
    parts = next(random_splits(data, random.Random(seed), 1))
    evs = merged(events(parts, max_params=1 << 20, max_vars=100))
    assert evs[0].vars == pairs and evs[0].request_id == rid and evs[0].keep_conn == keep
    assert evs[1:] == ([F.Data(body)] if body else []) + [F.EndOfMessage(), F.PAUSED]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), seed=st.integers(0, 2**32))
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
