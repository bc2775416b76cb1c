"""uWSGI's configuration logic: if-*, else, for*, endif (gateway/config/logic.py through load())."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError


def test_if_env_applies_its_block_with_the_value_as_underscore(run, write):
    write("app.ini", """
        [uwsgi]
        if-env = APP_SOCK
        socket = %(_)
        processes = 3
        endif =
        master = true
        """)
    on = run("app.ini", env={"APP_SOCK": "/run/app.sock"})
    assert on.socket == ["/run/app.sock"] and on.processes == 3 and on.master
    off = run("app.ini")
    assert off.socket == [] and off.processes == 1 and off.master  # after endif: always


def test_if_env_with_a_value_and_if_not_env(run, write):
    write("app.ini", """
        [uwsgi]
        if-env = MODE=prod
        processes = 8
        endif =
        if-not-env = MODE=prod
        processes = 1
        py-autoreload = 2
        end =
        """)
    assert run("app.ini", env={"MODE": "prod"}).processes == 8
    dev = run("app.ini", env={"MODE": "dev"})
    assert dev.processes == 1 and dev.py_autoreload == 2


def test_else_applies_when_the_condition_failed(run, write, tmp_path):
    write("app.ini", """
        [uwsgi]
        if-exists = run
        socket = %(_)/app.sock
        else =
        socket = 127.0.0.1:3031
        endif =
        """)
    assert run("app.ini").socket == ["127.0.0.1:3031"]
    (tmp_path / "run").mkdir()
    assert run("app.ini").socket == ["run/app.sock"]


def test_file_dir_hostname_plugin_opt_and_reload_conditions(run, write, tmp_path, context):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "d").mkdir()
    write("app.ini", """
        [uwsgi]
        if-file = a.txt
        env = F=%(_)
        endif =
        if-not-file = d
        env = NF=1
        endif =
        if-dir = d
        env = D=1
        endif =
        if-hostname = HOSTNAME
        env = H=1
        endif =
        if-not-hostname = elsewhere
        env = NH=1
        endif =
        if-plugin = tornado
        env = P=1
        endif =
        if-not-plugin = php
        env = NP=1
        endif =
        if-opt = env
        env = O=%(_)
        endif =
        if-not-reload =
        env = NR=1
        endif =
        if-reload =
        env = R=1
        endif =
        """.replace("HOSTNAME", context.hostname))
    assert run("app.ini").env == ["F=a.txt", "NF=1", "D=1", "H=1", "NH=1", "P=1", "NP=1", "O=F=a.txt", "NR=1"]


def test_for_loops(run, write, tmp_path):
    (tmp_path / "hosts.txt").write_text("a:1\nb:2\n")
    (tmp_path / "m1.ini").write_text("")
    (tmp_path / "m2.ini").write_text("")
    write("app.ini", """
        [uwsgi]
        for = 8080 8081
        http-socket = :%(_)
        endfor =
        for-times = 3
        env = T%(_)=x
        endfor =
        for-readline = hosts.txt
        http-to = %(_)
        end-for =
        for-glob = m*.ini
        env = G=%(_)
        endfor =
        """)
    cfg = run("app.ini")
    assert cfg.http_socket == [":8080", ":8081"]
    assert cfg.http_to == ["a:1", "b:2"]
    assert cfg.env[:3] == ["T1=x", "T2=x", "T3=x"]
    assert [e.rsplit("/", 1)[-1] for e in cfg.env[3:]] == ["G=m1.ini", "G=m2.ini"]


def test_loop_items_as_uwsgi(run, write, tmp_path):
    """uWSGI 2.0.31's items: ``for`` splits on spaces only, ``for-readline`` keeps empty lines,
    ``for-glob`` marks directories with '/'; the logic keys stay in ``uwsgi.opt``."""
    (tmp_path / "lines.txt").write_text("one\n\n two \nthree")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "f1").write_text("")
    write("app.ini", """
        [uwsgi]
        for = a\tb  c
        x = %(_)
        endfor =
        for-readline = lines.txt
        y = [%(_)]
        endfor =
        for-glob = d/*
        z = %(_)
        endfor =
        """)
    opt = run("app.ini").uwsgi_opt()
    assert opt["x"] == [b"a\tb", b"c"]
    assert opt["y"] == [b"[one]", b"[]", b"[ two ]", b"[three]"]
    assert opt["z"] == [b"d/f1", b"d/sub/"]
    assert opt["for"] == b"a\tb  c" and opt["endfor"] == [b"", b"", b""]


def test_unset_tested_value_keeps_underscore_and_if_opt_wants_the_spelling(run, write):
    write("app.ini", """
        [uwsgi]
        processes = 2
        if-not-env = NOPE
        a = %(_)
        endif =
        if-not-reload =
        b = %(_)
        endif =
        if-opt = workers
        c = 1
        endif =
        if-opt = processes
        d = %(_)
        endif =
        """)
    opt = run("app.ini").uwsgi_opt()
    assert (opt["a"], opt["b"], opt["d"]) == (b"%(_)", b"%(_)", b"2")  # uWSGI leaves %(_) there
    assert "c" not in opt  # uWSGI's if-opt looks for that spelling only


def test_logic_works_on_the_command_line_too(run):
    cfg = run("--if-env", "W", "--processes", "%(_)", "--endif", "--http-socket", ":1", env={"W": "4"})
    assert cfg.processes == 4 and cfg.http_socket == [":1"]


def test_nesting_is_refused_with_uwsgis_message(run, write):
    write("app.ini", "[uwsgi]\nif-env = A\nif-env = B\nendif =\n")
    with pytest.raises(ConfigError, match=r"recursive logic in options is not supported \(option = if-env\) "
                                          r"\(from app.ini line 3\)"):
        run("app.ini", env={"A": "1"})


def test_bad_loop_arguments(run, write):
    write("a.ini", "[uwsgi]\nfor-times = lots\nenv = X=%(_)\nendfor =\n")
    with pytest.raises(ConfigError, match=r"'for-times' expects a number, got 'lots'"):
        run("a.ini")
    write("b.ini", "[uwsgi]\nfor-readline = missing.txt\nenv = X=%(_)\nendfor =\n")
    with pytest.raises(ConfigError, match=r"'for-readline missing.txt'"):
        run("b.ini")


def test_a_loop_is_bounded(run, write):
    write("big.ini", "[uwsgi]\nfor-times = 10001\nenv = X=%(_)\nendfor =\n")
    with pytest.raises(ConfigError, match=r"'for-times 10001': more than 10000 items"):
        run("big.ini")
    write("ok.ini", "[uwsgi]\nfor-times = 10000\nenv = X=%(_)\nendfor =\n")
    assert len(run("ok.ini").env) == 10000


def test_if_hostname_match_searches_the_host_name_with_a_regexp(run, write):
    write("app.ini", """
        [uwsgi]
        if-hostname-match = ^test.o
        processes = 4
        socket = /run/%(_).sock
        endif =
        if-not-hostname-match = host$
        master = true
        else =
        harakiri = 30
        endif =
        if-hostname-match = ^host
        listen = 7
        endif =
        """)
    cfg = run("app.ini")
    assert cfg.processes == 4 and cfg.socket == ["/run/^test.o.sock"]  # %(_): the pattern, as uWSGI
    assert not cfg.master and cfg.harakiri == 30  # "host$" matched: the else block applied
    assert cfg.listen != 7  # a search, but "^host" is anchored


def test_if_hostname_match_with_a_bad_regexp_names_the_key(run, write):
    write("app.ini", """
        [uwsgi]
        if-hostname-match = (unclosed
        processes = 2
        endif =
        """)
    with pytest.raises(ConfigError, match=r"'if-hostname-match \(unclosed': not a valid regular expression"):
        run("app.ini")
