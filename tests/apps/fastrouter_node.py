"""A node behind the FastRouter in tests: answers ``<NODE> <body length>`` (``NODE`` from the
environment, set with ``--env NODE=name``), so a test sees which node served.  Runs unchanged
in gateway and in real uWSGI."""

import os


def application(environ, start_response):
    data = environ["wsgi.input"].read()
    body = ("%s %d %s" % (os.environ.get("NODE", "?"), len(data), environ.get("PATH_INFO", ""))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
