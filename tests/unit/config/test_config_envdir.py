"""daemontools envdirs: the file format (gateway/config/envdir.py) and ``early-envdir``,
whose variables the options after it see while the sources are read."""

from __future__ import annotations

import os

import pytest

from gateway.config import ConfigError
from gateway.config.envdir import EnvdirError, apply, parse_value, read_envdir


@pytest.mark.parametrize("data, value", [
    (b"", None),                             # an empty file removes the variable
    (b"\n", ""),                             # a file with an empty line sets it empty
    (b"value\n", "value"),
    (b"value  \t\r\n", "value"),             # trailing blanks go
    (b"  lead", "  lead"),                   # leading ones stay
    (b"first\nsecond\n", "first"),           # the first line only (daemontools)
    (b"a\0b\0", "a\nb\n"),                   # NUL stands for a newline
    (b"caf\xc3\xa9", "caf\u00e9"),
    (b"\xff", "\udcff"),                     # undecodable bytes survive (surrogateescape)
])
def test_parse_value(data, value):
    assert parse_value(data) == value


def test_read_envdir_skips_hidden_files_directories_and_bad_names(tmp_path):
    (tmp_path / "B").write_bytes(b"2\n")
    (tmp_path / "A").write_bytes(b"1")
    (tmp_path / "GONE").write_bytes(b"")
    (tmp_path / ".hidden").write_bytes(b"x")
    (tmp_path / "A=B").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    assert read_envdir(str(tmp_path)) == {"A": "1", "B": "2", "GONE": None}


def test_read_envdir_errors_name_the_path(tmp_path):
    with pytest.raises(EnvdirError, match="envdir %s: No such file or directory" % (tmp_path / "missing")):
        read_envdir(str(tmp_path / "missing"))
    (tmp_path / "SECRET").write_text("x")
    (tmp_path / "SECRET").chmod(0)
    if os.geteuid() != 0:  # root reads it anyway
        with pytest.raises(EnvdirError, match="SECRET: Permission denied"):
            read_envdir(str(tmp_path))


def test_apply_sets_and_removes():
    env = {"KEEP": "k", "GONE": "g"}
    apply({"NEW": "n", "GONE": None, "ABSENT": None}, env)
    assert env == {"KEEP": "k", "NEW": "n"}


def test_early_envdir_is_seen_by_later_expansions_and_conditions(run, write, tmp_path):
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "APP_PORT").write_text("8123\n")
    (tmp_path / "env" / "APP_OFF").write_text("")
    write("app.ini", """
        [uwsgi]
        http-socket = :$(APP_PORT)
        early-envdir = env
        socket = 127.0.0.1:$(APP_PORT)
        if-env = APP_PORT
        listen = %(_)
        endif =
        if-env = APP_OFF
        processes = 9
        endif =
        """)
    environ = {"APP_PORT": "1", "APP_OFF": "on"}
    cfg = run("app.ini", env=environ)
    # $(VAR) is expanded once every source is read (gateway's reading), so the envdir wins
    # everywhere; the conditions after it see it at their place
    assert cfg.socket == ["127.0.0.1:8123"] and cfg.listen == 8123 and cfg.processes == 1
    assert cfg.early_envdir == ["env"]
    assert environ == {"APP_PORT": "1", "APP_OFF": "on"}  # the caller's mapping is left alone


def test_early_envdir_that_cannot_be_read_names_the_option(run, write):
    write("app.ini", """
        [uwsgi]
        early-envdir = nowhere
        """)
    with pytest.raises(ConfigError, match=r"option 'early-envdir': envdir .*nowhere: No such file"):
        run("app.ini")
