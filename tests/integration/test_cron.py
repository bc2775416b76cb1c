"""``--cron``, ``--unique-cron``, ``--cron2``, ``--cron-harakiri`` through the real CLI."""

from __future__ import annotations

import pytest

from server import run_cli, run_server
from support.httpclient import request
from support.waits import wait_until

pytestmark = pytest.mark.timeout(60)

APP = ["--wsgi-file", "tests/apps/hello.py"]


def test_a_cron_command_runs_from_the_master_without_blocking_it(tmp_path):
    out = tmp_path / "ran.txt"
    # -1 everywhere matches every minute; the first check (a second after start) runs it
    with run_server(APP + ["--cron", "-1 -1 -1 -1 -1 echo $PPID >> %s" % out]) as srv:
        srv.wait_for_line(r'\[uwsgi-cron\] command "echo .*" registered as cron task')
        line = srv.wait_for_line(r'\[uwsgi-cron\] running "echo \$PPID >> .*" \(pid \d+\)', timeout=10)
        srv.wait_for_line(r'\[uwsgi-cron\] command "echo .*" running with pid \d+ exited after \d+ second\(s\)',
                          timeout=10)
        assert wait_until(lambda: out.exists() and out.read_text().strip(), what="the command's output")
        assert int(out.read_text().split()[0]) == srv.proc.pid  # a child of the master (--cron implies one)
        assert request(srv.port, "/").status == 200
    assert "DAMN" not in srv.output() and line


def test_cron2_harakiri_kills_a_run_that_takes_too_long(tmp_path):
    with run_server(APP + ["--cron2", "minute=-1,unique=1,harakiri=2 sleep 30"]) as srv:
        srv.wait_for_line(r'\[uwsgi-cron\] running "sleep 30"', timeout=10)
        srv.wait_for_line(r'\*\*\* HARAKIRI ON CRON "sleep 30" \(pid: \d+\) \*\*\*', timeout=10)
        srv.wait_for_line(r'\[uwsgi-cron\] command "sleep 30" running with pid \d+ exited after [23] second',
                          timeout=10)


@pytest.mark.parametrize("args, fragment", [
    (["--cron", "61 -1 -1 -1 -1 true"], "minute 61 is out of range"),
    (["--unique-cron", "-1 -1 -1 true"], "expected 'minute hour day month weekday command'"),
    (["--cron2", "colour=red true"], "unknown key 'colour'"),
])
def test_bad_entries_are_one_clear_error(args, fragment):
    result = run_cli(["--http-socket", "127.0.0.1:0"] + APP + args)
    assert result.returncode == 1 and fragment in result.stderr, result.stderr
