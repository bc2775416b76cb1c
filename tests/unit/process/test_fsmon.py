"""gateway.process.fsmon: inotify's byte stream parsed without a kernel, the polling
signature, and a real inotify watch on a temporary directory (Linux)."""

from __future__ import annotations

import os
import struct

import pytest

from gateway.process import fsmon


def event(wd: int, mask: int, name: bytes = b"") -> bytes:
    padded = name + b"\0" * ((16 - len(name) % 16) % 16 if name else 0)
    return struct.pack("iIII", wd, mask, 0, len(padded)) + padded


def test_parse_events_whole_and_with_a_truncated_tail():
    data = event(1, fsmon.IN_MODIFY, b"a.txt") + event(2, fsmon.IN_CREATE) + event(1, fsmon.IN_DELETE, b"b")
    assert fsmon.parse_events(data) == [(1, fsmon.IN_MODIFY, b"a.txt"), (2, fsmon.IN_CREATE, b""),
                                        (1, fsmon.IN_DELETE, b"b")]
    for cut in range(1, len(data)):  # a partial event at the end is left out, never misread
        got = fsmon.parse_events(data[:cut])
        assert got == fsmon.parse_events(data)[:len(got)]
    assert fsmon.parse_events(b"") == []


def test_the_polling_signature_sees_an_entry_change_in_a_directory(tmp_path):
    (tmp_path / "a").write_text("1")
    watch = fsmon.PollingWatch(str(tmp_path))
    assert not watch.changed()
    (tmp_path / "a").write_text("22")  # an entry's size and mtime: the directory's own stat may not move
    assert watch.changed() and not watch.changed()
    (tmp_path / "b").write_text("")
    assert watch.changed()
    os.unlink(str(tmp_path / "b"))
    assert watch.changed()


def test_the_polling_signature_is_bounded(tmp_path):
    for i in range(5):
        (tmp_path / ("f%d" % i)).write_text("")
    own, entries = fsmon.signature(str(tmp_path), max_entries=3)
    assert [name for name, _ in entries] == ["f0", "f1", "f2"]


def test_a_missing_path_is_polled_until_it_appears(tmp_path):
    path = tmp_path / "later"
    watch = fsmon.PollingWatch(str(path))
    assert not watch.changed()
    path.write_text("")
    assert watch.changed()


def test_inotify_reports_an_entry_modified_in_a_watched_directory(tmp_path):
    entry = tmp_path / "e"
    entry.write_text("x")
    try:
        ino, by_wd, polled = fsmon.watch_all([str(tmp_path), str(tmp_path / "missing")])
    except OSError:
        pytest.skip("no inotify")
    if ino is None:
        pytest.skip("no inotify")
    try:
        assert polled == [str(tmp_path / "missing")]
        assert ino.read() == []
        entry.write_text("y")
        events = ino.read()
        assert events and all(by_wd[wd] == [str(tmp_path)] for wd, _, _ in events)
        assert any(mask & fsmon.IN_MODIFY and name == b"e" for _, mask, name in events)
    finally:
        ino.close()
