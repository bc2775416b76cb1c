"""The master and its workers, as a real CLI subprocess: ids, respawn, back-off, reload,
shutdown, harakiri, --max-requests.  Short harakiri and mercy values keep it fast;
every wait is for an event (a log line, an answer), never a fixed sleep."""

from __future__ import annotations

import ast
import os
import re
import signal
import socket
import threading
import time

import pytest

from server import ServerProcess, run_server, spawn
from support.httpclient import request
from support.stats import fetch_stats, stats_port
from support.waits import wait_until

pytestmark = pytest.mark.timeout(90)

PROBE = ["--wsgi-file", "tests/apps/process_probe.py", "--tornado", "4", "--greenlet"]


def probe(port: int, path: str = "/", timeout: float = 10.0) -> dict:
    r = request(port, path, timeout=timeout)
    assert r.status == 200, r
    return ast.literal_eval(r.body.decode())


def pids_by_worker(port: int, want: int, deadline: float = 10.0) -> dict:
    """worker id -> pid, asking until ``want`` distinct workers answered."""
    seen: dict = {}
    end = time.time() + deadline
    while len(seen) < want and time.time() < end:
        rep = probe(port)
        seen[rep["worker_id"]] = rep["pid"]
    assert len(seen) == want, seen
    return seen


def test_workers_know_who_they_are_and_share_the_socket():
    with run_server(PROBE + ["--master", "--processes", "2"]) as srv:
        pids = pids_by_worker(srv.port, 2)
        rep = probe(srv.port)
        assert rep["masterpid"] == srv.pid
        assert rep["numproc"] == 2
        assert rep["workers"] == sorted(pids.items())
        assert srv.pid not in pids.values()
        out = srv.output()
    assert out.count("gateway ready:") == 1
    assert "spawned uWSGI master process (pid: %d)" % srv.pid in out
    for wid, pid in pids.items():
        assert "spawned uWSGI worker %d (pid: %d, cores: 4)" % (wid, pid) in out


def test_processes_without_master_report_masterpid_zero():
    with run_server(PROBE + ["--processes", "2"]) as srv:
        assert probe(srv.port)["masterpid"] == 0
        assert probe(srv.port)["numproc"] == 2


def test_killed_worker_is_respawned_with_its_id_and_only_its_requests_fail():
    with run_server(PROBE + ["--master", "--processes", "2"]) as srv:
        pids = pids_by_worker(srv.port, 2)
        victim = pids[1]
        results = {"ok": 0, "failed": 0}
        stop = threading.Event()

        def load():
            while not stop.is_set():
                try:
                    request(srv.port, "/", timeout=5)
                    results["ok"] += 1
                except Exception:
                    results["failed"] += 1

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: results["ok"] > 20, what="load")
        os.kill(victim, signal.SIGKILL)
        line = srv.wait_for_line(r"DAMN ! worker 1 \(pid: %d\) died, killed by signal 9" % victim)
        srv.wait_for_line(r"Respawned uWSGI worker 1 \(new pid: \d+\)")
        before = results["ok"]
        wait_until(lambda: results["ok"] > before + 20, what="more load")
        stop.set()
        for t in threads:
            t.join(10)
        new = pids_by_worker(srv.port, 2)
        assert new[1] != victim and new[2] == pids[2]
    # at most the 4 requests in flight on the victim (one per client thread) may fail
    assert results["failed"] <= 4, (results, line)


def free_base() -> int:
    """A base port whose base+1 and base+2 are free now, below the ephemeral range (where
    outgoing connections of other processes could take them meanwhile)."""
    import random

    for _ in range(200):
        base = random.randrange(20000, 32000)
        try:
            for offset in (1, 2):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise AssertionError("no free port pair")


def test_postfork_tornado_ports_per_worker_survive_a_respawn():
    base = free_base()
    with run_server(["--wsgi-file", "tests/apps/tornado_per_worker.py", "--tornado", "2", "--greenlet",
                     "--master", "--processes", "2"], env={"TORNADO_BASE_PORT": str(base)}) as srv:
        texts = {}
        for wid in (1, 2):
            r = request(base + wid, "/")
            assert r.status == 200, r
            texts[wid] = r.body.decode()
            assert texts[wid].startswith("tornado worker=%d pid=" % wid)
        old_pid = int(re.search(r"pid=(\d+)", texts[2]).group(1))
        os.kill(old_pid, signal.SIGKILL)
        srv.wait_for_line(r"Respawned uWSGI worker 2")

        def answered():
            try:
                r = request(base + 2, "/", timeout=2)
            except OSError:
                return None
            return r.body.decode() if r.status == 200 else None

        text = wait_until(answered, what="worker 2's tornado port")
        assert text.startswith("tornado worker=2 pid=")
        assert int(re.search(r"pid=(\d+)", text).group(1)) != old_pid
        # the WSGI side of each worker still reaches its own Tornado app on its own loop
        for _ in range(6):
            via = request(srv.port, "/via-tornado")
            assert via.status == 200 and b"got: tornado worker=" in via.body, via


def test_a_broken_lazy_app_is_respawned_with_back_off_not_a_fork_bomb():
    proc = spawn(["--http-socket", "127.0.0.1:0", "--wsgi-file", "tests/apps/import_raises.py",
                  "--master", "--processes", "2", "--lazy-apps"])
    srv = ServerProcess(proc)
    try:
        srv.wait_for_line(r"respawning too fast !!! i have to sleep a bit", timeout=20)
        t0 = time.time()
        time.sleep(2.0)  # observing a rate: count spawns over a fixed window
        spawned = [line for line in srv.lines if line.startswith("spawned uWSGI worker")]
        assert len(spawned) < 30, len(spawned)
        assert time.time() - t0 < 10
    finally:
        assert srv.stop() == 0


def stats(srv) -> dict:
    """The stats document of a server started with ``--stats 127.0.0.1:0``."""
    return fetch_stats(stats_port(srv))


def in_flight(srv, uri: str) -> bool:
    return any(uri + "" in v for w in stats(srv)["workers"] for c in w["cores"] for v in c["vars"])


def test_sigterm_lets_a_request_in_flight_finish():
    with run_server(PROBE + ["--master", "--processes", "2", "--stats", "127.0.0.1:0"]) as srv:
        result = {}

        def slow():
            result["r"] = request(srv.port, "/hold?1.5", timeout=10)

        t = threading.Thread(target=slow)
        t.start()
        wait_until(lambda: in_flight(srv, "REQUEST_URI=/hold?1.5"), what="request in flight")
        os.kill(srv.pid, signal.SIGTERM)
        t.join(10)
        assert srv.proc.wait(15) == 0
    assert result["r"].status == 200
    assert "goodbye to uWSGI." in srv.output()


def test_sigquit_stops_at_once():
    with run_server(PROBE + ["--master", "--processes", "2", "--stats", "127.0.0.1:0"]) as srv:
        t = threading.Thread(target=lambda: _quiet(request, srv.port, "/hold?30", timeout=30))
        t.start()
        wait_until(lambda: in_flight(srv, "REQUEST_URI=/hold?30"), what="request in flight")
        start = time.time()
        os.kill(srv.pid, signal.SIGQUIT)
        assert srv.proc.wait(10) == 0
        assert time.time() - start < 5
        t.join(5)


def _quiet(f, *args, **kw):
    try:
        f(*args, **kw)
    except Exception:
        pass


def test_sighup_reloads_with_zero_failed_requests_under_load(tmp_path):
    version = tmp_path / "version"
    version.write_text("one")
    with run_server(PROBE + ["--master", "--processes", "2", "--worker-reload-mercy", "10"],
                    env={"PROBE_VERSION_FILE": str(version)}) as srv:
        old = pids_by_worker(srv.port, 2)
        assert probe(srv.port)["version"] == "one"
        results = {"ok": 0, "failed": [], "versions": set()}
        stop = threading.Event()

        def load(path):
            while not stop.is_set():
                try:
                    rep = probe(srv.port, path)
                    results["ok"] += 1
                    results["versions"].add(rep["version"])
                except Exception as e:  # any refused, reset or truncated request
                    results["failed"].append(repr(e))

        threads = [threading.Thread(target=load, args=("/",)) for _ in range(4)]
        threads += [threading.Thread(target=load, args=("/hold?0.3",)) for _ in range(2)]
        for t in threads:
            t.start()
        wait_until(lambda: results["ok"] > 30, what="load")
        version.write_text("two")
        os.kill(srv.pid, signal.SIGHUP)
        srv.wait_for_line(r"gracefully \(RE\)spawned uWSGI master process")
        for wid, pid in old.items():
            srv.wait_for_line(r"worker %d buried after .*pid: %d" % (wid, pid))
        wait_until(lambda: "two" in results["versions"], what="new code serving")
        before = results["ok"]
        wait_until(lambda: results["ok"] > before + 30, what="load after reload")
        stop.set()
        for t in threads:
            t.join(10)
        new = pids_by_worker(srv.port, 2)
    assert not results["failed"], results["failed"][:5]
    assert set(new.values()).isdisjoint(old.values())


def request_in_background(port: int, path: str, timeout: float = 15):
    """Start ``request(port, path)`` in a thread: ``(thread, result)``, result["r"] the
    response or result["e"] the exception once the thread is done."""
    result: dict = {}

    def run():
        try:
            result["r"] = request(port, path, timeout=timeout)
        except Exception as e:
            result["e"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, result


def test_harakiri_cancels_a_parked_request_and_kills_a_blocked_worker():
    with run_server(PROBE + ["--master", "--processes", "2", "--harakiri", "1"]) as srv:
        srv.expect_traceback("HarakiriTimeout")  # the cancelled request's app sees it, and it is logged
        pids = pids_by_worker(srv.port, 2)
        # a request parked on the loop is cancelled in its core; the worker serves on
        parked = request(srv.port, "/park?30", timeout=10)
        assert parked.status == 500
        line = srv.wait_for_line(r"HARAKIRI ON WORKER \d core \d \(pid: \d+\): GET /park\?30")
        wid = int(re.search(r"WORKER (\d)", line).group(1))
        assert probe(srv.port)["pid"] in pids.values()
        # a request blocking its worker's loop gets the worker killed and respawned;
        # the other worker serves meanwhile
        t, result = request_in_background(srv.port, "/block?30")
        srv.wait_for_line(r"HARAKIRI \[core \d\] 127.0.0.1 - GET /block\?30", timeout=10)
        srv.wait_for_line(r"DAMN ! worker \d \(pid: \d+\) died, killed by signal 9")
        t.join(15)
        assert "e" in result or result["r"].status != 200
        pids_by_worker(srv.port, 2)
        assert wid in (1, 2)


def test_harakiri_fires_again_on_the_respawned_worker():
    """The worker respawned after a harakiri (same id) is itself killed by the next one."""
    with run_server(PROBE + ["--master", "--processes", "1", "--harakiri", "1"]) as srv:
        for n in (1, 2):
            t, result = request_in_background(srv.port, "/block?30")
            wait_until(lambda n=n: len(re.findall(r"HARAKIRI triggered by worker 1 core \d+ !!!", srv.output())) == n,
                       timeout=10, what="harakiri number %d" % n)
            t.join(15)
            assert "e" in result or result["r"].status != 200
            wait_until(lambda n=n: srv.output().count("Respawned uWSGI worker 1") == n, what="respawn %d" % n)


def test_max_requests_recycles_the_worker():
    with run_server(PROBE + ["--master", "--processes", "1", "--max-requests", "5",
                             "--min-worker-lifetime", "0"]) as srv:
        first = probe(srv.port)["pid"]
        for _ in range(5):
            probe(srv.port)
        srv.wait_for_line(r"The work of process %d is done. Seeya!" % first)
        srv.wait_for_line(r"Respawned uWSGI worker 1|worker 1 \(pid: %d\) exited" % first)
        assert wait_until(lambda: probe(srv.port)["pid"] != first, what="a new worker")


def test_logto_and_log_format(tmp_path):
    log = tmp_path / "gateway.log"
    from server import ServerProcess

    proc = spawn(["--http-socket", "127.0.0.1:0"] + PROBE + [
        "--master", "--processes", "2", "--logto", str(log),
        "--log-format", '%(addr) - %(user) "%(method) %(uri) %(proto)" %(status) %(rsize) w=%(wid) %(unknown)'])
    srv = ServerProcess(proc)
    try:
        def ready():
            text = log.read_text() if log.exists() else ""
            m = re.search(r"gateway ready: pid=\d+ http-socket=127.0.0.1:(\d+)", text)
            return int(m.group(1)) if m else None

        port = wait_until(ready, timeout=20, what="the ready line in the log file")
        body = request(port, "/logged?2").body
        wid = ast.literal_eval(body.decode())["worker_id"]
        line = wait_until(lambda: [ln for ln in log.read_text().splitlines() if '"GET /logged' in ln],
                          what="the request line")[0]
        assert line == '127.0.0.1 - - "GET /logged?2 HTTP/1.1" 200 %d w=%d -' % (len(body), wid)
        assert "not defined" not in log.read_text()
        assert "spawned uWSGI worker 2" in log.read_text()
        assert srv.output() == ""  # nothing on stderr
    finally:
        srv.stop()


def test_touch_reload(tmp_path):
    trigger = tmp_path / "reload.trigger"
    trigger.write_text("")
    with run_server(PROBE + ["--master", "--processes", "1", "--touch-reload", str(trigger)]) as srv:
        old = probe(srv.port)["pid"]
        os.utime(trigger, (time.time() + 5, time.time() + 5))
        srv.wait_for_line(r"has been touched\.\.\. grace them all")
        srv.wait_for_line(r"worker 1 buried after .*pid: %d" % old)
        assert wait_until(lambda: probe(srv.port)["pid"] != old, what="the new worker")


def test_a_reload_whose_app_no_longer_imports_keeps_the_old_workers(tmp_path):
    app = tmp_path / "app.py"
    app.write_text("def application(e, sr):\n    sr('200 OK', [])\n    return [b'v1']\n")
    with run_server(["--wsgi-file", str(app), "--master", "--processes", "2"]) as srv:
        srv.expect_traceback("broken on purpose")  # the failed re-import is logged with its traceback
        assert request(srv.port, "/").body == b"v1"
        app.write_text("raise RuntimeError('broken on purpose')\n")
        srv.expect_traceback("broken on purpose")
        os.kill(srv.pid, signal.SIGHUP)
        srv.wait_for_line(r"reload aborted: the app failed to load again")
        for _ in range(4):
            assert request(srv.port, "/").body == b"v1"
        app.write_text("def application(e, sr):\n    sr('200 OK', [])\n    return [b'v2']\n")
        os.kill(srv.pid, signal.SIGHUP)
        assert wait_until(lambda: request(srv.port, "/").body == b"v2", what="v2 after a good reload")


def test_harakiri_verbose_dumps_the_stuck_stack():
    with run_server(PROBE + ["--master", "--processes", "1", "--harakiri", "1", "--harakiri-verbose"]) as srv:
        srv.expect_traceback("HarakiriTimeout")
        srv.expect_traceback("in application")  # the blocked worker's faulthandler dump
        parked = request(srv.port, "/park?30", timeout=10)  # suspended: its greenlet's stack
        assert parked.status == 500
        srv.wait_for_line(r"HARAKIRI stack of core \d")
        assert "loop_engine" in srv.output() and "process_probe.py" in srv.output()
        t = threading.Thread(target=lambda: _quiet(request, srv.port, "/block?30", timeout=15))
        t.start()  # blocked: faulthandler dumps every thread from the worker's signal handler
        srv.wait_for_line(r"DAMN ! worker 1 \(pid: \d+\) died, killed by signal 9", timeout=15)
        t.join(15)
        out = srv.output()
        assert 'File "' in out and "in application" in out.split("HARAKIRI ON WORKER 1 (pid")[1]


def test_reload_on_rss_recycles_the_worker():
    with run_server(PROBE + ["--master", "--processes", "1", "--reload-on-rss", "1",
                             "--min-worker-lifetime", "0"]) as srv:
        assert probe(srv.port)["worker_id"] == 1  # a worker serves at least one request
        srv.wait_for_line(r"^worker 1 rss \d+ MB above reload-on-rss \(1 MB\)$")
        first = srv.wait_for_line(r"^\.\.\.The work of process (\d+) is done\. Seeya!$")
        pid = int(re.search(r"process (\d+) is done", first).group(1))
        srv.wait_for_line(r"^worker 1 killed successfully \(pid: %d\)$" % pid)
        assert probe(srv.port)["worker_id"] == 1


def _burst_spread(port: int, n: int, workers) -> dict:
    """``n`` connections waiting in the backlog when the workers wake up together (stopped
    meanwhile), then each asked which worker holds it: pid -> count."""
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
    try:
        counts: dict = {}
        for s in socks:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for s in socks:
            data = b""
            while b"}" not in data:
                chunk = s.recv(4096)
                assert chunk, data
                data += chunk
            pid = ast.literal_eval(data[data.index(b"{"):data.rindex(b"}") + 1].decode())["pid"]
            counts[pid] = counts.get(pid, 0) + 1
        return counts
    finally:
        for s in socks:
            s.close()


def test_a_burst_of_keep_alive_connections_spreads_over_the_workers():
    """Each worker accepts one connection per wake-up, so a burst of connections (wrk, a
    pool opening) does not all land on the first worker to wake, which would then serve
    them alone for their whole keep-alive life (the default uvloop accept takes every
    pending connection at once)."""
    with run_server(PROBE + ["--master", "--processes", "2"]) as srv:
        workers = list(pids_by_worker(srv.port, 2).values())
        spreads = []
        for _ in range(6):  # one balanced burst is enough: a loaded machine may deschedule a worker
            counts = _burst_spread(srv.port, 16, workers)
            spreads.append(sorted(counts.values()))
            if len(counts) == 2 and min(counts.values()) >= 4:
                break
        else:
            raise AssertionError("every burst landed mostly on one worker: %s" % spreads)


# -- graceful harakiri (--harakiri-graceful-timeout, --harakiri-graceful-signal) -------------------

GRACEFUL = ["--wsgi-file", "tests/apps/graceful_harakiri.py", "--tornado", "4", "--greenlet", "--master",
            "--processes", "1", "--lazy-apps", "--harakiri", "1"]


def test_graceful_harakiri_signal_reaches_the_apps_handler_which_exits(tmp_path):
    mark = tmp_path / "mark"
    env = {"GRACEFUL_HANDLER": "exit", "GRACEFUL_MARK": str(mark)}
    with run_server(GRACEFUL + ["--harakiri-graceful-timeout", "20", "--harakiri-graceful-signal", "SIGSYS"],
                    env=env) as srv:
        first = int(request(srv.port, "/").body)
        t, result = request_in_background(srv.port, "/block?30", timeout=30)
        srv.wait_for_line(r"\*\*\* HARAKIRI ON WORKER 1 \(pid: %d, try: 1, graceful: yes\) \*\*\*" % first, timeout=15)
        srv.wait_for_line(r"^worker 1 \(pid: %d\) exit status 3$" % first, timeout=15)
        srv.wait_for_line(r"^DAMN ! worker 1 \(pid: %d\) died :\( trying respawn \.\.\.$" % first, timeout=15)
        t.join(15)
        assert mark.read_text() == "signal %d in pid %d" % (signal.SIGSYS, first)
        assert "killed by signal 9" not in srv.output() and "still running" not in srv.output()
        assert "e" in result  # its request died with the worker, as with any harakiri
        assert wait_until(lambda: int(request(srv.port, "/").body) != first, what="the respawned worker")


def test_graceful_harakiri_ends_in_sigkill_when_the_worker_stays(tmp_path):
    env = {"GRACEFUL_HANDLER": "ignore"}
    with run_server(GRACEFUL + ["--harakiri-graceful-timeout", "1", "--harakiri-graceful-signal", "31"],
                    env=env) as srv:
        first = int(request(srv.port, "/").body)
        t, result = request_in_background(srv.port, "/block?30", timeout=30)
        srv.wait_for_line(r"HARAKIRI ON WORKER 1 \(pid: %d, try: 1, graceful: yes\)" % first, timeout=15)
        # uWSGI 2.0.31's line
        srv.wait_for_line(r"^HARAKIRI: graceful termination attempt on worker 1 with signal 31\. Next harakiri: \d+$")
        srv.wait_for_line(r"HARAKIRI: worker 1 \(pid: %d\) still running 1s after signal 31: killing it" % first,
                          timeout=15)
        srv.wait_for_line(r"DAMN ! worker 1 \(pid: %d\) died, killed by signal 9" % first, timeout=15)
        t.join(15)
        assert wait_until(lambda: int(request(srv.port, "/").body) != first, what="the respawned worker")


def test_graceful_harakiri_with_sigterm_lets_the_stuck_request_finish_then_the_worker_stops():
    """The default signal is SIGTERM, the worker's graceful stop: a request that unblocks
    within the timeout is answered, then the worker exits cleanly and is respawned."""
    with run_server(GRACEFUL + ["--harakiri-graceful-timeout", "20"]) as srv:
        first = int(request(srv.port, "/").body)
        t, result = request_in_background(srv.port, "/block?6", timeout=30)
        srv.wait_for_line(r"HARAKIRI ON WORKER 1 \(pid: %d, try: 1, graceful: yes\)" % first, timeout=15)
        t.join(20)
        assert result.get("r") is not None and result["r"].status == 200, result
        assert int(result["r"].body) == first
        srv.wait_for_line(r"^worker 1 killed successfully \(pid: %d\)$" % first, timeout=15)
        assert "killed by signal 9" not in srv.output()
        assert wait_until(lambda: int(request(srv.port, "/").body) != first, what="the respawned worker")


@pytest.mark.parametrize("value", ["SIGKILL", "9", "0", "NOPE", "SIG_IGN"])
def test_harakiri_graceful_signal_refuses_what_cannot_be_caught(value):
    proc = spawn(GRACEFUL + ["--http-socket", "127.0.0.1:0", "--harakiri-graceful-signal", value])
    _, out = proc.communicate(timeout=20)
    assert proc.returncode != 0
    assert "--harakiri-graceful-signal" in out and value in out, out


def test_max_worker_lifetime_recycles_the_worker_gracefully():
    with run_server(PROBE + ["--master", "--processes", "1", "--max-worker-lifetime", "1"]) as srv:
        first = probe(srv.port)["pid"]
        srv.wait_for_line(r"^worker 1 lifetime reached, it was running for \d+ second\(s\)$", timeout=15)
        srv.wait_for_line(r"^Respawned uWSGI worker 1 \(new pid: \d+\)$", timeout=15)
        assert wait_until(lambda: probe(srv.port)["pid"] != first, what="the new worker")
        # uWSGI's lines: that one is all (no goodbye, no "killed successfully"), and no DAMN
        assert "Seeya" not in srv.output() and "killed successfully" not in srv.output()
        assert "DAMN" not in srv.output()


def test_register_at_fork_hooks_run_in_every_worker(tmp_path):
    """--py-call-osafterfork is accepted because it is what always happens: os.fork() runs the
    app's os.register_at_fork hooks in each worker (the app is loaded in the master)."""
    app = tmp_path / "app.py"
    mark = tmp_path / "forks"
    app.write_text("import os\n"
                   "os.register_at_fork(after_in_child=lambda: open(%r, 'a').write('child %%d\\n' %% os.getpid()))\n"
                   "def application(e, sr):\n    sr('200 OK', [])\n    return [str(os.getpid()).encode()]\n" % str(mark))
    with run_server(["--wsgi-file", str(app), "--master", "--processes", "2", "--py-call-osafterfork",
                     "--honour-stdin"]) as srv:
        pids = {int(request(srv.port, "/").body) for _ in range(20)}
        children = {int(line.split()[1]) for line in mark.read_text().split("\n") if line}
    assert pids <= children and len(children) >= 2


def test_die_on_idle_stops_the_instance_but_not_while_a_request_runs():
    with run_server(PROBE + ["--master", "--processes", "1", "--idle", "1", "--die-on-idle"]) as srv:
        parked = request(srv.port, "/hold?2.5", timeout=10)  # busy for 2.5 s: longer than --idle
        assert parked.status == 200
        assert srv.proc.wait(15) == 0  # then, idle for a second, it stops by itself
        out = srv.output()
    assert "workers have been inactive for more than 1 seconds" in out
    assert "die-on-idle received...gracefully killing workers" in out


def test_die_on_idle_needs_idle():
    proc = spawn(PROBE + ["--http-socket", "127.0.0.1:0", "--die-on-idle"])
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "--die-on-idle needs --idle SECONDS" in err, err


def test_idle_alone_is_cheap_mode_and_a_connection_wakes_the_workers():
    with run_server(PROBE + ["--master", "--processes", "2", "--idle", "1", "--stats", "127.0.0.1:0"]) as srv:
        first = request(srv.port, "/").status
        srv.wait_for_line(r"cheap mode enabled: waiting for socket connection\.\.\.", timeout=10)
        assert wait_until(lambda: not _children(srv.proc.pid), what="every worker stopped")
        stats = fetch_stats(stats_port(srv))
        assert [w["status"] for w in stats["workers"]] == ["cheap", "cheap"]
        # the connection waits in the backlog while the master starts the workers again
        woken = request(srv.port, "/", timeout=10)
        assert first == woken.status == 200
        assert len(_children(srv.proc.pid)) == 2
        out = srv.output()
        assert out.index("cheap mode enabled") < out.rindex("spawned uWSGI worker 1")
        assert "DAMN" not in out
        # idle again: cheap again
        assert wait_until(lambda: srv.output().count("cheap mode enabled") == 2, timeout=10, what="cheap again")


def _children(pid: int) -> list:
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return f.read().split()


def test_reload_mercy_caps_how_long_a_graceful_stop_waits():
    args = PROBE + ["--master", "--processes", "1", "--reload-mercy", "1", "--stats", "127.0.0.1:0"]
    with run_server(args) as srv:
        def hold() -> None:
            try:
                request(srv.port, "/hold?30", timeout=40)
            except (OSError, AssertionError):
                pass  # the worker is killed under it: that is the point

        threading.Thread(target=hold, daemon=True).start()

        def running() -> bool:
            return any(c["in_request"] for w in fetch_stats(stats_port(srv))["workers"] for c in w["cores"])

        assert wait_until(running, what="the held request running")
        start = time.monotonic()
        os.kill(srv.proc.pid, signal.SIGTERM)
        srv.proc.wait(15)
        took = time.monotonic() - start
        out = srv.output()
    assert "gracefully killing workers (mercy: 1s)" in out
    assert re.search(r"^worker 1 \(pid: \d+\) is taking too much time to die\.\.\.NO MERCY !!!$", out, re.M), out
    assert took < 10  # not --worker-reload-mercy's 60 s


def test_evil_reload_on_rss_kills_a_worker_stuck_over_the_limit(tmp_path):
    app = tmp_path / "hog.py"
    app.write_text(
        "import os, time\nHELD = []\n"
        "def application(e, sr):\n"
        "    if e['PATH_INFO'] == '/hog':\n"
        "        HELD.append(bytearray(os.urandom(1)) * (160 * 1024 * 1024))\n"
        "        time.sleep(30)  # stuck: it would never check its own memory\n"
        "    sr('200 OK', [])\n"
        "    return [str(os.getpid()).encode()]\n")
    # --evil-reload-on-rss alone implies the master
    with run_server(["--wsgi-file", str(app), "--evil-reload-on-rss", "120"]) as srv:
        first = int(request(srv.port, "/").body)

        def hog() -> None:
            try:
                request(srv.port, "/hog", timeout=40)
            except (OSError, AssertionError):
                pass  # killed under it

        threading.Thread(target=hog, daemon=True).start()
        srv.wait_for_line(r"\*\*\* EVIL RELOAD ON WORKER 1 RSS: \d+ \(pid: %d\) \*\*\*" % first, timeout=15)
        srv.wait_for_line(r"DAMN ! worker 1 \(pid: %d\) died, killed by signal 9" % first, timeout=10)
        assert wait_until(lambda: int(request(srv.port, "/").body) != first, what="the respawned worker")


def test_set_user_harakiri_without_a_harakiri_option():
    with run_server(PROBE + ["--master", "--processes", "2"]) as srv:
        srv.expect_traceback("HarakiriTimeout")
        pids_by_worker(srv.port, 2)
        # its own deadline: a parked request is cancelled in its core after 1 s
        assert request(srv.port, "/user-park?30", timeout=10).status == 500
        srv.wait_for_line(r"HARAKIRI ON WORKER \d core \d \(pid: \d+\): GET /user-park\?30 past its "
                          r"uwsgi.set_user_harakiri deadline: cancelled")
        # cancelled with set_user_harakiri(0): the request outlives the second
        assert request(srv.port, "/user-park-clear?1.5", timeout=10).status == 200
        # blocking its loop past the deadline: the master kills the worker
        t, result = request_in_background(srv.port, "/user-block?30")
        srv.wait_for_line(r"HARAKIRI \[core \d\] 127.0.0.1 - GET /user-block\?30", timeout=10)
        srv.wait_for_line(r"DAMN ! worker \d \(pid: \d+\) died, killed by signal 9")
        t.join(15)
        assert "e" in result or result["r"].status != 200
        pids_by_worker(srv.port, 2)  # respawned: both answer again


def test_the_harakiri_route_action_sets_the_same_deadline():
    with run_server(PROBE + ["--master", "--route", "^/park harakiri:1"]) as srv:
        srv.expect_traceback("HarakiriTimeout")
        assert request(srv.port, "/park?30", timeout=10).status == 500
        srv.wait_for_line(r"GET /park\?30 past its uwsgi.set_user_harakiri deadline: cancelled")
        assert request(srv.port, "/hold?0.1", timeout=10).status == 200  # no rule for it


def test_a_parked_requests_user_harakiri_stays_with_it_not_with_the_core():
    from support.wsclient import WSClient

    args = ["--wsgi-file", "tests/apps/user_harakiri_ws.py", "--tornado", "2", "--greenlet", "--master"]
    with run_server(args) as srv:
        ws = WSClient(srv.port, "/ws")
        assert ws.status == 101
        # the websocket parked, its core free; the next requests run past its 2 s deadline
        t0 = time.monotonic()
        assert request(srv.port, "/park?3", timeout=10).body == b"done"
        assert time.monotonic() - t0 >= 2.9  # (the loop may run a timer up to its clock resolution early)
        assert "set_user_harakiri deadline" not in srv.output()
        ws.close()
