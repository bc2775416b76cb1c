"""Micro-benchmark of the HTTP/1.x request parser: µs per request, one core.

Measures what the server does per keep-alive request: feed the bytes of one
request, pull events up to ``EndOfMessage``, then ``start_next_request()`` on
the same parser.  Three requests: what ``wrk`` sends, a browser-like head with
a dozen headers, and a small JSON POST (head and body in one read).  If ``httptools`` (the C parser uvicorn uses) happens to
be installed, it is measured the same way for comparison only.

Run::

    python3 bench/parser_bench.py            # best of 7 runs of 100k requests
    python3 bench/parser_bench.py -n 20000   # quicker
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import timeit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from gateway.protocol.http1 import EndOfMessage, RequestParser

REQUESTS = {
    "wrk": b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n\r\n",
    "browser": (
        b"GET /articles/2024/index.html?page=2&sort=date HTTP/1.1\r\n"
        b"Host: www.example.com\r\n"
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
        b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8\r\n"
        b"Accept-Language: en-US,en;q=0.5\r\n"
        b"Accept-Encoding: gzip, deflate, br\r\n"
        b"Referer: https://www.example.com/articles/2024/\r\n"
        b"Connection: keep-alive\r\n"
        b"Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark; lang=en\r\n"
        b"Upgrade-Insecure-Requests: 1\r\n"
        b"Sec-Fetch-Dest: document\r\n"
        b"Sec-Fetch-Mode: navigate\r\n"
        b"Cache-Control: max-age=0\r\n"
        b"\r\n"
    ),
    "post": (
        b"POST /api/items HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n"
        b"Content-Type: application/json\r\nContent-Length: 28\r\n\r\n"
        b'{"name": "widget", "qty": 3}'
    ),
}


def gateway_cycle(data: bytes):
    parser = RequestParser()

    def one() -> None:
        parser.receive_data(data)
        while type(parser.next_event()) is not EndOfMessage:  # Request, Data*
            pass
        parser.start_next_request()

    one()
    return one


def httptools_cycle(data: bytes):
    import httptools  # comparison only; gateway does not depend on it

    class Collect:
        def __init__(self) -> None:
            self.headers: list = []
            self.url = b""
            self.done = False

        def on_url(self, url: bytes) -> None:
            self.url = url

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name, value))

        def on_message_complete(self) -> None:
            self.done = True

    proto = Collect()
    parser = httptools.HttpRequestParser(proto)

    def one() -> None:
        proto.headers = []
        parser.feed_data(data)
        parser.get_method()
        httptools.parse_url(proto.url)
        parser.should_keep_alive()

    one()
    return one


def measure(make, data: bytes, number: int, repeat: int) -> float:
    fn = make(data)
    # CPU time of this process, not wall time: the numbers stay meaningful
    # when other processes compete for the cores.
    best = min(timeit.repeat(fn, number=number, repeat=repeat, timer=time.process_time))
    return best / number * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--number", type=int, default=100_000)
    ap.add_argument("-r", "--repeat", type=int, default=7)
    args = ap.parse_args()
    impls = [("gateway", gateway_cycle)]
    try:
        import httptools  # noqa: F401

        impls.append(("httptools", httptools_cycle))
    except ImportError:
        pass
    print(f"python {sys.version.split()[0]}, best of {args.repeat} x {args.number}")
    for name, data in REQUESTS.items():
        for impl, make in impls:
            us = measure(make, data, args.number, args.repeat)
            print(f"{name:8s} ({len(data):3d} B) {impl:10s} {us:6.2f} µs/request")


if __name__ == "__main__":
    main()
