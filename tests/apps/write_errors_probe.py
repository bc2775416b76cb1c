"""Counts what the app gets to do after its client vanished (``--write-errors-tolerance``,
``--write-errors-exception-only``).

It sends ``first`` and waits for the test's ``$WRITE_FLAG`` file (created once the test has
reset its connection), then one more turn of the loop (the reset is seen), then produces up to
20 more chunks, appending to ``$WRITE_LOG`` one line per step: ``yield N`` / ``write N`` before
each chunk, and how it ended: ``closed`` (GeneratorExit), ``thrown ClientDisconnected`` (the
error thrown into the generator), ``raised at N`` (``write()`` raised), ``exhausted``.
``/write`` uses the ``write()`` callable, any other path a generator."""

import os
import time

import loop_engine


def _record(line):
    with open(os.environ["WRITE_LOG"], "a") as f:
        f.write(line + "\n")


def _wait_for_reset():
    deadline = time.monotonic() + 20
    while not os.path.exists(os.environ["WRITE_FLAG"]) and time.monotonic() < deadline:
        loop_engine.sleep(0.01)
    loop_engine.sleep(0.05)


def _chunks():
    try:
        yield b"first"
        _wait_for_reset()
        for i in range(1, 21):
            _record("yield %d" % i)
            yield b"x" * 100
        _record("exhausted")
    except GeneratorExit:
        _record("closed")
        raise
    except OSError as e:
        _record("thrown " + type(e).__name__)


def application(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
    if environ["PATH_INFO"] != "/write":
        return _chunks()
    write(b"first")
    _wait_for_reset()
    i = 0
    try:
        for i in range(1, 21):
            _record("write %d" % i)
            write(b"x" * 100)
        _record("all written")
    except OSError:
        _record("raised at %d" % i)
    return []
