#!/usr/bin/env python3
"""RSS of a gateway worker before and after floods of large request heads (issue 9.2), run by hand.

usage: python bench/rss_flood.py [--rounds 6] [--conns 4000] [--concurrency 400] [--buffer-size 65535]
                                 [--server gateway|uwsgi] [-- extra server args]

Each round opens ``--conns`` connections (``--concurrency`` at a time) that each send one request with a
header line of 8-64 KiB (random sizes, seeded), read the answer and close.  After each round the script waits
for the server to be idle and prints its RSS (the worker and any children).  The target (issue 9.2): within
5 MB of the RSS measured after a warm-up round of small requests.  ``--server uwsgi`` runs real uWSGI with the
same flags for comparison (bench/setup.sh builds it).

Prints one line per round and a verdict; ``--json`` also writes bench/results/rss-flood-<UTC>.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import httpclient, report, servers

HOST = "127.0.0.1"


async def one(port: int, size: int, stats: dict) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 10)
    except (OSError, asyncio.TimeoutError):
        stats["connect_errors"] += 1
        return
    try:
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\nConnection: close\r\n\r\n"
        writer.write(head)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
        code = line.split(b" ")[1:2]
        key = code[0].decode() if code else "eof"
        stats[key] = stats.get(key, 0) + 1
        await asyncio.wait_for(reader.read(), 10)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        stats["io_errors"] += 1
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def flood(port: int, conns: int, concurrency: int, sizes: list[int]) -> dict:
    stats = {"connect_errors": 0, "io_errors": 0}
    sem = asyncio.Semaphore(concurrency)

    async def guarded(size: int) -> None:
        async with sem:
            await one(port, size, stats)

    await asyncio.gather(*(guarded(sizes[i % len(sizes)]) for i in range(conns)))
    return stats


def settle(srv: servers.Server, seconds: float) -> int:
    """RSS after ``seconds`` of idleness (longer than --heap-trim-interval): KiB."""
    time.sleep(seconds)
    return srv.rss_kb()


def heapinfo(port: int) -> dict:
    """bench/apps/heapinfo.py's report (taken after the RSS reading: it runs a full gc)."""
    try:
        return json.loads(httpclient.request(port, "/heapinfo")[2])
    except (OSError, ValueError, EOFError):
        return {}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--conns", type=int, default=4000)
    p.add_argument("--concurrency", type=int, default=400)
    p.add_argument("--buffer-size", type=int, default=65535, help="--buffer-size given to the server")
    p.add_argument("--min-kib", type=int, default=8)
    p.add_argument("--max-kib", type=int, default=64)
    p.add_argument("--server", choices=["gateway", "uwsgi"], default="gateway")
    p.add_argument("--wsgi-file", default="bench/apps/heapinfo.py",
                   help="the app (answers /heapinfo when it is heapinfo.py or wraps it)")
    p.add_argument("--settle", type=float, default=7.0,
                   help="idle seconds before each RSS reading (more than gateway's --heap-trim-interval 5)")
    p.add_argument("--json", action="store_true", help="write bench/results/rss-flood-<UTC>.{json,md}")
    servers.add_args(p)
    p.add_argument("extra", nargs="*", help="more server arguments (after --)")
    args = p.parse_args()

    ctx = servers.Ctx.from_args(args)
    port = ctx.alloc_port()
    build = servers.gateway_cmd if args.server == "gateway" else servers.uwsgi_cmd
    cmd = build(ctx, port, args.wsgi_file, cores=100,
                extra=["--buffer-size", str(args.buffer_size)] + list(args.extra))
    if cmd is None:
        print("uwsgi not found (bench/setup.sh, or UWSGI=...)", file=sys.stderr)
        return 2
    rng = random.Random(9)
    sizes = [rng.randint(args.min_kib * 1024, args.max_kib * 1024) for _ in range(997)]
    rows = []
    with servers.Server(ctx, args.server, cmd, cpu=None) as srv:
        if not httpclient.wait_ready(port, srv.proc, ctx.ready_timeout):
            print("server not ready:\n" + srv.tail(), file=sys.stderr)
            return 1
        asyncio.run(flood(port, 500, 50, [100]))  # warm-up: small heads
        base = settle(srv, args.settle)
        print("%s %s: baseline RSS after a warm-up of 500 small requests: %.1f MB" % (
            args.server, " ".join(cmd[1:]), base / 1024))
        for rnd in range(1, args.rounds + 1):
            t0 = time.time()
            stats = asyncio.run(flood(port, args.conns, args.concurrency, sizes))
            secs = time.time() - t0
            peak = srv.hwm_kb()
            rss = settle(srv, args.settle)
            heap = heapinfo(port)
            rows.append({"round": rnd, "rss_kb": rss, "hwm_kb": peak, "seconds": round(secs, 1), "heap": heap,
                         **stats})
            print("round %d: %d conns in %.1fs %s -> RSS %.1f MB (%+.1f MB vs baseline), peak %.1f MB; heap %s" % (
                rnd, args.conns, secs, {k: v for k, v in stats.items() if v}, rss / 1024, (rss - base) / 1024,
                peak / 1024, heap))
        alive = srv.alive()
    growth = (rows[-1]["rss_kb"] - base) / 1024 if rows else 0.0
    verdict = "met" if growth <= 5.0 and alive else "NOT met"
    print("after %d rounds: RSS %+.1f MB vs baseline (target: within 5 MB) -> %s%s" % (
        len(rows), growth, verdict, "" if alive else " (server died)"))
    if args.json:
        text = "\n".join(["## rss flood %s" % args.server, "", "baseline %.1f MB" % (base / 1024), ""] + report.table(
            ["round", "RSS MB", "vs baseline MB", "peak MB", "seconds"],
            [[r["round"], report.fmt(r["rss_kb"] / 1024), report.fmt((r["rss_kb"] - base) / 1024),
              report.fmt(r["hwm_kb"] / 1024), r["seconds"]] for r in rows]))
        report.save(ctx.out_dir, "rss-flood", {"meta": report.machine_meta(" ".join(sys.argv)), "cmd": cmd,
                                               "baseline_kb": base, "rounds": rows}, text)
    ctx.cleanup()
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
