"""``uwsgidecorators``, the spooler's options and the crons, against real uWSGI 2.0.31.

Three configurations, one real uWSGI and one gateway each (:class:`~support.peer_pair.LoggedPair`:
the same options, each its own port, log and files), shared by the module:

* ``decorated``: ``tests/apps/decorators_probe.py`` with two ``--spooler`` directories (two
  ``--spooler-processes`` each, ``--spooler-chdir``, ``--spooler-import``): every
  call form of ``@spool``/``@spoolraw``/``@spoolforever`` (with and without
  ``pass_arguments``, the ``spooler``/``priority``/``at``/``body`` keywords, every return
  code, an exception), ``@postfork``, ``@lock``, ``@thread``, ``@harakiri``, ``@cron`` and
  ``@timer`` with ``target=``: what each call returns, what the functions receive, which
  task files are left (names, modes, sizes, mtimes) and the ``written N bytes`` lines;
* ``recycled``: 14 tasks written before the start (three in priority subdirectories, eleven
  whose counters cross from 9 to 10), ``--spooler-ordered --spooler-max-tasks 5``: the order
  they run in and the recycling lines;
* ``timed``: ``--spooler-harakiri 2 --spooler-quiet`` with tasks that sleep (one under its own
  ``uwsgi.set_user_harakiri(1)``) and a truncated task file, and command
  crons (``--cron``, ``--unique-cron``, ``--cron2`` with ``harakiri=``, ``--cron-harakiri``)
  plus two signal crons (``@cron``, ``uwsgi.add_cron`` with -1 fields): every field -1, so
  they fire at the first check, without waiting for a minute.

Log lines are compared through :func:`~support.peer_pair.comparable` (no date, numbers as N)
with the server's name masked.  The deliberate differences (README "The spooler", "The uwsgi
module") are asserted as such.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections import Counter
from typing import Dict, Iterator, List

import pytest

from gateway.protocol.spool_file import encode_task, task_file_name
from support.peer_pair import SERVERS, LoggedPair, comparable, read_log
from support.waits import wait_until
from tests.integration.test_api_differential import get_json
from tests.server import ROOT

pytestmark = pytest.mark.timeout(120)

APPS = os.path.join(ROOT, "tests", "apps")

#: the decorators probe's request paths (each calls one decorated function)
CALLS = ["/spool", "/spool_dict", "/spool_dot", "/spool_old_spelling", "/spool_positional", "/spool_args",
         "/spool_args_special", "/spool_args_spooler", "/spool_unknown", "/spool_huge", "/spool_big_total",
         "/raw_ok", "/raw_ignore", "/raw_none", "/raw_str", "/raw_args", "/forever", "/raises", "/lock", "/thread",
         "/harakiri", "/spooler_pids"]
#: calls refused by both with a ValueError, gateway's message saying more (uWSGI: "unable to spool job")
MESSAGES = {"/spool_unknown", "/spool_big_total"}
#: a value over the 65535 bytes a var may hold: uWSGI cuts it to its length modulo 65536 and
#: spools that, gateway refuses it (a ValueError; README "The spooler")
CUT = "/spool_huge"
#: the records of tasks that are never done: each runs again at every scan
RETRIED = ["spoolraw ignore", "spoolraw none", "spoolraw str", "spoolforever", "raises"]


def mask(text: str) -> str:
    """``text`` the same for both servers: their names and every number gone."""
    return re.sub(r"\d+", "N", text.replace("gateway", "SERVER").replace("uwsgi.", "SERVER."))


def records(path: str) -> List[list]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def tag(record: list) -> str:
    """A record's kind, for counting: its name, and for ``@spoolraw`` its return key."""
    return "%s %s" % (record[0], record[1]) if record[0] == "spoolraw" else record[0]


def files(top: str) -> List[tuple]:
    """Every file and directory under ``top``: (masked relative path, mode, size, mtime if
    in the future: a task's ``at``)."""
    found = []
    for directory, dirs, names in os.walk(top):
        for name in dirs + names:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            future = int(st.st_mtime) if st.st_mtime > time.time() + 3600 else None
            found.append((mask(os.path.relpath(path, top)), stat.filemode(st.st_mode),
                          None if stat.S_ISDIR(st.st_mode) else st.st_size, future))
    return sorted(found)


@pytest.fixture(scope="module")
def decorated(tmp_path_factory) -> Iterator[dict]:
    """The decorators probe under both servers, driven by the same requests; the answers,
    once every task that can be done is done and the retried ones ran twice."""
    tmp = str(tmp_path_factory.mktemp("decorated"))
    out, other = os.path.join(tmp, "{server}.out"), os.path.join(tmp, "{server}.other")
    pair = LoggedPair(tmp, ["--master", "--spooler", os.path.join(tmp, "{server}.spool"), "--spooler", other,
                            "--spooler-processes", "2", "--spooler-frequency", "1", "--spooler-chdir", tmp,
                            "--spooler-import", os.path.join(APPS, "spooler_import_probe.py"),
                            "--wsgi-file", os.path.join(APPS, "decorators_probe.py"),
                            "--env", "DECOR_OUT=" + out, "--env", "DECOR_OTHER=" + other])
    try:
        deadline = time.monotonic() + 20
        got: Dict[str, dict] = {s: {"import": get_json(pair.ports[s], "/import", deadline)} for s in SERVERS}
        for path in CALLS:
            for server in SERVERS:
                got[server][path] = get_json(pair.ports[server], path, deadline)

        def settled(server: str) -> bool:
            counts = Counter(tag(r) for r in records(out.format(server=server)))
            return counts["spool"] >= 4 and counts["spool_pass_arguments"] >= 2 and counts["spoolraw ok"] \
                and counts["spoolraw_pass_arguments"] and counts["postfork1"] and counts["cron"] and counts["timer"] \
                and all(counts[kind] >= 2 for kind in RETRIED)
        for server in SERVERS:
            wait_until(lambda s=server: settled(s), timeout=20, what="%s's spooler to run the tasks" % server)
        for server in SERVERS:
            got[server]["records"] = records(out.format(server=server))
            got[server]["files"] = files(os.path.join(tmp, server + ".spool"))
            got[server]["other"] = files(other.format(server=server))
            got[server]["log"] = pair.lines(server)
            got[server]["out"] = out.format(server=server)
            got[server]["modes"] = [stat.filemode(os.stat(d).st_mode)  # (each server created its directories)
                                    for d in (os.path.join(tmp, server + ".spool"), other.format(server=server))]
        yield got
    finally:
        pair.stop()


def test_what_each_decorated_call_returns_as_uwsgis(decorated):
    """The spool decorators return the task file's path, ``f(1, 2)`` without
    ``pass_arguments`` fails in ``dict.update``, ``@lock``/``@harakiri`` return the function's
    value, ``@thread`` the function itself."""
    for path in CALLS:
        theirs, ours = decorated["uwsgi"][path], decorated["gateway"][path]
        if path in MESSAGES:
            assert theirs == {"exc": "ValueError", "msg": "unable to spool job", "ValueError": True}, path
            assert ours["ValueError"] and ours["exc"] == "SpoolError", path
        elif path != CUT:
            assert {k: mask(str(v)) for k, v in ours.items()} == {k: mask(str(v)) for k, v in theirs.items()}, path
    assert decorated["uwsgi"]["/spool"]["repr"].startswith("b'/")
    assert decorated["uwsgi"]["/spool_positional"]["exc"] == "TypeError"


def test_a_value_over_64k_is_refused(decorated):
    """Deliberate: uWSGI spools ``a`` cut to 70000 - 65536 bytes (the function gets that);
    gateway raises a ValueError saying to use the body (it raised an exception that was no
    ValueError until 2026-12-05)."""
    assert decorated["uwsgi"][CUT]["repr"].startswith("b'/")
    assert [len(dict(r[1])["a"]) for r in decorated["uwsgi"]["records"] if r[0] == "spool" and
            len(dict(r[1]).get("a", "")) > 100] == [70000 - 65536]
    ours = decorated["gateway"][CUT]
    assert ours["ValueError"] and "use the 'body' for bigger values" in ours["msg"]


def test_import_time_answers_as_uwsgis(decorated):
    """What the decorators return at import, the signal numbers ``@cron``/``@timer`` took.
    Deliberate: ``@postfork(N)`` returns the function (uWSGI's returns None, so the decorated
    name is None there: README "The uwsgi module")."""
    theirs, ours = dict(decorated["uwsgi"]["import"]), dict(decorated["gateway"]["import"])
    assert theirs.pop("postfork1_returns") == "None"
    assert ours.pop("postfork1_returns").startswith("<function <lambda>")
    # uwsgi.spoolers: each directory once (uWSGI: once per --spooler-processes; README "The spooler")
    assert theirs.pop("spoolers") == ["uwsgi.spool", "uwsgi.spool", "uwsgi.other", "uwsgi.other"]
    assert ours.pop("spoolers") == ["gateway.spool", "gateway.other"]
    assert ours == theirs


def test_spooled_functions_get_what_uwsgis_get(decorated):
    """The same records, task names masked: the task dict (str keys and values, the
    ``ud_spool_*`` keys), the pickled arguments with ``pass_arguments``; ``@postfork`` ran in
    the worker and in each spooler (worker id 0), ``@postfork(1)`` in worker 1 only."""
    def distinct(server):
        return sorted({mask(json.dumps(r)) for r in decorated[server]["records"]
                       if r[0] not in ("timer", "cron", "thread", "after_raise") and len(json.dumps(r)) < 1000})
    assert distinct("gateway") == distinct("uwsgi")
    for server in SERVERS:
        kinds = Counter(tag(r) for r in decorated[server]["records"])
        assert kinds["postfork"] == 5 and kinds["postfork1"] == 1, server  # the worker and the four spoolers
        assert kinds["spoolraw ok"] == 1 and kinds["spool_pass_arguments"] == 2, server
        assert [r for r in decorated[server]["records"] if r[0] == "spooler_import"] == [
            ["spooler_import", True, 0]] * 4, server  # --spooler-import: in each spooler
        assert {"timer", "cron", "thread"} <= set(kinds), server
    spooled = [r for r in decorated["uwsgi"]["records"] if r[0] == "spool"]
    assert {r[2] for r in spooled} == {os.path.dirname(decorated["uwsgi"]["out"])}  # --spooler-chdir


def test_a_postfork_hook_that_raises_stops_only_itself(decorated):
    """Deliberate (README "The uwsgi module"): the hooks after one that raised still run
    here; uWSGI's chain stops at the exception, in the worker and in each spooler."""
    for server, runs in (("uwsgi", 0), ("gateway", 5)):
        assert sum(1 for r in decorated[server]["records"] if r[0] == "after_raise") == runs, server
        assert "RuntimeError: postfork boom" in "\n".join(decorated[server]["log"]), server


def test_the_task_files_left_as_uwsgis(decorated):
    """After the scans: the retried tasks (``SPOOL_IGNORE``, None, a str, ``@spoolforever``, an
    exception) are still there, the ``at`` one (in its ``priority`` subdirectory, the mtime its
    ``at``) waits, the others are gone; the same names, modes and sizes."""
    for part in ("files", "other", "modes"):
        assert decorated["gateway"][part] == decorated["uwsgi"][part], part
    assert len([f for f in decorated["uwsgi"]["files"] if f[2] is not None]) == len(RETRIED) + 1
    assert ("N", "drwxr-xr-x", None, None) in decorated["uwsgi"]["files"]
    assert [f[:2] for f in decorated["uwsgi"]["files"] if f[3] == 4000000000] == [
        ("N/uwsgi_spoolfile_on_%s_N_N_N_N_N" % mask(os.uname().nodename), "-rw-------")]


def test_spooler_log_lines_as_uwsgis(decorated):
    """``[spooler] written N bytes to file ...`` for every task, ``done with task`` for the
    ones done, ``[uwsgi-spooler]`` lines for a task refused (gateway had none until
    2026-12-05).  Deliberate: gateway says ``[spooler] task ... raised (it will be retried):``
    before a traceback, and logs no ``unable to find the spooler function`` for a
    ``SPOOL_IGNORE`` (README "The spooler")."""
    def lines(server, needle):
        return sorted(mask(comparable(line)) for line in decorated[server]["log"] if needle in line)
    theirs = lines("uwsgi", "[spooler] written")
    theirs.remove(mask("[spooler] written 4513 bytes to file " + decorated["uwsgi"][CUT]["repr"][2:-1]))
    assert lines("gateway", "[spooler] written") == theirs
    assert len(theirs) == len(CALLS) - 8  # (not lock, thread, harakiri, spooler_pids, f(1, 2), the three refused)
    for line in ('[uwsgi-spooler] unable to find spooler "nope"',
                 "[uwsgi-spooler] args buffer is limited to 64k, use the 'body' for bigger values"):
        assert set(lines("gateway", line)) == set(lines("uwsgi", line)) == {mask(line)}, line  # (gateway: CUT too)
    cut = os.path.basename(decorated["uwsgi"][CUT]["repr"][2:-1])
    assert lines("gateway", "done with task") == sorted(
        mask(comparable(line)) for line in decorated["uwsgi"]["log"] if "done with task" in line and cut not in line)
    assert lines("uwsgi", "unable to find the spooler function") and not lines(
        "gateway", "unable to find the spooler function")


#: a truncated task file in the ``timed`` pair's directory
SHORT = task_file_name(os.uname().nodename, 4242, 9, 7, 1700000000, 9)


def tasks_run(path: str) -> List[str]:
    """The ``n`` of each task the order probe ran, in order."""
    return [line.split()[1] for line in read_log(path).splitlines() if line.startswith("task ")]


def write_task(directory: str, counter: int, n: str) -> None:
    """A task file as uWSGI's writer names it (host, pid 4242, ``counter``), task ``{n: ...}``."""
    os.makedirs(directory, exist_ok=True)
    name = task_file_name(os.uname().nodename, 4242, counter, 7, 1700000000, counter)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(encode_task([(b"n", n.encode())], b""))


@pytest.fixture(scope="module")
def recycled(tmp_path_factory) -> Iterator[dict]:
    """14 tasks written before the start: priorities 10, 2 and 1, then a0..a10 (counters 4 to
    14); ``--spooler-ordered --spooler-max-tasks 5``."""
    tmp = str(tmp_path_factory.mktemp("recycled"))
    tasks = [("10", "p10"), ("2", "p2"), ("1", "p1")] + [("", "a%d" % i) for i in range(11)]
    for server in SERVERS:
        for counter, (priority, n) in enumerate(tasks, 1):
            write_task(os.path.join(tmp, server + ".spool", priority), counter, n)
    out = os.path.join(tmp, "{server}.out")
    pair = LoggedPair(tmp, ["--master", "--spooler", os.path.join(tmp, "{server}.spool"), "--spooler-ordered",
                            "--spooler-max-tasks", "5", "--spooler-frequency", "1",
                            "--wsgi-file", os.path.join(APPS, "spool_order_probe.py"), "--env", "SPOOL_ORDER_OUT=" + out])
    try:
        for server in SERVERS:
            wait_until(lambda s=server: len(tasks_run(out.format(server=s))) >= 14
                       and pair.text(s).count("done with task") >= 14,
                       timeout=20, what="%s's spoolers to run the 14 tasks" % server)
        yield {server: {"order": tasks_run(out.format(server=server)), "log": pair.lines(server)} for server in SERVERS}
    finally:
        pair.stop()


def test_ordered_tasks_run_in_uwsgis_order(recycled):
    """Priority 1, 2, 10, then the files with each number in their names compared as a number
    (glibc's ``versionsort``: a writer's task 9 before its task 10; gateway's bytewise order
    ran ``..._10_`` first until 2026-12-05)."""
    assert recycled["uwsgi"]["order"] == ["p1", "p2", "p10"] + ["a%d" % i for i in range(11)]
    assert recycled["gateway"]["order"] == recycled["uwsgi"]["order"]


def spooler_lines(log: List[str]) -> List[str]:
    """The spooler's lifecycle lines, comparable, then how many spawn lines: when a new spooler's
    first line comes before or after the master's ``spawned`` line is a race in both.
    Gateway's death line says how it died too (``(pid: N, exit status N)``: README "The
    spooler"), dropped here."""
    keep = ("[spooler ", "spooler is no more", "HARAKIRI ON THE SPOOLER")
    lines = [re.sub(r"\.\.\. \(pid: N, .*\)$", "...", mask(comparable(line))) for line in log
             if any(k in line for k in keep) and "malformed_" not in line]
    return lines + ["%d spawn lines" % sum(1 for line in log if "spawned the uWSGI spooler" in line)]


def test_max_tasks_recycles_after_the_nth_task_as_uwsgi(recycled):
    """``--spooler-max-tasks 5``: the spooler exits right after its fifth task, mid-scan
    (``maximum number of tasks reached (5) recycling ...``) and its successor goes on (gateway
    finished the scan first until 2026-12-05)."""
    theirs = spooler_lines(recycled["uwsgi"]["log"])
    assert spooler_lines(recycled["gateway"]["log"]) == theirs
    assert sum(1 for line in theirs if line.endswith("maximum number of tasks reached (N) recycling ...")) == 2


@pytest.fixture(scope="module")
def timed(tmp_path_factory) -> Iterator[dict]:
    """``--spooler-harakiri 2 --spooler-quiet`` with two tasks that sleep 10 s once (one under
    ``set_user_harakiri(1)``), and crons that fire at the first check."""
    tmp = str(tmp_path_factory.mktemp("timed"))
    for server in SERVERS:
        for counter, n in enumerate(("slow", "user", "after"), 1):
            write_task(os.path.join(tmp, server + ".spool"), counter, n)
        with open(os.path.join(tmp, server + ".spool", SHORT), "wb") as f:
            f.write(b"\x11\x20\x00\x00\x01\x00")  # 32 bytes of vars announced, 2 follow
    out = os.path.join(tmp, "{server}.out")
    pair = LoggedPair(tmp, ["--master", "--spooler", os.path.join(tmp, "{server}.spool"), "--spooler-ordered",
                            "--spooler-harakiri", "2", "--spooler-quiet", "--spooler-frequency", "1",
                            "--cron", "-1 -1 -1 -1 -1 echo every", "--unique-cron", "-1 -1 -1 -1 -1 sleep 1",
                            "--cron2", "minute=-1,harakiri=1 sleep 30", "--cron", "-7 -1 -1 -1 -1 echo sevenths",
                            "--cron-harakiri", "20",
                            "--wsgi-file", os.path.join(APPS, "spool_order_probe.py"), "--env", "SPOOL_ORDER_OUT=" + out])
    try:
        for server in SERVERS:
            wait_until(lambda s=server: "after" in tasks_run(out.format(server=s))
                       and not os.path.exists(os.path.join(tmp, s + ".spool", SHORT))
                       and all(re.search(r'"%s" running with pid \d+ exited' % c, pair.text(s))
                               for c in ("echo every", "sleep 1", "sleep 30"))
                       and "routing signal 31" in pair.text(s),
                       timeout=30, what="%s's spooler harakiri and crons" % server)
        yield {server: {"records": read_log(out.format(server=server)).splitlines(), "log": pair.lines(server),
                        "files": sorted(os.listdir(os.path.join(tmp, server + ".spool")))} for server in SERVERS}
    finally:
        pair.stop()


def test_spooler_harakiri_as_uwsgis(timed):
    """A task over ``--spooler-harakiri`` (2 s), then one over its own ``set_user_harakiri(1)``:
    each time ``*** HARAKIRI ON THE SPOOLER (pid: N) ***``, the spooler respawned, the task
    run again (gateway's line was missing until 2026-12-05: its spooler's watchdog dumps the
    stacks, then exits); ``--spooler-quiet``: no task lines."""
    theirs = spooler_lines(timed["uwsgi"]["log"])
    assert spooler_lines(timed["gateway"]["log"]) == theirs
    assert theirs.count("*** HARAKIRI ON THE SPOOLER (pid: N) ***") == 2
    for server in SERVERS:
        assert [r for r in timed[server]["records"] if r.startswith("task")] == [
            "task slow", "task slow", "task user", "task user", "task after"], server


def test_a_malformed_task_file_is_set_aside(timed):
    """Deliberate (README "The spooler"): a task file shorter than its header says is renamed
    ``malformed_...`` and logged; uWSGI deletes it."""
    assert timed["uwsgi"]["files"] == []
    assert timed["gateway"]["files"] == ["malformed_" + SHORT]
    assert any("spool file truncated" in line and "moved to" in line for line in timed["gateway"]["log"])


def cron_lines(log: List[str], needle: str) -> List[str]:
    """The lines with ``needle``, comparable; but the runs of ``-7`` (every 7th minute: whether
    the test saw one depends on when it ran)."""
    return [mask(comparable(line)) for line in log
            if needle in line and (needle == "registered as cron task" or "sevenths" not in line)]


def test_cron_entries_registered_and_run_in_the_order_given(timed):
    """``--cron``, ``--unique-cron``, ``--cron2`` entries in one list, in the order given (gateway
    grouped them by option until 2026-12-05); -1 fields fire at the first check."""
    for needle in ("registered as cron task", '[uwsgi-cron] running "'):
        theirs = cron_lines(timed["uwsgi"]["log"], needle)
        assert cron_lines(timed["gateway"]["log"], needle)[:len(theirs)] == theirs, needle
    assert cron_lines(timed["uwsgi"]["log"], "registered as cron task") == [
        '[uwsgi-cron] command "%s" registered as cron task' % c
        for c in ("echo every", "sleep N", "sleep N", "echo sevenths")]


def test_cron_harakiri_and_exit_lines_as_uwsgis(timed):
    """``harakiri=1``: ``*** HARAKIRI ON CRON "sleep 30" (pid: N) ***`` (gateway said
    ``... killed by harakiri`` until 2026-12-05), then every run's ``exited after`` line."""
    for needle in ("HARAKIRI ON CRON", "exited after"):
        assert sorted(set(cron_lines(timed["gateway"]["log"], needle))) == \
            sorted(set(cron_lines(timed["uwsgi"]["log"], needle))), needle
    assert cron_lines(timed["uwsgi"]["log"], "HARAKIRI ON CRON")[0] == '*** HARAKIRI ON CRON "sleep N" (pid: N) ***'


def test_signal_crons_route_as_uwsgis(timed):
    """``@cron`` and ``uwsgi.add_cron`` with -1 fields: ``[uwsgi-cron] routing signal N`` and
    the handler runs (``add_cron`` returns True)."""
    for server in SERVERS:
        assert {"add_cron True", "cron 30", "cron 31"} <= set(timed[server]["records"]), server
        lines = set(cron_lines(timed[server]["log"], "routing signal"))
        assert lines == {"[uwsgi-cron] routing signal N"}, server
