"""Probe app for the socket options (tests/integration/test_socket_options.py).

* ``/sockets``: the worker id and, for each listening socket it serves (``uwsgi.sockets``),
  its address, SO_SNDBUF, SO_RCVBUF and TCP_FASTOPEN (TCP), as JSON;
* ``/env``: the CGI variables the socket options change, as JSON;
* ``/file``: ``wsgi.file_wrapper`` over the file named by ``QUERY_STRING``;
* ``/big``: 64 MiB in 1 MiB chunks (for a client that does not read);
* ``/echo``: the request body's length;
* ``/gzip/list``, ``/gzip/stream``, ``/gzip/encoded``: a text marked ``uWSGI-Encoding: gzip``
  (for ``--http-auto-gzip``), returned as one item, yielded in pieces, or already with a
  ``Content-Encoding``.
"""

import json
import socket

import uwsgi

ENV_KEYS = ("SCRIPT_NAME", "PATH_INFO", "HTTPS", "wsgi.url_scheme", "SERVER_NAME", "SERVER_PORT", "HTTP_HOST",
            "REQUEST_URI")


def _sockets():
    out = []
    for fd in uwsgi.sockets:
        sock = socket.socket(fileno=fd)
        try:
            info = {"name": sock.getsockname() if sock.family != socket.AF_UNIX else repr(sock.getsockname()),
                    "sndbuf": sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
                    "rcvbuf": sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)}
            if sock.family != socket.AF_UNIX:
                info["fastopen"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN)
            out.append(info)
        finally:
            sock.detach()  # the server's fd: not ours to close
    return out


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/sockets":
        body = json.dumps({"worker": uwsgi.worker_id(), "sockets": _sockets()}).encode()
    elif path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(environ["QUERY_STRING"], "rb"), 4096)
    elif path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"x" * (1 << 20) for _ in range(64))
    elif path.startswith("/gzip/"):
        text = b"".join(b"line %d of a compressible text\n" % n for n in range(2000))
        headers = [("Content-Type", "text/plain"), ("uWSGI-Encoding", "gzip")]
        if path == "/gzip/encoded":
            headers.append(("Content-Encoding", "identity"))
        start_response("200 OK", headers)
        if path == "/gzip/stream":
            return (text[i:i + 5000] for i in range(0, len(text), 5000))
        return [text]
    elif path == "/echo":
        body = str(len(environ["wsgi.input"].read())).encode()
    else:
        body = json.dumps({k: environ.get(k) for k in ENV_KEYS}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
