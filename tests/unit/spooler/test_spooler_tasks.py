"""The spooler's task handling in this process (no fork): what each return code does to the
file, ``at``, priorities, malformed and locked files, the writer's checks."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from gateway import spooler
from gateway.protocol import spool_file as S
from gateway.protocol.uwsgi import encode_vars
from gateway.spooler import Spoolers, remote
from gateway.spooler.runner import SpoolerProcess, has_tasks
from gateway.spooler.tasks import SPOOL_IGNORE, SPOOL_OK, SPOOL_RETRY, Verdict, run_task
from gateway.spooler.writer import SpoolError, enqueue


@pytest.fixture(autouse=True)
def keep_cwd(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # a spooler chdir()s into the task's directory; restored after the test


@pytest.fixture
def spoolers(tmp_path):
    d = tmp_path / "q"
    d.mkdir()
    return Spoolers([str(d)])


def runner(spoolers, func):
    return SpoolerProcess(spoolers, 0, lambda: func)


def test_a_task_dict_has_bytes_vars_and_str_reserved_keys(spoolers):
    seen = []
    path = enqueue(spoolers, {"name": "ä", b"raw": b"\xff", "n": 3, "body": b"payload"})
    assert os.path.basename(path).startswith(S.FILE_PREFIX) and os.path.dirname(path) == spoolers.dirs[0]
    verdict = runner(spoolers, lambda env: seen.append(env) or SPOOL_OK).manage(path)
    assert verdict is Verdict.DONE and not os.path.exists(path)
    assert seen == [{"spooler_task_name": os.path.basename(path).encode(), b"name": "ä".encode(), b"raw": b"\xff", b"n": b"3",
                     "body": b"payload"}]


@pytest.mark.parametrize("ret, verdict, kept", [
    (SPOOL_OK, Verdict.DONE, False),
    (SPOOL_RETRY, Verdict.RETRY, True),
    (SPOOL_IGNORE, Verdict.IGNORED, True),
    (5, Verdict.RETRY, True),
    (None, Verdict.RETRY, True),
    ("ok", Verdict.RETRY, True),
])
def test_return_codes(spoolers, ret, verdict, kept):
    path = enqueue(spoolers, {b"k": b"v"})
    assert runner(spoolers, lambda env: ret).manage(path) is verdict
    assert os.path.exists(path) is kept


def test_an_exception_is_logged_and_retried(spoolers, caplog):
    def boom(env):
        raise RuntimeError("no luck")

    path = enqueue(spoolers, {b"k": b"v"})
    assert runner(spoolers, boom).manage(path) is Verdict.RETRY
    assert os.path.exists(path)
    assert "no luck" in caplog.text and "will be retried" in caplog.text
    assert run_task(None, {}) is Verdict.IGNORED


def test_at_in_the_future_waits(spoolers):
    ran = []
    path = enqueue(spoolers, {b"k": b"v", b"at": str(time.time() + 3600).encode()})
    assert os.stat(path).st_mtime > time.time() + 3000
    proc = runner(spoolers, lambda env: ran.append(1) or SPOOL_OK)
    proc.scan()
    assert ran == [] and os.path.exists(path)
    os.utime(path, (time.time() - 1, time.time() - 1))
    proc.scan()
    assert ran == [1] and not os.path.exists(path)


def test_priorities_run_first_lowest_first_when_ordered(tmp_path):
    d = tmp_path / "q"
    d.mkdir()
    sp = Spoolers([str(d)], ordered=True)
    order = []
    enqueue(sp, {b"n": b"plain"})
    p10 = enqueue(sp, {b"n": b"p10", b"priority": b"10"})
    enqueue(sp, {b"n": b"p2", b"priority": b"2"})
    assert os.path.dirname(p10) == str(d / "10")
    runner(sp, lambda env: order.append(env[b"n"]) or SPOOL_OK).scan()
    assert order == [b"p2", b"p10", b"plain"]


def test_a_malformed_file_is_moved_aside_and_the_scan_goes_on(spoolers, caplog):
    bad = os.path.join(spoolers.dirs[0], S.FILE_PREFIX + "bad")
    with open(bad, "wb") as f:
        f.write(b"\x11\x10\x00\x00garbage")
    good = enqueue(spoolers, {b"k": b"v"})
    ran = []
    runner(spoolers, lambda env: ran.append(env["spooler_task_name"]) or SPOOL_OK).scan()
    assert ran == [os.path.basename(good).encode()]
    assert not os.path.exists(bad) and os.path.exists(os.path.join(spoolers.dirs[0], "malformed_" + os.path.basename(bad)))
    assert "truncated" in caplog.text


def test_a_file_over_the_size_limit_is_left_alone(tmp_path, caplog):
    d = tmp_path / "q"
    d.mkdir()
    sp = Spoolers([str(d)], max_size=100)
    with pytest.raises(SpoolError, match="spooler-max-size"):
        enqueue(sp, {b"k": b"v", b"body": b"x" * 200})
    big = d / (S.FILE_PREFIX + "big")
    big.write_bytes(S.encode_task([(b"k", b"v")], b"x" * 200))
    assert runner(sp, lambda env: SPOOL_OK).manage(str(big)) is None
    assert big.exists() and "over --spooler-max-size" in caplog.text


def test_a_task_locked_by_another_process_is_skipped(spoolers):
    path = enqueue(spoolers, {b"k": b"v"})
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); "
         "fcntl.lockf(fd, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()", path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert runner(spoolers, lambda env: SPOOL_OK).manage(path) is None
        assert os.path.exists(path)
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert runner(spoolers, lambda env: SPOOL_OK).manage(path) is Verdict.DONE


def test_the_writer_refuses_what_uwsgi_would_mangle(spoolers, tmp_path):
    with pytest.raises(SpoolError, match="unable to find spooler"):
        enqueue(spoolers, {b"spooler": str(tmp_path / "other").encode()})
    with pytest.raises(SpoolError, match="priority"):
        enqueue(spoolers, {b"priority": b"../escape"})
    with pytest.raises(SpoolError, match="only bytes or str"):
        enqueue(spoolers, {b"k": None})
    assert enqueue(spoolers, {b"spooler": spoolers.dirs[0].encode()}).startswith(spoolers.dirs[0])
    assert [n for n in os.listdir(spoolers.dirs[0]) if n.startswith(".tmp_")] == []


def test_a_remote_spool_packet_is_a_task_file_with_its_vars_verbatim(spoolers, monkeypatch, caplog):
    """modifier1 17 (gateway.spooler.remote): the file is the packet uWSGI would write."""
    monkeypatch.setattr(spooler, "current", None)
    block = encode_vars([(b"name", b"r"), (b"k", b"\xff")])
    assert remote.answer(0, block) == [remote.NOT_SPOOLED]  # no --spooler: uWSGI's "inactive"
    monkeypatch.setattr(spooler, "current", spoolers)
    assert remote.answer(0, block) == [remote.SPOOLED]
    (name,) = os.listdir(spoolers.dirs[0])
    with open(os.path.join(spoolers.dirs[0], name), "rb") as f:
        assert f.read() == b"\x11" + len(block).to_bytes(2, "little") + b"\x00" + block
    assert remote.answer(0, b"\x05\x00ab") == [remote.NOT_SPOOLED]  # not a vars block (uWSGI writes it)
    assert remote.answer(0, encode_vars([(b"spooler", b"/nonexistent")])) == [remote.NOT_SPOOLED]
    assert len(os.listdir(spoolers.dirs[0])) == 1


def test_the_shared_table(spoolers):
    assert spoolers.pids() == [0] and spoolers.current_frequency == 30
    spoolers.set_pid(0, 1234)
    spoolers.set_frequency(2)
    assert spoolers.pids() == [1234] and spoolers.current_frequency == 2


def test_has_tasks_looks_one_level_into_priority_subdirectories_only(tmp_path):
    task = "uwsgi_spoolfile_on_host_1_2_3_4_5"
    assert not has_tasks(str(tmp_path))
    (tmp_path / "7").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / task).write_text("")  # not a priority: the spooler never reads it
    (tmp_path / "7" / "8").mkdir()
    (tmp_path / "7" / "8" / task).write_text("")  # two levels down: neither
    assert not has_tasks(str(tmp_path))
    (tmp_path / "7" / task).write_text("")
    assert has_tasks(str(tmp_path))


def test_has_tasks_skips_a_symlinked_priority_directory(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "uwsgi_spoolfile_on_host_1_2_3_4_5").write_text("")
    queue = tmp_path / "queue"
    queue.mkdir()
    (queue / "3").symlink_to(elsewhere)
    assert not has_tasks(str(queue))
    (queue / "uwsgi_spoolfile_on_host_9").write_text("")
    assert has_tasks(str(queue))
