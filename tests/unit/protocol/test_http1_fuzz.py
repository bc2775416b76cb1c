"""Fuzz the HTTP/1.x request parser with mutations of the corpus (fixed seed, bounded).

The parser must only ever return events or raise RemoteProtocolError (any
other exception is a bug), give the same outcome whole and in random splits,
and never hold more unconsumed bytes than its limits allow while asking for
more.  ``GATEWAY_FUZZ_ITERATIONS`` changes the number of cases (default 20000),
``GATEWAY_FUZZ_SEED`` the seed.
"""

from __future__ import annotations

import os
import random

from gateway.protocol.http1 import ConnectionClosed, Data, EndOfMessage, Request

from .http1_driver import FIXTURES, random_splits, run

ITERATIONS = int(os.environ.get("GATEWAY_FUZZ_ITERATIONS", "20000"))
SEED = int(os.environ.get("GATEWAY_FUZZ_SEED", "20240611"))

#: bytes that matter to the grammar, more likely to break it than random ones
INTERESTING = [b"\r", b"\n", b"\r\n", b":", b" ", b"\t", b"\x00", b",", b";", b"0", b"f", b"\xff",
               b"\r\n\r\n", b"chunked", b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n",
               b"HTTP/1.1", b"?", b"/", b"\x7f", b"9" * 20]

#: parser settings the cases run under: defaults and small limits
VARIANTS = [
    {},
    {"max_head": 64, "max_headers": 3, "max_body": 8},
    {"max_head": 128, "max_chunk_ext": 8, "max_chunk_size_digits": 4, "max_leading_empty_lines": 1},
    {"require_host": True, "max_body": 100},
]


def mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        at = rng.randint(0, len(buf))
        if op == 0 and buf:  # flip a byte
            buf[min(at, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:  # insert something meaningful
            buf[at:at] = rng.choice(INTERESTING)
        elif op == 2:  # delete a run
            del buf[at : at + rng.randint(1, 8)]
        elif op == 3:  # duplicate a run
            n = rng.randint(1, 32)
            buf[at:at] = buf[at : at + n]
        elif op == 4:  # truncate
            del buf[at:]
        elif op == 5:  # splice another request in
            other = rng.choice(corpus)
            cut = rng.randint(0, len(other))
            buf[at:] = other[cut:]
        else:  # replace a byte by an interesting one
            buf[at : at + 1] = rng.choice(INTERESTING)
    return bytes(buf)


def check_events(events: list, case: bytes) -> None:
    body = 0
    for ev in events:
        assert type(ev) in (Request, Data, EndOfMessage, ConnectionClosed), (ev, case)
        if type(ev) is Data:
            assert type(ev.data) is bytes and ev.data, case
            body += len(ev.data)
    if events and type(events[0]) is Request:
        req = events[0]
        assert not (req.chunked and req.content_length is not None), case
        if req.content_length is not None and events[-1] == EndOfMessage():
            assert body == req.content_length, case


def test_fuzz_mutated_corpus() -> None:
    corpus = [p.read_bytes() for kind in ("valid", "invalid") for p in sorted((FIXTURES / kind).glob("*.http"))]
    assert corpus
    rng = random.Random(SEED)
    errors = accepted = 0
    for i in range(ITERATIONS):
        case = mutate(rng, rng.choice(corpus), corpus)
        kwargs = rng.choice(VARIANTS)
        eof = rng.random() < 0.5
        try:
            at_once = run([case], eof=eof, **kwargs)
            in_pieces = run(random_splits(case, rng), eof=eof, **kwargs)
        except Exception as exc:  # anything but RemoteProtocolError is a bug
            raise AssertionError(f"case {i}: {case!r} with {kwargs} eof={eof} raised {exc!r}") from exc
        assert at_once.events == in_pieces.events, (i, case, kwargs)
        assert at_once.error == in_pieces.error, (i, case, kwargs)
        check_events(at_once.events, case)
        bound = max(kwargs.get("max_head", 4096),
                    kwargs.get("max_chunk_size_digits", 16) + kwargs.get("max_chunk_ext", 1024) + 2)
        assert in_pieces.max_buffered < bound, (i, case, kwargs)
        if at_once.error:
            errors += 1
        else:
            accepted += 1
    # The mutations must exercise both sides, or the test proves little.
    assert errors > ITERATIONS // 10 and accepted > ITERATIONS // 10, (errors, accepted)
