"""The spooler through the real CLI: tasks spooled by a worker run in a spooler process.

The app (``tests/apps/spooler_app.py``) writes one JSON marker per task run into
``SPOOL_MARKERS``; every wait is bounded and watches a marker, a file or a log line.
``--spooler-frequency 1`` bounds the rescans the tests wait for (``at``, retries).
"""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import time

from gateway.protocol.uwsgi import encode_header, encode_vars
from server import run_server
from support.httpclient import Conn, request
from support.waits import wait_until

APP = "tests/apps/spooler_app.py"


class Spooled:
    def __init__(self, tmp_path, extra=()):
        self.queue = str(tmp_path / "queue")  # created by the server
        self.markers = str(tmp_path / "markers")
        os.mkdir(self.markers)
        self.args = ["--master", "--wsgi-file", APP, "--spooler", self.queue, "--spooler-frequency", "1"] + list(extra)
        self.env = {"SPOOL_MARKERS": self.markers}

    def runs(self, name):
        out = []
        for path in sorted(glob.glob(os.path.join(self.markers, name + ".[0-9]*"))):
            with open(path) as f:
                out.append(json.load(f))
        return out

    def wait_runs(self, name, count=1, timeout=10.0):
        return wait_until(lambda: len(self.runs(name)) >= count and self.runs(name), timeout, "%d run(s) of task %s" % (count, name))


def get(srv, path):
    r = request(srv.port, path)
    assert r.status == 200, r.body
    pid, spool_file = r.body.decode().split(" ", 1)
    return int(pid), spool_file


def pids(srv):
    return json.loads(request(srv.port, "/pids").body.decode().split(" ", 1)[1])


def test_tasks_run_in_the_spooler_process_and_done_tasks_are_deleted(tmp_path):
    sp = Spooled(tmp_path)
    with run_server(sp.args, env=sp.env) as srv:
        line = srv.wait_for_line(r"spawned the uWSGI spooler on dir \S+ with pid \d+")
        assert os.path.realpath(sp.queue) in line
        worker, spool_file = get(srv, "/spool?name=plain&body=hello")
        assert spool_file.startswith(os.path.realpath(sp.queue) + "/uwsgi_spoolfile_on_")
        run = sp.wait_runs("plain")[0]
        assert run["spooler"] is True and run["pid"] != worker and run["pid"] != srv.pid
        assert run["body"] == "hello" and run["task"] == os.path.basename(spool_file)  # as uWSGI: the name
        assert run["keys"] == ["body", "name", "ret", "spooler_task_name"]
        wait_until(lambda: not os.path.exists(spool_file), 5, "the done task's file to go")
        assert pids(srv)["spooler_pid"] == run["pid"]

        _, deco_file = get(srv, "/deco?name=deco")
        deco = sp.wait_runs("deco")[0]
        assert deco["value"] == {"n": 1} and deco["flag"] is True and deco["pid"] == run["pid"]
        wait_until(lambda: not os.path.exists(deco_file), 5, "the @spool task's file to go")

        _, raw_file = get(srv, "/raw?name=raw")
        sp.wait_runs("raw")
        wait_until(lambda: not os.path.exists(raw_file), 5, "the @spoolraw task's file to go")
        srv.wait_for_line(r"\[spooler \S+ pid: %d\] done with task" % run["pid"])


def test_a_remote_spool_packet_is_spooled_here(tmp_path):
    """modifier1 17 on --socket (uWSGI's spooler plugin): the vars are the task; ff 00 00 01."""
    sp = Spooled(tmp_path)
    with run_server(["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0"] + sp.args, env=sp.env) as srv:
        block = encode_vars([("name", "remote"), ("priority", "3"), ("x", "1")])
        with Conn(srv.uwsgi_port) as c:
            c.send(encode_header(17, len(block)) + block)
            assert c.read_to_eof() == b"\xff\x00\x00\x01"
        run = sp.wait_runs("remote")[0]
        assert run["spooler"] is True and run["keys"] == ["name", "priority", "spooler_task_name", "x"]
        with Conn(srv.uwsgi_port) as c:  # an unknown spooler: not spooled
            block = encode_vars([("name", "lost"), ("spooler", "/nonexistent")])
            c.send(encode_header(17, len(block)) + block)
            assert c.read_to_eof() == b"\xff\x00\x00\x00"


def test_retry_keeps_the_file_and_runs_again(tmp_path):
    sp = Spooled(tmp_path)
    with run_server(sp.args, env=sp.env) as srv:
        _, retry_file = get(srv, "/spool?name=again&ret=retry")
        _, forever_file = get(srv, "/forever?name=forever")
        sp.wait_runs("again", 2)
        sp.wait_runs("forever", 2)
        assert os.path.exists(retry_file) and os.path.exists(forever_file)
        assert retry_file.encode() in [j.encode() for j in pids(srv)["jobs"]]


def test_at_in_the_future_delays_the_task(tmp_path):
    sp = Spooled(tmp_path)
    with run_server(sp.args, env=sp.env) as srv:
        at = int(time.time()) + 3
        _, spool_file = get(srv, "/spool?name=later&at=%d" % at)
        get(srv, "/spool?name=now")
        sp.wait_runs("now")
        assert sp.runs("later") == [] and os.path.exists(spool_file)
        sp.wait_runs("later", timeout=10)
        marker = glob.glob(os.path.join(sp.markers, "later.0"))[0]
        assert os.stat(marker).st_mtime >= at


def test_a_task_that_raises_is_retried_and_the_spooler_lives_on(tmp_path):
    sp = Spooled(tmp_path)
    with run_server(sp.args, env=sp.env) as srv:
        srv.expect_traceback("fails on purpose")
        _, bad_file = get(srv, "/spool?name=bad&ret=raise")
        first = sp.wait_runs("bad")[0]
        get(srv, "/spool?name=after")
        after = sp.wait_runs("after")[0]
        assert after["pid"] == first["pid"]
        sp.wait_runs("bad", 2)
        assert os.path.exists(bad_file)
        assert "DAMN" not in srv.output() and "spooler is no more" not in srv.output()


def test_a_killed_spooler_is_respawned_and_runs_the_pending_tasks(tmp_path):
    sp = Spooled(tmp_path)
    with run_server(sp.args, env=sp.env) as srv:
        srv.wait_for_line(r"spawned the uWSGI spooler")
        old = wait_until(lambda: pids(srv)["spooler_pid"], 5, "the spooler's pid")
        at = int(time.time()) + 2
        _, pending = get(srv, "/spool?name=pending&at=%d" % at)
        os.kill(old, signal.SIGKILL)  # a spooler of the server this test started
        srv.wait_for_line(r"OOOPS the spooler is no more.*pid: %d" % old)
        new = wait_until(lambda: (pids(srv)["spooler_pid"] or 0) not in (0, old) and pids(srv)["spooler_pid"], 5,
                         "a new spooler")
        run = sp.wait_runs("pending")[0]
        assert run["pid"] == new
        wait_until(lambda: not os.path.exists(pending), 5, "the pending task's file to go")


def test_two_spooler_processes_share_the_directory(tmp_path):
    sp = Spooled(tmp_path, ["--spooler-processes", "2"])
    with run_server(sp.args, env=sp.env) as srv:
        wait_until(lambda: len(set(pids(srv)["spooler_pids"]) - {0}) == 2, 5, "two spooler pids")
        spoolers = set(pids(srv)["spooler_pids"])
        for i in range(8):
            get(srv, "/spool?name=t%d&sleep=0.3" % i)
        runs = [sp.wait_runs("t%d" % i, timeout=15)[0] for i in range(8)]
        assert all(len(sp.runs("t%d" % i)) == 1 for i in range(8))  # each task ran once
        assert {r["pid"] for r in runs} == spoolers


def test_a_reload_restarts_the_spooler_with_the_new_code(tmp_path):
    sp = Spooled(tmp_path)
    with run_server(sp.args, env=sp.env) as srv:
        srv.wait_for_line(r"spawned the uWSGI spooler")
        old = wait_until(lambda: pids(srv)["spooler_pid"], 5, "the spooler's pid")
        os.kill(srv.pid, signal.SIGHUP)
        new = wait_until(lambda: (pids(srv)["spooler_pid"] or 0) not in (0, old) and pids(srv)["spooler_pid"], 10,
                         "a new spooler after the reload")
        get(srv, "/spool?name=reloaded")
        assert sp.wait_runs("reloaded")[0]["pid"] == new
        assert "spooler is no more" not in srv.output()


def test_without_spooler_the_functions_are_absent_and_the_decorators_refuse(tmp_path):
    app = tmp_path / "probe.py"
    app.write_text(
        "import uwsgi, uwsgidecorators\n"
        "names = sorted(n for n in ('spool', 'send_to_spooler', 'spooler_pid', 'spoolers') if hasattr(uwsgi, n))\n"
        "try:\n"
        "    uwsgidecorators.spool(lambda args: None)\n"
        "    refused = ''\n"
        "except Exception as e:\n"
        "    refused = str(e)\n"
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [repr((names, uwsgi.i_am_the_spooler(), refused)).encode()]\n")
    with run_server(["--master", "--wsgi-file", str(app)]) as srv:
        body = request(srv.port, "/").body.decode()
    assert body == repr(([], None, "you have to enable the uWSGI spooler to use @_spool decorator"))


def test_spooler_external_directories_are_written_never_read(tmp_path):
    external = tmp_path / "elsewhere"
    sp = Spooled(tmp_path, ["--spooler-external", str(external)])
    with run_server(sp.args, env=sp.env) as srv:
        assert pids(srv)["spoolers"] == [os.path.realpath(sp.queue), str(external)]
        _, outside = get(srv, "/spool?name=outside&spooler=%s" % external)
        assert outside.startswith(str(external) + "/uwsgi_spoolfile_on_")
        get(srv, "/spool?name=inside")
        sp.wait_runs("inside")  # our spooler ran its own task...
        assert os.path.exists(outside) and not sp.runs("outside")  # ...and left the external one
        assert len(pids(srv)["spooler_pids"]) == 1
    # an external directory alone: uwsgi.spool works, no spooler process runs
    app = tmp_path / "lonely.py"
    app.write_text(
        "import uwsgi\n"
        "def application(environ, start_response):\n"
        "    path = uwsgi.spool({b'name': b'lonely'})\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'%d %s' % (uwsgi.spooler_pid(), path)]\n")
    with run_server(["--master", "--wsgi-file", str(app), "--spooler-external", str(external)]) as srv:
        pid, path = request(srv.port, "/").body.decode().split(" ", 1)
        assert pid == "0" and path.startswith(str(external) + "/uwsgi_spoolfile_on_") and os.path.exists(path)
    assert "spawned the uWSGI spooler" not in srv.output()


def test_spooler_cheap_runs_a_spooler_only_while_there_are_tasks(tmp_path):
    sp = Spooled(tmp_path, ["--spooler-cheap"])
    with run_server(sp.args, env=sp.env) as srv:
        assert pids(srv)["spooler_pid"] == 0  # nothing to do: no spooler at boot
        get(srv, "/spool?name=first")
        first = sp.wait_runs("first")[0]["pid"]
        srv.wait_for_line(r"cheaping spooler \S+ \.\.\.")
        srv.wait_for_line(r"spooler \S+ ended")
        wait_until(lambda: pids(srv)["spooler_pid"] == 0, 5, "the spooler gone")
        get(srv, "/spool?name=second")
        second = sp.wait_runs("second")[0]["pid"]
        assert second != first
    assert "OOOPS the spooler is no more" not in srv.output()


def test_spooler_cheap_starts_a_spooler_for_a_task_in_a_priority_subdirectory(tmp_path):
    sp = Spooled(tmp_path, ["--spooler-cheap"])
    with run_server(sp.args, env=sp.env) as srv:
        assert pids(srv)["spooler_pid"] == 0
        _, spool_file = get(srv, "/spool?name=urgent&priority=3")
        assert os.path.realpath(os.path.dirname(spool_file)) == os.path.realpath(os.path.join(sp.queue, "3"))
        run = sp.wait_runs("urgent")[0]
        assert run["pid"] not in (0, None)
        wait_until(lambda: not os.path.exists(spool_file), 5, "the done task deleted")
    assert "OOOPS the spooler is no more" not in srv.output()


def test_touch_spoolers_reload_restarts_the_spoolers(tmp_path):
    touch = tmp_path / "reload-spoolers"
    touch.write_text("")
    sp = Spooled(tmp_path, ["--touch-spoolers-reload", str(touch)])
    with run_server(sp.args, env=sp.env) as srv:
        old = wait_until(lambda: pids(srv)["spooler_pid"], 5, "the spooler's pid")
        workers = request(srv.port, "/pids").body.split(b" ", 1)[0]
        os.utime(touch, (time.time() + 5, time.time() + 5))
        srv.wait_for_line(r"\*\*\* %s has been touched\.\.\. spoolers reload \*\*\*" % re.escape(str(touch)))
        new = wait_until(lambda: (pids(srv)["spooler_pid"] or 0) not in (0, old) and pids(srv)["spooler_pid"], 10,
                         "a new spooler")
        get(srv, "/spool?name=after")
        assert sp.wait_runs("after")[0]["pid"] == new
        assert request(srv.port, "/pids").body.split(b" ", 1)[0] == workers  # the worker was left alone
