"""uWSGI's other logging options through the real CLI: ``--log-zero``, ``--log-sendfile``,
``--log-ioerror``, ``--log-prefix``, ``--log-format-strftime``, ``--log-truncate``,
``--logfile-chmod``, and the accepted spellings (``--worker-logger``, ``--log-master-stream``...)."""

from __future__ import annotations

import os
import re
import socket
import stat

import pytest

from server import ServerProcess, run_cli, run_server, spawn
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/alarm_app.py"]


def _logged_paths(flags, requests, last):
    with run_server(APP + ["--disable-logging"] + flags) as srv:
        for path in requests:
            request(srv.port, path, timeout=10)
        srv.wait_for_line(r"GET %s =>" % re.escape(last), timeout=10)
        out = srv.output()
    return re.findall(r"\] GET (\S+) =>", out)


def test_log_zero_logs_the_responses_without_a_body():
    assert _logged_paths(["--log-zero"], ["/print?x", "/empty", "/file", "/empty?2"], "/empty?2") == [
        "/empty", "/empty?2"]


def test_log_sendfile_logs_the_file_wrapper_responses():
    assert _logged_paths(["--log-sendfile", "--log-zero"], ["/print?x", "/file", "/empty"], "/empty") == [
        "/file", "/empty"]


def test_log_ioerror_logs_the_requests_whose_client_went_away():
    with run_server(APP + ["--disable-logging", "--log-ioerror", "--log-zero"]) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly ten b")
        s.shutdown(socket.SHUT_WR)  # the body ends 990 bytes early: reading it fails
        s.recv(100)
        s.close()
        request(srv.port, "/print?x", timeout=10)
        request(srv.port, "/empty?last", timeout=10)
        srv.wait_for_line(r"GET /empty\?last =>", timeout=10)
        out = srv.output()
    assert re.findall(r"\] (?:GET|POST) (\S+) =>", out) == ["/read", "/empty?last"]


@pytest.mark.parametrize("value,pattern", [
    ("[myapp]", r"^\[myapp\] - \*\*\* running "),
    ("%Y", r"^\d{4} - \*\*\* running "),
])
def test_log_prefix_starts_every_server_line_but_the_request_lines(value, pattern):
    with run_server(APP + ["--log-prefix", value]) as srv:
        request(srv.port, "/print?x", timeout=10)
        line = srv.wait_for_line(r"GET /print\?x =>", timeout=10)
        server_line = srv.wait_for_line(r"running tornado loop engine", timeout=10)
    assert re.match(pattern, server_line), server_line
    assert line.startswith("[pid: ")  # as uWSGI, which writes its request lines without the prefix


def test_the_last_of_logdate_and_log_prefix_wins():
    with run_server(APP + ["--logdate", "%Y", "--log-prefix", "P"]) as srv:
        line = srv.wait_for_line(r"running tornado loop engine", timeout=10)
    assert line.startswith("P - *** running ")


def test_log_format_strftime_formats_ftime_with_the_logdate_format():
    fmt = ["--log-format", "REQ %(uri) [%(ftime)]"]
    with run_server(APP + fmt + ["--logdate", "%Y@%m", "--log-format-strftime"]) as srv:
        request(srv.port, "/print?x", timeout=10)
        line = srv.wait_for_line(r"REQ /print", timeout=10)
    assert re.search(r"REQ /print\?x \[\d{4}@\d\d\]$", line), line
    with run_server(APP + fmt + ["--logdate", "%Y@%m"]) as srv:  # without it: %(ltime)
        request(srv.port, "/print?x", timeout=10)
        line = srv.wait_for_line(r"REQ /print", timeout=10)
    assert re.search(r"REQ /print\?x \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]$", line), line


def ready_port(read):
    m = re.search(r"gateway ready: pid=\d+ http-socket=127.0.0.1:(\d+)", read())
    return int(m.group(1)) if m else None


def _run_with_logto(tmp_path, extra):
    log = tmp_path / "app.log"
    log.write_text("OLD LINE\n")
    srv = ServerProcess(spawn(["--http-socket", "127.0.0.1:0"] + APP + ["--logto", str(log)] + extra))
    try:
        port = wait_until(lambda: ready_port(lambda: log.read_text() if log.exists() else ""),
                          what="the ready line in the log file", timeout=20)
        request(port, "/print?x", timeout=10)
        wait_until(lambda: "GET /print?x" in log.read_text(), what="the request line in the log")
    finally:
        srv.stop()
    return log


def test_log_truncate_empties_the_log_file_and_logfile_chmod_sets_its_mode(tmp_path):
    log = _run_with_logto(tmp_path, [])
    assert log.read_text().startswith("OLD LINE\n")  # appended by default
    log = _run_with_logto(tmp_path, ["--log-truncate", "--logfile-chmod", "600"])
    assert "OLD LINE" not in log.read_text()
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_logfile_chmod_takes_three_octal_digits():
    result = run_cli(["--http-socket", "127.0.0.1:0"] + APP + ["--logfile-chmod", "999"])
    assert result.returncode != 0 and "--logfile-chmod" in result.stderr


def test_worker_logger_and_the_stream_options_are_accepted(tmp_path):
    extra = tmp_path / "extra.log"
    with run_server(APP + ["--worker-logger", "file:%s" % extra, "--worker-logger", "stdio",
                           "--worker-log-encoder", "prefix [w] ", "--log-master-stream",
                           "--log-master-req-stream"]) as srv:
        request(srv.port, "/print?x", timeout=10)
        line = srv.wait_for_line(r"GET /print\?x =>", timeout=10)
        wait_until(lambda: extra.exists() and "GET /print?x" in extra.read_text(), what="the file logger's line")
    assert line.startswith("[w] [pid: ")


def test_logfile_chown_gives_the_log_file_to_the_uid(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (the CI container runs as root)")
    import pwd

    nobody = pwd.getpwnam("nobody")
    log = _run_with_logto(tmp_path, ["--uid", "nobody", "--logfile-chown"])
    info = os.stat(log)
    assert (info.st_uid, info.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    log.unlink()
    log = _run_with_logto(tmp_path, ["--uid", "nobody"])  # without it the file stays root's
    assert os.stat(log).st_uid == 0
