"""The smallest WSGI app: ``gateway --http-socket :9090 --wsgi-file examples/hello.py --tornado 100 --greenlet``."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World!\n"]
