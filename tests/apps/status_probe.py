"""``/status/N`` answers status N, ``/slow?S`` parks its core S seconds, ``/big?N`` sends N
bytes: requests for the log-selection options (--log-4xx, --log-5xx, --log-slow, --log-big)."""

import loop_engine


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = environ.get("QUERY_STRING", "")
    status = "200 OK"
    body = b"ok"
    if path.startswith("/status/"):
        status = "%s Whatever" % path.rsplit("/", 1)[1]
    elif path == "/slow":
        loop_engine.sleep(float(query))
    elif path == "/big":
        body = b"b" * int(query)
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
