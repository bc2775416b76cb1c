"""Running a phase: hooks then commands in order, uWSGI's log lines, fatal and non-fatal
phases, private hooks, and the touch watcher."""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace

import pytest

from gateway.hooks import PHASES, HookFailed, TouchHooks, run_phase


def cfg(**values):
    return SimpleNamespace(**values)


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger="gateway")
    return caplog


def lines(caplog):
    return [r.getMessage() for r in caplog.records]


def test_hooks_run_before_the_commands_each_in_order_with_uwsgis_lines(tmp_path, log):
    out = tmp_path / "order"
    run_phase(cfg(hook_asap=["appendn:%s hook1" % out, "appendn:%s hook2" % out],
                  exec_asap=["echo exec1 >> %s" % out]), "asap")
    assert out.read_text().split() == ["hook1", "hook2", "exec1"]
    assert lines(log) == ['running "appendn:%s hook1" (asap)...' % out,
                          'running "appendn:%s hook2" (asap)...' % out,
                          'running "echo exec1 >> %s" (asap)...' % out]


def test_phase_labels_are_uwsgis():
    assert [PHASES[n].label for n in ("as-root", "as-user", "as-user-atexit", "pre-app", "post-app", "post-fork")] \
        == ["as root", "as user", "atexit", "pre app", "post app", "post-fork"]
    assert [n for n, p in PHASES.items() if not p.fatal] == ["as-user-atexit"]


def test_a_failed_hook_in_a_fatal_phase_stops_the_phase_and_destroys(tmp_path, log):
    after = tmp_path / "after"
    with pytest.raises(HookFailed) as info:
        run_phase(cfg(hook_post_fork=["exec:exit 5", "create:%s" % after]), "post-fork")
    assert str(info.value) == '--hook-post-fork "exec:exit 5" failed: command "exit 5" exited with non-zero code: 5'
    assert info.value.destroy and not after.exists()


def test_a_failed_exec_command_keeps_its_old_message_and_only_ends_its_process(tmp_path):
    after = tmp_path / "after"
    with pytest.raises(HookFailed) as info:
        run_phase(cfg(hook_pre_app=[], exec_pre_app=["exit 3", "touch %s" % after]), "pre-app")
    assert str(info.value) == 'command "exit 3" exited with non-zero code: 3'
    assert not info.value.destroy and not after.exists()


def test_the_atexit_phase_logs_failures_and_runs_everything(tmp_path, log):
    out = tmp_path / "out"
    run_phase(cfg(hook_as_user_atexit=["unlink:%s" % (tmp_path / "missing"), "write:%s done" % out],
                  exec_as_user_atexit=["exit 2", "echo cmd >> %s" % out]), "as-user-atexit")
    assert out.read_text() == "done" + "cmd\n"
    errors = [r.getMessage() for r in log.records if r.levelno >= logging.ERROR]
    missing = tmp_path / "missing"
    assert errors == ['--hook-as-user-atexit "unlink:%s" failed: unlink %s: No such file or directory'
                      % (missing, missing),
                      'command "exit 2" exited with non-zero code: 2']
    assert 'running "exit 2" (as uid: %d gid: %d) ...' % (os.getuid(), os.getgid()) in lines(log)


def test_a_private_hook_shows_neither_its_text_nor_its_error(log, monkeypatch):
    monkeypatch.delenv("GW_SECRET", raising=False)
    run_phase(cfg(hook_asap=["!putenv:GW_SECRET=hunter2"]), "asap")
    assert os.environ.pop("GW_SECRET") == "hunter2"
    with pytest.raises(HookFailed) as info:
        run_phase(cfg(hook_asap=["!exec:exit 1 # hunter2"]), "asap")
    assert str(info.value) == "--hook-asap: a private hook (action 'exec') failed"
    assert lines(log) == ["running --- PRIVATE HOOK --- (asap)..."] * 2
    assert "hunter2" not in log.text


def test_a_phase_without_entries_does_nothing(log):
    run_phase(cfg(), "accepting1-once")
    run_phase(cfg(hook_master_start=[]), "master-start")
    assert lines(log) == []


def test_touch_hooks_run_when_their_file_changes(tmp_path, log):
    out = tmp_path / "out"
    mtimes = {"/a": 1.0, "/b": -1.0}
    touch = TouchHooks(["/a appendn:%s a1" % out, "/b appendn:%s b" % out, "/a appendn:%s a2" % out,
                        "/a exec:exit 1"], mtimes.__getitem__)
    assert touch
    touch.check()
    assert not out.exists()
    mtimes["/a"] = 2.0
    touch.check()
    assert out.read_text() == "a1\na2\n"  # every hook of /a in order; the failure is only logged
    assert '--hook-touch "exec:exit 1" failed: command "exit 1" exited with non-zero code: 1' in log.text
    mtimes["/b"] = 5.0  # created
    touch.check()
    touch.check()
    assert out.read_text() == "a1\na2\nb\n"
    assert not TouchHooks([], mtimes.__getitem__)


def test_touch_hooks_due_names_the_hooks_of_the_changed_files_without_running_them():
    mtimes = {"/a": 1.0, "/b": 1.0}
    touch = TouchHooks(["/a print:a1", "/b print:b", "/a exec:false"], mtimes.__getitem__)
    assert touch.due() == []
    mtimes["/a"] = 2.0
    assert [h.text for h in touch.due()] == ["print:a1", "exec:false"]  # in the order given
    assert touch.due() == []  # seen: due once per change
