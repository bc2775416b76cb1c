"""Driving the sans-IO parsers of the CGI-vars protocols (uwsgi, SCGI, FastCGI) in tests.

Every fixture is fed whole, byte by byte and in seeded random splits, then EOF, and must
give the same events (consecutive ``Data`` joined: a split changes only how a body is cut)
or the same error::

    D = SplitDriver(U.PacketParser, U.UwsgiError)
    D.all_splits_agree(data, max_size=65535)   # -> ("ok", events) or ("error", class, text)
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Iterator, List, Type

from gateway.protocol.http1_events import NEED_DATA, PAUSED, ConnectionClosed, Data


def merged(evs: List[Any]) -> List[Any]:
    """Events with consecutive Data joined."""
    out: List[Any] = []
    for ev in evs:
        if type(ev) is Data and out and type(out[-1]) is Data:
            out[-1] = Data(out[-1].data + ev.data)
        else:
            out.append(ev)
    return out


def random_splits(data: bytes, rng: random.Random, n: int = 20) -> Iterator[List[bytes]]:
    """``n`` ways to cut ``data`` in up to 13 pieces."""
    for _ in range(n):
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12)))) if len(data) > 1 else []
        parts, last = [], 0
        for c in cuts:
            parts.append(data[last:c])
            last = c
        parts.append(data[last:])
        yield parts


def expected_body(expected: dict, events: List[Any]) -> bytes:
    """The body a fixture's JSON expects (``body``, or ``body_len`` + ``body_sha256`` for a
    large one), checked against the joined ``Data`` of ``events``; returns the body seen."""
    seen = b"".join(ev.data for ev in events if type(ev) is Data)
    if "body" in expected:
        assert seen == expected["body"].encode("latin-1")
    else:
        assert (len(seen), hashlib.sha256(seen).hexdigest()) == (expected["body_len"], expected["body_sha256"])
    return seen


class SplitDriver:
    """One parser class and its protocol's base error (see the module docstring)."""

    def __init__(self, parser_class: Type[Any], error_class: Type[Exception]) -> None:
        self.parser_class = parser_class
        self.error_class = error_class

    def events(self, parts: List[bytes], **kw: Any) -> List[Any]:
        """Feed the parts then EOF; the events up to PAUSED / ConnectionClosed (errors raise)."""
        p = self.parser_class(**kw)
        out: List[Any] = []
        parts = list(parts) + [b""]
        i = 0
        while True:
            ev = p.next_event()
            if ev is NEED_DATA:
                assert i < len(parts), "parser wants data after EOF"
                p.receive_data(parts[i])
                i += 1
                continue
            out.append(ev)
            if ev is PAUSED or type(ev) is ConnectionClosed:
                return out

    def outcome(self, parts: List[bytes], **kw: Any) -> tuple:
        try:
            return ("ok", merged(self.events(parts, **kw)))
        except self.error_class as e:
            return ("error", type(e).__name__, str(e))

    def all_splits_agree(self, data: bytes, bytewise: bool = True, **kw: Any) -> tuple:
        """The outcome of ``data`` whole, checked equal byte by byte (``bytewise``) and in
        20 seeded random splits."""
        whole = self.outcome([data], **kw)
        if bytewise:
            assert self.outcome([data[i : i + 1] for i in range(len(data))], **kw) == whole
        for parts in random_splits(data, random.Random(len(data))):
            assert self.outcome(parts, **kw) == whole
        return whole
