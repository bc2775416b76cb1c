"""Differential probe: the same file runs under gateway and under real uWSGI (no gateway import).

By PATH_INFO's last segment (any prefix, so mounts and ``SCRIPT_NAME`` work):

* anything not below: the environ as JSON: ``env`` (every ``str`` value), ``types`` (the type
  name of every other value, ``wsgi.*`` included), ``body`` (``wsgi.input`` read fully, latin-1),
  ``version`` (``wsgi.version`` as a list) and the three ``wsgi.multi*``/``run_once`` flags;
* ``noreason``: status ``"200"`` without a reason phrase;
* ``duphdr``: two ``X-Dup`` response headers;
* ``nonlatin``: a header value that is not latin-1 (the server must refuse it);
* ``twice``: ``start_response`` twice without ``exc_info`` (the second must raise);
* ``twice-exc``: the second call with ``exc_info`` before any body (replaces the headers);
* ``strbody``: the iterable yields ``str`` (an error under PEP 3333);
* ``empty-cl``: an empty body with ``Content-Length: 0``;
* ``write``: the ``write()`` callable, then an iterable;
* ``head-body``: a body for every method (a server must drop it for HEAD);
* ``custom``: the response the query describes: ``s`` the status, each ``h`` a ``Name:value``
  header, each ``b`` a body chunk (``start_response`` raising gives ``raised <type>``);
* ``filewrap``: ``wsgi.file_wrapper`` over this file (``?bytesio``: over an ``io.BytesIO``);
* ``input``: the ``wsgi.input`` calls named in the query (``readline,read:3,read``: a call
  per item, ``:N`` its size argument; ``iter``, ``readlines``) and what each returned, as JSON.
"""

import io
import json
import sys
from urllib.parse import parse_qsl

_FLAGS = ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once")


def _env(environ):
    inp = environ.get("wsgi.input")
    body = b""
    if inp is not None:
        body = inp.read()
    return {
        "env": {k: v for k, v in environ.items() if isinstance(v, str)},
        "types": {k: type(v).__name__ for k, v in environ.items() if not isinstance(v, str)},
        "body": body.decode("latin-1"),
        "version": list(environ.get("wsgi.version", ())),
        "flags": {k: environ.get(k) for k in _FLAGS},
        "errors_has_write": hasattr(environ.get("wsgi.errors"), "write"),
        "file_wrapper": "wsgi.file_wrapper" in environ,
    }


def application(environ, start_response):
    last = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
    if last == "noreason":
        start_response("200", [("Content-Type", "text/plain")])
        return [b"ok"]
    if last == "duphdr":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Dup", "a"), ("X-Dup", "b")])
        return [b"ok"]
    if last == "nonlatin":
        try:
            start_response("200 OK", [("Content-Type", "text/plain"), ("X-Name", "\u20ac")])
        except Exception as e:  # the probe reports what the server raised
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
            return [("raised %s" % type(e).__name__).encode()]
        return [b"accepted"]
    if last == "twice":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            start_response("201 Created", [("Content-Type", "text/plain")])
        except Exception as e:
            return [("raised %s" % type(e).__name__).encode()]
        return [b"accepted"]
    if last == "twice-exc":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-First", "1")])
        try:
            raise ValueError("replaced")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"replaced"]
    if last == "strbody":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["text"]
    if last == "empty-cl":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "0")])
        return [b""]
    if last == "write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written,")
        return [b"returned"]
    if last == "custom":
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        status = next((v for k, v in query if k == "s"), "200 OK")
        headers = [tuple(v.split(":", 1)) for k, v in query if k == "h"]
        try:
            start_response(status, headers)
        except Exception as e:  # the probe reports what the server raised
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
            return [("raised %s" % type(e).__name__).encode()]
        return [v.encode("latin-1") for k, v in query if k == "b"]
    if last == "filewrap":
        start_response("200 OK", [("Content-Type", "text/plain")])
        if environ.get("QUERY_STRING") == "bytesio":
            return environ["wsgi.file_wrapper"](io.BytesIO(b"from bytesio"), 4)
        return environ["wsgi.file_wrapper"](open(__file__, "rb"))
    if last == "input":
        inp = environ["wsgi.input"]
        results = []
        for op in environ.get("QUERY_STRING", "").split(","):
            name, _, arg = op.partition(":")
            try:
                if name == "iter":
                    value = list(inp)
                else:
                    value = getattr(inp, name)(*([int(arg)] if arg else []))
                results.append(repr(value))
            except Exception as e:  # the probe reports what the server raised
                results.append("raised %s" % type(e).__name__)
        data = json.dumps(results).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [data]
    if last == "head-body":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"body"]
    data = json.dumps(_env(environ), sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
