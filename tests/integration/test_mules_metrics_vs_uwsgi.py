"""Mules, sharedareas, metrics and locks, differentially: ``tests/apps/mulemetric_probe.py`` runs
unchanged under a real uWSGI 2.0.31 and under gateway, with the same options (a master, two
workers, three plain mules and a ``--mule=`` script, a farm of mules 1 and 2, one sharedarea of
two pages, four user locks, three ``--metric``, a ``--metrics-dir``), and their answers are
compared: return values, exception types and messages, where the mules' messages went, the
master's log lines about mules and metrics, the ``--metrics-dir`` files.

One pair of servers for the module, driven at once by the same sequence: mule 3's ``@mule``
steps first (it runs them at its start), then each group of steps in one request, then the
script mule is told to end (it is respawned), then two workers contend for a lock.  The
machinery (servers, step outcomes, how answers are diffed) is ``test_api_differential``'s.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import stat
import threading
import time
from contextlib import ExitStack

import pytest

from support.stats import fetch_stats
from support.waits import wait_until
from tests.integration.test_api_differential import differences_of, get_json
from tests.integration.test_signals_caches_vs_uwsgi import read_lines
from tests.peers import RealUWSGI
from tests.server import run_server
from tests.support.peer_pair import at_once
from tests.support.router import free_port

pytestmark = pytest.mark.timeout(90)

COMMON = ["--master", "--processes", "2", "--mules", "3", "--mule=tests/apps/mulemetric_mule.py", "--mule",
          "--farm", "fast:1,2", "--farm", "solo:5", "--mule-harakiri", "1", "--sharedarea", "2", "--locks", "4",
          "--metric", "name=cnt,type=counter", "--metric", "name=gau,type=gauge,initial_value=5",
          "--metric", "name=abso,type=absolute", "--metric", "name=low,type=gauge,initial_value=5",
          "--die-on-term", "--disable-logging",
          "--wsgi-file", "tests/apps/mulemetric_probe.py"]
#: --metric collectors and an alias (FILE: a file holding FIELDS)
COLLECTED = ["name=total,collector=sum,children=cnt;gau", "name=average,collector=avg,children=cnt;gau",
             "name=adder,collector=adder,children=cnt,arg1n=10",
             "name=multiplier,collector=multiplier,children=gau,arg1n=3,initial_value=1",
             "name=from_file,collector=file,arg1=FILE,arg1n=1", "name=field_0,collector=file,arg1=FILE",
             "name=field_past,collector=file,arg1=FILE,arg1n=5", "name=no_file,collector=file,arg1=/nonexistent/mm",
             "name=slow,collector=sum,children=gau,freq=3600", "name=alias,type=alias,alias=gau"]
FIELDS = "7 42\t-9\n"
USER_METRICS = ["cnt", "gau", "abso", "low"] + [metric.split(",")[0][5:] for metric in COLLECTED]
GROUPS = ("mules", "sharedarea", "metrics", "locks")

#: the same exception type, gateway's message says more (or Python's own for a missing argument)
MESSAGES = {
    "mules": {"msg_int_message"},
    "mule3": {"get_msg_bad_kw", "get_msg_str_timeout"},
    "sharedarea": {"write_int", "read_id_str", "no_args"},
    "metrics": {"set_float", "set_str", "get_bytes_name", "get_int_name", "get_no_args"},
    "locks": {"lock_str", "lock_float"},
    "collected": set(),
}
# Not run at all (README says how gateway differs; unit tests check gateway's side), for uWSGI's
# undefined behaviour: a mule number beyond the mules (its range check is a no-op: it writes to
# whatever descriptor lies beyond its table), a negative sharedarea id or length (it segfaults),
# inc64 with less than 8 bytes of room (it writes past the area: a segfault at times), unlock of a
# sharedarea nobody locked (a free pthread rwlock unlocked: later reads hung).

#: steps where gateway differs on purpose, with the README section that says so
DELIBERATE = {
    "mules": {
        # "Mules and farms": None is the shared queue (uWSGI: ValueError "invalid mule")
        "msg_none": "None target",
        # "Mules and farms": a farm is named by a str (or bytes); uWSGI 2.0.31 on Python 3 takes
        # bytes only (ValueError "invalid mule" for a str), so its own @mulefunc("farm") fails
        "msg_farm": "str farm", "msg_farm_missing": "str farm", "mulefunc_fast": "str farm",
        "msg_empty_farm": "str farm",
        # "Mules and farms": bigger than --mule-msg-size raises (uWSGI sends it, its mule reads
        # 65536 bytes of it)
        "msg_big": "mule-msg-size",
        # "Mules and farms": a @mulefunc call returns what mule_msg did (uWSGI: None)
        "mulefunc_one": "mulefunc result", "mulefunc_any": "mulefunc result",
        # beyond 2.0.31 (uWSGI's master branch has them)
        "mule_file": "newer uWSGI", "mule_msg_recv_size": "newer uWSGI",
    },
    "mule3": {},
    "sharedarea": {
        # "Shared areas": bytes-like values are taken (uWSGI's "s#" wants read-only bytes)
        "write_bytearray": "bytes-like",
        # "Shared areas": uWSGI's write16 parses an unsigned int into a 2-byte variable (stack
        # overrun; here it made the call fail and wrote nothing); gateway keeps the low 16 bits
        "write16_big": "write16", "read16_big": "write16", "write16_negative": "write16",
        "read16_negative": "write16",
        # "Shared areas": sharedarea_update is an extra (uWSGI 2.0.31's module lacks it), and
        # sharedarea_object is absent
        "update": "extra", "update_missing": "extra", "object": "absent",
    },
    "metrics": {
        # "Caches, locks, metrics...": set_min keeps the smaller value; uWSGI's also ignores any
        # value not above the metric's initial_value (a minimum started at a high sentinel never
        # moves there)
        "set_min_not_above_initial": "set_min",
    },
    "locks": {},
    "collected": {},
}


def drive(port: int, log, prefix: str, stats: int, server_log) -> dict:
    """One server through the sequence; its answers."""
    deadline = time.monotonic() + 30
    while True:  # mule 3 runs its steps at its start (three waits of 1 s)
        mule3 = get_json(port, "/mule3", deadline)
        if mule3 is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    got = {"mule3": mule3}
    for group in GROUPS:
        got[group] = get_json(port, "/steps?group=" + group, deadline)

    def collected_after_the_steps():  # (the master collects every second)
        got["collected"] = get_json(port, "/steps?group=collected", deadline)
        value = {name: int(got["collected"][name]["repr"]) for name in ("cnt", "gau", "total")}
        return value["total"] == value["cnt"] + value["gau"]
    wait_until(collected_after_the_steps, timeout=10, what="a collection after the metric steps")
    got["stats"] = {name: entry for name, entry in fetch_stats(stats)["metrics"].items() if name in USER_METRICS}
    # the script mule (mule 4) returns: the master respawns it, and it starts again
    get_json(port, "/poke?pos=4000&value=1", deadline)
    wait_until(lambda: any(line.startswith("script 4 2") for line in log()), timeout=15,
               what="the script mule's second start")
    # the messages the steps sent were all handled (the last ones to mule 1, farm solo, any mule)
    last = ("msg 1 b'after' 5", "farm 5 b'to-solo-2'", "mulefuncany")
    wait_until(lambda: all(any(line.startswith(end) for line in log()) for end in last), timeout=10,
               what="the mules' messages")
    got["log"] = sorted(log())
    got["contention"] = contend(port, prefix, log)
    # signal 30 (target mule2): its handler sleeps past --mule-harakiri 1: killed, respawned
    got["signal"] = get_json(port, "/signal?num=30", deadline)
    wait_until(lambda: len([line for line in server_log() if re.search(r"spawned uWSGI mule 2 \(pid", line)]) == 2,
               timeout=15, what="mule 2 respawned after its harakiri")
    got["handled"] = [line for line in log() if line.startswith("sig ")]
    return got


def contend(port: int, prefix: str, log) -> list:
    """Lock 2 held by mule 3 (until the file PREFIX.release exists): what a worker sees
    meanwhile (``is_locked(2)``), then how long its ``lock(2)`` waits (the test makes the file
    0.3 s after that request is about to lock), and the mule's record of it."""
    deadline = time.monotonic() + 20
    release, mark = prefix + ".release", prefix + ".mark"
    sent = get_json(port, "/hold?release=" + release, deadline)

    def locked_elsewhere():
        got = get_json(port, "/is_locked?n=2", deadline)
        return got if got[1] else None
    seen = wait_until(locked_elsewhere, timeout=10, what="lock 2 taken by mule 3")
    waiter: list = []
    wait = threading.Thread(target=lambda: waiter.append(get_json(port, "/lock_wait?n=2&mark=" + mark, deadline)))
    wait.start()
    wait_until(lambda: os.path.exists(mark), timeout=10, what="the waiter about to lock")
    time.sleep(0.3)  # (what the waiter's lock(2) must then wait, at least)
    open(release, "w").close()
    wait.join(10)
    held = wait_until(lambda: [line for line in log() if line.startswith("held ")], timeout=10, what="the mule's unlock")
    return [sent, seen, waiter[0] if waiter else None, held]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """``{"uwsgi": answers, "gateway": answers, "<who>_log": lines(), "<who>_dir": metrics dir}``."""
    tmp = tmp_path_factory.mktemp("mulemetric")
    result: dict = {}
    with ExitStack() as stack:
        servers = {}
        for who in ("uwsgi", "gateway"):
            log, metrics, fields = str(tmp / (who + ".log")), str(tmp / (who + "-metrics")), tmp / (who + ".fields")
            os.mkdir(metrics)
            fields.write_text(FIELDS)
            stats = free_port()
            args = COMMON + ["--env", "MM_LOG=" + log, "--metrics-dir", metrics, "--stats", "127.0.0.1:%d" % stats]
            for metric in COLLECTED:
                args += ["--metric", metric.replace("FILE", str(fields))]
            if who == "uwsgi":
                port, logto = free_port(), str(tmp / "uwsgi.stderr")
                stack.callback(RealUWSGI(["--http-socket", "127.0.0.1:%d" % port, "--logto", logto] + args).stop)
                result["uwsgi_log"] = lambda logto=logto: read_lines(logto)
            else:
                ours = stack.enter_context(run_server(args))
                ours.expect_traceback("RuntimeError: hook boom")
                port = ours.port
                result["gateway_log"] = lambda ours=ours: ours.output().splitlines()
            result[who + "_dir"] = metrics
            servers[who] = (port, lambda log=log: read_lines(log), str(tmp / who), stats, result[who + "_log"])
        result.update(at_once({who: functools.partial(drive, *server) for who, server in servers.items()}, 80))
        yield result


@pytest.mark.parametrize("group", ("mule3",) + GROUPS + ("collected",))
def test_steps_match_real_uwsgi(pair, group):
    theirs, ours = pair["uwsgi"][group], pair["gateway"][group]
    assert theirs and set(theirs) == set(ours)
    differences = differences_of(theirs, ours, MESSAGES[group] | set(DELIBERATE[group]))
    differences += ["%s: uWSGI %s, gateway %s" % (step, theirs[step], ours[step]) for step in MESSAGES[group]
                    if theirs[step].get("exc") is None or theirs[step].get("exc") != ours[step].get("exc")]
    assert not differences, "\n".join(differences)


@pytest.mark.parametrize("group", GROUPS)
def test_deliberate_differences_still_differ(pair, group):
    theirs, ours = pair["uwsgi"][group], pair["gateway"][group]
    assert [step for step in DELIBERATE[group] if theirs[step] == ours[step]] == []


def test_numbers_beyond_the_c_types_raise_as_in_uwsgi(pair):
    """uWSGI's ``PyArg_ParseTuple`` formats: until 2026-12-05 gateway cut these values to the
    width silently (``write8(0, 20, 256)`` wrote 0, ``metric_set("abso", 2 ** 64)`` stored 0)."""
    expected = {("sharedarea", "write8_256"): "OverflowError", ("sharedarea", "write8_negative"): "OverflowError",
                ("sharedarea", "write64_over"): "OverflowError", ("sharedarea", "read_id_str"): "TypeError",
                ("metrics", "set_too_big"): "OverflowError", ("mule3", "get_msg_str_timeout"): "TypeError"}
    for server in ("uwsgi", "gateway"):
        assert {key: pair[server][key[0]][key[1]].get("exc") for key in expected} == expected, server


#: messages whose mule is the shared queue's (or a farm's) choice: compared without it
ANY_MULE = {"b'shared'", "b'zero'", "b'x'", "b'farm_msg'", "b''"}
#: handled by one server only (DELIBERATE above): None and str farm targets, the oversized one
ONLY_GATEWAY = {("msg", "b'none'"), ("msg", "b'farmed'"), ("mulefuncfast", "b")}
ONLY_UWSGI = {("msg", "b'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'")}


def deliveries(lines: list) -> list:
    """What the mules handled: ``(tag, mule, what)``, the mule as ``*`` where it is the queue's
    choice (``mulefuncany``: the shared queue too; ``farm``-wide ones: 1 or 2)."""
    got = []
    for line in lines:
        tag, mule, what = (line.split(" ", 2) + ["", ""])[:3]
        if tag in ("mstep", "script", "held", "sig"):
            continue
        what = what.rsplit(" ", 1)[0] if tag == "msg" else what  # (drop the length: checked below)
        if (tag, what) in ONLY_GATEWAY | ONLY_UWSGI:
            continue
        got.append((tag, "*" if what in ANY_MULE or tag == "mulefuncany" else mule, what))
    return sorted(got)


def test_messages_reach_the_same_mules(pair):
    assert deliveries(pair["gateway"]["log"]) == deliveries(pair["uwsgi"]["log"])
    for server in ("uwsgi", "gateway"):  # the 64 KiB one whole, to mule 2; the farm's in mule 1 or 2
        assert "msg 2 b'%s' 65536" % ("y" * 40) in pair[server]["log"], server
        assert any(re.match(r"msg [12] b'farm_msg' 8$", line) for line in pair[server]["log"]), server
    for server in ("uwsgi", "gateway"):  # @farm("solo"): mule 5 (--farm solo:5) loops on farm_get_msg()
        assert [line for line in pair[server]["log"] if line.startswith("farm ")] == \
            ["farm 5 b'to-solo'", "farm 5 b'to-solo-2'"], server
    # the mule whose hook raised went on (b'after' came after b'raise', to mule 1)
    assert "msg 1 b'after' 5" in pair["gateway"]["log"] and "msg 1 b'after' 5" in pair["uwsgi"]["log"]
    assert ("msg", "b'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'") in {tuple(line.split(" ")[::2][:2])
                                                                    for line in pair["uwsgi"]["log"]}


def test_script_mule_starts_ends_and_is_respawned_with_uwsgis_lines(pair):
    """``--mule=SCRIPT``: the script returns, the mule ends, the master respawns it: uWSGI's
    ``OOOPS mule 4 (pid: N) crippled...trying respawn...`` then ``spawned uWSGI mule 4 (pid: M)``
    (until 2026-12-05: ``DAMN ! uWSGI mule 4 (pid: N) died, exit status 1 :( trying respawn ...``
    and ``respawned uWSGI mule 4``)."""
    for server in ("uwsgi", "gateway"):
        assert [line for line in pair[server]["log"] if line.startswith("script")] == ["script 4 1", "script 4 2"]
        lines = [line for line in pair[server + "_log"]() if "mule" in line]
        spawned = [int(m.group(1)) for m in map(re.compile(r"spawned uWSGI mule 4 \(pid: (\d+)\)$").search, lines) if m]
        crippled = [m.group(1) for m in map(re.compile(r"OOOPS mule 4 \(pid: (\d+)\) crippled\.\.\.trying respawn\.\.\.$").search,
                                            lines) if m]
        assert len(spawned) == 2 and crippled == [str(spawned[0])], (server, lines)
        for mule in (1, 2, 3, 5):
            assert any(re.search(r"spawned uWSGI mule %d \(pid: \d+\)$" % mule, line) for line in lines), (server, mule)
        assert any(line.endswith("created farm 1 name: fast mules:1,2") for line in lines), server
        assert any(line.endswith("created farm 2 name: solo mules:5") for line in lines), server


def test_metric_lines_as_uwsgis(pair):
    """``added custom metric: NAME`` for each ``--metric`` (gateway logged none until
    2026-12-05), then ``initialized N metrics``."""
    for server in ("uwsgi", "gateway"):
        lines = [re.sub(r"^.*?(added custom metric|initialized)", r"\1", line) for line in pair[server + "_log"]()
                 if "added custom metric" in line or re.search(r"initialized \d+ metrics", line)]
        assert lines == ["added custom metric: " + name for name in USER_METRICS] + ["initialized 68 metrics"], server


def test_metrics_dir_files_as_uwsgis(pair):
    """One file per metric, the same names, mode 0640 (gateway's were 0644 until 2026-12-05).
    A collector's file holds its value in both (uWSGI's: then NULs to a page). Otherwise contents
    differ on purpose (README "Caches, locks, metrics, signals and timers"): gateway keeps every
    file current; uWSGI never writes a ``--metric`` without a collector (its file stays empty)."""
    names = {server: sorted(os.listdir(pair[server + "_dir"])) for server in ("uwsgi", "gateway")}
    assert names["uwsgi"] == names["gateway"] and "worker.2.core.0.requests" in names["gateway"]
    modes = {server: {stat.S_IMODE(os.stat(os.path.join(pair[server + "_dir"], name)).st_mode) for name in names[server]}
             for server in ("uwsgi", "gateway")}
    assert modes["gateway"] == modes["uwsgi"] and len(modes["uwsgi"]) == 1 and not modes["uwsgi"].pop() & 0o137
    with open(os.path.join(pair["uwsgi_dir"], "gau"), "rb") as f:
        assert f.read().strip(b"\0") == b""
    for name in ("total", "from_file", "multiplier"):  # (collected: uWSGI writes them too)
        with open(os.path.join(pair["uwsgi_dir"], name), "rb") as theirs, \
                open(os.path.join(pair["gateway_dir"], name), "rb") as ours:
            assert theirs.read().rstrip(b"\0") == ours.read() == b"%d\n" % int(pair["gateway"]["stats"][name]["value"])
    gauge = ast.literal_eval(pair["gateway"]["metrics"]["div_default"]["repr"])[1]  # (its last step)
    with open(os.path.join(pair["gateway_dir"], "gau")) as f:
        assert f.read() == "%d\n" % gauge


def test_a_lock_held_by_a_mule_is_seen_and_waited_for_by_a_worker(pair):
    """``lock(2)`` in mule 3 (its message hook): a worker's ``is_locked(2)`` is True meanwhile and
    its ``lock(2)`` waits for the mule's ``unlock(2)``, as in uWSGI.  (A mule holds it, not a
    request of the other worker: gateway's worker may have accepted the next connection before
    its one core blocked in the app, and that request would wait behind the holder.)"""
    for server in ("uwsgi", "gateway"):
        sent, seen, waited, held = pair[server]["contention"]
        assert sent is True and held == ["held 3 2"], (server, sent, held)
        assert seen[1] is True, (server, seen)
        assert waited is not None and waited[1] is True and waited[2] > 0.25, (server, waited)


def test_the_stats_metrics_of_the_user_metrics_as_uwsgis(pair):
    """The stats document's ``metrics`` entries of the ``--metric`` ones, read once the master
    collected after the steps: type (an alias is 3), OID (an alias shows its target's) and value,
    in uWSGI's order (after the built-in ones)."""
    theirs, ours = pair["uwsgi"]["stats"], pair["gateway"]["stats"]
    assert list(ours) == list(theirs) == USER_METRICS
    assert ours == theirs
    assert ours["alias"]["type"] == 3 and ours["alias"]["value"] == ours["gau"]["value"]


def test_mule_harakiri_as_uwsgis(pair):
    """``--mule-harakiri 1``: mule 2's handler of signal 30 sleeps 10 s; the master kills it and
    respawns it, with uWSGI's lines."""
    for server in ("uwsgi", "gateway"):
        assert pair[server]["signal"] is None and pair[server]["handled"] == ["sig 2 30"], server
        lines = [line for line in pair[server + "_log"]() if "mule 2" in line.lower()]
        pids = [m.group(1) for m in map(re.compile(r"spawned uWSGI mule 2 \(pid: (\d+)\)$").search, lines) if m]
        assert len(pids) == 2, (server, lines)
        assert any(line.endswith("*** HARAKIRI ON MULE 2 HANDLING SIGNAL 30 (pid: %s) ***" % pids[0]) for line in lines), \
            (server, lines)
        assert any(line.endswith("OOOPS mule 2 (pid: %s) crippled...trying respawn..." % pids[0]) for line in lines), \
            (server, lines)
