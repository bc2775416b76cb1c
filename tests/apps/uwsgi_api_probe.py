"""Probe for the ``uwsgi`` calls of tests/integration/test_uwsgi_api.py; each path reports a
Python literal.

``/logvars?k=v`` sets log vars, an added var and reports ``get_logvar``/``cl``;
``/logthis`` calls ``log_this_request()``; ``/queue?N`` reports ``listen_queue(N)`` (or the
error), ``/queue_after?PATH`` creates PATH, blocks its worker 1 s, then reports
``listen_queue(0)``; ``/ready``; ``/stop``; ``/ticks`` counts signal 17's handler calls (an
``add_ms_timer(17, 100)`` registered at import when ``PROBE_MS_TIMER`` is set);
``/async?PORT`` and ``/connect?PORT`` talk to a line echo server with the socket helpers;
``/warn?TEXT`` sets the warning message; ``/raw`` answers with ``uwsgi.send(data)`` alone; ``/disconnect?PATH`` answers, disconnects,
then writes PATH; ``/logsize``; ``/mule``; ``/spool?PATH`` has the spooler write its
``spooler_dir()`` to PATH.
"""

import os
import time

import uwsgi

READY_AT_IMPORT = uwsgi.ready()
TICKS = []

if os.environ.get("PROBE_MS_TIMER"):
    uwsgi.register_signal(17, "worker", lambda signum: TICKS.append(signum))
    uwsgi.add_ms_timer(17, 100)


if hasattr(uwsgi, "spool"):
    def spool_task(args):
        with open(args[b"path"], "wb") as f:
            f.write(uwsgi.spooler_dir())
        return uwsgi.SPOOL_OK

    uwsgi.spooler = spool_task


def _error(call):
    try:
        return call()
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)


def _async_echo(port):
    fd = uwsgi.async_connect("127.0.0.1:%d" % port)
    assert fd >= 0
    uwsgi.wait_fd_write(fd, 3)
    uwsgi.suspend()
    connected = uwsgi.is_connected(fd)
    sent = uwsgi.send(fd, b"ping\n")
    uwsgi.wait_fd_read(fd, 3)
    uwsgi.suspend()
    woke = uwsgi.ready_fd() == fd
    reply = uwsgi.recv(fd)
    uwsgi.close(fd)
    return {"connected": connected, "sent": sent, "woke": woke, "reply": reply}


def _blocking_echo(port):
    fd = uwsgi.connect("127.0.0.1:%d" % port, 2)
    sent = uwsgi.send(fd, b"pong\n")
    reply = uwsgi.recv(fd, 2)  # at most 2 bytes
    rest = uwsgi.recv(fd)
    uwsgi.close(fd)
    return {"fd": fd >= 0, "sent": sent, "reply": reply, "rest": rest,
            "refused": uwsgi.connect("127.0.0.1:1"), "bad": uwsgi.connect("no-such-host:80")}


def application(environ, start_response):
    path = environ["PATH_INFO"]
    qs = environ.get("QUERY_STRING", "")
    if path == "/logvars":
        for pair in qs.split("&"):
            key, _, value = pair.partition("=")
            uwsgi.set_logvar(key, value)
        uwsgi.add_var("TENANT", "acme")
        body = environ["wsgi.input"].read()
        report = {"got": uwsgi.get_logvar(qs.partition("=")[0]), "missing": uwsgi.get_logvar("nope"),
                  "cl": uwsgi.cl(), "read": len(body), "add_var": uwsgi.add_var("X", "1"),
                  "too_big": _error(lambda: uwsgi.add_var("BIG", "x" * 70000))}
    elif path == "/logthis":
        report = {"log_this": uwsgi.log_this_request()}
    elif path == "/queue":
        report = {"queue": _error(lambda: uwsgi.listen_queue(int(qs or 0))), "sockets": len(uwsgi.sockets)}
    elif path == "/queue_after":
        open(qs, "w").close()  # the test connects while this worker's loop sleeps
        time.sleep(1.0)
        report = {"queue": uwsgi.listen_queue(0)}
    elif path == "/ready":
        report = {"ready": uwsgi.ready(), "at_import": READY_AT_IMPORT,
                  "has_spooler_dir": hasattr(uwsgi, "spooler_dir")}
    elif path == "/stop":
        report = {"stop": uwsgi.stop()}
    elif path == "/ticks":
        report = {"ticks": len(TICKS)}
    elif path == "/async":
        report = _async_echo(int(qs))
    elif path == "/connect":
        report = _blocking_echo(int(qs))
    elif path == "/raw":
        uwsgi.send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        uwsgi.send(uwsgi.connection_fd(), b"raw ")  # the same connection, through its transport
        uwsgi.send(b"body")
        return [b"never sent"]
    elif path == "/disconnect":
        write = start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        write(b"bye!")
        uwsgi.disconnect()
        with open(qs, "w") as f:
            f.write("after")
        return []
    elif path == "/warn":
        from urllib.parse import unquote

        report = {"set": uwsgi.set_warning_message(unquote(qs))}
    elif path == "/logsize":
        report = {"logsize": uwsgi.logsize()}
    elif path == "/mule":
        report = {"mule_file": _error(lambda: uwsgi.mule_file(int(qs))) if qs else _error(uwsgi.mule_file),
                  "recv_size": uwsgi.mule_msg_recv_size()}
    elif path == "/spool":
        uwsgi.spool({b"path": qs.encode()})
        report = {"spooled": True, "has_dir": hasattr(uwsgi, "spooler_dir"),
                  "dir_here": _error(uwsgi.spooler_dir)}
    else:
        report = {"no": path}
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [repr(report).encode()]
