"""Log lines for ``--log-master`` tests: every request prints ``MARK pid=<pid> n=<query> xxx... END``
(~1 KB, with print(): block-buffered stdout without --log-master) and writes a short line to
``wsgi.errors``; ``/long?N`` prints one line of N ``y``."""

import os


def application(environ, start_response):
    query = environ.get("QUERY_STRING", "")
    if environ["PATH_INFO"] == "/long":
        print("y" * int(query))
    else:
        print("MARK pid=%d n=%s %s END" % (os.getpid(), query, "x" * 1000))
        environ["wsgi.errors"].write("ERR pid=%d n=%s\n" % (os.getpid(), query))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
