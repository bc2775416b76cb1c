"""Emperor heartbeats through the real CLI: a vassal with ``--heartbeat`` beats over its
channel, the Emperor (``--emperor-required-heartbeat``) leaves it alone while it does and kills
and respawns it once its master falls silent (suspended with SIGSTOP, by pid); uWSGI's own
Emperor understands a gateway vassal's beats the same way.  Waits are for log lines, stats
fields and pids, never fixed sleeps; only processes the test started are signalled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Iterator, List, Optional

import pytest

from integration.test_emperor import _read_all, count, emperor, free_port, probe, ready, write_vassal
from server import ROOT, ServerProcess
from support.waits import pid_alive, wait_until

pytestmark = pytest.mark.timeout(120)

HUNG = r"\[emperor\] vassal app\.ini sent no heartbeat in last 2 seconds, brutally respawning it\.\.\."


def stats(port: int) -> dict:
    return json.loads(_read_all(port))


def vassal_stats(port: int, name: str) -> dict:
    found = [v for v in stats(port)["vassals"] if v["id"].endswith(name)]
    return found[0] if found else {}


def master_of(port: int) -> Optional[int]:
    """The vassal's master pid, None while nothing answers on ``port``."""
    try:
        return probe(port)["masterpid"]
    except (OSError, AssertionError):
        return None


class Suspended:
    """Processes this test stopped with SIGSTOP: resumed (then killed if still there) at the end."""

    def __init__(self) -> None:
        self.pids: List[int] = []

    def stop(self, pid: int) -> None:
        self.pids.append(pid)
        os.kill(pid, signal.SIGSTOP)

    def release(self) -> None:
        for pid in self.pids:
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@pytest.fixture
def suspended() -> Iterator[Suspended]:
    s = Suspended()
    try:
        yield s
    finally:
        s.release()



def _heartbeats_for_4_seconds(stats_port: int) -> None:
    """The Emperor's stats (ours or uWSGI's) show app.ini's heartbeats, still arriving 4 s
    after the first one (longer than --emperor-required-heartbeat 2)."""
    start = wait_until(lambda: vassal_stats(stats_port, "app.ini").get("last_heartbeat") or None, timeout=10,
                       what="a first heartbeat in the Emperor's stats")
    wait_until(lambda: vassal_stats(stats_port, "app.ini")["last_heartbeat"] >= start + 4, timeout=20,
               what="heartbeats for 4 s")

def test_beating_vassal_is_left_alone_and_a_silent_one_is_respawned(tmp_path, suspended):
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    port, quiet_port = free_port(), free_port()
    write_vassal(str(vdir), "app.ini", port, "heartbeat = 1\n")
    write_vassal(str(vdir), "quiet.ini", quiet_port)  # no --heartbeat: never checked
    with emperor(["--emperor", str(vdir), "--emperor-required-heartbeat", "2",
                  "--emperor-stats", "127.0.0.1:0"]) as srv:
        line = srv.wait_for_line(r"gateway ready: pid=%d emperor=" % srv.pid)
        stats_port = int(line.rsplit(":", 1)[1])
        ready(srv, "app.ini")
        ready(srv, "quiet.ini")
        first = probe(port)
        quiet = probe(quiet_port)
        # heartbeats arrive...
        _heartbeats_for_4_seconds(stats_port)  # ... and keep arriving past the tolerance: no restart
        assert "brutally respawning" not in srv.output()
        assert probe(port)["masterpid"] == first["masterpid"]
        assert vassal_stats(stats_port, "quiet.ini")["last_heartbeat"] == 0
        # the master hangs: killed and respawned
        suspended.stop(first["masterpid"])
        srv.wait_for_line(HUNG, timeout=15)
        srv.wait_for_line(r"\[emperor\] vassal app\.ini \(pid: %d\) died, killed by signal 9" % first["masterpid"],
                          timeout=10)
        ready(srv, "app.ini", n=2)
        second = probe(port)
        assert second["masterpid"] != first["masterpid"]
        wait_until(lambda: not pid_alive(first["masterpid"]), timeout=10, what="the hung master gone")
        # the new instance beats again and is not killed meanwhile
        wait_until(lambda: (lambda v: v.get("pid") == second["masterpid"] and v["last_heartbeat"] > 0)(
            vassal_stats(stats_port, "app.ini")), timeout=10, what="heartbeats from the respawned vassal")
        assert count(srv, "brutally respawning") == 1
        # the vassal without --heartbeat was never touched
        assert probe(quiet_port)["masterpid"] == quiet["masterpid"]
        assert "vassal quiet.ini sent no heartbeat" not in srv.output()


def test_a_sub_emperor_beats_from_its_own_loop(tmp_path):
    outer, inner = tmp_path / "outer", tmp_path / "inner"
    outer.mkdir()
    inner.mkdir()
    (outer / "sub.ini").write_text("[uwsgi]\nemperor = %s\nemperor-freq = 1\nheartbeat = 1\n" % inner)
    with emperor(["--emperor", str(outer), "--emperor-required-heartbeat", "2",
                  "--emperor-stats", "127.0.0.1:0"]) as srv:
        line = srv.wait_for_line(r"gateway ready: pid=%d emperor=" % srv.pid)
        stats_port = int(line.rsplit(":", 1)[1])
        srv.wait_for_line(r"\*\*\* starting uWSGI sub-Emperor \*\*\*", timeout=20)
        start = wait_until(lambda: vassal_stats(stats_port, "sub.ini").get("last_heartbeat") or None, timeout=10,
                           what="a heartbeat from the sub-Emperor")
        wait_until(lambda: vassal_stats(stats_port, "sub.ini")["last_heartbeat"] >= start + 3, timeout=20,
                   what="heartbeats for 3 s")
        assert "brutally respawning" not in srv.output()


def test_heartbeat_options_are_checked_by_name():
    from server import run_cli

    result = run_cli(["--heartbeat", "soon", "--http-socket", "127.0.0.1:0"])
    assert result.returncode != 0 and "heartbeat" in result.stderr
    result = run_cli(["--emperor", "/nonexistent", "--emperor-required-heartbeat", "0"])
    assert result.returncode != 0 and "emperor-required-heartbeat" in result.stderr


def test_real_uwsgi_emperor_understands_a_gateway_vassals_heartbeat(tmp_path, suspended):
    """Interop: uWSGI 2.0's Emperor records our beats (its stats' ``last_heartbeat``) and
    respawns our vassal when its master stops beating."""
    from peers import require_uwsgi

    uwsgi = require_uwsgi()
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    wrapper = tmp_path / "gateway.sh"
    wrapper.write_text('#!/bin/sh\nexec %s -m gateway "$@"\n' % sys.executable)
    wrapper.chmod(0o755)
    port, stats_port = free_port(), free_port()
    write_vassal(str(vdir), "app.ini", port, "heartbeat = 1\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([uwsgi, "--emperor", str(vdir), "--emperor-wrapper", str(wrapper), "--emperor-freq", "1",
                             "--emperor-required-heartbeat", "2", "--emperor-stats", "127.0.0.1:%d" % stats_port],
                            cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, errors="replace")
    srv = ServerProcess(proc)
    try:
        srv.wait_for_line(r"\[emperor\] vassal app\.ini is ready to accept requests", timeout=30)
        first = probe(port)
        _heartbeats_for_4_seconds(stats_port)
        assert "brutally respawning" not in srv.output()
        suspended.stop(first["masterpid"])
        srv.wait_for_line(HUNG, timeout=15)
        second = wait_until(lambda: master_of(port) not in (None, first["masterpid"]) and master_of(port), timeout=30,
                            what="the respawned vassal")
        assert second != first["masterpid"]
        wait_until(lambda: not pid_alive(first["masterpid"]), timeout=10, what="the hung master gone")
    finally:
        srv.stop()


def test_our_emperor_understands_a_real_uwsgi_vassals_heartbeat(tmp_path, suspended):
    """Interop the other way: uWSGI 2.0 as a vassal of our Emperor (``--emperor-wrapper``)
    beats from its worker; once that worker is suspended the beats stop and our Emperor kills
    the instance."""
    from peers import require_uwsgi

    uwsgi = require_uwsgi()
    vdir = tmp_path / "vassals"
    vdir.mkdir()
    port = free_port()
    write_vassal(str(vdir), "app.ini", port, "master = true\nprocesses = 1\nheartbeat = 1\n")
    with emperor(["--emperor", str(vdir), "--emperor-wrapper", uwsgi, "--emperor-required-heartbeat", "2",
                  "--emperor-stats", "127.0.0.1:0"]) as srv:
        line = srv.wait_for_line(r"gateway ready: pid=%d emperor=" % srv.pid)
        stats_port = int(line.rsplit(":", 1)[1])
        ready(srv, "app.ini")
        rep = probe(port)
        start = wait_until(lambda: vassal_stats(stats_port, "app.ini").get("last_heartbeat") or None, timeout=10,
                           what="a heartbeat from uWSGI's worker")
        wait_until(lambda: vassal_stats(stats_port, "app.ini")["last_heartbeat"] >= start + 4, timeout=20,
                   what="heartbeats for 4 s")
        assert "brutally respawning" not in srv.output()
        assert vassal_stats(stats_port, "app.ini")["pid"] == rep["masterpid"]
        suspended.stop(rep["pid"])  # uWSGI beats from its workers: silence the only one
        srv.wait_for_line(HUNG, timeout=15)
        srv.wait_for_line(r"\[emperor\] vassal app\.ini \(pid: %d\) died, killed by signal 9" % rep["masterpid"],
                          timeout=10)
