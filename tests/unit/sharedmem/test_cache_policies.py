"""What a full or expiring cache does (purge_lru, sweep_on_full, clear_on_full,
lazy_expire, lastmod) and the store file (store, store_delete): uWSGI's cache2 keys."""

import os
import random
import time

import pytest

from gateway.sharedmem import layout
from gateway.sharedmem.cache import CacheConfigError, Caches, CacheSpec, SharedCache
from gateway.sharedmem.cache_store import CacheStoreError


def make(spec, slots=2):
    return SharedCache(CacheSpec.parse(spec), slots)


@pytest.fixture
def clock(monkeypatch):
    """time.time() under the test's control (the cache reads it for expiry)."""
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def test_purge_lru_evicts_the_least_recently_used_item():
    c = make("name=l,items=4,blocksize=16,keysize=8,purge_lru=1")  # 3 keys
    assert c.set(b"a", b"1") and c.set(b"b", b"2") and c.set(b"c", b"3")
    assert c.get(b"a") == b"1"  # a is now the most recently used: b is the oldest
    assert c.set(b"d", b"4") is True  # full: b goes instead of failing the set
    assert c.get(b"b") is None
    assert sorted(c.keys()) == [b"a", b"c", b"d"]
    assert c.update(b"c", b"x")  # an update is a use too: a is the oldest now
    assert c.set(b"e", b"5")
    assert sorted(c.keys()) == [b"c", b"d", b"e"]
    assert c.stats()["full"] == 2 and c.check() == []


def test_purge_lru_list_stays_consistent_under_random_operations():
    c = make("name=l,items=9,blocksize=16,keysize=8,purge_lru=1,hashsize=3")
    rnd = random.Random(7)
    model = []  # keys, least recently used first
    for _ in range(2000):
        k = b"k%d" % rnd.randrange(12)
        op = rnd.choice(("set", "update", "get", "del", "inc"))
        if op == "set":
            ok = c.set(k, b"v")
            if k not in model:
                assert ok
                if len(model) == 8:
                    model.pop(0)
                model.append(k)
            else:
                assert not ok  # set never overwrites, and does not count as a use
        elif op in ("update", "inc"):
            assert (c.update(k, b"12345678") if op == "update" else c.math("inc", k, 1))
            if k in model:
                model.remove(k)
            elif len(model) == 8:
                model.pop(0)
            model.append(k)
        elif op == "get":
            hit = c.get(k) is not None
            assert hit == (k in model)
            if hit:
                model.remove(k)
                model.append(k)
        else:
            assert c.delete(k) == (k in model)
            if k in model:
                model.remove(k)
        assert sorted(c.keys()) == sorted(model)
    assert c.check() == []
    # the list's order is the model's order
    head = layout._PAIR.unpack_from(c.buf, layout._LRU_ENDS_OFF)[0]
    order, idx = [], head
    while idx:
        off = c.items_off + idx * c.itemsize
        ks = layout._ITEM.unpack_from(c.buf, off)[1]
        order.append(bytes(c.buf[off + 32: off + 32 + ks]))
        idx = layout._PAIR.unpack_from(c.buf, c.lru_off + 8 * idx)[1]
    assert order == model


def test_purge_lru_reads_bypass_the_memo_so_each_get_counts_as_a_use():
    c = make("name=l,items=3,blocksize=16,keysize=8,purge_lru=1")
    c.set(b"a", b"1")
    c.set(b"b", b"2")
    for _ in range(3):
        assert c.get_memo("a") == b"1"
    assert c.memo_gen == -1 and not c.memo
    c.set(b"c", b"3")
    assert c.get(b"b") is None and c.get(b"a") == b"1"


def test_without_purge_lru_a_full_cache_refuses_the_set():
    c = make("name=f,items=3,blocksize=16,keysize=8")
    c.set(b"a", b"1")
    c.set(b"b", b"2")
    assert c.set(b"c", b"3") is False and c.items_count() == 2


def test_clear_on_full_empties_the_cache_then_stores(clock):
    c = make("name=f,items=3,blocksize=16,keysize=8,clear_on_full=1")
    c.set(b"a", b"1")
    c.set(b"b", b"2")
    assert c.set(b"c", b"3") is True
    assert c.keys() == [b"c"] and c.check() == []


def test_sweep_on_full_removes_expired_items_instead_of_clearing(clock):
    c = make("name=f,items=4,blocksize=16,keysize=8,sweep_on_full=60,clear_on_full=1")
    c.set(b"old", b"1", 5)
    c.set(b"keep", b"2")
    c.set(b"keep2", b"3")
    clock[0] += 10
    assert c.set(b"new", b"4") is True  # the sweep freed "old": no clear
    assert sorted(c.keys()) == [b"keep", b"keep2", b"new"]
    # within the period no sweep (and nothing expired anyway): clear_on_full clears
    assert c.set(b"more", b"5") is True
    assert c.keys() == [b"more"] and c.check() == []


def test_sweep_on_full_sweeps_at_most_once_per_period(clock):
    c = make("name=f,items=3,blocksize=16,keysize=8,sweep_on_full=60")
    c.set(b"a", b"1", 5)
    c.set(b"b", b"2", 100)
    clock[0] += 10
    assert c.set(b"c", b"3") is True  # a expired and swept
    clock[0] += 100  # b expired, but the last full-sweep was 100 s ago: allowed again
    assert c.set(b"d", b"4") is True
    c.set(b"e", b"5", 1)  # full now (c, d): refused, the sweep ran just now
    assert c.items_count() == 2
    clock[0] += 5
    assert c.set(b"f", b"6") is False  # "e" never got in; nothing expired
    clock[0] += 60
    assert c.set(b"g", b"7") is False  # swept again, nothing to free


def test_lazy_expire_removes_expired_items_on_lookup(clock):
    c = make("name=z,items=4,blocksize=16,keysize=8,lazy_expire=1")
    c.set(b"e", b"v", 2)
    c.set(b"k", b"v")
    assert c.get(b"e") == b"v"
    clock[0] += 3
    assert c.sweep(clock[0]) == 0  # lazy caches are not swept
    assert c.items_count() == 2
    assert c.get(b"e") is None and c.items_count() == 1  # removed by the lookup
    c.set(b"x", b"v", 1)
    clock[0] += 2
    assert not c.exists(b"x") and c.items_count() == 1
    c.set(b"y", b"old", 1)
    clock[0] += 2
    assert c.set(b"y", b"new") is True  # the expired item does not block a set
    assert c.get(b"y") == b"new" and c.check() == []


def test_lastmod_tracks_the_last_change(clock):
    c = make("name=m,items=4,blocksize=16,keysize=8,lastmod=1")
    assert c.stats()["last_modified_at"] == 0
    c.set(b"a", b"1")
    assert c.stats()["last_modified_at"] == int(clock[0])
    clock[0] += 50
    c.get(b"a")
    assert c.stats()["last_modified_at"] == int(clock[0]) - 50  # reads change nothing
    c.delete(b"a")
    assert c.stats()["last_modified_at"] == int(clock[0])
    plain = make("name=p,items=4,blocksize=16,keysize=8")
    plain.set(b"a", b"1")
    assert plain.stats()["last_modified_at"] == 0


def test_report_freed_items(clock, caplog):
    cs = Caches([CacheSpec.parse("name=r,items=4,blocksize=16,keysize=8")])
    cs.get("r").set(b"a", b"1", 1)
    cs.get("r").set(b"b", b"1")
    clock[0] += 5
    with caplog.at_level("INFO", logger="gateway.error"):
        assert cs.sweep(report=True) == 1
    assert 'freed 1 items for cache "r"' in caplog.text
    cs.close()


def test_spec_keys_and_aliases():
    s = CacheSpec.parse("name=x,items=3,lru=1,lazy=1,sweep_on_full=5,clear_on_full=1,lastmod=1,"
                        "store=/tmp/x,storesync=7,storedelete=1,hash=murmur2")
    assert (s.purge_lru, s.lazy_expire, s.sweep_on_full, s.clear_on_full, s.lastmod) == (True, True, 5, True, True)
    assert (s.store, s.store_sync, s.store_delete, s.hash) == ("/tmp/x", 7, True, "murmur2")
    assert CacheSpec.parse("name=x,items=3", default_store_sync=4).store_sync == 4
    with pytest.raises(CacheConfigError, match="unknown hash 'rr'"):
        CacheSpec.parse("name=x,items=3,hash=rr")
    with pytest.raises(CacheConfigError, match="'sync' is not supported by gateway: uWSGI's startup copy"):
        CacheSpec.parse("name=x,items=3,sync=127.0.0.1:4000")
    s = CacheSpec.parse("name=x,items=3,nodes=127.0.0.1:4000;127.0.0.1:4001,udp=:4002")
    assert s.nodes == ["127.0.0.1:4000", "127.0.0.1:4001"] and s.udp_servers == [":4002"]
    with pytest.raises(CacheConfigError, match="invalid udp address 'nowhere'"):
        CacheSpec.parse("name=x,items=3,node=nowhere")
    with pytest.raises(CacheConfigError, match="sweep_on_full"):
        CacheSpec.parse("name=x,items=3,sweep_on_full=lots")


# -- store ---------------------------------------------------------------------------


def test_a_stored_cache_survives_close_and_reopen(tmp_path):
    path = str(tmp_path / "c.store")
    spec = "name=s,items=5,blocksize=32,keysize=16,store=%s" % path
    c = make(spec, slots=3)
    c.set(b"a", b"1")
    c.set(b"b", b"2", 3600)
    c.math("inc", b"n", 41)
    c.close()
    assert os.stat(path).st_mode & 0o777 == 0o600
    c2 = make(spec, slots=7)  # another worker count: the file is still valid
    assert c2.get(b"a") == b"1" and c2.get(b"b") == b"2" and c2.num(b"n") == 41
    assert c2.items_count() == 3 and c2.check() == []
    assert c2.set(b"c", b"3") and not c2.set(b"d", b"4")  # the free stack is restored: 4 keys fit
    c2.close()


def test_a_store_of_another_geometry_is_refused_or_replaced(tmp_path):
    path = str(tmp_path / "c.store")
    c = make("name=s,items=5,blocksize=32,keysize=16,store=%s" % path)
    c.set(b"a", b"1")
    c.close()
    with pytest.raises(CacheStoreError, match="size"):
        make("name=s,items=6,blocksize=32,keysize=16,store=%s" % path)
    # the same size (the hash table is padded to 8 bytes), another geometry
    with pytest.raises(CacheStoreError, match="hashsize"):
        make("name=s,items=5,blocksize=32,keysize=16,hashsize=65535,store=%s" % path)
    c3 = make("name=s,items=6,blocksize=32,keysize=16,store=%s,store_delete=1" % path)
    assert c3.items_count() == 0 and c3.set(b"x", b"y")
    c3.close()
    with open(path, "r+b") as f:
        f.write(b"junk")
    with pytest.raises(CacheStoreError, match="not a gateway cache store"):
        make("name=s,items=6,blocksize=32,keysize=16,store=%s" % path)


def test_a_symlinked_store_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    os.symlink(str(target), str(tmp_path / "link"))
    with pytest.raises(CacheStoreError, match="symlink"):
        make("name=s,items=5,blocksize=32,store=%s" % (tmp_path / "link"))
    assert not target.exists()


def test_caches_turn_a_store_error_into_a_config_error(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(CacheConfigError, match='cache "s": store'):
        Caches([CacheSpec.parse("name=s,items=5,blocksize=32,store=%s" % (tmp_path / "d"))])


def test_a_store_left_mid_write_is_rolled_back_on_open(tmp_path):
    path = str(tmp_path / "c.store")
    spec = "name=s,items=5,blocksize=32,keysize=16,store=%s" % path
    c = make(spec)
    c.set(b"a", b"1")
    # a writer "dies" in the middle of an insert: journal entries published, never committed
    with c.lock:
        c._begin()
        c.journal.pack(layout._U64, layout._NITEMS_OFF, 99)
    c.buf.flush()
    c.journal.release()  # the views pin the mapping
    c.gen_word.release()
    c.header_words.release()
    c._storage.close()
    c._storage = None
    c2 = make(spec)
    assert c2.items_count() == 1 and c2.get(b"a") == b"1" and c2.check() == []
    c2.close()


def test_a_damaged_store_starts_empty(tmp_path, caplog):
    path = str(tmp_path / "c.store")
    spec = "name=s,items=5,blocksize=32,keysize=16,store=%s" % path
    c = make(spec)
    c.set(b"a", b"1")
    layout._U64.pack_into(c.buf, layout._NITEMS_OFF, 3)  # torn by a machine crash, say
    c.close()
    with caplog.at_level("WARNING", logger="gateway.error"):
        c2 = make(spec)
    assert "inconsistent" in caplog.text
    assert c2.items_count() == 0 and c2.check() == [] and c2.set(b"b", b"2")
    c2.close()


def test_a_store_keeps_the_lru_order_and_rebuilds_a_missing_one(tmp_path):
    path = str(tmp_path / "c.store")
    lru = "name=s,items=4,blocksize=32,keysize=16,purge_lru=1,store=%s" % path
    c = make(lru)
    c.set(b"a", b"1")
    c.set(b"b", b"2")
    c.set(b"c", b"3")
    c.get(b"a")
    c.close()
    c2 = make(lru)
    assert c2.set(b"d", b"4") and c2.get(b"b") is None and c2.check() == []  # b was the oldest
    c2.close()
    plain = make(lru.replace(",purge_lru=1", ""))  # a plain cache leaves the links alone...
    plain.delete(b"a")
    plain.set(b"z", b"9")
    plain.close()
    c3 = make(lru)  # ...so they are rebuilt
    assert c3.check() == [] and c3.set(b"y", b"8") and c3.items_count() == 3
    c3.close()


def test_sync_writes_the_store(tmp_path):
    path = str(tmp_path / "c.store")
    cs = Caches([CacheSpec.parse("name=s,items=4,blocksize=32,keysize=16,store=%s,store_sync=5" % path)])
    cs.get("s").set(b"a", b"1")
    cs.sync_stores(100.0)
    assert cs._next_sync["s"] == 105.0
    cs.sync_stores(101.0)  # not due
    assert cs._next_sync["s"] == 105.0
    with open(path, "rb") as f:
        assert b"a" in f.read()
    cs.close()
