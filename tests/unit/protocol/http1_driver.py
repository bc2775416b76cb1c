"""Drive a RequestParser with bytes cut in different ways, and load the corpus.

The h11 test triple: a message fed whole, byte by byte, and in seeded random
splits must give the same events (after merging adjacent ``Data``, whose
boundaries follow the arrival of bytes by design), and a message followed by
the bytes of another must stop exactly at its own end.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable, NamedTuple

from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.http1 import NEED_DATA, PAUSED, ConnectionClosed, Data, RequestParser

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "http"


class Outcome(NamedTuple):
    events: list  # Request / Data (merged) / EndOfMessage / ConnectionClosed
    error: tuple[int, str] | None  # (status_hint, message) of a RemoteProtocolError
    paused: bool  # next_event() returned PAUSED
    parser: RequestParser
    max_buffered: int  # most unconsumed bytes seen when the parser asked for more


def merge_data(events: list) -> list:
    merged: list = []
    for ev in events:
        if type(ev) is Data and merged and type(merged[-1]) is Data:
            merged[-1] = Data(merged[-1].data + ev.data)
        else:
            merged.append(ev)
    return merged


def run(pieces: list[bytes], *, eof: bool = True, **parser_kwargs: Any) -> Outcome:
    """Feed ``pieces`` one by one, pulling events after each; then EOF if asked.

    Stops pulling at PAUSED or ConnectionClosed (remaining pieces are still
    fed, to be found in ``trailing_data``).  Only RemoteProtocolError is
    caught: anything else is a parser bug and propagates.
    """
    parser = RequestParser(**parser_kwargs)
    events: list = []
    max_buffered = 0
    stopped = False

    def pump() -> bool:
        nonlocal max_buffered
        while True:
            ev = parser.next_event()
            if ev is NEED_DATA:
                max_buffered = max(max_buffered, len(parser.trailing_data[0]))
                return False
            if ev is PAUSED:
                return True
            events.append(ev)
            if type(ev) is ConnectionClosed:
                return True

    try:
        for piece in pieces:
            if not piece:
                continue  # b"" would mean EOF
            parser.receive_data(piece)
            if not stopped:
                stopped = pump()
        if eof and not stopped:
            parser.receive_data(b"")
            stopped = pump()
    except RemoteProtocolError as exc:
        return Outcome(merge_data(events), (exc.status_hint, exc.args[0]), False, parser, max_buffered)
    paused = parser.state == "DONE"
    return Outcome(merge_data(events), None, paused, parser, max_buffered)


def whole(data: bytes) -> list[bytes]:
    return [data]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def random_splits(data: bytes, rng: random.Random | int = 0) -> list[bytes]:
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    pieces, i = [], 0
    while i < len(data):
        n = rng.randint(1, 16)
        pieces.append(data[i : i + n])
        i += n
    return pieces


#: name -> how to cut bytes into pieces; random splits with three fixed seeds
SPLITTERS: dict[str, Callable[[bytes], list[bytes]]] = {
    "whole": whole,
    "bytewise": bytewise,
    "random1": lambda d: random_splits(d, 1),
    "random2": lambda d: random_splits(d, 2),
    "random3": lambda d: random_splits(d, 3),
}


def corpus_names(kind: str) -> list[str]:
    return sorted(p.stem for p in (FIXTURES / kind).glob("*.http"))


def load(kind: str, name: str) -> tuple[bytes, dict]:
    base = FIXTURES / kind / name
    data = base.with_suffix(".http").read_bytes()
    expected = json.loads(base.with_suffix(".json").read_text())
    return data, expected
