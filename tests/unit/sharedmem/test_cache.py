"""The shared cache table: uWSGI's semantics, expiry by sweep, sharing across fork,
and consistency after a writer is SIGKILLed mid-write."""

import os
import random
import signal
import struct
import time

import pytest

from gateway.sharedmem.cache import CacheConfigError, Caches, CacheSpec, SharedCache
from support.writer_process import writer_process


def make(spec="name=c1,items=3,blocksize=64,keysize=32", slots=2):
    return SharedCache(CacheSpec.parse(spec), slots)


def test_semantics_match_uwsgi():
    # the same sequence run against uWSGI 2.0.31 (--cache2 name=c1,items=3,blocksize=64,keysize=32)
    c = make()
    assert c.set(b"a", b"1") is True
    assert c.set(b"a", b"2") is False  # set never overwrites (uWSGI returns None)
    assert c.get(b"a") == b"1"
    assert c.update(b"a", b"3") is True
    assert c.get(b"a") == b"3"
    assert c.set(b"b", b"x") is True
    assert c.set(b"c", b"x") is False  # items=3 holds 2 keys (item 0 is reserved, as in uWSGI)
    assert sorted(c.keys()) == [b"a", b"b"]
    assert c.set(b"e", b"") is False
    assert c.delete(b"zz") is False
    assert c.delete(b"b") is True
    assert c.exists(b"a") and not c.exists(b"zz")
    assert c.clear() is True and c.items_count() == 0
    assert c.math("inc", b"n", 5) is True
    assert c.num(b"n") == 5 and c.get(b"n") == struct.pack("<q", 5)
    assert c.math("dec", b"n", 1) and c.math("mul", b"n", 3) and c.num(b"n") == 12
    assert c.math("div", b"n", 0) is True and c.num(b"n") == 0  # division by 0 gives 0
    assert c.set(b"s", b"hello") is True
    assert c.math("inc", b"s", 1) is True
    assert c.get(b"s") == b"iello\x00\x00\x00"  # first 8 bytes as a number, valsize becomes 8
    c.delete(b"s")
    assert c.set(b"k" * 33, b"v") is False  # key longer than keysize
    assert c.set(b"big", b"v" * 65) is False  # value longer than blocksize
    assert c.set(b"big", b"v" * 64) is True
    st = c.stats()
    assert st["max_items"] == 3 and st["items"] == 2 and st["full"] == 1 and st["hits"] >= 6


def test_math_wraps_like_int64_and_div_truncates():
    c = make()
    c.math("inc", b"x", 2 ** 63 - 1)
    c.math("inc", b"x", 1)
    assert c.num(b"x") == -(2 ** 63)
    c.update(b"y", struct.pack("<q", -7))
    c.math("div", b"y", 2)
    assert c.num(b"y") == -3


def test_expired_items_stay_until_the_sweep():
    c = make()
    c.set(b"e", b"v", 1)
    c.set(b"keep", b"v")
    assert c.get(b"e") == b"v"
    assert c.sweep(time.time()) == 0  # not yet
    assert c.sweep(time.time() + 2) == 1
    assert c.get(b"e") is None and c.get(b"keep") == b"v"
    assert c.check() == []


def test_spec_errors_and_defaults():
    with pytest.raises(CacheConfigError, match="maximum number of cache items"):
        CacheSpec.parse("name=x")
    with pytest.raises(CacheConfigError, match="cache name"):
        CacheSpec.parse("items=3")
    with pytest.raises(CacheConfigError, match="not supported"):
        CacheSpec.parse("name=x,items=3,bitmap=1")
    s = CacheSpec.parse("name=x,items=10")
    assert (s.blocksize, s.keysize, s.hashsize) == (65536, 2048, 65536)
    cs = Caches([CacheSpec.parse("name=a,items=4,blocksize=16"), CacheSpec.parse("name=b,items=4,blocksize=16")])
    assert cs.get(None) is cs.get("a") and cs.get("b").name == "b" and cs.get("nope") is None


def test_a_value_set_in_a_child_is_read_in_the_parent():
    c = make("name=c,items=16,blocksize=32")
    pid = os.fork()
    if pid == 0:
        c.after_fork(1)
        c.set(b"from-child", b"hello")
        os._exit(0)
    os.waitpid(pid, 0)
    assert c.get(b"from-child") == b"hello"


def _churn(c, seed):
    rnd = random.Random(seed)
    keys = [b"k%d" % i for i in range(40)]
    while True:
        k = rnd.choice(keys)
        op = rnd.random()
        if op < 0.4:
            c.update(k, bytes(rnd.randrange(1, 200)))
        elif op < 0.6:
            c.set(k, b"v" * rnd.randrange(1, 100), rnd.choice((0, 0, 1)))
        elif op < 0.8:
            c.delete(k)
        elif op < 0.9:
            c.math("inc", k, 3)
        elif op < 0.995:
            c.sweep(time.time() + 5)
        else:
            c.clear()


@pytest.mark.parametrize("extra", ["", ",purge_lru=1", ",lazy_expire=1,clear_on_full=1"])
def test_writers_killed_mid_write_leave_a_consistent_cache(extra):
    # with purge_lru, check() also walks the LRU list: reads and evictions change it under the journal
    c = make("name=k,items=32,blocksize=256,keysize=16,hashsize=7" + extra, slots=4)
    rnd = random.Random(1)
    for round_ in range(25):
        pid = os.fork()
        if pid == 0:
            c.after_fork(1)
            try:
                _churn(c, round_)
            finally:
                os._exit(1)
        time.sleep(rnd.uniform(0.002, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        # the next lock holder rolls back whatever the dead writer left half done
        assert c.check() == [], "round %d" % round_
        for k in c.keys():
            if c.get(k) is None:
                # only a lazy_expire cache lists an expired item (set with expires=1 some
                # rounds ago, on a slow machine); the lookup itself removed it
                assert "lazy_expire" in extra and k not in c.keys()
        assert c.check() == [], "round %d, after the lookups" % round_
    for k in c.keys()[:2]:
        assert c.delete(k)
    assert c.update(b"after", b"ok") and c.get(b"after") == b"ok"
    assert c.check() == []


def test_the_generation_word_only_moves_forward_while_another_process_writes():
    # lock-free readers and every process's memo trust this word: it must never read
    # lower than before (struct.pack_into passed it through 0 on every write)
    c = make("name=g,items=8,blocksize=16")
    n = iter(range(1 << 62))
    last = seen = 0
    with writer_process(lambda: c.update(b"k", b"%d" % (next(n) % 1000)), lambda: c.after_fork(1)):
        deadline = time.monotonic() + 10
        while (seen < 1_000_000 or last <= 100) and time.monotonic() < deadline:  # (a starved writer)
            for _ in range(10_000):
                gen = struct.unpack_from("Q", c.buf, 8)[0]
                assert gen >= last, "generation went from %d back to %d" % (last, gen)
                last = gen
            seen += 10_000
    assert last > 100 and c.check() == []


def test_a_writer_killed_holding_the_lock_with_a_half_done_insert_is_rolled_back():
    c = make("name=h,items=8,blocksize=16,hashsize=3")
    for i in range(4):
        c.set(b"k%d" % i, b"v")
    before = sorted(c.keys())
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        c.after_fork(1)
        c.lock.__enter__()
        c._begin()
        # the first stores of an insert: pop a free item, link it, then die
        free = struct.unpack_from("<Q", c.buf, 24)[0]
        c.journal.pack(struct.Struct("<Q"), 24, free - 1)
        c.journal.pack(struct.Struct("<I"), c.hash_off, 5)
        os.write(w, b"x")
        os.kill(os.getpid(), signal.SIGKILL)
    os.read(r, 1)
    os.waitpid(pid, 0)
    assert c.check() == []
    assert sorted(c.keys()) == before
    assert c.set(b"new", b"v") is True and c.check() == []


def test_the_read_memo_sees_writes_from_other_processes():
    c = make("name=m,items=16,blocksize=32")
    c.set(b"k", b"old")
    assert c.get_memo("k") == b"old" and c.get_memo("k") == b"old"  # second read from the memo
    assert c.get_memo("absent") is None and c.get_memo(b"absent") is None
    pid = os.fork()
    if pid == 0:
        c.after_fork(1)
        c.update(b"k", b"new")
        c.set(b"absent", b"here")
        os._exit(0)
    os.waitpid(pid, 0)
    assert c.get_memo("k") == b"new" and c.get_memo(b"absent") == b"here"
    with pytest.raises(TypeError):
        c.get_memo(5)
    c.flush_counters()
    assert c.stats()["hits"] >= 4 and c.stats()["miss"] >= 2


def test_the_stats_words_never_read_zero_while_another_process_writes():
    # the stats (the master) read "full" and "last_modified_at" without the lock while workers
    # store them: struct.pack_into passed each through 0 on every store
    c = make("name=s,items=2,blocksize=16,lastmod=1,ignore_full=1")
    c.update(b"k", b"v")
    c.set(b"other", b"x")  # full: counted

    def rewrite():
        c.update(b"k", b"v")
        c.set(b"other", b"x")

    full = seen = zeros = 0
    with writer_process(rewrite, lambda: c.after_fork(1)):
        deadline = time.monotonic() + 10
        while (seen < 1_000_000 or full <= 1000) and time.monotonic() < deadline:
            for _ in range(10_000):
                stats = struct.unpack_from("<Q", c.buf, 40)[0], struct.unpack_from("<Q", c.buf, 48)[0]
                if not stats[0]:
                    zeros += 1
                assert stats[1] >= full, "full went from %d back to %d" % (full, stats[1])
                full = stats[1]
            seen += 10_000
    assert zeros == 0 and full > 1000
