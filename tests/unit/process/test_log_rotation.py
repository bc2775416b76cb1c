"""LogMaster's rotation on a real file, without a master: the limit and its failure path."""

from __future__ import annotations

import os

from gateway.process.log_master import LogMaster


def _master(tmp_path, **kw):
    path = tmp_path / "app.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    return path, fd, LogMaster(fd=fd, path=str(path), **kw)


def test_past_maxsize_the_file_is_renamed_and_a_new_one_continues(tmp_path):
    path, fd, lm = _master(tmp_path, maxsize=100, backupname=str(tmp_path / "old.log"))
    try:
        lm.own(b"a" * 150 + b"\n")
        lm.own(b"next line\n")
    finally:
        os.close(fd)
    old = (tmp_path / "old.log").read_text()
    assert old.startswith("a" * 150 + "\n") and "logsize: 151, triggering rotation to %s" % (tmp_path / "old.log") in old
    assert path.read_text() == "next line\n" and lm.rotations == 1


def test_a_rename_that_fails_is_one_line_and_is_tried_again_only_after_another_maxsize(tmp_path):
    path, fd, lm = _master(tmp_path, maxsize=100, backupname=str(tmp_path / "no" / "such" / "dir.log"))
    try:
        lm.own(b"a" * 150 + b"\n")
        lm.own(b"short\n")  # under another 100 bytes: no second attempt
    finally:
        os.close(fd)
    text = path.read_text()
    assert text.count("cannot rotate the log to %s" % (tmp_path / "no" / "such" / "dir.log")) == 1
    assert text.endswith("short\n") and lm.rotations == 0
