"""Mules and farms under the real CLI (tests/apps/mules_app.py, tests/apps/mule_script.py).

Every effect in a mule is a marker file ``$MULES_DIR/<name>`` holding "pid mule_id payload";
the tests wait for it (bounded), never sleep a fixed time."""

from __future__ import annotations

import json
import os
import re
import signal

import pytest

from server import run_cli, run_server
from support.httpclient import request
from support.waits import pid_alive, wait_until

pytestmark = pytest.mark.timeout(120)

APP = "tests/apps/mules_app.py"


def call(port: int, path: str) -> dict:
    r = request(port, path)
    assert r.status == 200, (r, r.body)
    return json.loads(r.body)


def marker(directory, name: str, timeout: float = 10.0):
    """(pid, mule id, payload) written by a mule as ``name``."""
    path = os.path.join(str(directory), name)
    wait_until(lambda: os.path.exists(path), timeout, "marker %s" % name)
    with open(path) as f:
        pid, mid, payload = (f.read().split(" ", 2) + [""])[:3]
    return int(pid), int(mid), payload


def mule_pids(srv) -> dict:
    """Mule id -> pid, from the latest "spawned/respawned uWSGI mule N (pid: P)" lines."""
    pids = {}
    for line in srv.lines:
        m = re.search(r"(?:re)?spawned uWSGI mule (\d+) \(pid: (\d+)\)", line)
        if m:
            pids[int(m.group(1))] = int(m.group(2))
    return pids


@pytest.fixture(scope="module")
def mdir(tmp_path_factory):
    return tmp_path_factory.mktemp("mules")


@pytest.fixture(scope="module")
def srv(mdir):
    args = ["--wsgi-file", APP, "--master", "--processes", "2", "--mules", "2", "--farm", "pair:1,2"]
    with run_server(args, env={"MULES_DIR": str(mdir)}) as s:
        s.wait_for_line(r"spawned uWSGI mule 2 \(pid: \d+\)")
        yield s


def test_mules_are_spawned_with_uwsgis_lines_and_know_their_id(srv, mdir):
    srv.wait_for_line(r"created farm 1 name: pair mules:1,2")
    pids = mule_pids(srv)
    assert sorted(pids) == [1, 2] and srv.pid not in pids.values()
    pid, mid, payload = marker(mdir, "body-1")  # @mule(1): its body ran once, in mule 1
    assert (pid, mid, payload) == (pids[1], 1, "once")
    assert call(srv.port, "/id")["mule"] == 0  # mule_id() is 0 in a worker


def test_a_message_from_a_request_reaches_a_mule(srv, mdir):
    out = call(srv.port, "/send?data=any")
    assert out["queued"] is True
    pid, mid, payload = marker(mdir, "raw-any")
    assert pid != out["pid"] and pid == mule_pids(srv)[mid] and payload == "any"


def test_a_message_for_mule_2_is_handled_by_mule_2(srv, mdir):
    for n in range(3):
        assert call(srv.port, "/send?data=two%d&target=2" % n)["queued"] is True
        pid, mid, _ = marker(mdir, "raw-two%d" % n)
        assert (pid, mid) == (mule_pids(srv)[2], 2)
    assert call(srv.port, "/send?data=one&target=1")["queued"] is True
    assert marker(mdir, "raw-one")[1] == 1


def test_a_farm_message_reaches_one_of_its_mules(srv, mdir):
    assert call(srv.port, "/farm?data=farmed")["queued"] is True
    assert marker(mdir, "raw-farmed")[1] in (1, 2)


def test_mulefunc_calls_run_in_a_mule_with_their_arguments(srv, mdir):
    out = call(srv.port, "/func?a=20&b=22&label=answer")
    pid, mid, payload = marker(mdir, "func-answer")
    assert payload == "42" and mid in (1, 2) and pid != out["pid"]
    call(srv.port, "/func2?word=hello")  # @mulefunc(2)
    assert marker(mdir, "func2-hello")[1:] == (2, "hello")


def test_an_oversized_message_is_a_clear_error_to_the_caller(srv):
    out = call(srv.port, "/big?size=65537")
    assert out["error"] == "mule message of 65537 bytes is bigger than --mule-msg-size (65536)"
    assert call(srv.port, "/big?size=65536")["queued"] is True  # the limit itself is fine


def test_a_hook_that_raises_is_logged_and_the_mule_goes_on(srv, mdir):
    srv.expect_traceback("RuntimeError: hook failure on purpose")
    pid = mule_pids(srv)[1]
    call(srv.port, "/boom?target=1")
    srv.wait_for_line(r"error in uwsgi.mule_msg_hook \(mule 1\)")
    call(srv.port, "/send?data=after-boom&target=1")
    assert marker(mdir, "raw-after-boom")[:2] == (pid, 1)


def test_signals_reach_mule_targets(srv, mdir):
    call(srv.port, "/raise?n=40")  # target mule2
    assert marker(mdir, "signal-40")[:2] == (mule_pids(srv)[2], 2)
    call(srv.port, "/raise?n=41")  # target mules
    assert marker(mdir, "signal-41-mule1")[1] == 1
    assert marker(mdir, "signal-41-mule2")[1] == 2
    call(srv.port, "/raise?n=42")  # target farm_pair
    assert marker(mdir, "signal-42")[1] in (1, 2)


def test_a_killed_mule_is_respawned_and_keeps_serving(srv, mdir):
    old = mule_pids(srv)[2]
    os.kill(old, signal.SIGKILL)
    srv.wait_for_line(r"OOOPS mule 2 \(pid: %d\) crippled\.\.\.trying respawn\.\.\.$" % old)  # (uWSGI's lines)
    line = srv.wait_for_line(r"spawned uWSGI mule 2 \(pid: (?!%d\))\d+\)" % old)
    new = int(re.search(r"pid: (\d+)", line).group(1))
    assert new != old
    call(srv.port, "/send?data=reborn&target=2")
    assert marker(mdir, "raw-reborn")[:2] == (new, 2)


def test_mule_scripts_mulemsg_and_timers(tmp_path):
    """``--mules 3 --mule SCRIPT``: mule 4 runs the script; ``@mulemsg(3)``; a ``@timer``
    targeted at mule 1."""
    args = ["--wsgi-file", APP, "--mules", "3", "--mule", "tests/apps/mule_script.py"]
    with run_server(args, env={"MULES_DIR": str(tmp_path), "MULES_TIMER": "1"}) as srv:
        srv.wait_for_line(r"spawned uWSGI mule 4 \(pid: \d+\)")
        pids = mule_pids(srv)
        assert marker(tmp_path, "script-started")[:2] == (pids[4], 4)
        call(srv.port, "/send?data=s&target=4")
        assert marker(tmp_path, "script-raw:s")[:2] == (pids[4], 4)
        call(srv.port, "/mulemsg?data=m")
        assert marker(tmp_path, "mulemsg-m")[:3] == (pids[3], 3, "m")
        assert marker(tmp_path, "timer", timeout=15)[:2] == (pids[1], 1)


def test_a_farm_naming_a_missing_mule_is_refused():
    result = run_cli(["--http-socket", "127.0.0.1:0", "--wsgi-file", APP, "--mules", "1", "--farm", "f:1,2"],
                     env={"MULES_DIR": "/nonexistent"})
    assert result.returncode == 1
    assert "--farm: invalid mule id: 2" in result.stderr


def test_set_user_harakiri_in_a_mule_ends_it_and_the_master_respawns_it(tmp_path):
    pids = tmp_path / "pids"
    args = ["--wsgi-file", APP, "--mule", "tests/apps/mule_harakiri.py"]
    with run_server(args, env={"MULE_PIDS": str(pids), "MULES_DIR": str(tmp_path)}) as srv:
        wait_until(lambda: pids.exists() and len(pids.read_text().split()) >= 2, timeout=20,
                   what="the mule respawned after its deadline")
        first = int(pids.read_text().split()[0])
        assert not pid_alive(first)
        assert "Timeout (0:00:01)!" in srv.output()  # its stacks, dumped as it ended
