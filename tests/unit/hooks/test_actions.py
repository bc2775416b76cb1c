"""Each hook action against real files, directories, FIFOs, sockets and commands."""

from __future__ import annotations

import logging
import os
import socket
import stat
import threading
import time

import pytest

from gateway import rpc
from gateway.hooks import actions
from gateway.hooks.actions import ActionFailed


def run(action, args):
    actions.ACTIONS[action](args)


@pytest.fixture
def short_waits(monkeypatch):
    monkeypatch.setattr(actions, "WAIT_TIMEOUT", 0.3)
    monkeypatch.setattr(actions, "POLL", 0.02)
    monkeypatch.setattr(actions, "RPC_RETRY", 0.1)


def test_cd_and_chdir_move_this_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    run("cd", str(tmp_path / "a"))
    assert os.getcwd() == str(tmp_path / "a")
    run("chdir", "..")
    assert os.getcwd() == str(tmp_path)
    with pytest.raises(ActionFailed, match="chdir /no/such/dir: No such file or directory"):
        run("chdir", "/no/such/dir")


def test_mkdir_creates_once_and_fails_when_it_exists_as_in_uwsgi(tmp_path):
    target = tmp_path / "run"
    run("mkdir", str(target))
    assert target.is_dir()
    with pytest.raises(ActionFailed, match="mkdir .*: File exists"):
        run("mkdir", str(target))


def test_putenv_sets_and_a_bare_name_removes(monkeypatch):
    monkeypatch.delenv("GW_HOOK_VAR", raising=False)
    run("putenv", "GW_HOOK_VAR=a=b c")
    assert os.environ["GW_HOOK_VAR"] == "a=b c"
    run("putenv", "GW_HOOK_VAR")
    assert "GW_HOOK_VAR" not in os.environ


def test_chmod_and_sticky(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    run("chmod", "%s 0640" % f)
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    d = tmp_path / "d"
    d.mkdir(mode=0o755)
    run("sticky", str(d))
    assert stat.S_IMODE(d.stat().st_mode) == 0o755 | stat.S_ISVTX
    with pytest.raises(ActionFailed, match="chmod .*missing: No such file"):
        run("chmod", "%s 644" % (tmp_path / "missing"))


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another owner needs root")
def test_chown_by_names_and_chown2_by_numbers(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    run("chown2", "%s 1 2" % f)
    assert (f.stat().st_uid, f.stat().st_gid) == (1, 2)
    run("chown", "%s root root" % f)
    assert (f.stat().st_uid, f.stat().st_gid) == (0, 0)


def test_chown_refuses_unknown_names(tmp_path):
    with pytest.raises(ActionFailed, match="unable to find uid no-such-user-gw"):
        run("chown", "%s no-such-user-gw root" % tmp_path)
    with pytest.raises(ActionFailed, match="unable to find gid no-such-group-gw"):
        run("chown", "%s root no-such-group-gw" % tmp_path)


def test_exec_waits_for_the_shell_command_and_reports_how_it_failed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GW_HOOK_VAR", "inherited")
    run("exec", 'echo "$GW_HOOK_VAR" > out.txt')
    assert (tmp_path / "out.txt").read_text() == "inherited\n"
    with pytest.raises(ActionFailed, match='^command "exit 3" exited with non-zero code: 3$'):
        run("exec", "exit 3")
    with pytest.raises(ActionFailed, match='^command "kill -9 \\$\\$" killed by signal 9$'):
        run("exec", "kill -9 $$")


def test_safeexec_logs_a_failure_and_goes_on(caplog):
    with caplog.at_level(logging.INFO, logger="gateway"):
        run("safeexec", "exit 4")
    assert 'command "exit 4" exited with non-zero code: 4' in caplog.text


def test_create_write_writen_append_appendn(tmp_path):
    f = tmp_path / "f"
    f.write_text("old content")
    run("create", str(f))
    assert f.read_text() == ""  # truncated, as O_TRUNC
    run("write", "%s hello  world " % f)
    assert f.read_text() == "hello  world "  # everything after the first space, as written
    run("write", "%s again" % f)
    assert f.read_text() == "again"
    run("writen", "%s line" % f)
    assert f.read_text() == "line\n"
    run("append", "%s more" % f)
    run("appendn", "%s end" % f)
    run("appendn", str(f))
    assert f.read_text() == "line\nmoreend\n\n"
    new = tmp_path / "created-by-append"
    run("append", "%s x" % new)
    assert new.read_text() == "x" and stat.S_IMODE(new.stat().st_mode) == 0o666 & ~_umask()
    with pytest.raises(ActionFailed, match="open .*/no/such/f: No such file"):
        run("write", "%s x" % (tmp_path / "no" / "such" / "f"))


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_writefifo_writes_to_a_reader_and_skips_without_one(tmp_path, caplog):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with caplog.at_level(logging.WARNING, logger="gateway"):
        run("writefifo", "%s nobody listens" % fifo)
    assert "no reader" in caplog.text
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        run("writefifo", "%s hello fifo" % fifo)
        assert os.read(reader, 100) == b"hello fifo"
    finally:
        os.close(reader)
    with pytest.raises(ActionFailed, match="open .*missing"):
        run("writefifo", "%s x" % (tmp_path / "missing"))


def test_spinningfifo_waits_for_the_fifo_and_gives_up_after_the_bound(tmp_path, short_waits):
    fifo = tmp_path / "fifo"
    with pytest.raises(ActionFailed, match="no reader after"):
        run("spinningfifo", "%s x" % fifo)
    os.mkfifo(fifo)
    got = []

    def read_later():
        time.sleep(0.1)
        with open(fifo, "rb") as f:  # blocks until the writer opens
            got.append(f.read())

    t = threading.Thread(target=read_later)
    t.start()
    run("spinningfifo", "%s spun" % fifo)
    t.join(5)
    assert got == [b"spun"]


def test_unlink(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    run("unlink", str(f))
    assert not f.exists()
    with pytest.raises(ActionFailed, match="unlink .*: No such file"):
        run("unlink", str(f))


def test_hostname_calls_sethostname(monkeypatch):
    called = []
    monkeypatch.setattr(socket, "sethostname", called.append)
    run("hostname", "box.example")
    assert called == ["box.example"]


def test_exit_ends_the_process_with_the_code():
    with pytest.raises(SystemExit) as info:
        run("exit", "3")
    assert info.value.code == 3
    with pytest.raises(SystemExit) as info:
        run("exit", "")
    assert info.value.code == 0


def test_print_and_log_write_the_text_to_the_log(caplog):
    with caplog.at_level(logging.INFO, logger="gateway"):
        run("print", "hello from a hook")
        run("log", "and another")
    assert "hello from a hook" in caplog.text and "and another" in caplog.text


def test_wait_for_file_dir_and_fs(tmp_path, short_waits):
    late = tmp_path / "late"
    timer = threading.Timer(0.1, late.write_text, ("",))
    timer.start()
    run("wait_for_file", str(late))
    timer.join()
    run("wait_for_fs", str(late))
    run("wait_for_dir", str(tmp_path))
    with pytest.raises(ActionFailed, match="unavailable after"):
        run("wait_for_dir", str(late))  # a file, not a directory
    with pytest.raises(ActionFailed, match="unavailable after"):
        run("wait_for_file", str(tmp_path))


def test_wait_for_socket_tcp_and_unix(tmp_path, short_waits):
    with socket.socket() as tcp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(1)
        run("wait_for_socket", "127.0.0.1:%d" % tcp.getsockname()[1])
        closed_port = tcp.getsockname()[1]
    with socket.socket(socket.AF_UNIX) as unix:
        path = str(tmp_path / "s.sock")
        unix.bind(path)
        unix.listen(1)
        run("wait_for_socket", path)
    with pytest.raises(ActionFailed, match="unavailable after"):
        run("wait_for_socket", "127.0.0.1:%d" % closed_port)


def test_rpc_calls_a_registered_function_and_logs_its_result(caplog, short_waits):
    rpc.registry.register("gw_hook_hello", lambda *args: b"hi " + b"+".join(args))
    try:
        with caplog.at_level(logging.INFO, logger="gateway"):
            run("rpc", "gw_hook_hello a 'b c'")
        assert '[rpc result from "gw_hook_hello"] hi a+b c' in caplog.text
    finally:
        rpc.registry._table.pop("gw_hook_hello", None)
    with pytest.raises(ActionFailed, match="rpc gw_hook_missing: RPC function 'gw_hook_missing' is not registered"):
        run("rpc", "gw_hook_missing")
    with pytest.raises(ActionFailed, match="still failing after"):
        run("retryrpc", "gw_hook_missing")


def test_rpc_to_a_malformed_node_is_a_failure_of_the_action(short_waits):
    """The option check refuses such a node first; should one get here, the hook fails
    (logged by a non-fatal phase), it does not raise into the process running it."""
    with pytest.raises(ActionFailed, match="rpc f@127.0.0.1:notaport: .*bad node address"):
        run("rpc", "f@127.0.0.1:notaport")
    with pytest.raises(ActionFailed, match="still failing after"):
        run("retryrpc", "f@127.0.0.1:notaport")
