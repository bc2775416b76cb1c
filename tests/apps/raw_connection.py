"""The request's own connection through the socket helpers (tests/integration/test_uwsgi_api.py).

``/close?S`` answers raw, ``uwsgi.close(uwsgi.connection_fd())``, then sleeps S seconds;
``/wsclose?S`` does the same on a websocket; ``/slow?S`` sleeps S seconds and answers ``slow ok``; ``/echo`` answers raw, then echoes
what each ``uwsgi.recv(uwsgi.connection_fd())`` returns until it returns None (EOF);
``/wait?S`` answers raw, then waits (``wait_fd_read(connection_fd(), S)``) and
echoes, until EOF; ``/big?PORT`` connects to PORT and sends it 50 MiB (``{"sent": ..., "blocking": ...}``); ``/`` answers ``ok``.
"""

import os

import uwsgi


def application(environ, start_response):
    path, qs = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/close":
        uwsgi.send(b"HTTP/1.0 200 OK\r\n\r\nbye\n")
        uwsgi.close(uwsgi.connection_fd())
        uwsgi.async_sleep(float(qs))
        uwsgi.suspend()
        return []
    if path == "/wsclose":
        uwsgi.websocket_handshake()
        uwsgi.close(uwsgi.connection_fd())
        uwsgi.async_sleep(float(qs))
        uwsgi.suspend()
        return []
    if path == "/slow":
        uwsgi.async_sleep(float(qs))
        uwsgi.suspend()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slow ok\n"]
    if path == "/echo":
        uwsgi.send(b"HTTP/1.0 200 OK\r\n\r\nsay something\n")
        while True:
            try:
                data = uwsgi.recv(uwsgi.connection_fd())
            except Exception as e:
                data = repr(e).encode()
            uwsgi.send(b"got: %r\n" % (data,))
            if not isinstance(data, bytes):
                return []
    if path == "/wait":
        uwsgi.send(b"HTTP/1.0 200 OK\r\n\r\nwaiting\n")
        fd = uwsgi.connection_fd()
        while True:
            try:
                uwsgi.wait_fd_read(fd, float(qs))
                uwsgi.suspend()
                ready = uwsgi.ready_fd()
                data = uwsgi.recv(fd) if ready == fd else b"-"
            except Exception as e:
                ready, data = -2, repr(e).encode()
            uwsgi.send(b"%s %r\n" % (b"ready" if ready == fd else b"timeout" if ready == -1 else b"error", data))
            if data is None or ready == -2:
                return []
    if path == "/big":
        fd = uwsgi.connect("127.0.0.1:%s" % qs)
        sent = uwsgi.send(fd, b"x" * (50 << 20))
        blocking = os.get_blocking(fd)  # connect() gave a blocking fd: send() keeps it so
        uwsgi.close(fd)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr({"sent": sent, "blocking": blocking}).encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
