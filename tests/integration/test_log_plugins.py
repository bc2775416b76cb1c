"""uWSGI's logger plugins through the real CLI: ``--logger``/``--req-logger`` to UDP and UNIX
datagram sockets opened by the test, encoders, named loggers and routes, a dead target."""

from __future__ import annotations

import os
import re
import signal
import socket
import time

import pytest

from server import run_cli, run_server
from support.datagrams import Receiver
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/log_lines.py"]


@pytest.fixture
def udp():
    r = Receiver(socket.AF_INET, ("127.0.0.1", 0))
    yield r
    r.close()


@pytest.fixture
def unix(tmp_path):
    r = Receiver(socket.AF_UNIX, str(tmp_path / "req.sock"))
    yield r
    r.close()


def test_every_line_goes_to_each_logger_one_datagram_per_line(udp, tmp_path):
    extra = tmp_path / "extra.log"
    with run_server(APP + ["--processes", "2", "--logger", "stdio", "--logger", "socket:%s" % udp.address,
                           "--logger", "file:%s" % extra]) as srv:
        for i in range(6):
            request(srv.port, "/?%d" % i)
        udp.wait_for(rb"^\[pid: \d+\|app: 0\|req: \d+/\d+\] 127\.0\.0\.1 .* GET /\?5 ")
        srv.wait_for_line(r"GET /\?5 ")
    udp.wait_for(rb"^goodbye to uWSGI\.\n$")
    grams = udp.poll()
    # the master's lines, the workers' print() and wsgi.errors lines, the request lines
    for pattern in (rb"^spawned uWSGI master process \(pid: \d+\)\n$", rb"^spawned uWSGI worker 2 ",
                    rb"^gateway ready: pid=\d+ http-socket=127\.0\.0\.1:\d+\n$",
                    rb"^MARK pid=\d+ n=3 x{1000} END\n$", rb"^ERR pid=\d+ n=4\n$"):
        assert any(re.match(pattern, g) for g in grams), pattern
    assert all(g.endswith(b"\n") and g.count(b"\n") == 1 for g in grams)  # one line each
    # stdio (stderr) and the extra file got the same lines
    text = extra.read_text()
    for line in ("MARK pid=", "ERR pid=", "GET /?5 ", "goodbye to uWSGI."):
        assert line in text and line in srv.output()
    assert len([g for g in grams if g.startswith(b"MARK")]) == 6


def test_req_logger_sends_request_lines_only_with_their_encoder(unix, tmp_path):
    rsys = Receiver(socket.AF_UNIX, str(tmp_path / "rsyslog.sock"))
    try:
        with run_server(APP + ["--processes", "2", "--req-logger", "socket:%s" % unix.address,
                               "--req-logger", "rsyslog:%s,myhost web" % rsys.address,
                               "--log-req-encoder", "prefix REQ "]) as srv:
            for i in range(4):
                request(srv.port, "/?%d" % i)
            unix.wait_for(rb"GET /\?3 ")
            srv.wait_for_line(r"^ERR pid=\d+ n=3$")
            rsys.wait_for(rb"GET /\?3 ")
        requests = unix.poll()
        assert len(requests) == 4
        assert all(re.match(rb"^REQ \[pid: \d+\|app: 0\|req: \d+/\d+\] 127\.0\.0\.1 .* GET /\?\d .*\n$", g)
                   for g in requests)
        # RFC 3164 as uWSGI's rsyslog plugin: <29>Mmm dd hh:mm:ss TAG: line (no newline)
        assert all(re.match(rb"^<29>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d myhost web: REQ \[pid: .* GET /\?\d [^\n]*$", g)
                   for g in rsys.poll())
        # the request lines are not on stderr; the other lines still are
        assert not [ln for ln in srv.lines if "GET /?" in ln]
        assert any(ln.startswith("MARK pid=") for ln in srv.lines)
        assert srv.lines[-1] == "goodbye to uWSGI."
    finally:
        rsys.close()


def test_req_logger_stdio_keeps_the_request_lines_on_stderr_when_the_log_goes_elsewhere(udp):
    # uWSGI's stdio logger is the original stderr: the request lines stay there, the other
    # lines go to UDP only (a named stdio logger gets the routed ready line, for run_server)
    with run_server(APP + ["--logger", "socket:%s" % udp.address, "--logger", "tty stdio",
                           "--log-route", "tty ^gateway ready", "--req-logger", "stdio"]) as srv:
        request(srv.port, "/?1")
        srv.wait_for_line(r"GET /\?1 ")
        udp.wait_for(rb"^ERR pid=\d+ n=1\n$")
    udp.wait_for(rb"^goodbye to uWSGI")
    assert not [g for g in udp.poll() if b"GET /?1" in g or b"gateway ready" in g]
    assert not [ln for ln in srv.lines if "ERR pid=" in ln or "goodbye" in ln]


def test_request_routes_and_request_pipes_survive_a_reload(udp, unix):
    # slow and failed requests to a named request logger (UNIX), the others to UDP
    with run_server(APP + ["--processes", "2", "--req-logger", "socket:%s" % udp.address,
                           "--req-logger", "odd socket:%s" % unix.address,
                           "--log-req-route", r"odd GET /\?(odd|3) "]) as srv:
        request(srv.port, "/?odd")
        request(srv.port, "/?even")
        unix.wait_for(rb"GET /\?odd ")
        udp.wait_for(rb"GET /\?even ")
        os.kill(srv.pid, signal.SIGHUP)  # new workers, new request pipes
        wait_until(lambda: len([ln for ln in srv.lines if "spawned uWSGI worker" in ln]) >= 4,
                   what="the workers of the reload", timeout=20)
        for i in range(4):
            assert request(srv.port, "/?%d" % i, timeout=10).status == 200
        unix.wait_for(rb"GET /\?3 ")
        udp.wait_for(rb"GET /\?2 ")
    assert sorted(re.search(rb"GET /\?(\w+) ", g).group(1) for g in unix.poll()) == [b"3", b"odd"]
    assert sorted(re.search(rb"GET /\?(\w+) ", g).group(1) for g in udp.poll()) == [b"0", b"1", b"2", b"even"]


def test_named_logger_gets_the_routed_lines_with_its_own_encoders(unix):
    with run_server(APP + ["--logger", "stdio", "--logger", "errs socket:%s" % unix.address,
                           "--log-route", "errs ^ERR ", "--log-drain", "^MARK ", "--log-encoder", "prefix [gw] ",
                           "--log-encoder", 'json:errs {"unix":${unix},"msg":"${msg}"}', "--log-encoder", "nl:errs"]) as srv:
        request(srv.port, "/?7")
        got = unix.wait_for(rb'"msg":"\[gw\] ERR pid=\d+ n=7"')
        srv.wait_for_line(r"^\[gw\] \[pid: \d+\|app: 0\|req: 1/1\] .* GET /\?7 ")
    doc = __import__("json").loads(got)
    assert abs(doc["unix"] - time.time()) < 60 and got.endswith(b"}\n")
    assert len(unix.poll()) == 1  # only the routed line
    assert not [ln for ln in srv.lines if "ERR pid=" in ln]  # routed away from stdio
    assert not [ln for ln in srv.lines if "MARK" in ln]  # drained
    assert any(ln.startswith("[gw] spawned uWSGI worker 1") for ln in srv.lines)  # unnamed: prefix only


def test_a_dead_target_never_blocks_and_one_line_reports_the_loss(tmp_path):
    path = str(tmp_path / "late.sock")  # nobody bound yet: every datagram fails at once
    with run_server(APP + ["--logger", "stdio", "--logger", "socket:" + path]) as srv:
        for i in range(30):
            assert request(srv.port, "/?%d" % i, timeout=10).status == 200
        srv.wait_for_line(r"GET /\?29 ")
        late = Receiver(socket.AF_UNIX, path)
        try:
            request(srv.port, "/?back")
            notice = late.wait_for(rb"dropped \d+ lines")
            assert re.match(rb"^gateway: logger socket:%s dropped (\d+) lines: the target did not accept them\n$"
                            % re.escape(path.encode()), notice)
            assert int(re.search(rb"dropped (\d+)", notice).group(1)) >= 90  # 3 lines a request, and more
            late.wait_for(rb"GET /\?back ")
            assert late.poll()[0] == notice  # the notice comes first
        finally:
            late.close()


@pytest.mark.skipif(os.path.exists("/dev/log"), reason="a real syslog daemon would get the lines")
def test_syslog_without_dev_log_warns_and_serves():
    with run_server(APP + ["--logger", "stdio", "--logger", "syslog:web,local1"]) as srv:
        assert request(srv.port, "/?1").status == 200
        srv.wait_for_line(r"GET /\?1 ")
    assert any("--logger syslog: /dev/log does not exist" in ln for ln in srv.lines)


@pytest.mark.parametrize("args, message", [
    (["--logger", "socket:no-such-host.invalid:514"], "--logger socket:no-such-host.invalid:514: cannot resolve"),
    (["--logger", "mongodblog:localhost"], "the 'mongodblog' logger plugin is not available"),
    (["--log-route", "nobody ERR"], "no logger named 'nobody'"),
    (["--req-logger", "file:/nonexistent-gateway-dir/r.log", "--req-logger", "stdio"],
     "--req-logger file:/nonexistent-gateway-dir/r.log: No such file or directory"),
    (["--log-encoder", "format ${nope}"], r"unknown variable ${nope}"),
    (["--log-req-encoder", "nl"], "--log-req-encoder needs --req-logger: the request lines go with the others "
                                  "(use --log-encoder)"),
    (["--log-req-route", "x GET"], "--log-req-route needs --req-logger"),
])
def test_bad_logger_setups_stop_the_start(args, message):
    result = run_cli(["--http-socket", "127.0.0.1:0"] + APP + args)
    assert result.returncode != 0
    assert message in result.stderr
