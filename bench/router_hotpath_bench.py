#!/usr/bin/env python3
"""The HTTP router's Python work per request, without sockets: what the router adds besides syscalls.

For a typical keep-alive GET (wrk's head) answered with a small Content-Length response, times each
step the router runs in Python and the whole chain on a fake client transport and a connected
``socketpair`` standing in for the worker (so the upstream ``send``/``recv`` syscalls are in the
"whole request" figure, not the loop's ``add_reader`` and ``connect``):

    python bench/router_hotpath_bench.py [N]
"""

import socket
import sys
import time

from gateway.protocol.http1 import RequestParser
from gateway.protocol.upstream_response import parse_response_head
from gateway.router.vars import VarsBuilder

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9090\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"


def per_call(f, n):
    f()
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t) / n * 1e6


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    parser = RequestParser(max_head=4096, max_headers=100)
    builder = VarsBuilder("9090", server_name="bench")

    def parse():
        parser.receive_data(REQUEST)
        req = parser.next_event()
        parser.next_event()  # EndOfMessage
        parser.start_next_request()
        return req

    req = parse()
    head = parse_response_head(RESPONSE)
    a, b = socket.socketpair()
    packet = builder.build(req, "127.0.0.1", "40000")

    def exchange():  # the router's side of one upstream exchange, minus connect/epoll
        a.send(builder.build(parse(), "127.0.0.1", "40000"))
        b.recv(65536)
        b.send(RESPONSE)
        data = a.recv(65536)
        h = parse_response_head(data)
        return h.rebuild(b"Date: x\r\n") + data[h.size:]

    rows = [
        ("parse the request head (keep-alive parser)", per_call(parse, n)),
        ("build the uwsgi packet (%d bytes)" % len(packet), per_call(lambda: builder.build(req, "127.0.0.1", "40000"), n)),
        ("parse the worker's response head", per_call(lambda: parse_response_head(RESPONSE), n)),
        ("rebuild the head for the client", per_call(lambda: head.rebuild(b"Date: x\r\n"), n)),
        ("all of it + send/recv on a socketpair", per_call(exchange, n)),
    ]
    for name, us in rows:
        print("%-45s %6.2f us" % (name, us))


if __name__ == "__main__":
    main()
