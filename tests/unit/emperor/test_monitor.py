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


def _chown_link(path: str, uid: int) -> None:
    os.chown(path, uid, uid, follow_symlinks=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to other uids needs root")
def test_tyrant_scan_marks_a_symlink_owned_by_another_than_its_target(tmp_path):
    """A's symlink to B's file would give the vassal B's uid while A can swap the link before
    the vassal reads it: marked, and decide() stops such a known vassal."""
    d = tmp_path / "v"
    d.mkdir()
    theirs, mine = tmp_path / "b.ini", tmp_path / "a.ini"
    for path, uid in ((theirs, 65533), (mine, 65534)):
        path.write_text("[uwsgi]\n")
        os.chown(str(path), uid, uid)
    os.symlink(str(theirs), str(d / "swap.ini"))   # A's link to B's file
    _chown_link(str(d / "swap.ini"), 65534)
    os.symlink(str(mine), str(d / "own.ini"))      # A's link to A's file
    _chown_link(str(d / "own.ini"), 65534)
    os.symlink(str(theirs), str(d / "root.ini"))   # root's link: root could do anything anyway
    src = Source.parse(str(d), "/")
    by_name = {f.name: f for f in scan(src, tyrant=True)}
    assert (by_name["swap.ini"].uid, by_name["swap.ini"].foreign_link) == (65533, True)
    assert (by_name["own.ini"].uid, by_name["own.ini"].foreign_link) == (65534, False)
    assert by_name["root.ini"].foreign_link is False
    assert not any(f.foreign_link for f in scan(src))                    # not a tyrant: not looked at
    assert not any(f.foreign_link for f in scan(src, nofollow=True, tyrant=True))  # the link's own owner
    # a chain: A's link -> B's link -> A's file (B could swap the middle one)
    os.symlink(str(mine), str(tmp_path / "middle.ini"))
    _chown_link(str(tmp_path / "middle.ini"), 65533)
    os.symlink(str(tmp_path / "middle.ini"), str(d / "chain.ini"))
    _chown_link(str(d / "chain.ini"), 65534)
    assert {f.name: f.foreign_link for f in scan(src, tyrant=True)}["chain.ini"] is True
    k = {by_name["swap.ini"].key: known(uid=65533, gid=65533)}
    assert decide(k, [by_name["swap.ini"]], [src], tyrant=True) == [("stop", by_name["swap.ini"].key, "permissions")]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to other uids needs root")
def test_tyrant_scan_looks_at_symlinked_directories_of_a_glob(tmp_path):
    d = tmp_path / "v"
    d.mkdir()
    real = tmp_path / "real"
    real.mkdir()
    (real / "app.ini").write_text("[uwsgi]\n")
    os.chown(str(real / "app.ini"), 65533, 65533)
    os.symlink(str(real), str(d / "sub"))
    _chown_link(str(d / "sub"), 65534)
    [f] = scan(Source.parse(str(d) + "/*/*.ini", "/"), tyrant=True)
    assert (f.uid, f.foreign_link) == (65533, True)
