"""Items put in the caches at startup: ``--load-file-in-cache``,
``--load-file-in-cache-gzip`` and ``--add-cache-item`` (uWSGI's order, cache by cache).

Each value is ``[CACHE ]REST``: text up to the first space names the cache; without a
space the item goes to every cache (as in uWSGI).  A file is stored under its path as
given (the key a request for it would use with ``--check-cache`` when the path is the
URI).  Items are stored with ``set``: a key already there (a ``store`` file recovered
from the previous run) keeps its value.  Failures are logged, never fatal (uWSGI).
"""

from __future__ import annotations

import gzip
import os
from typing import List, Optional, Sequence, Tuple

from gateway.logs import gen_log
from gateway.sharedmem.cache import Caches, SharedCache

#: the largest file --load-file-in-cache reads (a value never exceeds a block anyway)
MAX_FILE = 64 * 1024 * 1024


def split_target(text: str) -> Tuple[Optional[str], str]:
    """``"name rest"`` -> ``("name", "rest")``; ``"rest"`` -> ``(None, "rest")``."""
    cache, sep, rest = text.partition(" ")
    return (cache, rest) if sep else (None, text)


def parse_item(text: str) -> Tuple[Optional[str], bytes, bytes]:
    """``[CACHE ]KEY=VALUE`` -> ``(cache, key, value)``; ValueError without ``=``."""
    cache, rest = split_target(text)
    key, sep, value = rest.partition("=")
    if not sep:
        raise ValueError("expected [CACHE ]KEY=VALUE, got %r" % text)
    return cache, key.encode("utf-8"), value.encode("utf-8")


def _read(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE + 1)
    except OSError as e:
        gen_log.error('[cache-error] unable to read file "%s": %s', path, e.strerror or e)
        return None
    if len(data) > MAX_FILE:
        gen_log.error('[cache-error] file "%s" is larger than %d bytes', path, MAX_FILE)
        return None
    return data


def _store(cache: SharedCache, key: bytes, value: bytes, tag: str) -> None:
    shown = key.decode("utf-8", "replace")
    if cache.set(key, value):
        gen_log.info('[%s] stored "%s" in "%s"', tag, shown, cache.name)
    else:
        gen_log.error('[cache-error] unable to store "%s" in "%s"', shown, cache.name)


def _targets(caches: Caches, name: Optional[str], option: str, text: str) -> List[SharedCache]:
    if name is None:
        return list(caches.caches)
    cache = caches.by_name.get(name)
    if cache is None:
        gen_log.warning("--%s %s: no cache named %r (skipped)", option, text, name)
        return []
    return [cache]


def preload(caches: Caches, files: Sequence[str] = (), gzip_files: Sequence[str] = (),
            items: Sequence[str] = ()) -> None:
    """Store the startup items in ``caches`` (before the first fork)."""
    if not caches.caches:
        if files or gzip_files or items:
            gen_log.warning("--add-cache-item/--load-file-in-cache without a cache: nothing stored")
        return
    for option, entries, tag in (("load-file-in-cache", files, "cache"),
                                 ("load-file-in-cache-gzip", gzip_files, "cache-gzip")):
        for text in entries:
            name, path = split_target(text)
            targets = _targets(caches, name, option, text)
            if not targets:
                continue
            data = _read(path)
            if data is None:
                continue
            if tag == "cache-gzip":
                data = gzip.compress(data, mtime=0)
            for cache in targets:
                _store(cache, os.fsencode(path), data, tag)
    for text in items:
        try:
            name, key, value = parse_item(text)
        except ValueError:
            gen_log.error("[cache] unable to store item %s", text)
            continue
        for cache in _targets(caches, name, "add-cache-item", text):
            _store(cache, key, value, "cache")
