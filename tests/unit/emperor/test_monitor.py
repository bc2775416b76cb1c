"""The Emperor's scan decisions, vassal command lines and environment (no processes)."""

from __future__ import annotations

import os

import pytest

from gateway.emperor.monitor import (
    Found,
    Known,
    Source,
    config_flag,
    decide,
    is_valid,
    scan,
    vassal_args,
    vassal_environ,
)

SRC = Source("dir", "/etc/vassals", "/")
OTHER = Source("glob", "/srv/*.ini", "/")


def found(name: str, mtime: float = 10.0, uid: int = 1000, gid: int = 1000, source: Source = SRC) -> Found:
    return Found(source, name, "/etc/vassals/" + name, mtime, uid, gid)


def known(mtime: float = 10.0, uid: int = 1000, gid: int = 1000, stopping: bool = False,
          source: Source = SRC) -> Known:
    return Known(source, mtime, uid, gid, stopping)


@pytest.mark.parametrize("name, flag", [
    ("app.ini", "--ini"), ("app.xml", "--xml"), ("app.yaml", "--yaml"), ("app.yml", "--yaml"),
    ("app.json", "--json"), ("app.js", "--json"), ("app.conf", None), ("app.ini~", None), ("ini", None),
])
def test_config_flag_by_extension(name, flag):
    assert config_flag(name) == flag
    assert is_valid(name) is (flag is not None)


def test_name_of_255_bytes_is_refused_as_uwsgi():
    assert is_valid("a" * 250 + ".ini")
    assert not is_valid("a" * 251 + ".ini")


def test_new_file_starts_newer_reloads_same_is_left_alone():
    k = {"/etc/vassals/a.ini": known(10.0), "/etc/vassals/b.ini": known(10.0)}
    actions = decide(k, [found("a.ini", 10.0), found("b.ini", 10.5), found("c.ini")], [SRC])
    assert [(a, getattr(x, "name", x)) for a, x, _ in actions] == [("reload", "/etc/vassals/b.ini"), ("start", "c.ini")]


def test_an_older_mtime_does_not_reload():
    assert decide({"/etc/vassals/a.ini": known(10.0)}, [found("a.ini", 9.0)], [SRC]) == []


def test_gone_file_stops_only_vassals_of_the_scanned_sources():
    k = {"/etc/vassals/a.ini": known(), "/srv/x.ini": known(source=OTHER)}
    assert decide(k, [], [SRC]) == [("stop", "/etc/vassals/a.ini", "gone")]


def test_stopping_vassals_are_left_alone():
    k = {"/etc/vassals/a.ini": known(10.0, stopping=True), "/etc/vassals/b.ini": known(stopping=True)}
    assert decide(k, [found("a.ini", 20.0)], [SRC]) == []


def test_tyrant_stops_a_vassal_whose_file_changed_owner():
    k = {"/etc/vassals/a.ini": known(uid=1000)}
    assert decide(k, [found("a.ini", 20.0, uid=1001)], [SRC], tyrant=True) == [("stop", "/etc/vassals/a.ini", "permissions")]
    # without tyrant the owner is not looked at
    assert [a for a, _, _ in decide(k, [found("a.ini", 20.0, uid=1001)], [SRC])] == ["reload"]


def test_vassal_args_in_uwsgi_order():
    args = vassal_args("app.yml", inherit_before=["/t/b.ini"], include_before=["/t/c.ini"], sets=["processes=2"],
                       inherit=["/t/i.ini"], include=["/t/j.ini"])
    assert args == ["--inherit", "/t/b.ini", "--include", "/t/c.ini", "--set", "processes=2", "--yaml", "app.yml",
                    "--inherit", "/t/i.ini", "--include", "/t/j.ini"]


def test_vassal_environ():
    env = vassal_environ({"PATH": "/bin", "UWSGI_RELOADS": "3", "NOTIFY_SOCKET": "/run/x", "UWSGI_EMPEROR": "/v",
                          "UWSGI_EMPEROR_FREQ": "1", "UWSGI_VASSALS_INHERIT": "/t.ini", "UWSGI_VASSAL_PROCESSES": "4",
                          "UWSGI_HARAKIRI": "30", "UWSGI_VASSAL_SET": "a=b"}, 7)
    assert env == {"PATH": "/bin", "UWSGI_PROCESSES": "4", "UWSGI_HARAKIRI": "30", "UWSGI_EMPEROR_FD": "7"}


def test_source_directory_glob_and_prefixes(tmp_path):
    d = tmp_path / "vassals"
    d.mkdir()
    assert Source.parse(str(d), "/") == Source("dir", str(d), "/")
    assert Source.parse("vassals", str(tmp_path)) == Source("dir", str(d), str(tmp_path))
    assert Source.parse("dir://" + str(d), "/").kind == "dir"
    assert Source.parse(str(d) + "/*.ini", "/") == Source("glob", str(d) + "/*.ini", "/")
    assert Source.parse("glob://" + str(d), "/").kind == "glob"
    with pytest.raises(ValueError, match="no such directory"):
        Source.parse(str(tmp_path / "missing"), "/")


def test_scan_directory_and_glob(tmp_path):
    d = tmp_path / "v"
    d.mkdir()
    for name in ("a.ini", "b.yaml", "notes.txt"):
        (d / name).write_text("[uwsgi]\n")
    (d / "dir.ini").mkdir()  # not a regular file
    os.symlink(str(d / "a.ini"), str(d / "link.ini"))  # followed, as uWSGI
    names = [f.name for f in scan(Source.parse(str(d), "/"))]
    assert names == ["a.ini", "b.yaml", "link.ini"]
    globbed = scan(Source.parse("v/*.ini", str(tmp_path)))
    assert [f.name for f in globbed] == ["v/a.ini", "v/link.ini"]
    assert globbed[0].path == str(d / "a.ini") and globbed[0].cwd == str(tmp_path)
    assert scan(Source.parse(str(d), "/"))[0].cwd == str(d)


def test_nofollow_takes_the_links_own_time(tmp_path):
    d = tmp_path / "v"
    d.mkdir()
    target = tmp_path / "real.ini"
    target.write_text("[uwsgi]\n")
    os.utime(str(target), (1000, 1000))
    os.symlink(str(target), str(d / "app.ini"))
    os.utime(str(d / "app.ini"), (2000, 2000), follow_symlinks=False)
    src = Source.parse(str(d), "/")
    assert [f.mtime for f in scan(src)] == [1000]
    assert [f.mtime for f in scan(src, nofollow=True)] == [2000]
    os.symlink(str(tmp_path / "missing.ini"), str(d / "dangling.ini"))
    assert [f.name for f in scan(src)] == ["app.ini"]
    assert [f.name for f in scan(src, nofollow=True)] == ["app.ini", "dangling.ini"]
