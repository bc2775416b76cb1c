"""App behind the HTTP router in tests: environ echo, body echo, streaming, framing cases.

Runs unchanged in gateway and in real uWSGI (both serve it as a worker).
"""

import hashlib
import json
import os
import time

ENV_KEYS = ("REMOTE_ADDR", "REMOTE_PORT", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTPS",
            "UWSGI_ROUTER", "SERVER_PROTOCOL", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "HTTP_HOST",
            "CONTENT_LENGTH", "HTTP_COOKIE", "wsgi.url_scheme")


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
        import uwsgi

        uwsgi.websocket_handshake(environ["HTTP_SEC_WEBSOCKET_KEY"], environ.get("HTTP_ORIGIN", ""))
        while True:
            try:
                msg = uwsgi.websocket_recv()
            except OSError:  # the client closed
                return []
            uwsgi.websocket_send(b"echo:" + msg)
    if path == "/env":
        body = json.dumps({k: environ.get(k) for k in ENV_KEYS}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/echo":
        data = environ["wsgi.input"].read()
        body = ("%d %s" % (len(data), hashlib.md5(data).hexdigest())).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        # chunk 0, then wait (bounded) until the test has seen chunk 0 and touched the marker
        marker = environ["QUERY_STRING"]
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"first\n"
            end = time.time() + 10
            while not os.path.exists(marker) and time.time() < end:
                time.sleep(0.01)
            yield b"second\n"
        return gen()
    if path == "/big":
        n = int(environ["QUERY_STRING"] or "5")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (bytes([65 + i]) * 1000000 for i in range(n))
    if path == "/status":
        status = environ["QUERY_STRING"]
        start_response(status.replace("+", " "), [("ETag", '"e"')])
        return [b""]
    if path == "/length":
        start_response("200 OK", [("Content-Length", "11")])
        return [b"hello ", b"world"]
    if path == "/slow":
        try:
            import loop_engine

            loop_engine.sleep(float(environ["QUERY_STRING"] or "3"))  # parks only this core
        except Exception:
            time.sleep(float(environ["QUERY_STRING"] or "3"))
        start_response("200 OK", [("Content-Length", "4")])
        return [b"late"]
    if path == "/die":
        os._exit(3)  # the worker dies in the middle of a request
    if path == "/crash":
        raise RuntimeError("crash before start_response")
    body = b"hello"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [body]
