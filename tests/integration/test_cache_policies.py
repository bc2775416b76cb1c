"""Cache policies, store files and startup items through the real CLI
(tests/apps/cache_policies_app.py): purge_lru eviction seen by uwsgi.cache_*, a store
that survives a restart, --add-cache-item / --load-file-in-cache(-gzip) / --check-cache,
--cache-report-freed-items."""

from __future__ import annotations

import base64
import gzip
import json
import os
import time

import pytest

from server import run_cli, run_server
from support.httpclient import request

pytestmark = pytest.mark.timeout(90)

APP = ["--wsgi-file", "tests/apps/cache_policies_app.py", "--tornado", "4", "--greenlet"]


def out(port: int, path: str):
    r = request(port, path)
    assert r.status == 200, (r, r.body)
    return json.loads(r.body)["out"]


def test_purge_lru_evicts_the_least_recently_used_key_across_workers():
    args = APP + ["--master", "--processes", "2", "--cache2", "name=l,items=4,blocksize=64,purge_lru=1"]
    with run_server(args) as srv:
        for k in "abc":
            assert out(srv.port, "/set?c=l&k=%s&v=%s" % (k, k.upper())) is True
        assert out(srv.port, "/get?c=l&k=a") == "A"  # a is used: b is now the oldest
        assert out(srv.port, "/set?c=l&k=d&v=D") is True  # full: evicts b instead of failing
        assert out(srv.port, "/keys?c=l") == ["a", "c", "d"]
        assert out(srv.port, "/get?c=l&k=b") is None
        srv.wait_for_line('LRU item will be purged from cache "l"')


def test_a_full_cache_without_a_policy_refuses_and_clear_on_full_clears():
    with run_server(APP + ["--cache2", "name=f,items=3,blocksize=64",
                           "--cache2", "name=cl,items=3,blocksize=64,clear_on_full=1"]) as srv:
        for c in ("f", "cl"):
            assert out(srv.port, "/set?c=%s&k=a&v=1" % c) and out(srv.port, "/set?c=%s&k=b&v=2" % c)
        assert out(srv.port, "/set?c=f&k=x&v=3") is None
        assert out(srv.port, "/keys?c=f") == ["a", "b"]
        assert out(srv.port, "/set?c=cl&k=x&v=3") is True
        assert out(srv.port, "/keys?c=cl") == ["x"]


def test_a_stored_cache_survives_a_restart(tmp_path):
    store = str(tmp_path / "cache.store")
    legacy = str(tmp_path / "legacy.store")
    args = APP + ["--master", "--cache2", "name=s,items=10,blocksize=64,store=%s,store_sync=1" % store,
                  "--cache", "5", "--cache-blocksize", "32", "--cache-store", legacy]
    with run_server(args) as srv:
        assert out(srv.port, "/set?c=s&k=kept&v=across+restarts") is True
        assert out(srv.port, "/set?c=default&k=old&v=style") is True
        srv.wait_for_line("creating a new cache store file: %s" % store)
    with run_server(args) as srv:
        srv.wait_for_line("recovered cache from backing store file: %s" % store)
        assert out(srv.port, "/get?c=s&k=kept") == "across restarts"
        assert out(srv.port, "/get?c=default&k=old") == "style"
        assert out(srv.port, "/keys?c=s") == ["kept"]
    assert os.path.getsize(store) > 10 * 64
    # another geometry: refused with the file named, unless store_delete
    bad = run_cli(["--http-socket", "127.0.0.1:0"] + APP + ["--cache2", "name=s,items=11,blocksize=64,store=%s" % store])
    assert bad.returncode != 0
    assert 'cache "s": store %s: invalid cache store file' % store in bad.stderr + bad.stdout
    with run_server(APP + ["--cache2", "name=s,items=11,blocksize=64,store=%s,store_delete=1" % store]) as srv:
        srv.wait_for_line("Removing invalid cache store file: %s" % store)
        assert out(srv.port, "/keys?c=s") == []


def test_startup_items_and_check_cache(tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(b"<p>from a file</p>" * 3)
    args = APP + ["--cache2", "name=one,items=10,blocksize=256", "--cache2", "name=two,items=10,blocksize=256",
                  "--add-cache-item", "/hello=world", "--add-cache-item", "two only=here",
                  "--load-file-in-cache", "one %s" % page, "--load-file-in-cache-gzip", "two %s" % page,
                  "--check-cache"]
    with run_server(args) as srv:
        # no cache named: every cache; "CACHE " prefix: that cache only
        assert out(srv.port, "/get?c=one&k=/hello") == "world" and out(srv.port, "/get?c=two&k=/hello") == "world"
        assert out(srv.port, "/get?c=two&k=only") == "here" and out(srv.port, "/get?c=one&k=only") is None
        assert out(srv.port, "/get?c=one&k=%s" % page) == "<p>from a file</p>" * 3
        gz = base64.b64decode(out(srv.port, "/get?c=two&k=%s&b64=1" % page))
        assert gzip.decompress(gz) == page.read_bytes()
        # --check-cache: GET /hello is answered from the first cache, the app never sees it
        r = request(srv.port, "/hello")
        assert r.status == 200 and r.body == b"world"
        assert request(srv.port, "/hello?x=1").body == b'{"out": "app:/hello?x=1"}'  # the key is the full URI
        assert request(srv.port, "/hello", method="POST", body=b"").body.startswith(b'{"out"')
        srv.wait_for_line('stored "/hello" in "two"')


def test_check_cache_names_an_existing_cache_and_bad_items_are_refused():
    r = run_cli(["--http-socket", "127.0.0.1:0"] + APP + ["--cache2", "name=one,items=10", "--check-cache=nope"])
    assert r.returncode != 0 and 'unable to find cache "nope"' in r.stderr + r.stdout
    r = run_cli(["--http-socket", "127.0.0.1:0"] + APP + ["--cache2", "name=one,items=10", "--add-cache-item", "novalue"])
    assert r.returncode != 0 and "add-cache-item" in r.stderr + r.stdout


def test_report_freed_items_and_cache_no_expire():
    base = APP + ["--cache2", "name=e,items=10,blocksize=64", "--cache-expire-freq", "1"]
    with run_server(base + ["--cache-report-freed-items"]) as srv:
        assert out(srv.port, "/set?c=e&k=t&v=1&e=1") is True
        srv.wait_for_line('freed 1 items for cache "e"', timeout=15)
        assert out(srv.port, "/get?c=e&k=t") is None
    with run_server(base + ["--cache-no-expire", "--cache-report-freed-items"]) as srv:
        assert out(srv.port, "/set?c=e&k=t&v=1&e=1") is True
        deadline = time.monotonic() + 4  # four sweeper periods: nothing may be freed
        while time.monotonic() < deadline:
            assert out(srv.port, "/get?c=e&k=t") == "1"
            time.sleep(0.5)
        assert "freed" not in srv.output()


def test_static_cache_paths_keeps_resolved_paths_in_the_cache(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"file a")
    (tmp_path / "b.txt").write_bytes(b"file b")
    os.symlink("a.txt", str(tmp_path / "link.txt"))
    args = APP + ["--cache2", "name=p,items=10,blocksize=4096", "--static-map", "/s=%s" % tmp_path,
                  "--static-cache-paths", "60", "--static-cache-paths-name", "p"]
    with run_server(args) as srv:
        assert request(srv.port, "/s/link.txt").body == b"file a"
        key = "%s/link.txt" % os.path.realpath(str(tmp_path))
        assert key in out(srv.port, "/keys?c=p")
        assert out(srv.port, "/get?c=p&k=%s" % key) == "%s/a.txt" % os.path.realpath(str(tmp_path))
        os.unlink(str(tmp_path / "link.txt"))
        os.symlink("b.txt", str(tmp_path / "link.txt"))
        # the cached path is no longer the file asked for: resolved again (uWSGI would serve the
        # stale a.txt for 60 s; gateway uses a cached path only while it is the same file)
        assert request(srv.port, "/s/link.txt").body == b"file b"
        assert out(srv.port, "/get?c=p&k=%s" % key) == "%s/b.txt" % os.path.realpath(str(tmp_path))
        assert out(srv.port, "/del?c=p&k=%s" % key) is True
        assert request(srv.port, "/s/link.txt").body == b"file b"
    r = run_cli(["--http-socket", "127.0.0.1:0"] + APP + ["--static-map", "/s=%s" % tmp_path,
                                                          "--static-cache-paths", "60"])
    assert r.returncode != 0 and "caching of static paths requires a cache" in r.stderr + r.stdout
