"""The master's worker recycling and limits, against real uWSGI 2.0.31.

One real uWSGI and one gateway per setup (``--master --processes N`` plus the options under
test), shared by the setup's tests, run the same app (``tests/apps/limits_peer.py``) and are driven
the same way, both at once: what the client gets, the master's lines (numbers and uWSGI's
date prefix aside), their order, and what ``uwsgi.workers()`` says.  Covered: ``--harakiri``
and ``uwsgi.set_user_harakiri`` (with processes, ``--tornado 10 --greenlet`` and
``--threads 2``), ``--max-requests`` with ``--max-requests-delta``, ``--reload-on-rss``,
``--max-worker-lifetime`` with its delta, ``--evil-reload-on-rss``,
``--harakiri-graceful-timeout``, ``--cheaper``/``--cheaper-initial`` (and its warnings)/``--cheaper-step``/
``--cheaper-overload`` (spare's count), ``--cheaper-algo backlog``, ``busyness`` and ``manual`` (with the master FIFO),
``--idle`` (cheap mode) and ``--die-on-idle``, ``--limit-post``, ``--touch-workers-reload``/
``--touch-chain-reload``, the full listen queue's warning.  The deliberate differences (README,
"Master and workers") are asserted as such.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import threading
import time
from typing import Any, Callable, Dict, List

import pytest

from support.fifo import say
from support.httpclient import read_to_eof, request
from support.peer_pair import SERVERS, LoggedPair, at_once, comparable, read_log, start_server, stop_server
from support.router import free_port
from support.waits import wait_until

pytestmark = pytest.mark.timeout(120)

APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps", "limits_peer.py")
MODES = {"processes": [], "tornado": ["--tornado", "10", "--greenlet"], "threads": ["--threads", "2"]}


def both(action: Callable[[str], Any]) -> Dict[str, Any]:
    """``action(server)`` for uWSGI and gateway at once (each waits for its own server)."""
    return at_once({server: functools.partial(action, server) for server in SERVERS}, 100)


def _pair(tmp_path_factory, name: str, options: List[str], workers: int):
    with LoggedPair(str(tmp_path_factory.mktemp(name)), ["--wsgi-file", APP, "--master"] + options, workers) as pair:
        yield pair


def _setup(name: str, options: List[str], workers: int) -> Any:
    """A fixture: the pair of servers started with ``options``, for the one test that uses it
    (stopped after it: the module's pairs are not all left running until its end)."""
    @pytest.fixture()
    def pair(tmp_path_factory):
        yield from _pair(tmp_path_factory, name, options, workers)

    return pair


def _get(pair: LoggedPair, server: str, path: str, timeout: float = 10) -> Dict[str, Any]:
    return json.loads(request(pair.ports[server], path, timeout=timeout).body)


def _unanswered(pair: LoggedPair, server: str, path: str) -> bytes:
    """What a client of ``path`` receives until the connection ends."""
    with socket.create_connection(("127.0.0.1", pair.ports[server]), timeout=20) as conn:
        conn.sendall(b"GET %s HTTP/1.0\r\n\r\n" % path.encode())
        return read_to_eof(conn)


def _respawns(pair: LoggedPair, server: str) -> int:
    return sum(w["respawn_count"] for w in _get(pair, server, "/workers")["workers"])


# -- --harakiri and uwsgi.set_user_harakiri ------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(MODES))
def harakiri_pair(request, tmp_path_factory):
    yield from _pair(tmp_path_factory, "harakiri-" + request.param,
                     ["--processes", "2", "--harakiri", "2", "--harakiri-verbose", "--limit-post", "1000"]
                     + MODES[request.param], 2)


def _harakiri_lines(pair: LoggedPair, server: str, after: int) -> List[str]:
    """The lines from a harakiri to the respawn, comparable (the ``graceful`` field aside:
    uWSGI says ``yes`` for a SIGKILL, README), ``--harakiri-verbose``'s /proc lines as their
    names (gateway's stack dump, its own, left out)."""
    lines = pair.lines(server)[after:]
    first = next(i for i, ln in enumerate(lines) if "*** HARAKIRI ON WORKER" in ln)
    last = next(i for i, ln in enumerate(lines) if ln.startswith("Respawned uWSGI worker"))
    kept = [re.sub(r"graceful: \w+", "graceful: -", re.sub(r"> .*", ">", comparable(ln)))
            for ln in lines[first:last + 1] if re.match(r"(\w{3} .* - )?(\*\*\* |HARAKIRI|DAMN|Respawned)", ln)]
    return kept


@pytest.mark.parametrize("path, deadline, trigger", [("/sleep?s=10", 2, "HARAKIRI triggered"),
                                                     ("/uh?s=10&h=1", 1, "HARAKIRI (user) triggered")],
                         ids=["harakiri", "user-harakiri"])
def test_a_blocked_request_gets_its_worker_killed_with_uwsgis_lines(harakiri_pair, path, deadline, trigger):
    """Killed within a second of its deadline here (uWSGI's master, in whole seconds of a
    cached clock, fires from one second early to two late)."""
    pair = harakiri_pair
    bound = deadline + 1
    marks = {s: len(pair.lines(s)) for s in SERVERS}
    before = {s: _respawns(pair, s) for s in SERVERS}

    def hang(server: str) -> Any:
        start = time.monotonic()
        answer = _unanswered(pair, server, path)
        wait_until(lambda: "Respawned uWSGI worker" in "\n".join(pair.lines(server)[marks[server]:]),
                   what="%s's respawn" % server)
        return answer, time.monotonic() - start

    results = both(hang)
    for server in SERVERS:
        answer, took = results[server]
        assert answer == b"", (server, answer)  # killed in its request: the connection just ends
        assert took < bound + (2 if server == "uwsgi" else 0), (server, took)  # uWSGI's clock is coarse
        assert _respawns(pair, server) == before[server] + 1  # uwsgi.workers(): the respawns only
    lines = {s: _harakiri_lines(pair, s, marks[s]) for s in SERVERS}
    assert lines["gateway"] == lines["uwsgi"] == [
        "*** HARAKIRI ON WORKER N (pid: N, try: N, graceful: -) ***",
        "HARAKIRI: -- syscall>", "HARAKIRI: -- wchan>",
        "HARAKIRI !!! worker N status !!!",
        "HARAKIRI [core N] N.N.N.N - GET %s since N" % re.sub(r"\d+", "N", path),
        "HARAKIRI !!! end of worker N status !!!",
        "%s by worker N core N !!!" % trigger,
        "DAMN ! worker N (pid: N) died, killed by signal N :( trying respawn ...",
        "Respawned uWSGI worker N (new pid: N)"]


def test_a_body_over_limit_post_is_refused(harakiri_pair):
    """uWSGI drops the connection unanswered (``Invalid (too big) CONTENT_LENGTH. skip.``);
    gateway answers 413 (README: deliberate).  A body within the limit reaches the app."""
    def post(server: str) -> Any:
        with socket.create_connection(("127.0.0.1", harakiri_pair.ports[server]), timeout=10) as conn:
            conn.sendall(b"POST /post HTTP/1.0\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000)
            refused = read_to_eof(conn)
        small = request(harakiri_pair.ports[server], "/post", method="POST", body=b"y" * 100)
        return refused, json.loads(small.body)

    results = both(post)
    assert results["uwsgi"][0] == b"" and "Invalid (too big) CONTENT_LENGTH. skip." in harakiri_pair.text("uwsgi")
    assert results["gateway"][0].startswith(b"HTTP/1.1 413 ")
    assert results["uwsgi"][1] == results["gateway"][1] == {"length": 100}


graceful_pair = _setup("graceful", ["--processes", "1", "--harakiri", "1", "--harakiri-graceful-timeout", "1"], 1)


def test_a_graceful_harakiri_signals_first_with_uwsgis_lines(graceful_pair):
    """SIGTERM first (``graceful: yes`` and uWSGI's line announcing the next attempt), then the
    worker goes: uWSGI's exits at once on it; gateway's lets the request finish, so the master
    SIGKILLs it at the timeout (README: deliberate)."""
    pair = graceful_pair

    def hang(server: str) -> Any:
        answer = _unanswered(pair, server, "/sleep?s=10")
        wait_until(lambda: "Respawned uWSGI worker" in pair.text(server), what="%s's respawn" % server)
        lines = [comparable(ln) for ln in pair.lines(server) if ln.startswith(("HARAKIRI", "***", "DAMN"))
                 or " - HARAKIRI" in ln or " - *** HARAKIRI" in ln]
        return answer, [ln for ln in lines if "HARAKIRI" in ln or ln.startswith("DAMN")]

    results = both(hang)
    assert results["uwsgi"][0] == results["gateway"][0] == b""
    common = ["*** HARAKIRI ON WORKER N (pid: N, try: N, graceful: yes) ***",
              "HARAKIRI !!! worker N status !!!", "HARAKIRI [core N] N.N.N.N - GET /sleep?s=N since N",
              "HARAKIRI !!! end of worker N status !!!",
              "HARAKIRI: graceful termination attempt on worker N with signal N. Next harakiri: N",
              "HARAKIRI triggered by worker N core N !!!"]
    assert results["uwsgi"][1] == common + ["DAMN ! worker N (pid: N) died :( trying respawn ..."]
    assert results["gateway"][1] == common + [
        "HARAKIRI: worker N (pid: N) still running Ns after signal N: killing it",
        "DAMN ! worker N (pid: N) died, killed by signal N :( trying respawn ..."]


# -- --max-requests, --max-requests-delta, --reload-on-rss ----------------------------------------


@pytest.fixture(scope="module", params=["processes", "tornado"])
def max_requests_pair(request, tmp_path_factory):
    yield from _pair(tmp_path_factory, "maxreq-" + request.param,
                     ["--processes", "2", "--max-requests", "2", "--max-requests-delta", "1",
                      "--min-worker-lifetime", "0"] + MODES[request.param], 2)


def test_max_requests_recycles_right_after_the_last_request(max_requests_pair):
    """Worker K retires right after its ``2 + (K - 1) * 1``-th request: no request more."""
    pair = max_requests_pair

    def drive(server: str) -> Any:
        served: Dict[int, List[int]] = {}
        for _ in range(20):
            rep = _get(pair, server, "/")
            served.setdefault(rep["pid"], []).append(rep["worker"])
            text = pair.text(server)
            if "Respawned uWSGI worker 1 " in text and "Respawned uWSGI worker 2 " in text:
                break
        return served

    results = both(drive)
    for server in SERVERS:
        text = pair.text(server)
        if server == "uwsgi" and "--tornado" in pair.options:
            # uWSGI's tornado loop says goodbye but goes on serving (README: it is broken there)
            assert any(len(served) > 3 for served in results[server].values()), results[server]
            continue
        done = [int(p) for p in re.findall(r"^\.\.\.The work of process (\d+) is done\. Seeya!$", text, re.M)]
        assert len(done) >= 2, text
        for pid in done:
            wid = results[server][pid][0]
            assert len(results[server][pid]) == 2 + (wid - 1), (server, results[server])
            seeya = text.index("...The work of process %d is done" % pid)
            killed = text.index("worker %d killed successfully (pid: %d)" % (wid, pid))
            assert seeya < killed < text.index("Respawned uWSGI worker %d (new pid: " % wid, killed)
        # gateway says why first (README); uWSGI only says goodbye
        assert ("reached max-requests" in text) == (server == "gateway")
        # respawns, not spawns, as uWSGI's workers(): each worker's count is the number of its
        # "Respawned" lines (a busy worker may have been recycled twice while the other got its
        # requests; the /workers request itself may recycle one more after answering)
        before = _respawned_lines(pair.text(server))
        workers = _get(pair, server, "/workers")["workers"]
        after = _respawned_lines(pair.text(server))
        for w in workers:
            assert 1 <= before[w["id"]] <= w["respawn_count"] <= after[w["id"]], (server, workers, before)


def _respawned_lines(text: str) -> Dict[int, int]:
    """Worker id -> how many times the log says it was respawned."""
    counts: Dict[int, int] = {1: 0, 2: 0}
    for wid in re.findall(r"^Respawned uWSGI worker (\d+) ", text, re.M):
        counts[int(wid)] = counts.get(int(wid), 0) + 1
    return counts


rss_pair = _setup("rss", ["--processes", "1", "--reload-on-rss", "60", "--min-worker-lifetime", "0"], 1)


def test_reload_on_rss_recycles_right_after_the_request_that_grew(rss_pair):
    pair = rss_pair

    def drive(server: str) -> Any:
        first = _get(pair, server, "/")["pid"]
        assert _get(pair, server, "/")["pid"] == first  # under the limit: the same worker
        assert _get(pair, server, "/grow?mb=80") == {"kept": 1}
        after = _get(pair, server, "/")["pid"]  # the next request: a new worker
        wanted = re.compile(r"^(\.\.\.The work of process \d+ is done\. Seeya!|worker 1 killed successfully "
                            r"\(pid: \d+\)|Respawned uWSGI worker 1 \(new pid: \d+\))$", re.M)
        return first, after, [comparable(m.group(0)) for m in wanted.finditer(pair.text(server))]

    results = both(drive)
    for server in SERVERS:
        first, after, _ = results[server]
        assert after != first, server
    assert results["uwsgi"][2] == results["gateway"][2] == [
        "...The work of process N is done. Seeya!", "worker N killed successfully (pid: N)",
        "Respawned uWSGI worker N (new pid: N)"]


evil_pair = _setup("evil", ["--processes", "1", "--evil-reload-on-rss", "70"], 1)


def test_evil_reload_on_rss_kills_the_worker_over_the_limit(evil_pair):
    pair = evil_pair

    def drive(server: str) -> Any:
        first = _get(pair, server, "/")["pid"]
        assert _get(pair, server, "/grow?mb=90") == {"kept": 1}  # answered: the master kills it later
        wait_until(lambda: "Respawned uWSGI worker 1" in pair.text(server), what="%s's respawn" % server)
        assert _get(pair, server, "/")["pid"] != first
        return [comparable(ln) for ln in pair.lines(server) if ln.startswith(("*** EVIL", "DAMN", "Respawned"))]

    results = both(drive)
    assert results["uwsgi"] == results["gateway"] == [
        "*** EVIL RELOAD ON WORKER N RSS: N (pid: N) ***",
        "DAMN ! worker N (pid: N) died, killed by signal N :( trying respawn ...",
        "Respawned uWSGI worker N (new pid: N)"]


# -- --max-worker-lifetime -----------------------------------------------------------------------


lifetime_pair = _setup("lifetime", ["--processes", "2", "--max-worker-lifetime", "1",
                                   "--max-worker-lifetime-delta", "1", "--min-worker-lifetime", "0"], 2)


def test_max_worker_lifetime_recycles_worker_k_after_its_delta(lifetime_pair):
    """Worker K goes once it has run more than ``1 + (K - 1) * 1`` whole seconds."""
    pair = lifetime_pair
    found = {}
    for server in SERVERS:
        found[server] = wait_until(
            lambda s=server: re.search(r"worker 1 lifetime reached, it was running for (\d+) second\(s\)(.|\n)*"
                                       r"worker 2 lifetime reached, it was running for (\d+) second\(s\)", pair.text(s)),
            timeout=15, what="%s's two lifetimes" % server)
        wait_until(lambda s=server: pair.text(s).count("Respawned uWSGI worker") >= 2, what="%s's respawns" % server)
    for server in SERVERS:
        one, two = int(found[server].group(1)), int(found[server].group(3))
        assert 2 <= one <= 3 and 3 <= two <= 4 and two > one, (server, one, two)
        # the master's line is all: no goodbye from the worker, no "killed successfully"
        text = pair.text(server)
        assert "Seeya" not in text and "killed successfully" not in text, text


# -- --cheaper -----------------------------------------------------------------------------------


#: the master's lines about --cheaper's spawns and stops
_CHEAPER_LINES = re.compile(r"^(spawned uWSGI worker \d .*|Respawned uWSGI worker .*|worker \d killed successfully .*"
                            r"|uWSGI worker \d cheaped\.)$", re.M)

cheaper_pair = _setup("cheaper", ["--processes", "3", "--cheaper", "1", "--cheaper-initial", "2",
                                 "--cheaper-step", "1", "--cheaper-overload", "2"], 2)


def test_cheaper_spare_spawns_under_load_and_cheaps_the_oldest_idle_ones(cheaper_pair):
    pair = cheaper_pair

    def drive(server: str) -> Any:
        boot = [w["status"] == "cheap" for w in _get(pair, server, "/workers")["workers"]]
        parked = [threading.Thread(target=request, args=(pair.ports[server], "/sleep?s=4"), kwargs={"timeout": 20})
                  for _ in range(2)]
        for n, t in enumerate(parked, 1):  # one at a time: each worker takes one
            t.start()
            wait_until(lambda n=n: pair.text(server).count("sleeping in worker") >= n, what="request %d" % n)
        wait_until(lambda: "spawned uWSGI worker 3 " in pair.text(server), timeout=15, what="%s's worker 3" % server)
        for t in parked:
            t.join(20)
        wait_until(lambda: pair.text(server).count(" cheaped.") >= 2, timeout=30, what="%s's cheaping" % server)
        lines = [m.group(0) for m in _CHEAPER_LINES.finditer(pair.text(server))]
        statuses = [w["status"] for w in _get(pair, server, "/workers")["workers"]]
        return boot, lines, statuses

    results = both(drive)
    assert results["uwsgi"][0] == results["gateway"][0] == [False, False, True]
    lines = {s: [re.sub(r"\(pid: \d+.*", "", ln) for ln in results[s][1]] for s in SERVERS}
    assert lines["uwsgi"] == lines["gateway"] == [
        "spawned uWSGI worker 1 ", "spawned uWSGI worker 2 ", "spawned uWSGI worker 3 ",
        "worker 1 killed successfully ", "uWSGI worker 1 cheaped.",
        "worker 2 killed successfully ", "uWSGI worker 2 cheaped."]
    for server in SERVERS:
        assert results[server][2][:2] == ["cheap", "cheap"], results[server]


@pytest.fixture(params=[("2", "1", 2), ("1", "5", 3)], ids=["below-cheaper", "above-processes"])
def initial_pair(request, tmp_path_factory):
    cheaper, initial, workers = request.param
    yield from _pair(tmp_path_factory, "initial", ["--processes", "3", "--cheaper", cheaper,
                                                   "--cheaper-initial", initial], workers)


def test_cheaper_initial_out_of_range_is_clamped_with_uwsgis_warning(initial_pair):
    """The workers started, and uWSGI's warning saying so."""
    pair = initial_pair
    found = {s: ([ln for ln in pair.lines(s) if "cheaper-initial" in ln],
                 [w["status"] == "cheap" for w in _get(pair, s, "/workers")["workers"]]) for s in SERVERS}
    assert found["gateway"] == found["uwsgi"]
    assert len(found["uwsgi"][0]) == 1 and found["uwsgi"][0][0].startswith("warning: invalid cheaper-initial value")


spare_pair = _setup("spare", ["--processes", "3", "--cheaper", "1", "--cheaper-overload", "2"], 1)


def test_cheaper_spare_spawns_after_more_than_overload_busy_cycles(spare_pair):
    """uWSGI 2.0 spawns once *more than* ``--cheaper-overload`` cycles (1 s each) saw every
    worker busy: the 3rd with 2.  Measured from a spawn (a cycle) to the next one, with both
    workers kept busy in between: 3 s."""
    pair = spare_pair

    def park(server: str, seconds: int, worker: int) -> None:
        threading.Thread(target=_quiet, args=(request, pair.ports[server], "/sleep?s=%d" % seconds),
                         kwargs={"timeout": 20}, daemon=True).start()
        wait_until(lambda: "sleeping in worker %d" % worker in pair.text(server), what="%s's worker %d busy"
                   % (server, worker))

    def drive(server: str) -> Any:
        park(server, 8, 1)
        wait_until(lambda: "spawned uWSGI worker 2 " in pair.text(server), timeout=10, interval=0.01,
                   what="%s's worker 2" % server)
        start = time.monotonic()
        park(server, 5, 2)  # worker 1 still sleeps: worker 2 takes it
        wait_until(lambda: "spawned uWSGI worker 3 " in pair.text(server), timeout=10, interval=0.01,
                   what="%s's worker 3" % server)
        return time.monotonic() - start

    took = both(drive)
    # (uWSGI's cycles follow its whole-second clock: they may come a little early or late)
    assert 1.5 < took["uwsgi"] < 4.5 and 2.5 < took["gateway"] < 3.5, took


backlog_pair = _setup("backlog", ["--processes", "3", "--cheaper", "1", "--cheaper-algo", "backlog",
                                 "--cheaper-overload", "2"], 1)


def test_cheaper_backlog_spawns_for_the_listen_queue_and_cheaps_once_it_empties(backlog_pair):
    """The only worker sleeps in a request: the next ones wait in the listen queue; more than
    ``--cheaper-overload`` of them spawn worker 2, which serves them; the queue empty, the idle
    worker 2 goes (worker 1 still sleeps)."""
    pair = backlog_pair

    def drive(server: str) -> Any:
        clients = [threading.Thread(target=_quiet, args=(request, pair.ports[server], path), kwargs={"timeout": 20})
                   for path in ["/sleep?s=4"] + ["/"] * 4]
        clients[0].start()
        wait_until(lambda: "sleeping in worker 1" in pair.text(server), what="%s's busy worker" % server)
        for t in clients[1:]:
            t.start()
        for t in clients[1:]:
            t.join(20)
        wait_until(lambda: " cheaped." in pair.text(server), timeout=10, what="%s's cheaping" % server)
        lines = [re.sub(r"\(.*", "", m.group(0)) for m in _CHEAPER_LINES.finditer(pair.text(server))]
        clients[0].join(20)
        return lines

    lines = both(drive)
    assert lines["gateway"] == lines["uwsgi"] == [
        "spawned uWSGI worker 1 ", "spawned uWSGI worker 2 ", "worker 2 killed successfully ",
        "uWSGI worker 2 cheaped."], lines


busyness_pair = _setup("busyness", ["--processes", "3", "--cheaper", "1", "--cheaper-algo", "busyness",
                                   "--cheaper-overload", "1", "--cheaper-busyness-multiplier", "2"], 1)


def test_cheaper_busyness_spawns_and_cheaps_with_uwsgis_lines(busyness_pair):
    """One long request: a 100% window spawns worker 2; idle again, the cheaper timer runs
    out and the oldest idle worker goes."""
    pair = busyness_pair
    wanted = re.compile(r"^\[busyness\] .*$|" + _CHEAPER_LINES.pattern, re.M)

    def drive(server: str) -> Any:
        parked = threading.Thread(target=_quiet, args=(request, pair.ports[server], "/sleep?s=3"),
                                  kwargs={"timeout": 20})
        parked.start()
        wait_until(lambda: "spawned uWSGI worker 2 " in pair.text(server), timeout=10, what="%s's worker 2" % server)
        parked.join(20)
        wait_until(lambda: " cheaped." in pair.text(server), timeout=20, what="%s's cheaping" % server)
        return [comparable(m.group(0)) for m in wanted.finditer(pair.text(server))]

    lines = both(drive)
    assert lines["gateway"] == lines["uwsgi"] == [
        "[busyness] settings: min=N%, max=N%, overload=N, multiplier=N, respawn penalty=N",
        "[busyness] backlog alert is set to N request(s), step is N",
        "[busyness] backlog non-zero alert is set to N second(s)",
        "spawned uWSGI worker N (pid: N, cores: N)",
        "[busyness] Ns average busyness is at N%, will spawn N new worker(s)",
        "spawned uWSGI worker N (pid: N, cores: N)",
        "[busyness] Ns average busyness is at N%, cheap one of N running workers",
        "worker N killed successfully (pid: N)", "uWSGI worker N cheaped."], lines
    for server in SERVERS:  # the oldest idle one
        assert "uWSGI worker 1 cheaped." in pair.text(server), server


manual_pair = _setup("manual", ["--processes", "3", "--cheaper", "1", "--cheaper-algo", "manual",
                               "--master-fifo", "{server}.fifo"], 1)


def test_cheaper_manual_follows_the_fifo_with_uwsgis_lines(manual_pair):
    """``+`` spawns (a cheaped id: ``Respawned``), ``-`` stops the oldest idle worker; at
    ``--cheaper`` uWSGI's ``-`` still stops one, gateway's does nothing (README: deliberate)."""
    pair = manual_pair

    def drive(server: str) -> Any:
        fifo = os.path.join(os.path.dirname(pair.logs[server]), server + ".fifo")
        wait_until(lambda: os.path.exists(fifo), what="%s's FIFO" % server)
        for command, line in [("+", "spawned uWSGI worker 2 "), ("-", "uWSGI worker 1 cheaped."),
                              ("+", "Respawned uWSGI worker 1 "), ("-", "uWSGI worker 2 cheaped.")]:
            say(fifo, command)
            wait_until(lambda line=line: line in pair.text(server), what="%s's %r" % (server, line))
        say(fifo, "-")  # at --cheaper 1
        try:
            wait_until(lambda: pair.text(server).count(" cheaped.") > 2, timeout=2.5)
        except AssertionError:
            pass
        return [re.sub(r"\(.*", "", m.group(0)) for m in _CHEAPER_LINES.finditer(pair.text(server))]

    lines = both(drive)
    common = ["spawned uWSGI worker 1 ", "spawned uWSGI worker 2 ", "worker 1 killed successfully ",
              "uWSGI worker 1 cheaped.", "Respawned uWSGI worker 1 ", "worker 2 killed successfully ",
              "uWSGI worker 2 cheaped."]
    assert lines["gateway"] == common, lines
    assert lines["uwsgi"] == common + ["worker 1 killed successfully ", "uWSGI worker 1 cheaped."], lines


# -- --idle, --die-on-idle -----------------------------------------------------------------------


idle_pair = _setup("idle", ["--processes", "2", "--idle", "2"], 2)


def test_idle_goes_cheap_quietly_and_a_connection_respawns_the_workers(idle_pair):
    pair = idle_pair

    def drive(server: str) -> Any:
        wait_until(lambda: "cheap mode enabled" in pair.text(server), timeout=15, what="%s's cheap mode" % server)
        wait_until(lambda: not pair.worker_pids(server), what="%s's workers gone" % server)
        answer = _get(pair, server, "/")
        wait_until(lambda: pair.text(server).count("Respawned uWSGI worker") >= 2, what="%s's workers" % server)
        lines = pair.lines(server)
        first = next(i for i, ln in enumerate(lines) if ln.startswith("workers have been inactive"))
        return answer["pid"] in pair.worker_pids(server), [comparable(ln) for ln in lines[first:]
                                                           if not ln.startswith("SIG")]

    results = both(drive)
    assert results["uwsgi"][0] and results["gateway"][0]
    assert results["uwsgi"][1][:4] == results["gateway"][1][:4] == [
        "workers have been inactive for more than N seconds (N-N)",
        "cheap mode enabled: waiting for socket connection...",
        "Respawned uWSGI worker N (new pid: N)", "Respawned uWSGI worker N (new pid: N)"]


def test_die_on_idle_ends_the_instance_with_status_0(tmp_path):
    def run(server: str) -> Any:
        port, log = free_port(), str(tmp_path / (server + ".log"))
        proc = start_server(server, ["--http-socket", "127.0.0.1:%d" % port, "--wsgi-file", APP, "--master",
                                     "--processes", "2", "--idle", "1", "--die-on-idle", "--logto", log])
        try:
            status = proc.wait(20)
        finally:
            stop_server(server, proc)
        return status, [comparable(ln) for ln in read_log(log).splitlines() if "inactive" in ln or "goodbye" in ln]

    results = both(run)
    assert results["uwsgi"] == results["gateway"] == (
        0, ["workers have been inactive for more than N seconds (N-N)", "goodbye to uWSGI."])


# -- --touch-workers-reload, --touch-chain-reload ------------------------------------------------


@pytest.fixture(scope="module")
def touch_pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("touch")
    files = {what: str(tmp / what) for what in ("workers", "chain")}
    for path in files.values():
        open(path, "w").close()
    pair = LoggedPair(str(tmp), ["--wsgi-file", APP, "--master", "--processes", "2",
                                 "--touch-workers-reload", files["workers"], "--touch-chain-reload", files["chain"]], 2)
    pair.files = files  # type: ignore[attr-defined]
    try:
        yield pair
    finally:
        pair.stop()


@pytest.mark.parametrize("what, line", [("workers", "workers reload !!!"), ("chain", "chain reload !!!")])
def test_a_touch_replaces_every_worker_with_uwsgis_line(touch_pair, what, line):
    pair = touch_pair
    before = {s: pair.worker_pids(s) for s in SERVERS}
    marks = {s: len(pair.lines(s)) for s in SERVERS}
    later = time.time() + 10 + len(pair.lines("uwsgi"))  # a new mtime each time
    os.utime(pair.files[what], (later, later))  # type: ignore[attr-defined]
    for server in SERVERS:
        wait_until(lambda s=server: (lambda now: len(now) == 2 and not now & before[s])(pair.worker_pids(s)),
                   timeout=20, what="%s's new workers" % server)
        if what == "chain":
            wait_until(lambda s=server: "chain reloading complete" in pair.text(s), what="%s's chain" % server)
    for server in SERVERS:
        lines = [comparable(ln) for ln in pair.lines(server)[marks[server]:]]
        touched = next(i for i, ln in enumerate(lines) if "has been touched" in ln)
        assert lines[touched] == "*** %s has been touched... %s ***" % (comparable(pair.files[what]), line), lines
        first_kill = next(i for i, ln in enumerate(lines) if ln.startswith(("Gracefully killing", "chain next")))
        assert touched < first_kill, (server, lines)  # the line first, then the reload
        if what == "chain":  # uWSGI replaces one worker at a time; gateway too (the new one first)
            victims = [ln for ln in lines if ln.startswith(("chain next", "chain reloading"))]
            assert victims == ["chain next victim is worker N", "chain next victim is worker N",
                               "chain reloading complete"], (server, lines)
        assert not any(ln.startswith("...gracefully killing workers") for ln in lines), (server, lines)
        assert request(pair.ports[server], "/").status == 200


# -- --listen ------------------------------------------------------------------------------------


listen_pair = _setup("listen", ["--processes", "1", "--listen", "5"], 1)


def test_a_full_listen_queue_is_logged_once_a_second(listen_pair):
    """uWSGI's master warns about every TCP socket whose accept queue is full, alarm or not."""
    pair = listen_pair

    def fill(server: str) -> Any:
        waiting = [threading.Thread(target=lambda p=path: _quiet(request, pair.ports[server], p, timeout=30))
                   for path in ["/sleep?s=3"] + ["/"] * 9]
        waiting[0].start()  # the only worker sleeps: the others wait in the queue
        wait_until(lambda: "sleeping in worker" in pair.text(server), what="%s's sleeping worker" % server)
        for t in waiting[1:]:
            t.start()
        line = wait_until(lambda: re.search(r"^.*listen queue of socket.*$", pair.text(server), re.M), timeout=10,
                          what="%s's warning" % server).group(0)
        for t in waiting:
            t.join(60)
        return comparable(line), int(re.search(r"fd: (\d+)", line).group(1))

    results = both(fill)
    assert results["uwsgi"][0] == results["gateway"][0] == \
        '*** uWSGI listen queue of socket "N.N.N.N:N" (fd: N) full !!! (N/N) ***'


def _quiet(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """``call(...)``, whatever it raises (a client the test only needs to be waiting)."""
    try:
        call(*args, **kwargs)
    except Exception:
        pass
