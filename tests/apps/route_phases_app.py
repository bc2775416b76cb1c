"""For the routing chains around the response: ``/boom`` raises, ``/status/NNN`` answers NNN,
``/gen`` streams two chunks, ``/metric`` tells the metric ``final_seen``; every answer carries ``X-App``, ``X-User`` and ``X-Secret``."""


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/metric":  # the metric the final routes count
        import uwsgi

        body = str(uwsgi.metric_get("final_seen")).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    headers = [("Content-Type", "text/plain"), ("X-App", "yes"), ("X-User", "alice"), ("X-Secret", "s")]
    if path == "/gen":
        start_response("200 OK", headers)
        return iter([b"one,", b"two"])
    status = "200 OK"
    if path.startswith("/status/"):
        status = path[8:11] + " Whatever"
    body = ("app %s" % path).encode("latin-1")
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]
