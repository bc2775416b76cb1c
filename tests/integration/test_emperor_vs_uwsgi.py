"""The Emperor against real uWSGI 2.0.31's, like for like: uWSGI's Emperor governs uWSGI
vassals, ours governs gateway vassals, both from the same vassal files (a small
``--http-socket`` ini running ``tests/apps/os_probe.py``), and each test does the same thing to
both and compares what a user sees: which vassals serve, what they answer, the ``[emperor]``
lines (times and pids aside) and the ``--emperor-stats`` document.

One pair of Emperors (``--emperor-freq 1``, a 200 ms throttle capped at 1 s, a
``--vassals-include`` and a ``--vassals-inherit`` template, a ``--vassal-set``) is shared by the module; each test uses
its own vassal names and ports.  The deliberate differences (a touched file reloads in place, a
removed vassal is stopped gracefully, doubling throttle, ...) are in the README, "The Emperor".
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from typing import Dict, Iterator, List

import pytest

from peers import require_uwsgi
from server import ROOT, ServerProcess, spawn
from support.httpclient import request
from support.router import free_port
from support.stats import fetch_stats
from support.waits import pid_alive, wait_until

pytestmark = pytest.mark.timeout(120)

APP = os.path.join(ROOT, "tests", "apps", "os_probe.py")
SERVERS = ("uwsgi", "gateway")
#: uWSGI's ``uwsgi_log_verbose`` prefix ("Sat Dec  5 05:13:28 2026 - ")
STAMP = re.compile(r"^\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4} - ")


def vassal_ini(port: int, extra: str = "") -> str:
    return "[uwsgi]\nhttp-socket = 127.0.0.1:%d\nwsgi-file = %s\n%s" % (port, APP, extra)


class Empire:
    """One Emperor (uWSGI's or ours) over its own vassal directory."""

    def __init__(self, server: str, base: str, extra: List[str]) -> None:
        self.server = server
        self.dir = os.path.join(base, server)
        os.mkdir(self.dir)
        self.stats_port = free_port()
        args = ["--emperor", self.dir, "--emperor-freq", "1", "--emperor-stats", "127.0.0.1:%d" % self.stats_port] + extra
        if server == "uwsgi":
            proc = subprocess.Popen([require_uwsgi()] + args, cwd=base, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
        else:
            proc = spawn(args, cwd=base)
        self.srv = ServerProcess(proc)
        self.ports: Dict[str, int] = {}

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def write(self, name: str, text: str) -> None:
        with open(self.path(name) + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.path(name) + ".tmp", self.path(name))  # never seen half-written

    def add(self, name: str, extra: str = "") -> int:
        """A vassal file ``name`` serving the probe on a new port; the port."""
        port = self.ports[name] = free_port()
        self.write(name, vassal_ini(port, extra))
        return port

    def touch(self, name: str) -> None:
        st = os.stat(self.path(name))
        os.utime(self.path(name), (st.st_atime, st.st_mtime + 5))

    def lines(self, name: str) -> List[str]:
        """The Emperor's lines about vassal ``name``, without uWSGI's time stamp."""
        rx = re.compile(r"\[emperor\] .*\b%s\b" % re.escape(name))
        return [STAMP.sub("", line) for line in list(self.srv.lines) if rx.search(line)]

    def count(self, text: str) -> int:
        return sum(1 for line in list(self.srv.lines) if text in line)

    def wait_count(self, text: str, n: int = 1, timeout: float = 30.0) -> None:
        wait_until(lambda: self.count(text) >= n, timeout=timeout,
                   what="%s: %r x%d; output:\n%s" % (self.server, text, n, self.srv.output()[-6000:]))

    def stats(self) -> dict:
        return fetch_stats(self.stats_port)

    def vassal(self, name: str) -> dict:
        return next(v for v in self.stats()["vassals"] if v["id"] == name)

    def probe(self, name: str, path: str = "/") -> dict:
        r = request(self.ports[name], path, timeout=10)
        assert r.status == 200, (self.server, r)
        return json.loads(r.body)

    def stop(self) -> None:
        self.srv.stop(timeout=30)  # SIGTERM: the Emperor's Ragnarok in both (uWSGI's royal_death)


def start_pair(base: str, extra: List[str]) -> Dict[str, Empire]:
    empires: Dict[str, Empire] = {}
    try:
        for server in SERVERS:
            empires[server] = Empire(server, base, extra)
        for e in empires.values():
            e.wait_count("*** starting uWSGI Emperor ***", timeout=20)
            e.wait_count("*** Emperor stats server enabled on", timeout=20)
    except BaseException:
        for e in empires.values():
            e.stop()
        raise
    return empires


@pytest.fixture(scope="module")
def empires(tmp_path_factory) -> Iterator[Dict[str, Empire]]:
    base = str(tmp_path_factory.mktemp("empires"))
    template, parent = os.path.join(base, "template.ini"), os.path.join(base, "parent.ini")
    with open(template, "w") as f:
        f.write("[uwsgi]\nenv = GW_INCLUDED=%n\n")
    with open(parent, "w") as f:
        f.write("[uwsgi]\nenv = GW_INHERITED=%n\n")
    pair = start_pair(base, ["--emperor-throttle", "200", "--emperor-max-throttle", "1000", "--vassals-include",
                             template, "--vassals-inherit", parent, "--vassal-set", "gwvar=fromset"])
    yield pair
    for e in pair.values():
        e.stop()
    pair["gateway"].srv.check_tracebacks()


def both(empires: Dict[str, Empire]) -> List[Empire]:
    return [empires[s] for s in SERVERS]


def ready(e: Empire, name: str, n: int = 1) -> None:
    e.wait_count("[emperor] vassal %s is ready to accept requests" % name, n)


def loyal(e: Empire, name: str, n: int = 1) -> None:
    """Serve one request, then wait for the ``n``-th loyalty line."""
    e.probe(name)
    e.wait_count("[emperor] vassal %s is now loyal" % name, n)


def add_loyal(empires: Dict[str, Empire], name: str) -> None:
    """Vassal ``name`` added to both Emperors, serving and loyal."""
    for e in both(empires):
        e.add(name)
    for e in both(empires):
        ready(e, name)
        loyal(e, name)


def test_spawned_ready_loyal_then_touched_changed_and_removed(empires):
    add_loyal(empires, "life.ini")
    for e in both(empires):
        assert e.lines("life.ini")[:3] == ["[emperor] vassal life.ini has been spawned",
                                           "[emperor] vassal life.ini is ready to accept requests",
                                           "[emperor] vassal life.ini is now loyal"], e.server
        e.touch("life.ini")
    for e in both(empires):
        e.wait_count("[emperor] reload the uwsgi instance life.ini")
        e.wait_count("received message 1 from emperor")
    # a changed file: the vassal runs the new one (uWSGI re-executes; so does ours, keeping its pid)
    for e in both(empires):
        wait_until(lambda e=e: e.probe("life.ini"), timeout=20, what="%s serving after the touch" % e.server)
        e.write("life.ini", vassal_ini(e.ports["life.ini"], "env = GW_CHANGED=yes\n"))
        e.touch("life.ini")
    for e in both(empires):
        e.wait_count("[emperor] reload the uwsgi instance life.ini", 2)
        wait_until(lambda e=e: e.probe("life.ini")["env"].get("GW_CHANGED") == "yes", timeout=30,
                   what="%s running the new file" % e.server)
        ready(e, "life.ini", 2)  # the re-executed vassal's workers accept again
        # a binary reload is no new spawn: "has been spawned" once (the fix: ours said it again)
        assert e.count("[emperor] vassal life.ini has been spawned") == 1, (e.server, e.lines("life.ini"))
        assert e.vassal("life.ini")["respawns"] == 2, e.server  # the stats count reloads
        os.unlink(e.path("life.ini"))
    for e in both(empires):
        e.wait_count("[emperor] removed uwsgi instance life.ini")
        lines = e.lines("life.ini")
        assert lines.index("[emperor] stop the uwsgi instance life.ini") < lines.index(
            "[emperor] removed uwsgi instance life.ini"), (e.server, lines)
        assert not any("died" in line or "unloyal" in line for line in lines), (e.server, lines)


def test_magic_variables_template_and_vassal_set_reach_the_vassal(empires):
    extra = "env = GW_N=%n\nenv = GW_P=%p\nenv = GW_D=%d\nenv = GW_S=%s\nenv = GW_SET=%(gwvar)\n"
    for e in both(empires):
        e.add("magic.ini", extra)
    seen = {}
    for e in both(empires):
        ready(e, "magic.ini")
        report = e.probe("magic.ini")
        seen[e.server] = ({k: v.replace(e.dir, "DIR") for k, v in report["env"].items()},
                          report["cwd"].replace(e.dir, "DIR"))
    assert seen["gateway"] == seen["uwsgi"]
    assert seen["uwsgi"] == ({"GW_N": "magic", "GW_P": "DIR/magic.ini", "GW_D": "DIR/", "GW_S": "magic.ini",
                              "GW_SET": "fromset", "GW_INCLUDED": "template", "GW_INHERITED": "parent"}, "DIR")  # %n: the file it is in
    for e in both(empires):
        os.unlink(e.path("magic.ini"))
        e.wait_count("[emperor] removed uwsgi instance magic.ini")


def test_vassals_that_cannot_start_are_throttled_up_to_the_maximum(empires):
    for e in both(empires):
        port = free_port()
        e.write("noapp.ini", "[uwsgi]\nhttp-socket = 127.0.0.1:%d\nwsgi-file = /nonexistent/app.py\n"
                             "need-app = true\n" % port)
        e.write("nosection.ini", "[other]\nhttp-socket = 127.0.0.1:%d\nwsgi-file = %s\n" % (free_port(), APP))
    for e in both(empires):
        for name in ("noapp.ini", "nosection.ini"):
            e.wait_count("[emperor] unloyal bad behaving vassal found: %s throttling it..." % name, timeout=20)
            e.wait_count("[emperor] maximum throttle level for vassal %s reached !!!" % name, timeout=30)
            lines = e.lines(name)
            assert re.match(r"\[emperor\] curse the uwsgi instance %s \(pid: \d+\)$" % name, lines[0]), lines
            unloyal = lines.index("[emperor] unloyal bad behaving vassal found: %s throttling it..." % name)
            # the documented difference: ours throttles from the first death, so it says so at the
            # second; uWSGI respawns at once after the first and says it at the third
            deaths = lines[:unloyal].count("[emperor] removed uwsgi instance %s" % name)
            assert deaths == (3 if e.server == "uwsgi" else 2), (e.server, lines)
            assert not any("has been spawned" in line or "ready to accept" in line for line in lines), lines
        entries = {b["id"]: b for b in e.stats()["blacklist"]}
        for name in ("noapp.ini", "nosection.ini"):
            assert sorted(entries[name]) == ["attempt", "first_attempt", "id", "last_attempt", "throttle_level"]
            # uWSGI's level may pass the maximum by one step before it halves it (see the README)
            assert entries[name]["attempt"] >= 3 and entries[name]["throttle_level"] > 200, (e.server, entries)
    for e in both(empires):
        for name in ("noapp.ini", "nosection.ini"):
            os.unlink(e.path(name))
    for e in both(empires):
        wait_until(lambda e=e: not {"noapp.ini", "nosection.ini"} & {v["id"] for v in e.stats()["vassals"]},
                   timeout=15, what="%s: the failing vassals gone" % e.server)


def test_a_running_vassals_file_made_invalid_then_fixed(empires):
    """A file that loses its ``[uwsgi]`` section: the vassal re-executed into it has no socket and
    dies, again and again (throttled) until the file is fixed."""
    add_loyal(empires, "broken.ini")
    for e in both(empires):
        e.write("broken.ini", "[other]\nhttp-socket = 127.0.0.1:%d\n" % e.ports["broken.ini"])
        e.touch("broken.ini")
    for e in both(empires):
        e.wait_count("[emperor] unloyal bad behaving vassal found: broken.ini throttling it...")
        assert "broken.ini" in {b["id"] for b in e.stats()["blacklist"]}
        assert not _answers(e, "broken.ini")
    for e in both(empires):
        e.write("broken.ini", vassal_ini(e.ports["broken.ini"], "env = GW_FIXED=yes\n"))
        e.touch("broken.ini")
    for e in both(empires):
        wait_until(lambda e=e: _answers(e, "broken.ini").get("GW_FIXED") == "yes", timeout=30,
                   what="%s running the fixed file" % e.server)
        os.unlink(e.path("broken.ini"))
    for e in both(empires):
        wait_until(lambda e=e: "broken.ini" not in {v["id"] for v in e.stats()["vassals"]}, timeout=15,
                   what="%s: broken.ini gone" % e.server)


def _answers(e: Empire, name: str) -> Dict[str, str]:
    """The vassal's ``GW_*`` environment, empty while nothing answers."""
    try:
        return e.probe(name)["env"]
    except OSError:
        return {}


def test_a_vassal_that_dies_is_respawned_without_throttling_once_loyal(empires):
    add_loyal(empires, "dies.ini")
    first = {}
    for e in both(empires):
        first[e.server] = e.vassal("dies.ini")["pid"]
        os.kill(first[e.server], signal.SIGKILL)
    for e in both(empires):
        e.wait_count("[emperor] removed uwsgi instance dies.ini")
        ready(e, "dies.ini", 2)
        assert e.count("[emperor] vassal dies.ini has been spawned") == 2
        second = e.vassal("dies.ini")
        assert second["pid"] != first[e.server] and e.probe("dies.ini")
        assert second["respawns"] == 0 and second["loyal"] == 0, (e.server, second)  # a new instance
        assert not any("unloyal" in line for line in e.lines("dies.ini")), e.server
        os.unlink(e.path("dies.ini"))
        e.wait_count("[emperor] removed uwsgi instance dies.ini", 2)
        assert not pid_alive(first[e.server])


def test_renamed_file_and_symlinked_vassal(empires):
    for e in both(empires):
        e.add("old.ini")
        port = e.ports["link.ini"] = free_port()
        e.write("target.conf", vassal_ini(port))  # not a vassal itself: .conf is no config extension
        os.symlink("target.conf", e.path("link.ini"))
    for e in both(empires):
        ready(e, "old.ini")
        ready(e, "link.ini")
        assert e.probe("link.ini")
        os.rename(e.path("old.ini"), e.path("new.ini"))
        e.ports["new.ini"] = e.ports["old.ini"]
        e.touch("target.conf")  # the link's target changed: the link's vassal reloads
    for e in both(empires):
        e.wait_count("[emperor] removed uwsgi instance old.ini")
        ready(e, "new.ini")
        e.wait_count("[emperor] reload the uwsgi instance link.ini")
        assert wait_until(lambda e=e: e.probe("new.ini"), timeout=10, what="new.ini serving")
        assert not any("target.conf" in line for line in list(e.srv.lines) if "[emperor]" in line)
        for name in ("new.ini", "link.ini"):
            os.unlink(e.path(name))
    for e in both(empires):
        e.wait_count("[emperor] removed uwsgi instance new.ini")
        e.wait_count("[emperor] removed uwsgi instance link.ini")


def test_stats_document_has_uwsgis_keys(empires):
    add_loyal(empires, "stats.ini")
    docs = {e.server: e.stats() for e in both(empires)}
    theirs, ours = docs["uwsgi"], docs["gateway"]
    assert list(ours) == list(theirs)
    mine = next(v for v in ours["vassals"] if v["id"] == "stats.ini")
    their = next(v for v in theirs["vassals"] if v["id"] == "stats.ini")
    assert list(mine) == list(their)  # the old code added uWSGI 2.1's suspended/adopted/attrs
    for key in ("loyal", "ready", "accepting", "cursed", "zerg", "on_demand", "respawns", "last_heartbeat"):
        assert mine[key] == their[key], key
    assert mine["monitor"] == empires["gateway"].dir and their["monitor"] == empires["uwsgi"].dir
    assert ours["emperor"] == [empires["gateway"].dir] and theirs["emperor"] == [empires["uwsgi"].dir]
    assert ours["emperor_tyrant"] == theirs["emperor_tyrant"] == 0
    assert ours["throttle_level"] == theirs["throttle_level"]
    for server, v in (("gateway", mine), ("uwsgi", their)):
        mtime = int(os.stat(empires[server].path("stats.ini")).st_mtime)
        assert v["born"] == v["last_mod"] == mtime, (server, v)
        assert v["first_run"] == v["last_run"] and v["last_loyal"] >= v["last_accepting"] >= v["last_ready"] > 0, (server, v)
    for e in both(empires):
        e.srv.proc.send_signal(signal.SIGUSR1)
    for e in both(empires):
        e.wait_count("vassal instance stats.ini (last modified")
        line = next(x for x in list(e.srv.lines) if "vassal instance stats.ini" in x)
        assert re.search(r"vassal instance stats\.ini \(last modified \d+\) status 0 loyal 1 zerg 0$", line), line
        os.unlink(e.path("stats.ini"))
        e.wait_count("[emperor] removed uwsgi instance stats.ini")


def test_sighup_reloads_every_vassal(empires):
    for e in both(empires):
        e.add("hup.ini")
    for e in both(empires):
        ready(e, "hup.ini")
        e.srv.proc.send_signal(signal.SIGHUP)
    for e in both(empires):
        e.wait_count("[emperor] reload the uwsgi instance hup.ini")
        assert wait_until(lambda e=e: e.probe("hup.ini"), timeout=20, what="hup.ini serving again")
        os.unlink(e.path("hup.ini"))
        e.wait_count("[emperor] removed uwsgi instance hup.ini")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_every_vassal_then_bury_the_emperor(tmp_path, sig):
    pair = start_pair(str(tmp_path), [])
    try:
        pids = {}
        for e in both(pair):
            e.add("last.ini")
        docs = {}
        for e in both(pair):
            ready(e, "last.ini")
            docs[e.server] = e.stats()
            pids[e.server] = e.vassal("last.ini")["pid"]
        # the default --emperor-throttle (1000 ms) is no global throttle level (the old code said 1)
        assert docs["gateway"]["throttle_level"] == docs["uwsgi"]["throttle_level"] == 0
        for e in both(pair):
            e.srv.proc.send_signal(sig)
        for e in both(pair):
            assert e.srv.proc.wait(30) == 0, e.server
            e.srv.stop()  # gone already: only reads the rest of its output
            out = [STAMP.sub("", line) for line in e.srv.lines]
            assert out[-1] == "The Emperor is buried.", (e.server, out[-5:])
            ragnarok = out.index("[emperor] *** RAGNAROK EVOKED ***")
            assert "[emperor] stop the uwsgi instance last.ini" in out[ragnarok:]
            assert "[emperor] removed uwsgi instance last.ini" in out[ragnarok:]
            assert not pid_alive(pids[e.server])
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", e.ports["last.ini"]), timeout=2).close()
    finally:
        for e in pair.values():
            e.stop()

