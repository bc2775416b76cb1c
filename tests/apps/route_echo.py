"""Echoes what internal routing may have changed: ``PATH_INFO QUERY_STRING REMOTE_USER
REQUEST_METHOD SCRIPT_NAME ROUTED_VAR``, one per line (``-`` when absent)."""

KEYS = ("PATH_INFO", "QUERY_STRING", "REMOTE_USER", "REQUEST_METHOD", "SCRIPT_NAME", "ROUTED_VAR")


def application(environ, start_response):
    body = "\n".join("%s=%s" % (k, environ.get(k, "-")) for k in KEYS).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-App", "yes"), ("X-Secret", "s"),
                              ("Content-Length", str(len(body)))])
    return [body]
