"""ModuleWatcher: a changed module file is reported once; --py-auto-reload-ignore skips a module."""

from __future__ import annotations

import os
import sys
import types

import pytest

from gateway.process.autoreload import ModuleWatcher


@pytest.fixture
def module_file(tmp_path):
    path = tmp_path / "watched_mod.py"
    path.write_text("X = 1\n")
    mod = types.ModuleType("gw_test_watched_mod")
    mod.__file__ = str(path)
    sys.modules[mod.__name__] = mod
    yield mod.__name__, path
    sys.modules.pop(mod.__name__, None)


def _touch_later(path) -> None:
    st = os.stat(path)
    os.utime(path, (st.st_atime, st.st_mtime + 5))


def test_a_modified_module_is_reported_once(module_file):
    _, path = module_file
    watcher = ModuleWatcher()
    assert watcher.scan() is None
    _touch_later(path)
    assert watcher.scan() == str(path)
    assert watcher.scan() is None


def test_an_ignored_module_is_not_watched(module_file):
    name, path = module_file
    watcher = ModuleWatcher(ignore=[name])
    assert watcher.scan() is None
    _touch_later(path)
    assert watcher.scan() is None
