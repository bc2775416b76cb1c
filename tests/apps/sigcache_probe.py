"""Signals and caches, run unchanged under real uWSGI and under gateway
(``tests/integration/test_signals_caches_vs_uwsgi.py`` compares the answers).

Every signal handler appends one line ``TAG SIGNUM WORKER_ID MULE_ID TIME`` to the file named by the
environment variable ``SIGCACHE_LOG`` (``O_APPEND``: one ``write`` per line, so lines of several
processes never mix), which ``GET /log`` answers as a JSON list of lines.  Handlers are
registered at import time (uWSGI: in the master, before the fork) on signals 1..29 and by
requests (``/register?num=N&target=T``: in the worker that serves it).  ``/signal?num=N`` raises
a signal from a request, ``/spool?num=N`` from the spooler, ``/wait`` waits for one; ``/cache``, ``/cache_late``, ``/signals`` and
``/store`` run their steps once, in order.
"""

import json
import os
import sys
import time
from urllib.parse import parse_qs

import uwsgi
import uwsgidecorators

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # (uWSGI's --wsgi-file does not)
from probe_steps import outcome

LOG = os.environ.get("SIGCACHE_LOG", "/dev/null")
WATCHED = os.environ.get("SIGCACHE_WATCHED", "/dev/null")


def record(tag, num):
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, ("%s %d %d %d %.3f\n" % (tag, num, uwsgi.worker_id(), uwsgi.mule_id(), time.time())).encode())
    finally:
        os.close(fd)


def handler(num):
    record("h", num)


def raising(num):
    record("r", num)
    raise RuntimeError("handler boom %d" % num)


#: signal number -> target, registered at import time
TARGETS = {1: "", 2: "worker", 3: "workers", 4: "worker1", 5: "worker2", 6: "active-workers",
           7: "worker0", 8: "spooler", 9: "mule", 10: "mules", 11: "mule1", 12: "cluster",
           13: "subscribed", 14: "nowhere", 15: "worker3", 16: "farm_nope", 17: "WORKERS"}
if not uwsgi.mule_id():
    for _num, _target in sorted(TARGETS.items()):
        uwsgi.register_signal(_num, _target, handler)
    #: what the master's import-time calls answered (``/import``)
    AT_IMPORT = {
        "register_again": outcome(lambda: uwsgi.register_signal(1, "workers", handler)),
        "registered": outcome(lambda: uwsgi.signal_registered(1)),
        "signal_unregistered": outcome(lambda: uwsgi.signal(98)),
        "add_timer_no_handler": outcome(lambda: uwsgi.add_timer(97, 3600)),
    }
    uwsgi.register_signal(18, "workers", raising)
    uwsgi.register_signal(25, "workers", handler)  # (raised by the spooler: /spool)
    uwsgi.register_signal(19, "workers", handler)  # (a timer's, below)
    uwsgi.add_timer(19, 1)
    uwsgi.register_signal(28, "workers", handler)  # (the file monitor's)
    uwsgi.add_file_monitor(28, WATCHED)

    @uwsgidecorators.signal(20)
    def _decorated(num):
        record("d", num)

    @uwsgidecorators.signal(21, target="workers")
    def _decorated_all(num):
        record("d", num)

    @uwsgidecorators.rbtimer(1, signum=22)
    def _rbtimer(num):
        record("rb", num)

    @uwsgidecorators.cron(-1, -1, -1, -1, -1, signum=23)
    def _cron(num):
        record("cron", num)

    @uwsgidecorators.filemon(WATCHED, signum=24)
    def _filemon(num):
        record("fm", num)

    @uwsgidecorators.lock
    def _locked():
        return uwsgi.is_locked()


def _spooler(env):
    """A task of ``/spool``: raise its signal from the spooler."""
    uwsgi.signal(int(env[b"num"]))
    return uwsgi.SPOOL_OK


uwsgi.spooler = _spooler


def cache_steps():
    """The cache steps, in order (the caches are the module's ``CACHES`` options)."""
    big = "x" * 16
    return [
        # small: items=4 (3 keys), blocksize=16, keysize=8
        ("at_blocksize", lambda: uwsgi.cache_set("a", big, 0, "small")),
        ("over_blocksize", lambda: uwsgi.cache_set("b", big + "y", 0, "small")),
        ("update_over_blocksize", lambda: uwsgi.cache_update("a", big + "y", 0, "small")),
        ("get_at_blocksize", lambda: uwsgi.cache_get("a", "small")),
        ("key_at_keysize", lambda: uwsgi.cache_set("k" * 8, "v", 0, "small")),
        ("key_over_keysize", lambda: uwsgi.cache_set("k" * 9, "v", 0, "small")),
        ("get_key_over_keysize", lambda: uwsgi.cache_get("k" * 9, "small")),
        ("exists_key_over_keysize", lambda: uwsgi.cache_exists("k" * 9, "small")),
        ("del_key_over_keysize", lambda: uwsgi.cache_del("k" * 9, "small")),
        ("unicode_key", lambda: uwsgi.cache_set("\u00e9t\u00e9", "summer", 0, "small")),
        ("unicode_key_bytes", lambda: uwsgi.cache_get("\u00e9t\u00e9".encode(), "small")),
        ("unicode_key_over", lambda: uwsgi.cache_set("\u00e9\u00e9\u00e9\u00e9\u00e9", "v", 0, "small")),
        ("full_set", lambda: uwsgi.cache_set("d", "v", 0, "small")),
        ("full_update", lambda: uwsgi.cache_update("d", "v", 0, "small")),
        ("full_update_existing", lambda: uwsgi.cache_update("a", "w", 0, "small")),
        ("full_inc", lambda: uwsgi.cache_inc("n", 1, 0, "small")),
        ("full_keys", lambda: sorted(uwsgi.cache_keys("small"))),
        ("del_then_set", lambda: (uwsgi.cache_del("a", "small"), uwsgi.cache_set("d", "v", 0, "small"))),
        ("empty_value", lambda: uwsgi.cache_update("d", "", 0, "small")),
        ("get_after_empty", lambda: uwsgi.cache_get("d", "small")),
        ("exists_after_empty", lambda: uwsgi.cache_exists("d", "small")),
        ("clear", lambda: uwsgi.cache_clear("small")),
        ("keys_cleared", lambda: uwsgi.cache_keys("small")),
        ("num_nonint", lambda: (uwsgi.cache_set("s", "abc", 0, "small"), uwsgi.cache_num("s", "small"))),
        ("num_8bytes", lambda: (uwsgi.cache_set("e", "12345678", 0, "small"), uwsgi.cache_num("e", "small"))),
        ("inc_8bytes_str", lambda: (uwsgi.cache_inc("e", 1, 0, "small"), uwsgi.cache_get("e", "small"))),
        ("inc_on_3_bytes", lambda: (uwsgi.cache_inc("s", 1, 0, "small"), uwsgi.cache_get("s", "small"))),
        ("inc_negative", lambda: (uwsgi.cache_inc("m", -5, 0, "small"), uwsgi.cache_num("m", "small"))),
        ("dec_below_zero", lambda: (uwsgi.cache_dec("m", 10, 0, "small"), uwsgi.cache_num("m", "small"))),
        ("mul", lambda: (uwsgi.cache_mul("m", -3, 0, "small"), uwsgi.cache_num("m", "small"))),
        ("div", lambda: (uwsgi.cache_div("m", 4, 0, "small"), uwsgi.cache_num("m", "small"))),
        ("div_zero", lambda: (uwsgi.cache_div("m", 0, 0, "small"), uwsgi.cache_num("m", "small"))),
        ("div_missing", lambda: (uwsgi.cache_clear("small"), uwsgi.cache_div("q", 5, 0, "small"),
                                 uwsgi.cache_num("q", "small"))),
        ("mul_missing", lambda: (uwsgi.cache_mul("p", 5, 0, "small"), uwsgi.cache_num("p", "small"))),
        ("dec_missing", lambda: (uwsgi.cache_dec("o", 5, 0, "small"), uwsgi.cache_num("o", "small"))),
        ("inc_float", lambda: uwsgi.cache_inc("p", 1.5, 0, "small")),
        ("inc_huge", lambda: uwsgi.cache_inc("p", 2 ** 64, 0, "small")),
        ("inc_wrap", lambda: (uwsgi.cache_clear("small"), uwsgi.cache_inc("w", 2 ** 63 - 1, 0, "small"),
                              uwsgi.cache_inc("w", 1, 0, "small"), uwsgi.cache_num("w", "small"))),
        ("append", lambda: getattr(uwsgi, "cache_append", None) is not None),
        ("prepend", lambda: getattr(uwsgi, "cache_prepend", None) is not None),
        ("set_expires_get", lambda: (uwsgi.cache_set("t", "v", 1, "small"), uwsgi.cache_get("t", "small"))),
        ("set_negative_expires", lambda: uwsgi.cache_set("u", "v", -1, "small")),
        ("get_negative_expires", lambda: uwsgi.cache_get("u", "small")),
        ("set_str_expires", lambda: uwsgi.cache_set("u", "v", "1", "small")),
        ("keys_bytes_name", lambda: sorted(uwsgi.cache_keys("small"))),
        ("missing_cache_inc", lambda: uwsgi.cache_inc("n", 1, 0, "nope")),
        ("missing_cache_update", lambda: uwsgi.cache_update("n", "v", 0, "nope")),
        ("missing_cache_num", lambda: uwsgi.cache_num("n", "nope")),
        ("no_args_get", lambda: uwsgi.cache_get()),
        ("none_name", lambda: uwsgi.cache_exists("nn", None)),
        # legacy: --cache 5 (4 keys) --cache-blocksize 32
        ("legacy_fill", lambda: [uwsgi.cache_set("L%d" % i, "v", 0) for i in range(6)]),
        ("legacy_keys", lambda: sorted(uwsgi.cache_keys())),
        ("default_is_legacy", lambda: uwsgi.cache_get("L0", "default")),
        ("legacy_blocksize", lambda: (uwsgi.cache_update("L0", "x" * 32), uwsgi.cache_update("L0", "x" * 33))),
        # lru: items=4, purge_lru
        ("lru_fill", lambda: [uwsgi.cache_set(k, k, 0, "lru") for k in "abc"]),
        ("lru_touch_a", lambda: uwsgi.cache_get("a", "lru")),
        ("lru_set_d", lambda: uwsgi.cache_set("d", "d", 0, "lru")),
        ("lru_keys", lambda: sorted(uwsgi.cache_keys("lru"))),
        ("lru_update_a", lambda: uwsgi.cache_update("a", "A", 0, "lru")),
        ("lru_set_e", lambda: uwsgi.cache_set("e", "e", 0, "lru")),
        ("lru_keys_after", lambda: sorted(uwsgi.cache_keys("lru"))),
        ("lru_exists_touch", lambda: (uwsgi.cache_exists("d", "lru"), uwsgi.cache_set("f", "f", 0, "lru"),
                                      sorted(uwsgi.cache_keys("lru")))),
        # ign: items=3, ignore_full
        ("ignore_full_fill", lambda: [uwsgi.cache_set(k, k, 0, "ign") for k in "abcd"]),
        ("ignore_full_keys", lambda: sorted(uwsgi.cache_keys("ign"))),
        # lazy: lazy_expire (expired items go away when looked up)
        ("lazy_set", lambda: uwsgi.cache_set("a", "v", 1, "lazy")),
        # cof: items=3, clear_on_full; sof: items=3, sweep_on_full=1 (its expired "a": /cache_late)
        ("clear_on_full", lambda: ([uwsgi.cache_set(k, k, 0, "cof") for k in "abc"], sorted(uwsgi.cache_keys("cof")))),
        ("sweep_on_full_fill", lambda: (uwsgi.cache_set("a", "a", 1, "sof"), uwsgi.cache_set("b", "b", 0, "sof"),
                                        uwsgi.cache_set("c", "c", 0, "sof"))),
        # mi: math_initial=100
        ("math_initial_inc", lambda: (uwsgi.cache_inc("n", 1, 0, "mi"), uwsgi.cache_num("n", "mi"))),
        ("math_initial_dec", lambda: (uwsgi.cache_dec("o", 1, 0, "mi"), uwsgi.cache_num("o", "mi"))),
        ("math_initial_mul", lambda: (uwsgi.cache_mul("p", 3, 0, "mi"), uwsgi.cache_num("p", "mi"))),
        # blk: items=10, blocksize=16, blocks=20
        ("blocks_set", lambda: (uwsgi.cache_set("a", "x" * 16, 0, "blk"), uwsgi.cache_set("b", "x" * 17, 0, "blk"))),
    ]


def store_steps():
    """What the previous instance left in the cache ``store`` (the test restarts the servers)."""
    return [
        ("keys", lambda: sorted(uwsgi.cache_keys("store"))),
        ("get", lambda: uwsgi.cache_get("kept", "store")),
        ("update", lambda: uwsgi.cache_update("kept", b"v%d" % (int((uwsgi.cache_get("kept", "store") or b"v0")[1:]) + 1),
                                              0, "store")),
        ("inc", lambda: (uwsgi.cache_inc("n", 1, 0, "store"), uwsgi.cache_num("n", "store"))),
        ("expiring", lambda: (uwsgi.cache_exists("e", "store"), uwsgi.cache_set("e", "v", 3600, "store"))),
    ]


def cache_late_steps():
    """Steps after the expiry of the items set with ``expires=1`` (the test waits)."""
    return [
        ("expired_get", lambda: uwsgi.cache_get("t", "small")),
        ("expired_exists", lambda: uwsgi.cache_exists("t", "small")),
        ("expired_keys", lambda: sorted(uwsgi.cache_keys("small"))),
        ("lazy_expired_keys", lambda: sorted(uwsgi.cache_keys("lazy"))),
        ("lazy_expired_get", lambda: uwsgi.cache_get("a", "lazy")),
        ("lazy_expired_keys_after", lambda: sorted(uwsgi.cache_keys("lazy"))),
        ("sweep_on_full", lambda: (uwsgi.cache_set("c", "c", 0, "sof"), sorted(uwsgi.cache_keys("sof")))),
    ]


def signal_steps():
    return [
        ("signal_negative", lambda: uwsgi.signal(-1)),  # (255 and 0: not registered yet)
        ("signal_256", lambda: uwsgi.signal(256)),
        ("signal_str", lambda: uwsgi.signal("1")),
        ("registered_import", lambda: [uwsgi.signal_registered(n) for n in range(1, 30)]),
        ("worker_id", lambda: uwsgi.worker_id()),
        ("register_worker_target", lambda: uwsgi.register_signal(40, "workers", handler)),
        ("registered_40", lambda: uwsgi.signal_registered(40)),
        ("register_again_import_time", lambda: uwsgi.register_signal(1, "workers", handler)),
        ("register_long_target", lambda: uwsgi.register_signal(41, "w" * 64, handler)),
        ("register_target_63", lambda: uwsgi.register_signal(41, "w" * 63, handler)),
        ("register_bytes_target", lambda: uwsgi.register_signal(42, b"workers", handler)),
        ("register_none_handler", lambda: uwsgi.register_signal(43, "workers", None)),
        ("register_negative", lambda: uwsgi.register_signal(-1, "workers", handler)),
        ("register_256", lambda: uwsgi.register_signal(256, "workers", handler)),
        ("signal_registered_256", lambda: uwsgi.signal_registered(256)),
        ("add_timer_0", lambda: uwsgi.add_timer(44, 0)),
        ("add_timer_negative", lambda: uwsgi.add_timer(44, -1)),
        ("add_rb_timer_iterations", lambda: uwsgi.add_rb_timer(45, 1000, 2)),
        ("add_cron_bad", lambda: uwsgi.add_cron(46, 99, 99, 99, 99, 99)),
        ("add_file_monitor_missing", lambda: uwsgi.add_file_monitor(47, "/nonexistent/sigcache")),
        ("lock_decorator", lambda: _locked()),
        ("free_signal", lambda: uwsgidecorators.get_free_signal()),
    ]


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/signal":
        body = json.dumps(outcome(lambda: uwsgi.signal(int(query["num"]))))
    elif path == "/register":
        body = json.dumps(outcome(lambda: uwsgi.register_signal(int(query["num"]), query["target"], handler)))
    elif path == "/wait":  # signal_wait(num) then what signal_received() says
        waited = outcome(lambda: uwsgi.signal_wait(int(query["num"])) if "num" in query else uwsgi.signal_wait())
        body = json.dumps([waited, uwsgi.signal_received()])
    elif path == "/spool":
        body = json.dumps(outcome(lambda: uwsgi.spool({b"num": query["num"].encode()}) is not None))
    elif path == "/import":
        body = json.dumps(AT_IMPORT)
    elif path == "/log":
        try:
            with open(LOG) as f:
                body = json.dumps(f.read().splitlines())
        except OSError:
            body = "[]"
    elif path in ("/cache", "/cache_late", "/signals", "/store"):
        steps = {"/cache": cache_steps, "/cache_late": cache_late_steps, "/signals": signal_steps,
                 "/store": store_steps}[path]()
        body = json.dumps({name: outcome(step) for name, step in steps}, indent=1, sort_keys=True)
    elif path == "/sleep":
        time.sleep(float(query["secs"]))
        body = json.dumps(uwsgi.worker_id())
    else:
        body = json.dumps(uwsgi.worker_id())
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]
