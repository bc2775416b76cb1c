#!/usr/bin/env python3
"""Slow request bodies against a worker (issue 9.1), run by hand: do trickling clients pin its cores?

usage: python bench/slow_body.py [--clients 100] [--cores 100] [--seconds 12] [-- server args]
       e.g. -- --body-timeout 5         (default 30 s: the run then needs --seconds 40)
            -- --body-timeout 0         (no body deadline: uWSGI's behaviour)

``--clients`` connections each announce a 100 kB body and send one byte per second to an app that reads its
body (bench/apps/read_body.py), on a worker with ``--cores`` async cores; meanwhile one client sends a plain GET
every 0.1 s for ``--seconds``.  Printed: how many slow clients were answered, with which status and after how
long, and the plain requests' count and latency.  With a body deadline the slow clients get 408 at the
deadline and the plain requests are served again; with none, nothing is served while they trickle.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import httpclient, servers

HOST = "127.0.0.1"


async def trickle(port: int, limit: float, answers: list) -> None:
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        answers.append(("connect-error", 0.0))
        return
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < limit:
            writer.write(b"x")
            await writer.drain()
            try:
                line = await asyncio.wait_for(reader.readline(), 1.0)
            except asyncio.TimeoutError:
                continue
            answers.append((line.split()[1].decode() if line else "closed", time.monotonic() - t0))
            return
    except OSError:
        answers.append(("reset", time.monotonic() - t0))
    finally:
        writer.close()


async def plain(port: int, seconds: float, latencies: list) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 20)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            await asyncio.wait_for(reader.read(), 20)
            writer.close()
            latencies.append(time.monotonic() - t0)
        except (OSError, asyncio.TimeoutError):
            latencies.append(float("inf"))
        await asyncio.sleep(0.1)


async def run(port: int, clients: int, seconds: float) -> None:
    answers: list = []
    latencies: list = []
    slow = [asyncio.ensure_future(trickle(port, seconds + 30, answers)) for _ in range(clients)]
    await asyncio.sleep(1.0)  # let them take the cores
    await plain(port, seconds, latencies)
    for task in slow:
        task.cancel()
    await asyncio.gather(*slow, return_exceptions=True)
    codes = sorted({code for code, _ in answers})
    when = [t for _, t in answers]
    print("slow clients answered: %d of %d %s%s" % (
        len(answers), clients, codes, " after %.1f-%.1f s" % (min(when), max(when)) if when else ""))
    done = [x for x in latencies if x != float("inf")]
    print("plain requests in %.0f s: %d served, %d failed; latency p50 %s, max %s" % (
        seconds, len(done), len(latencies) - len(done),
        "%.3f s" % statistics.median(done) if done else "-", "%.3f s" % max(done) if done else "-"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--cores", type=int, default=100)
    p.add_argument("--seconds", type=float, default=12.0)
    servers.add_args(p)
    p.add_argument("extra", nargs="*", help="more server arguments (after --)")
    args = p.parse_args()
    ctx = servers.Ctx.from_args(args)
    port = ctx.alloc_port()
    cmd = servers.gateway_cmd(ctx, port, "bench/apps/read_body.py", cores=args.cores, extra=args.extra)
    print(" ".join(cmd[1:]))
    with servers.Server(ctx, "gateway", cmd, cpu=None) as srv:
        if not httpclient.wait_ready(port, srv.proc, ctx.ready_timeout):
            print("server not ready:\n" + srv.tail(), file=sys.stderr)
            return 1
        asyncio.run(run(port, args.clients, args.seconds))
    ctx.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
