"""Peer servers written against Tornado itself (one process, loopback only), for bench/run.py.

usage: python bench/peers.py KIND APP PORT

KIND   tornado-raw   a native tornado.web.RequestHandler doing the same job as the WSGI app
                     (compute_etag off, no access log): the "raw Tornado" ceiling
       tornado-wsgi  tornado.wsgi.WSGIContainer around bench/apps/APP.py
APP    hello | stream | sleep
PORT   TCP port on 127.0.0.1 (backlog 2048)

Adapted from the team's anchors harness (shared/bench/anchors/servers.py).
"""

import asyncio
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
BACKLOG = 2048
BODY = b"Hello, World!"


def serve(make_app, port):
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    async def main():
        server = HTTPServer(make_app())
        server.add_sockets(bind_sockets(port, HOST, backlog=BACKLOG))
        await asyncio.Event().wait()

    asyncio.run(main())


def tornado_raw(kind):
    import tornado.web

    class Base(tornado.web.RequestHandler):
        def compute_etag(self):  # lean: no sha1 of the body per request
            return None

        def set_default_headers(self):
            self.set_header("Content-Type", "text/plain")

    class Hello(Base):
        def get(self):
            self.write(BODY)

    class Sleep(Base):
        async def get(self):
            await asyncio.sleep(0.1)  # Tornado's own non-blocking wait (no greenlets here)
            self.write(BODY)

    class Stream(Base):
        async def get(self):
            # three chunks on the wire, like the WSGI generator (chunked transfer encoding)
            self.write(b"one")
            await self.flush()
            self.write(b"two")
            await self.flush()
            self.write(b"three")

    handler = {"hello": Hello, "sleep": Sleep, "stream": Stream}[kind]
    return lambda: tornado.web.Application([(r"/.*", handler)], log_function=lambda h: None)


def tornado_wsgi(app_name):
    from tornado.wsgi import WSGIContainer

    sys.path.insert(0, os.path.join(HERE, "apps"))
    app = __import__(app_name).application
    return lambda: WSGIContainer(app)


def main():
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["tornado-raw", "tornado-wsgi"])
    p.add_argument("app", choices=["hello", "stream", "sleep"])
    p.add_argument("port", type=int)
    opts = p.parse_args()
    make = tornado_raw(opts.app) if opts.kind == "tornado-raw" else tornado_wsgi(opts.app)
    serve(make, opts.port)


if __name__ == "__main__":
    main()
