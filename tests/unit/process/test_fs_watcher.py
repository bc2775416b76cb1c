"""gateway.process.triggers.FsWatcher driven by hand: a fake master records the reader and
the timers the watcher asks for, the test runs them (real inotify, real files)."""

from __future__ import annotations

import os

import pytest

from gateway.process import fsmon
from gateway.process.triggers import FsWatcher


class FakeMaster:
    def __init__(self):
        self.readers = {}
        self.timers = []
        self.fork_hooks = []

    def add_reader(self, fd, callback):
        self.readers[fd] = callback

    def call_later(self, delay, callback):
        self.timers.append(callback)

    def on_fork_child(self, callback):
        self.fork_hooks.append(callback)

    def run_timers(self):
        timers, self.timers = self.timers, []
        for callback in timers:
            callback()


def drain(master):
    """Run the inotify reader the way the master's loop does when its fd is readable."""
    import select

    for fd, callback in master.readers.items():
        while select.select([fd], [], [], 0.5)[0]:
            callback()


@pytest.fixture
def inotify_available():
    try:
        fsmon.Inotify().close()
    except OSError:
        pytest.skip("no inotify")


def test_an_entry_change_fires_once_per_batch_and_a_replaced_file_is_polled_after(tmp_path, inotify_available):
    fired = []
    watched = tmp_path / "dir"
    watched.mkdir()
    single = tmp_path / "single.conf"
    single.write_text("a")
    master = FakeMaster()
    watcher = FsWatcher(master, {str(watched): [lambda: fired.append("dir")],
                                 str(single): [lambda: fired.append("file")]}, 1.0)
    assert len(master.readers) == 1 and watcher.polled == {}
    for i in range(5):  # a burst of events: one action per path per read
        (watched / ("f%d" % i)).write_text("x")
    drain(master)
    assert fired.count("dir") >= 1 and fired.count("dir") < 5 and "file" not in fired
    fired.clear()
    # an editor's save: a new file renamed over the watched one; the old inode's watch goes away
    tmp = tmp_path / "single.conf.tmp"
    tmp.write_text("b")
    os.replace(str(tmp), str(single))
    drain(master)
    assert fired == ["file"] and str(single) in watcher.polled
    fired.clear()
    master.run_timers()
    assert fired == []  # nothing changed since
    single.write_text("longer content")
    master.run_timers()
    assert fired == ["file"]
    master.fork_hooks[0]()  # a child closes the descriptor
    assert watcher.inotify is not None and watcher.inotify.fd == -1
