"""A task file written by gateway is run by a real uWSGI 2.0.31 spooler (the other way round,
a file uWSGI wrote, is ``tests/fixtures/spool/uwsgi-2.0.31.spool``, decoded by the unit tests)."""

from __future__ import annotations

import ast
import os
import signal
import subprocess

from gateway.spooler import Spoolers
from gateway.spooler.writer import enqueue
from tests.peers import require_uwsgi
from tests.server import ROOT
from tests.support.waits import wait_until

APP = """
import uwsgi
def run(env):
    with open(%(marker)r + ".tmp", "w") as f:
        f.write(repr(sorted(env.items(), key=repr)))
    import os
    os.rename(%(marker)r + ".tmp", %(marker)r)
    return uwsgi.SPOOL_OK
uwsgi.spooler = run
def application(environ, start_response):
    start_response("200 OK", [])
    return [b""]
"""


def test_a_real_uwsgi_spooler_runs_a_task_gateway_wrote(tmp_path):
    binary = require_uwsgi()
    queue = tmp_path / "queue"
    queue.mkdir()
    marker = str(tmp_path / "ran")
    path = enqueue(Spoolers([str(queue)]), {"name": "from-gateway", b"bin": b"\x00\xff", "body": b"B\x00DY"})
    app = tmp_path / "app.py"
    app.write_text(APP % {"marker": marker})
    proc = subprocess.Popen([binary, "--master", "--http-socket", "127.0.0.1:0", "--wsgi-file", str(app),
                             "--spooler", str(queue), "--spooler-frequency", "1"], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: os.path.exists(marker) or proc.poll() is not None, 20, "uWSGI's spooler to run the task")
        assert proc.poll() is None
        with open(marker) as f:
            env = dict(ast.literal_eval(f.read()))
        assert env == {"spooler_task_name": os.path.basename(path).encode(), b"name": b"from-gateway", b"bin": b"\x00\xff",
                       "body": b"B\x00DY"}
        wait_until(lambda: not os.path.exists(path), 10, "uWSGI to delete the done task")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uWSGI's shutdown (SIGTERM would reload it)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
