"""uWSGI's startup lines from gateway's own facts (:mod:`gateway.startup_lines`); the whole
startup is compared with real uWSGI's in ``tests/integration/test_startup_lines_vs_uwsgi.py``."""

from __future__ import annotations

import socket

import pytest

from gateway import startup_lines
from gateway.config import load


@pytest.mark.parametrize("argv, mode", [
    ([], "single process"),
    (["--processes", "2"], "preforking"),
    (["--threads", "4"], "threaded"),
    (["--processes", "2", "--threads", "4"], "preforking+threaded"),
    (["--tornado", "100", "--greenlet"], "async"),
    (["--processes", "3", "--tornado", "10", "--greenlet"], "preforking+async"),
])
def test_the_operational_mode_follows_uwsgis_rules(argv, mode):
    cfg = load(["--http-socket", ":0", "--wsgi-file", "x.py"] + argv, {})
    lines = startup_lines.server_lines(cfg, [], int(cfg.processes or 1))
    assert lines == ["your mercy for graceful operations on workers is 60 seconds",
                     "*** Operational MODE: %s ***" % mode]


def test_sockets_are_named_as_given_and_a_port_0_as_bound(tmp_path):
    named, auto, unix = socket.socket(), socket.socket(), socket.socket(socket.AF_UNIX)
    try:
        named.bind(("127.0.0.1", 0))
        auto.bind(("127.0.0.1", 0))
        unix.bind(str(tmp_path / "app.sock"))
        startup_lines.name_socket(named, ":%d" % named.getsockname()[1])
        startup_lines.name_socket(auto, "127.0.0.1:0")
        lines = startup_lines.socket_lines([named, auto, unix])
        assert lines == [
            "uwsgi socket 0 bound to TCP address :%d fd %d" % (named.getsockname()[1], named.fileno()),
            "uwsgi socket 1 bound to TCP address 127.0.0.1:%d (port auto-assigned) fd %d"
            % (auto.getsockname()[1], auto.fileno()),
            "uwsgi socket 2 bound to UNIX address %s fd %d" % (tmp_path / "app.sock", unix.fileno())]
    finally:
        for sock in (named, auto, unix):
            sock.close()


def test_pythonpath_globs_mark_directories(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b.zip").write_bytes(b"")
    cfg = load(["--http-socket", ":0", "--wsgi-file", "x.py", "--pythonpath", str(tmp_path / "*"),
                "--pythonpath", "/no/such/dir"], {})
    assert startup_lines.pythonpath_lines(cfg) == [
        "added %s/ to pythonpath." % (tmp_path / "a"), "added %s to pythonpath." % (tmp_path / "b.zip"),
        "added /no/such/dir to pythonpath."]


def test_held_lines_wait_for_flush(caplog):
    startup_lines.hold(["one", "two"])
    assert "one" not in caplog.text
    with caplog.at_level("INFO", logger="gateway.error"):
        startup_lines.flush()
    assert caplog.text.count("one") == 1 and "two" in caplog.text
    startup_lines.flush()
    assert caplog.text.count("one") == 1


def test_the_router_sockets_are_named_as_given():
    http, sub = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        http.bind(("127.0.0.1", 0))
        sub.bind(("127.0.0.1", 0))
        spec = ":%d" % http.getsockname()[1]
        assert startup_lines.router_lines([spec], [http], [sub]) == [
            "uWSGI http bound on %s fd %d" % (spec, http.fileno()),
            "uWSGI http subscription server bound on 127.0.0.1:%d fd %d" % (sub.getsockname()[1], sub.fileno())]
    finally:
        http.close()
        sub.close()


def test_each_config_file_read_is_announced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.ini").write_text("[uwsgi]\nhttp-socket = :0\nwsgi-file = x.py\n[other]\nprocesses = 2\n")
    (tmp_path / "more.yaml").write_text("uwsgi:\n  threads: 2\n")
    cfg = load(["--ini", "app.ini", "--ini", ":other", "--include", "more.yaml"], {})
    assert startup_lines.config_lines(cfg) == ["[uWSGI] getting INI configuration from app.ini",
                                               "[uWSGI] getting YAML configuration from more.yaml"]


def test_a_shared_socket_is_announced_right_after_the_banner(caplog):
    shared = socket.socket()
    try:
        shared.bind(("127.0.0.1", 0))
        spec = "127.0.0.1:%d" % shared.getsockname()[1]
        startup_lines.hold(["banner"])
        startup_lines.banner_held()
        startup_lines.hold(["limits"])
        startup_lines.hold(startup_lines.shared_socket_lines(0, spec, shared), early=True)
        startup_lines.name_socket(shared, "=0")
        startup_lines.hold(startup_lines.socket_lines([shared], mapped=True), early=True)
        assert startup_lines.socket_lines([shared]) == []
        with caplog.at_level("INFO", logger="gateway.error"):
            startup_lines.flush()
        assert [r.getMessage() for r in caplog.records] == [
            "banner", "uwsgi shared socket 0 bound to TCP address %s fd %d" % (spec, shared.fileno()),
            "uwsgi socket 0 mapped to shared socket 0 (%s) fd %d" % (spec, shared.fileno()), "limits"]
    finally:
        shared.close()
