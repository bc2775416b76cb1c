"""The alarm subsystem through the real CLI: an alarm raised by a log line, by the listen
queue, by a metric, by ``uwsgi.alarm()``, by a descriptor; the ``cmd:`` plugin writing a file
the test reads; anti-flood; ``curl:`` posting to a local HTTP server; bad configurations."""

from __future__ import annotations

import http.server
import os
import re
import socket
import subprocess
import threading

import pytest

from server import ServerProcess, gateway_command, run_cli, run_server
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/alarm_app.py"]


def _cmd_to(path):
    """An alarm command appending its stdin, then a separator line, to ``path`` in one
    ``write`` (two alarms' commands may run at once: separate writes would interleave)."""
    return "cmd:m=$(cat); printf '%%s\\n<end>\\n' \"$m\" >> %s" % path


def _alarms_in(path):
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    # only the messages whose command has ended (its '<end>' written): a command still
    # running would interleave with the next one's lines
    return [m.strip("\n") for m in text.split("<end>\n")[:-1] if m.strip("\n")]


def test_a_log_line_raises_the_alarm_and_anti_flood_skips_its_repeats(tmp_path):
    out = tmp_path / "alarms.txt"
    with run_server(APP + ["--alarm", "disk " + _cmd_to(out), "--log-alarm", "disk DISK [A-Z]+ FULL",
                           "--alarm-freq", "60"]) as srv:
        for _ in range(3):
            request(srv.port, "/print?DISK%20SDA%20FULL", timeout=10)
        wait_until(lambda: _alarms_in(out), what="the first alarm")
        request(srv.port, "/print?DISK%20SDB%20FULL", timeout=10)  # another message: not flood
        wait_until(lambda: len(_alarms_in(out)) >= 2, what="the second alarm")
        request(srv.port, "/print?DISK%20SDB%20FULL", timeout=10)
        request(srv.port, "/print?marker", timeout=10)
        srv.wait_for_line(r"GET /print\?marker =>", timeout=10)
        srv.wait_for_line(r"^marker$", timeout=10)
    # (the request lines hold 'DISK%20SDA%20FULL': they do not match the regexp)
    assert _alarms_in(out) == ["DISK SDA FULL", "DISK SDB FULL"]


def test_not_log_alarm_stops_the_rules_after_it_and_log_plugin_writes_alarm_lines(tmp_path):
    with run_server(APP + ["--alarm", "shout log:LOUD", "--not-log-alarm", "shout ignore me",
                           "--log-alarm", "shout PANIC \\w+"]) as srv:
        request(srv.port, "/print?PANIC%20ignore%20me", timeout=10)
        request(srv.port, "/print?PANIC%20now", timeout=10)
        line = srv.wait_for_line(r"ALARM:", timeout=10)
        srv.wait_for_line(r"GET /print\?PANIC%20now =>", timeout=10)
        out = srv.output()
    assert line == "ALARM: LOUD PANIC now"
    assert out.count("ALARM:") == 1  # neither the ignored line nor the ALARM line itself raised one


def test_uwsgi_alarm_from_the_app(tmp_path):
    out = tmp_path / "alarms.txt"
    with run_server(APP + ["--alarm", "page " + _cmd_to(out), "--alarm-msg-size", "64"]) as srv:
        assert request(srv.port, "/alarm?page=db%20is%20down", timeout=10).body == b"True"
        wait_until(lambda: _alarms_in(out), what="the alarm")
        too_long = "x" * 65
        assert request(srv.port, "/alarm?page=" + too_long, timeout=10).body == b"False"
        assert request(srv.port, "/alarm?nosuch=hello", timeout=10).body == b"True"  # the master says
        srv.wait_for_line(r"\[uwsgi-alarm\] no alarm named 'nosuch'", timeout=10)
    assert _alarms_in(out) == ["db is down"]


def test_a_full_listen_queue_raises_the_backlog_alarm(tmp_path):
    out = tmp_path / "alarms.txt"
    with run_server(APP + ["--log-master", "--listen", "2", "--alarm", "lq " + _cmd_to(out), "--alarm-backlog", "lq"]) as srv:
        blocker = threading.Thread(target=lambda: request(srv.port, "/sleep?6", timeout=20), daemon=True)
        blocker.start()
        srv.wait_for_line(r"^SLEEPING$", timeout=10)
        waiting = []
        try:
            for _ in range(4):  # the worker sleeps: these wait in the accept queue (the last: SYN dropped)
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", srv.port))
                waiting.append(s)
            alarms = wait_until(lambda: _alarms_in(out), timeout=10, what="the backlog alarm")
            line = srv.wait_for_line(r"\*\*\* uWSGI listen queue of socket", timeout=5)
        finally:
            for s in waiting:
                s.close()
        blocker.join(20)
    assert alarms[0].startswith('listen queue of socket "127.0.0.1:%d" (fd: ' % srv.port)
    assert alarms[0].endswith("/2)") and "full !!!" in alarms[0]
    assert "full !!!" in line


def test_a_metric_over_its_threshold_raises_the_alarm_and_is_reset(tmp_path):
    out = tmp_path / "alarms.txt"
    with run_server(APP + ["--metric", "name=errors", "--alarm", "m " + _cmd_to(out), "--stats", "127.0.0.1:0",
                           "--metric-alarm", "key=errors,value=5,alarm=m,msg=too many errors,reset=0"]) as srv:
        request(srv.port, "/metric?3", timeout=10)
        request(srv.port, "/metric?4", timeout=10)
        wait_until(lambda: _alarms_in(out), timeout=10, what="the metric alarm")
        request(srv.port, "/metric?1", timeout=10)  # reset to 0, then 1: under the threshold
        request(srv.port, "/print?done", timeout=10)
        srv.wait_for_line(r"GET /print\?done =>", timeout=10)
        srv.wait_for_line(r"GET /print\?done =>", timeout=10)
    assert _alarms_in(out) == ["too many errors"]


def test_alarm_fd_raises_when_the_descriptor_is_readable(tmp_path):
    out = tmp_path / "alarms.txt"
    r, w = os.pipe()
    args = ["--http-socket", "127.0.0.1:0"] + APP + [
        "--alarm", "wake " + _cmd_to(out), "--alarm-fd", "wake %d:1 the pipe spoke" % r, "--alarm-freq", "0"]
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    proc = subprocess.Popen(gateway_command(args), pass_fds=(r,), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace",
                            cwd=env["PYTHONPATH"])
    os.close(r)
    srv = ServerProcess(proc)
    try:
        srv.wait_ready(20)
        os.write(w, b"x")
        wait_until(lambda: _alarms_in(out), timeout=10, what="the fd alarm")
        os.write(w, b"y")
        wait_until(lambda: len(_alarms_in(out)) == 2, timeout=10, what="the second fd alarm")
        os.close(w)
        srv.wait_for_line(r"\[uwsgi-alarm-fd\] i will stop monitoring fd %d" % int(args[-3].split()[1].split(":")[0]),
                          timeout=10)
    finally:
        srv.stop()
    assert _alarms_in(out) == ["the pipe spoke", "the pipe spoke"]


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.command, self.path, self.headers.get("Authorization"), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_curl_alarm_sends_the_message_to_an_http_server():
    hook = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=hook.serve_forever, daemon=True)
    thread.start()
    url = "http://127.0.0.1:%d/hook?x=1" % hook.server_address[1]
    try:
        with run_server(APP + ["--alarm", "web curl:%s;method=PUT;auth_user=ops;auth_pass=pw;subject=Alarm" % url]) as srv:
            request(srv.port, "/alarm?web=queue%20stuck", timeout=10)
            got = wait_until(lambda: _Hook.received, timeout=15, what="the POST")
    finally:
        hook.shutdown()
    method, path, auth, body = got[0]
    assert (method, path) == ("PUT", "/hook?x=1")
    assert auth == "Basic b3BzOnB3"  # ops:pw
    assert body == b"Subject: Alarm\r\n\r\nqueue stuck"


def test_a_failing_alarm_command_is_logged_once(tmp_path):
    with run_server(APP + ["--alarm", "bad cmd:exit 7", "--alarm-freq", "0"]) as srv:
        for i in range(3):
            request(srv.port, "/alarm?bad=m%d" % i, timeout=10)
        srv.wait_for_line(r"\[uwsgi-alarm\] alarm bad \(cmd:exit 7\) failed: exit status 7", timeout=10)
        request(srv.port, "/print?after", timeout=10)
        srv.wait_for_line(r"GET /print\?after =>", timeout=10)
        out = srv.output()
    assert out.count("failed: exit status 7") == 1


@pytest.mark.parametrize("args,words", [
    (["--alarm", "a log:", "--log-alarm", "b ERROR"], "--log-alarm: no alarm named 'b'"),
    (["--alarm-backlog", "lq"], "--alarm-backlog needs an alarm"),
    (["--alarm", "a log:", "--metric-alarm", "key=nosuch,value=1,alarm=a"], "key=nosuch: no such metric"),
    (["--alarm", "a mule:1"], "no mule is configured"),
    (["--alarm", "a smoke:signals"], "'smoke' alarm plugin is not available"),
    (["--alarm-segfault", "a"], "--log-alarm 'NAME killed by signal 11 '"),
])
def test_bad_alarm_configurations_are_refused(args, words):
    result = run_cli(["--http-socket", "127.0.0.1:0"] + APP + args)
    assert result.returncode != 0
    assert words in result.stderr, result.stderr


def test_the_alarm_hook_raises_an_alarm(tmp_path):
    out = tmp_path / "alarms.txt"
    with run_server(APP + ["--alarm", "page " + _cmd_to(out), "--hook-master-start", "alarm:page master started",
                           "--hook-accepting1-once", "alarm:page worker accepting"]):
        got = wait_until(lambda: len(_alarms_in(out)) >= 2 and _alarms_in(out), timeout=15, what="two alarms")
    assert sorted(got) == ["master started", "worker accepting"]


def test_a_segfaulting_worker_raises_a_log_alarm_as_the_segfault_hint_says(tmp_path):
    out = tmp_path / "alarms.txt"
    with run_server(APP + ["--alarm", "crash " + _cmd_to(out), "--log-alarm", "crash killed by signal 11 "]) as srv:
        try:
            request(srv.port, "/segv", timeout=10)
        except (OSError, AssertionError):
            pass  # the worker died under the request
        got = wait_until(lambda: _alarms_in(out), timeout=15, what="the crash alarm")
        srv.wait_for_line(r"spawned uWSGI worker 1 .*", timeout=10)
    assert "died, killed by signal 11 :( trying respawn" in got[0]


def test_signal_and_mule_plugins(tmp_path):
    def lines(name):
        path = tmp_path / name
        return path.read_text().splitlines() if path.exists() else []

    with run_server(["--wsgi-file", "tests/apps/alarm_targets.py", "--mules", "2",
                     "--alarm", "sig signal:30", "--alarm", "m2 mule:2",
                     "--log-alarm", "sig,m2 RAISE \\w+"], env={"ALARM_DIR": str(tmp_path)}) as srv:
        request(srv.port, "/print?RAISE%20it", timeout=10)
        wait_until(lambda: lines("signal") and lines("mule"), timeout=15, what="the signal and the mule message")
    assert lines("signal") == ["signal 30 in worker 1"]
    assert lines("mule") == ["mule 2 got RAISE it"]


def test_the_alarm_route_action(tmp_path):
    out = tmp_path / "alarms.txt"
    with run_server(APP + ["--alarm", "slow " + _cmd_to(out),
                           "--route", "^/print alarm:slow route saw ${PATH_INFO}"]) as srv:
        request(srv.port, "/print?x", timeout=10)
        got = wait_until(lambda: _alarms_in(out), timeout=10, what="the route's alarm")
    assert got == ["route saw /print"]


def test_the_alarm_subsystems_own_lines_never_raise_a_log_alarm_even_with_logdate():
    with run_server(APP + ["--logdate", "true", "--alarm", "l log:", "--alarm", "bad cmd:exit 1",
                           "--log-alarm", "l,bad BOOM|failed", "--alarm-freq", "0"]) as srv:
        request(srv.port, "/print?%42OOM", timeout=10)  # (the request line must not match)
        srv.wait_for_line(r"\[uwsgi-alarm\] alarm bad \(cmd:exit 1\) failed", timeout=10)
        request(srv.port, "/print?marker", timeout=10)
        srv.wait_for_line(r" - marker$|^marker$", timeout=10)
        out = srv.output()
    assert re.findall(r"ALARM: .*", out) == ["ALARM: BOOM"]
