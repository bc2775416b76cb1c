"""``write()`` to a client that went away: streams 64 KiB chunks with the PEP 3333 ``write``
callable, parking its core between them, and records in ``$WRITE_OUTCOME`` whether a write
raised (``raised ClientDisconnected``) or all 200 went through quietly (``completed``)."""

import os

import loop_engine


def application(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
    outcome = "completed"
    try:
        for _ in range(200):
            write(b"x" * 65536)
            loop_engine.sleep(0.005)
    except OSError as e:
        outcome = "raised " + type(e).__name__
    with open(os.environ["WRITE_OUTCOME"], "w") as f:
        f.write(outcome)
    return []
