"""``--static-cache-paths``: a real path read back from the cache is used only when it is one
(absolute, normalised, no NUL, the same file): the cache may hold what an app or a replication peer put
there, and the containment check compares strings."""

from __future__ import annotations

import os

import pytest

import gateway.subsystems as subsystems
from gateway.server.static_files import StaticFiles
from gateway.sharedmem.cache import SharedCache
from gateway.sharedmem.spec import CacheSpec


class _Subs:
    def __init__(self, cache: SharedCache) -> None:
        self.caches = self
        self.cache = cache

    def get(self, name):
        return self.cache


@pytest.fixture
def served(tmp_path, monkeypatch):
    root = tmp_path / "www"
    root.mkdir()
    (root / "a.txt").write_bytes(b"public")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    os.symlink(str(tmp_path), str(root / "out"))  # a symlink leading out (never served through)
    cache = SharedCache(CacheSpec.parse("name=p,items=10,blocksize=4096"))
    monkeypatch.setattr(subsystems, "current", _Subs(cache))
    files = StaticFiles(lambda e, s: [b"app"], [("/s", str(root))], paths_cache=("p", 60))
    yield files, cache, os.path.realpath(str(root))
    cache.close()


def test_a_resolved_path_is_cached_and_used(served):
    files, cache, root = served
    assert files._find("/s/a.txt")[0] == root + "/a.txt"
    assert cache.get(os.fsencode(root + "/a.txt")) == os.fsencode(root + "/a.txt")


@pytest.mark.parametrize("planted", ["{root}/../secret.txt", "{root}/./../secret.txt", "{root}/a.txt\0x",
                                     "relative/a.txt", "{root}/out/secret.txt"])
def test_a_planted_value_that_is_no_real_path_is_not_trusted(served, planted):
    files, cache, root = served
    key = os.fsencode(root + "/a.txt")
    assert cache.set(key, os.fsencode(planted.format(root=root)))
    found = files._find("/s/a.txt")  # never the file outside the directory, never an error
    assert found is not None and found[0] == root + "/a.txt"


def test_the_symlink_out_is_refused_without_the_cache_too(served):
    files, cache, root = served
    assert files._find("/s/out/secret.txt") is None
