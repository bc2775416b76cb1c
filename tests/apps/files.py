"""``wsgi.file_wrapper`` responses for ``--offload-threads``: ``/file`` sends the file named by
``$OFFLOAD_FILE`` (no Content-Length from the app), ``/bytesio`` wraps a non-file object
(``io.BytesIO`` of 1 MiB of a known pattern: iterated by the core, never offloaded),
``/quick`` answers at once."""

import io
import os

PATTERN = bytes(range(256)) * 4096  # 1 MiB


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path.endswith("/file"):
        f = open(os.environ["OFFLOAD_FILE"], "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 65536)
    if path.endswith("/bytesio"):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](io.BytesIO(PATTERN), 65536)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"quick"]
