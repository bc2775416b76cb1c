"""Property tests of the HTTP/1.x parser and the environ builder with hypothesis.

Requests are generated from the grammar's hostile corners (raw non-ASCII and ``%`` in targets, fragments,
absolute forms with odd authorities, repeated framing headers) rather than mutated at random
(``test_http1_fuzz.py`` does that).  Whatever the input, the parser gives events or a RemoteProtocolError,
the same ones in any split, and a request it accepts is unambiguous: one framing, one Content-Length field
holding that framing, one Host, one Content-Type, no fragment in the path or the query, a PATH_INFO decoded
exactly once.  ``FUZZ`` counts the examples run (printed by the last test with ``-s``);
``GATEWAY_HYPOTHESIS_EXAMPLES`` sets how many per property (default 400).
"""

from __future__ import annotations

import os
import random
from urllib.parse import unquote_to_bytes

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.protocol.environ import base_environ, remove_dot_segments, request_environ
from gateway.protocol.http1 import Request

from .http1_driver import random_splits, run

FUZZ = {"requests": 0, "accepted": 0, "garbage": 0}
#: examples per property; GATEWAY_HYPOTHESIS_EXAMPLES=20000 for a longer campaign by hand
EXAMPLES = int(os.environ.get("GATEWAY_HYPOTHESIS_EXAMPLES", "400"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_target_chars = st.sampled_from(
    ["/", "a", "Z", "0", "%20", "%", "%2F", "%zz", "?", "#", "&", "=", ":", "@", "[", "]", ".", "..",
     "\xc3\xa0", "\xff", "~", "+", ";", ","]
)
_path = st.lists(_target_chars, max_size=12).map(lambda parts: "/" + "".join(parts))
_authority = st.one_of(
    st.sampled_from(["h", "h:80", "h:", "[::1]", "[::1]:8080", "[::1", "::1]", "]ufd", "[v1.x]", "[zz]", "u@h",
                     "h:8a", "", "1.2.3.4", "a-b.c_d~", "%41"]),
    st.text(alphabet="abc[]:@%0-.", max_size=8),
)
_scheme = st.sampled_from(["http", "https", "s", "ftp", "HTTP"])
_target = st.one_of(
    _path,
    st.tuples(_scheme, _authority, st.one_of(st.just(""), _path)).map(lambda t: "%s://%s%s" % t),
    st.just("*"),
)
_field = st.one_of(
    st.tuples(st.sampled_from(["Content-Length", "content-length"]),
              st.sampled_from(["5", "5, 5", "5 ,5", "05", "4", "5,", "x", ""])),
    st.tuples(st.sampled_from(["Content-Type", "content-type"]), st.sampled_from(["text/plain", "a/b; q=1"])),
    st.tuples(st.just("Host"), st.sampled_from(["h", "h:1", ""])),
    st.tuples(st.just("Transfer-Encoding"), st.sampled_from(["chunked", "gzip", ", chunked"])),
    st.tuples(st.sampled_from(["X-A", "Cookie", "X_B", "Expect"]), st.sampled_from(["1", "100-continue", "a=b"])),
)


def _head(method: str, target: str, fields: list, version: str) -> bytes:
    lines = ["%s %s %s" % (method, target, version)] + ["%s: %s" % f for f in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@SETTINGS
@given(method=st.sampled_from(["GET", "POST", "PUT", "OPTIONS", "HEAD"]), target=_target,
       fields=st.lists(_field, max_size=5), version=st.sampled_from(["HTTP/1.1", "HTTP/1.0"]),
       seed=st.integers(0, 2**32))
def test_generated_requests_are_unambiguous_or_refused(method, target, fields, version, seed):
    raw = _head(method, target, fields, version) + b"hello" + b"0\r\n\r\n"
    whole = run([raw])
    split = run(random_splits(raw, random.Random(seed)))
    assert whole.events == split.events and whole.error == split.error
    FUZZ["requests"] += 1
    if not whole.events or type(whole.events[0]) is not Request:
        assert whole.error is not None and 400 <= whole.error[0] < 600
        return
    req = whole.events[0]
    FUZZ["accepted"] += 1
    assert "#" not in req.path and "#" not in req.query
    assert req.path == "*" or req.path.startswith("/")
    names = [n.lower() for n, _ in req.headers]
    assert names.count("content-type") <= 1 and names.count("host") <= 1
    lengths = [v for n, v in req.headers if n.lower() == "content-length"]
    if req.chunked:
        assert not lengths
    else:
        # one field, plain digits (a lone "05" stays as sent), equal to the framing
        assert [int(v) for v in lengths if v.isdecimal()] == ([] if req.content_length is None
                                                              else [req.content_length])
    env = request_environ(base_environ("h", "80", multithread=False, multiprocess=False, errors=None,
                                       file_wrapper=None),
                          req.method, req.target, req.path, req.query, req.version, req.headers, "a", "1")
    # PATH_INFO: the wire bytes of the path, dot segments removed, with the %-escapes decoded, once
    # (PEP 3333 latin-1 tunnelling).
    path = remove_dot_segments(req.path)
    assert env["PATH_INFO"].encode("latin-1") == unquote_to_bytes(path.encode("latin-1"))
    if lengths:
        assert int(env["CONTENT_LENGTH"]) == req.content_length


@SETTINGS
@given(st.binary(max_size=300), st.integers(0, 2**32))
def test_arbitrary_bytes_give_events_or_a_protocol_error_in_any_split(blob, seed):
    raw = b"GET / HTTP/1.1\r\n" + blob
    whole = run([raw], max_head=128, max_headers=4, max_body=16)
    split = run(random_splits(raw, random.Random(seed)), max_head=128, max_headers=4, max_body=16)
    assert whole.events == split.events and whole.error == split.error
    FUZZ["garbage"] += 1


def test_fuzz_counts_reported():
    # Printed with -s: what the hypothesis tests above ran in this session.
    print("http1 hypothesis: %(requests)d generated requests (%(accepted)d accepted), %(garbage)d garbage heads"
          % FUZZ)
