"""``wsgi.file_wrapper`` responses for ``--offload-threads``: ``/file`` sends the file named by
``$OFFLOAD_FILE`` (no Content-Length from the app), ``/quick`` answers at once."""

import os


def application(environ, start_response):
    if environ["PATH_INFO"] == "/file":
        f = open(os.environ["OFFLOAD_FILE"], "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 65536)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"quick"]
