"""Micro-benchmark of the ETF codec (gateway.erlang.etf) on the node's hot path.

Every distribution message is a control tuple plus, usually, a small message, so
their encode and decode cost bounds the node's message rate.  Numbers are µs per
call, the best of several repeats (run on an idle machine; compare runs on the
same machine only).  erlang.md section 3.2 has the numbers of the other codecs.

    python3 bench/etf_bench.py [--repeat 7] [--number 100000]
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.erlang.etf import Atom, Pid, Reference, decode, decode_from, encode


def cases() -> dict[str, object]:
    a = Pid("a@localhost", 88, 0, 0x6B022227)
    py = Pid("py@localhost", 1, 0, 0x6B022243)
    ref = Reference("a@localhost", 0x6B022227, (100286, 2725511170, 307765402))
    map10 = {Atom(f"key{i}"): i * 1.5 for i in range(1, 11)}
    return {
        "control {22, Pid, Pid}": (22, a, py),
        "small message {i_am_echo, ping}": (Atom("i_am_echo"), Atom("ping")),
        "rex request {Pid, {call, M, F, A, user}}": (py, (Atom("call"), Atom("erlang"), Atom("node"), [], Atom("user"))),
        "gen_call reply {Ref, [1, <<x>>, #{a => 1.5}]}": (ref, [1, b"x", {Atom("a"): 1.5}]),
        "representative {Pid, <<0:8192>>, seq(1,100), Map10}": (a, bytes(1024), list(range(1, 101)), map10),
    }


def best(stmt, number: int, repeat: int) -> float:
    """µs per call: the fastest of ``repeat`` runs of ``number`` calls, after a warm-up
    run (CPython 3.11 specialises the bytecode during the first calls)."""
    timer = timeit.Timer(stmt)
    timer.timeit(number)
    return min(timer.repeat(number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=100000)
    args = parser.parse_args()

    print(f"{'term':55} {'bytes':>6} {'encode µs':>10} {'decode µs':>10} {'both µs':>8}")
    for name, term in cases().items():
        data = encode(term)
        assert decode(data) == term
        number = args.number if len(data) < 500 else max(args.number // 20, 100)
        enc = best(lambda term=term: encode(term), number, args.repeat)
        dec = best(lambda data=data: decode(data), number, args.repeat)
        print(f"{name:55} {len(data):6} {enc:10.2f} {dec:10.2f} {enc + dec:8.2f}")

    # A whole pass-through packet: 'p', control tuple, message (what the node parses).
    ctrl, msg = cases()["control {22, Pid, Pid}"], cases()["small message {i_am_echo, ping}"]
    packet = b"p" + encode(ctrl) + encode(msg)

    def parse() -> None:
        _, pos = decode_from(packet, 1)
        decode_from(packet, pos)

    def build() -> None:
        b"p" + encode(ctrl) + encode(msg)

    enc = best(build, args.number, args.repeat)
    dec = best(parse, args.number, args.repeat)
    print(f"{'p packet: {22, Pid, Pid} + {i_am_echo, ping}':55} {len(packet):6} {enc:10.2f} {dec:10.2f} {enc + dec:8.2f}")


if __name__ == "__main__":
    main()
