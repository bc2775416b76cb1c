"""Dynamic apps for tests/integration/test_dynamic_apps_vs_uwsgi.py, loaded by name from the
request (``UWSGI_SCRIPT dyn_hello``, ``dyn_hello:other``, ``dyn_hello:factory()``).

Each answer says which callable ran and what it sees: SCRIPT_NAME, PATH_INFO, the working
directory's name, ``DYN_X`` in ``os.environ`` and in the process environment (libc's
``getenv``, where ``UWSGI_SETENV`` writes).  ``PATH_INFO /setcache`` first stores ``k1`` in
the cache ``c1``.  ``echo`` answers the request body it read.
"""

import ctypes
import os

_libc = ctypes.CDLL(None)
_libc.getenv.restype = ctypes.c_char_p


def _answer(name, environ, start_response):
    if environ.get("PATH_INFO") == "/setcache":
        import uwsgi

        uwsgi.cache_update("k1", b"cached-value", 0, "c1")
    in_libc = _libc.getenv(b"DYN_X")
    body = "%s sn=%s pi=%s cwd=%s os.environ=%s getenv=%s" % (
        name, environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO"), os.path.basename(os.getcwd()),
        os.environ.get("DYN_X"), in_libc.decode() if in_libc else None)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


def application(environ, start_response):
    return _answer("hello", environ, start_response)


def other(environ, start_response):
    return _answer("other", environ, start_response)


def factory():
    return lambda environ, start_response: _answer("made", environ, start_response)


def echo(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"body=" + body]
