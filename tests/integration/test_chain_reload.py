"""Chain reload: the workers are replaced one at a time, the next once the new one serves
(``--touch-chain-reload``, the master FIFO's ``c``, ``uwsgi.chain_reload()``)."""

from __future__ import annotations

import ast
import os
import re
import time

import pytest

from server import run_server
from support.fifo import say
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/process_probe.py", "--tornado", "4", "--greenlet", "--master", "--processes", "3",
       "--lazy-apps"]


def _check_chain(srv, before: int) -> None:
    assert wait_until(lambda: "chain reloading complete" in srv.output()[before:], what="the chain's end", timeout=30)
    out = srv.output()[before:]
    victims = [int(v) for v in re.findall(r"chain next victim is worker (\d)", out)]
    assert victims == [1, 2, 3]
    # each next victim comes only after the previous one's successor was spawned and ready
    for wid in (1, 2):
        successor = out.index("spawned uWSGI worker %d (pid" % wid)
        assert successor < out.index("chain next victim is worker %d" % (wid + 1))


def test_touch_chain_reload_replaces_one_worker_at_a_time(tmp_path):
    trigger = tmp_path / "chain"
    trigger.write_text("")
    with run_server(APP + ["--touch-chain-reload", str(trigger)]) as srv:
        before = len(srv.output())
        old = set(ast.literal_eval(request(srv.port, "/").body.decode())["workers"][i][1] for i in range(3))
        os.utime(trigger, (time.time() + 5, time.time() + 5))
        _check_chain(srv, before)
        assert wait_until(lambda: not (set(p for _, p in ast.literal_eval(
            request(srv.port, "/").body.decode())["workers"]) & old), what="three new workers")


def test_fifo_c_and_uwsgi_chain_reload(tmp_path):
    fifo = tmp_path / "ctl"
    app = tmp_path / "app.py"
    app.write_text("import uwsgi\n\ndef application(e, sr):\n    sr('200 OK', [])\n"
                   "    return [repr(uwsgi.chain_reload()).encode()]\n")
    with run_server(["--wsgi-file", str(app), "--tornado", "4", "--greenlet", "--master", "--processes", "3",
                     "--master-fifo", str(fifo)]) as srv:
        before = len(srv.output())
        say(fifo, "c")
        _check_chain(srv, before)
        before = len(srv.output())
        assert request(srv.port, "/").body == b"True"
        _check_chain(srv, before)
