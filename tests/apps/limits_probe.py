"""Reports the worker's limits and placement: RLIMIT_AS, RLIMIT_NOFILE, CPU affinity, and
whether the client connection has SO_KEEPALIVE (through ``uwsgi.connection_fd()``)."""

import json
import os
import resource
import socket

import uwsgi


def application(environ, start_response):
    conn = socket.socket(fileno=os.dup(uwsgi.connection_fd()))
    try:
        keepalive = conn.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    finally:
        conn.close()
    body = json.dumps({
        "as": resource.getrlimit(resource.RLIMIT_AS)[0],
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "cpus": sorted(os.sched_getaffinity(0)),
        "keepalive": keepalive,
        "worker": uwsgi.worker_id(),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
