"""Reports when it was called, what ``wsgi.input`` is and how many body bytes it read:
``{"called": <time.time()>, "input": <type name>, "on_disk": <bool|null>, "length": <int>}``."""

import json
import time


def application(environ, start_response):
    called = time.time()
    body = environ["wsgi.input"]
    rolled = getattr(body, "_rolled", None)  # tempfile.SpooledTemporaryFile: on disk yet?
    length = len(body.read())
    out = json.dumps({"called": called, "input": type(body).__name__, "on_disk": rolled, "length": length}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
    return [out]
