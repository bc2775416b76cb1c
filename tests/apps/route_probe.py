"""Differential probe for internal routing (runs under gateway and real uWSGI: no gateway import).

Answers the request variables a rule may have changed, one ``KEY=value`` line each; a path
``/status/CODE`` answers that status (so the later chains have one to test).
"""

KEYS = ("PATH_INFO", "SCRIPT_NAME", "QUERY_STRING", "REQUEST_METHOD", "REQUEST_URI", "REMOTE_ADDR",
        "REMOTE_USER", "MYVAR", "DOCUMENT_ROOT", "UWSGI_SCHEME", "HTTP_HOST", "N")


def application(environ, start_response):
    body = "".join("%s=%s\n" % (key, environ.get(key)) for key in KEYS).encode("latin-1")
    parts = environ["PATH_INFO"].split("/")
    status = parts[2] + " X" if len(parts) > 2 and parts[1] == "status" else "200 OK"
    start_response(status, [("Content-Type", "text/plain"), ("X-App", "1"), ("X-Del", "a"), ("X-Del", "b")])
    return [body]
