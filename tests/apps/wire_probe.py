"""Byte-level differential probe of ``--socket``: runs unchanged in gateway and in real uWSGI.

Needs ``--pythonpath tests/apps`` (it imports :mod:`rpc_peer`, which registers the RPC
functions ``hello``, ``echo``, ``nargs``, ``big``, ``empty``, ``noneret``, ``raises``, ...
and answers ``/call?node=&func=&arg=`` with ``uwsgi.rpc``).  Added here: functions returning
other types (``strret``, ``intret``, ``bytesret``).

Any other request is answered with a deterministic body both servers must produce byte for
byte: the vars the client sent (the environ's upper-case ``str`` entries, sorted, without the
ones a server adds on its own) and ``wsgi.input`` read fully, so the status line and headers
are the app's alone.
"""

import uwsgi
from environ_echo import application as echo_application
from rpc_peer import application as rpc_application

#: upper-case environ entries a server adds by itself (gateway's and uWSGI's differ)
OWN = {"SCRIPT_NAME", "SERVER_PROTOCOL", "REQUEST_URI", "REMOTE_ADDR", "REMOTE_PORT"}


def strret(*args):
    return "str é"


def intret(*args):
    return 42


def bytesret(*args):
    return b"bytes"


for _f in (strret, intret, bytesret):
    uwsgi.register_rpc(_f.__name__, _f)


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/call":
        return rpc_application(environ, start_response)
    if environ.get("PATH_INFO", "").startswith("/echo/"):
        return echo_application(environ, start_response)
    body = environ["wsgi.input"].read()
    keys = sorted(k for k, v in environ.items() if k.isupper() and isinstance(v, str) and k not in OWN)
    lines = ["%s=%s" % (k, environ[k]) for k in keys]
    lines.append("SCRIPT_NAME=%s" % environ.get("SCRIPT_NAME", ""))
    lines.append("wsgi.url_scheme=%s" % environ.get("wsgi.url_scheme"))
    lines.append("body=%s" % body.decode("latin-1"))
    out = "\n".join(lines).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]
