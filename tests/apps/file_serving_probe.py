"""Requests for the file-serving/environ options (tests/integration/test_file_serving.py):

* ``/env...``: the environ's PATH_INFO, SCRIPT_NAME and DOCUMENT_ROOT as JSON;
* ``/bighead?N``: a response with an N-byte header (``/bighead-caught?N``: the app catches
  what start_response raises and answers 200 with its message);
* ``POST /upload...``: reads the body (buffered by --post-buffering before the app runs) and
  tells its size and which progress files are left in ``UPLOAD_DIR`` (the query's ``dir=``).
"""

import json
import os
from urllib.parse import parse_qs


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = environ.get("QUERY_STRING", "")
    if path.startswith("/bighead"):
        headers = [("Content-Type", "text/plain"), ("X-Big", "x" * int(query))]
        if path == "/bighead-caught":
            try:
                start_response("200 OK", headers)
            except TypeError as e:
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [("caught: %s" % e).encode()]
        else:
            start_response("200 OK", headers)
        return [b"big"]
    if path.startswith("/upload"):
        body = environ["wsgi.input"].read()
        directory = parse_qs(query).get("dir", [""])[0]
        left = sorted(os.listdir(directory)) if directory else []
        out = json.dumps({"size": len(body), "left": left}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [out]
    out = json.dumps({k: environ.get(k) for k in ("PATH_INFO", "SCRIPT_NAME", "DOCUMENT_ROOT")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
    return [out]
