"""WebSocket benchmark: echo round trips/s and the RSS of idle websockets, gateway vs real uWSGI.

Both servers run ``bench/apps/ws_echo.py`` (uWSGI's websocket API) in the same run,
pinned to ``SERVER_CPU``; the client (this script, asyncio + uvloop, raw frames built
once) runs on ``CLIENT_CPU``.

* **echo**: ``--conns`` websockets, each doing sequential round trips of a
  ``--size``-byte binary message for ``--seconds``; round trips/s summed.
* **idle**: open ``--idle`` websockets and hold them; the server's RSS (whole process
  tree) before and after.  uWSGI keeps one async core per open websocket, so it runs
  with ``--tornado <idle>``; gateway parks waiting websockets (no core held) and runs
  with ``--idle-cores`` (100).  ``--idle-small`` repeats with fewer websockets and
  uWSGI at ``--tornado 1000`` (the issue's configuration).

    bench/.venv/bin/python bench/ws_bench.py --seconds 5 --idle 10000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import struct
import sys
import time

from lib import report, servers
from lib.servers import log

HERE = os.path.dirname(os.path.abspath(__file__))
APP = "bench/apps/ws_echo.py"


def handshake_request(port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return ("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (port, key)).encode()


def masked_frame(payload: bytes) -> bytes:
    mask = b"\x01\x02\x03\x04"
    n = len(payload)
    head = bytes([0x82, 0x80 | n]) if n < 126 else bytes([0x82, 0x80 | 126]) + struct.pack("!H", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class EchoClient(asyncio.Protocol):
    """One websocket: handshake, then send / wait for the full echo / repeat until told to stop."""

    def __init__(self, port: int, frame: bytes, reply_len: int, done: asyncio.Future) -> None:
        self.req = handshake_request(port)
        self.frame = frame
        self.reply_len = reply_len
        self.ready = asyncio.get_running_loop().create_future()
        self.done = done
        self.got = 0
        self.count = 0
        self.upgraded = False
        self.buf = b""
        self.running = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.req)

    def data_received(self, data):
        if not self.upgraded:
            self.buf += data
            if b"\r\n\r\n" in self.buf:
                head, rest = self.buf.split(b"\r\n\r\n", 1)
                if b" 101 " not in head.split(b"\r\n", 1)[0]:
                    self.ready.set_exception(RuntimeError(head[:80]))
                    return
                self.upgraded = True
                self.ready.set_result(None)
                data = rest
            else:
                return
        self.got += len(data)
        while self.got >= self.reply_len:
            self.got -= self.reply_len
            self.count += 1
            if self.running:
                self.transport.write(self.frame)

    def connection_lost(self, exc):
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed during handshake"))


async def open_many(port: int, n: int, frame: bytes, reply_len: int, batch: int = 200):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    clients = []
    for i in range(0, n, batch):
        group = []
        for _ in range(min(batch, n - i)):
            _, proto = await loop.create_connection(lambda: EchoClient(port, frame, reply_len, done), "127.0.0.1", port)
            group.append(proto)
        await asyncio.wait_for(asyncio.gather(*(c.ready for c in group)), 60)
        clients.extend(group)
    return clients


async def echo(port: int, conns: int, size: int, seconds: float) -> float:
    payload = os.urandom(size)
    frame = masked_frame(payload)
    reply_len = (2 if size < 126 else 4) + size
    clients = await open_many(port, conns, frame, reply_len)
    for c in clients:
        c.running = True
        c.transport.write(frame)
    await asyncio.sleep(1.0)  # warm-up
    start_counts = sum(c.count for c in clients)
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    total = sum(c.count for c in clients) - start_counts
    elapsed = time.perf_counter() - t0
    for c in clients:
        c.running = False
        c.transport.close()
    await asyncio.sleep(0.2)
    return total / elapsed


async def idle(port: int, n: int, srv) -> tuple:
    before = srv.rss_kb()
    clients = await open_many(port, n, masked_frame(b"x"), 3)
    # Every websocket is live: one echo each, then they all sit idle.
    for c in clients:
        c.transport.write(c.frame)
    for _ in range(600):
        if sum(c.count for c in clients) >= n:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    after = srv.rss_kb()
    answered = sum(c.count for c in clients)
    for c in clients:
        c.transport.close()
    await asyncio.sleep(0.5)
    return before, after, answered


def run_server(ctx, name: str, cores: int, body):
    port = ctx.alloc_port()
    extra = ["--socket-timeout", "60"]
    if name == "gateway":
        cmd = servers.gateway_cmd(ctx, port, APP, cores, extra)
    else:
        cmd = servers.uwsgi_cmd(ctx, port, APP, cores, extra)
    with servers.Server(ctx, name, cmd) as srv:
        from lib import httpclient

        deadline = time.time() + ctx.ready_timeout
        while time.time() < deadline and httpclient.port_free(port):
            time.sleep(0.05)
        time.sleep(0.5)
        return body(port, srv)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--idle-small", type=int, default=1000)
    ap.add_argument("--idle-cores", type=int, default=100)
    ap.add_argument("--echo-cores", type=int, default=100)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.sched_setaffinity(0, {int(servers.CLIENT_CPU)})
    ctx = servers.Ctx()
    if not ctx.uwsgi:
        log("real uWSGI not found (bench/setup.sh): comparing nothing")
        return 1
    rows = []
    results = {}
    for _ in range(args.runs):
        for name in ("uwsgi", "gateway"):
            rate = run_server(ctx, name, args.echo_cores,
                              lambda port, srv: asyncio.run(echo(port, args.conns, args.size, args.seconds)))
            results.setdefault(("echo", name), []).append(rate)
            log("%s echo: %.0f round trips/s" % (name, rate))
    for n, ucores in ((args.idle, args.idle), (args.idle_small, 1000)):
        for name in ("uwsgi", "gateway"):
            cores = ucores if name == "uwsgi" else args.idle_cores
            before, after, answered = run_server(ctx, name, cores,
                                                 lambda port, srv, n=n: asyncio.run(idle(port, n, srv)))
            results[("idle", n, name)] = (cores, before, after, answered)
            log("%s idle %d (--tornado %d): RSS %d -> %d KB, %d answered" % (name, n, cores, before, after, answered))
    e_u = report.med(results[("echo", "uwsgi")])
    e_g = report.med(results[("echo", "gateway")])
    rows.append(["echo round trips/s (%d conns, %d B, median of %d)" % (args.conns, args.size, args.runs),
                 "%.0f" % e_g, "%.0f" % e_u, "%.2f" % (e_g / e_u)])
    for n in (args.idle, args.idle_small):
        g = results[("idle", n, "gateway")]
        u = results[("idle", n, "uwsgi")]
        rows.append(["RSS with %d idle websockets (gateway --tornado %d, uWSGI --tornado %d)" % (n, g[0], u[0]),
                     "%.1f MB (%d answered)" % (g[2] / 1024, g[3]), "%.1f MB (%d answered)" % (u[2] / 1024, u[3]),
                     "%.2f" % (g[2] / u[2])])
    text = "\n".join(report.table(["scenario", "gateway", "uWSGI", "÷ uWSGI"], rows))
    print(text)
    report.save(ctx.out_dir, "ws", {"argv": sys.argv, "results": {repr(k): v for k, v in results.items()}}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
