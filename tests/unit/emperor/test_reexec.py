"""The binary reload's hand-over of listening sockets (``GATEWAY_REEXEC_SOCKETS``), in-process."""

from __future__ import annotations

import json
import os
import socket

from gateway.emperor import reexec


def test_capture_take_and_close_unclaimed():
    kept, dropped = socket.socket(), socket.socket()
    for s in (kept, dropped):
        s.bind(("127.0.0.1", 0))
        s.listen(1)
    kept_fd, dropped_fd = os.dup(kept.fileno()), os.dup(dropped.fileno())
    env = {"PATH": "/bin", "UWSGI_EMPEROR_FD": "9",
           reexec.ENV_SOCKETS: json.dumps({"http 127.0.0.1:1": kept_fd, "uwsgi 127.0.0.1:2": dropped_fd})}
    try:
        reexec.capture(["--ini", "app.ini"], env)
        assert reexec.ENV_SOCKETS not in env  # taken out of the environment
        assert reexec.ORIGIN.argv == ["--ini", "app.ini"] and reexec.ORIGIN.cwd == os.getcwd()
        assert reexec.ORIGIN.environ == {"PATH": "/bin"}  # the Emperor's fd is added again at exec
        assert reexec.take("http", "127.0.0.1:9") is None  # another address: bound anew
        sock = reexec.take("http", "127.0.0.1:1")
        assert sock is not None and sock.getsockname() == kept.getsockname()
        assert not sock.get_inheritable() and reexec.BOUND[sock] == "http 127.0.0.1:1"
        reexec.close_unclaimed()
        try:
            os.fstat(dropped_fd)
            raise AssertionError("the unclaimed socket is still open")
        except OSError:
            pass
        sock.close()
    finally:
        kept.close()
        dropped.close()
        reexec.INHERITED.clear()


def test_malformed_variable_is_ignored(capsys):
    env = {reexec.ENV_SOCKETS: "not json"}
    reexec.capture([], env)
    assert reexec.INHERITED == {}
    assert "malformed GATEWAY_REEXEC_SOCKETS" in capsys.readouterr().err


def test_a_process_knows_it_is_a_binary_reload():
    """Its vassal link then does not say "spawned" again (uWSGI's Emperor logs it once per spawn)."""
    try:
        reexec.capture([], {reexec.ENV_SOCKETS: "{}"})
        assert reexec.ORIGIN.reloaded
        reexec.capture([], {"PATH": "/bin"})
        assert not reexec.ORIGIN.reloaded
    finally:
        reexec.capture([], {})
