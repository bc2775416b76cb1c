"""Echoes what internal routing may have changed: ``PATH_INFO QUERY_STRING REMOTE_USER
REQUEST_METHOD SCRIPT_NAME ROUTED_VAR``, one per line (``-`` when absent).  A request's
``X-Path`` header comes back as ``X-Sendfile`` (for the response chain's ``static:``)."""

KEYS = ("PATH_INFO", "QUERY_STRING", "REMOTE_USER", "REQUEST_METHOD", "SCRIPT_NAME", "ROUTED_VAR")


def application(environ, start_response):
    body = "\n".join("%s=%s" % (k, environ.get(k, "-")) for k in KEYS).encode("latin-1")
    headers = [("Content-Type", "text/plain"), ("X-App", "yes"), ("X-Secret", "s"), ("Content-Length", str(len(body)))]
    if "HTTP_X_PATH" in environ:
        headers.append(("X-Sendfile", environ["HTTP_X_PATH"]))
    start_response("200 OK", headers)
    return [body]
