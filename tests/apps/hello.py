"""The smallest app: ``hello <PATH_INFO>`` as text/plain."""


def application(environ, start_response):
    body = ("hello " + environ["PATH_INFO"]).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
