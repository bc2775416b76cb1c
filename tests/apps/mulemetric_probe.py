"""Mules, sharedareas, metrics and locks, probed the same way under real uWSGI and under gateway
(``tests/integration/test_mules_metrics_vs_uwsgi.py`` starts both with the same options:
``--mules 3 --farm fast:1,2 --sharedarea 2 --locks 4`` and a few ``--metric``).

``GET /steps?group=G`` runs the steps of group G in order, in one request, and answers a JSON
object: each step's result as ``{"type": ..., "repr": ...}`` or its exception as ``{"exc": ...,
"msg": ...}`` (``probe_steps.outcome``).  What the mules receive is appended, one line per event,
to the file named by the environment variable ``MM_LOG`` (the test reads it): ``msg MULE REPR`` from
the plain mules' hook, ``mulefunc MULE ARG`` from ``@mulefunc`` functions, ``farm MULE REPR`` from
``@farm``.  Mule 3's ``@mule`` body runs the mule-side steps once (``GET /mule3``), then serves messages.
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

LOG = os.environ.get("MM_LOG", "/dev/null")
#: where mule 3 leaves its answers (``GET /mule3``)
MULE3 = LOG + ".mule3.json"


def record(*fields):
    """Append one line (one ``write``, ``O_APPEND``: lines of several processes never mix)."""
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (" ".join(str(f) for f in fields) + "\n").encode())
    finally:
        os.close(fd)


def hold(n, release):
    """Hold user lock ``n`` until the file ``release`` exists (20 s at most)."""
    uwsgi.lock(n)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        uwsgi.unlock(n)


def hook(message):
    """The plain mules' ``mule_msg_hook``: ``@mulefunc`` calls (pickles) go to uwsgidecorators'
    dispatcher, the others are recorded."""
    if message[:1] == b"\x80":
        return uwsgidecorators.mule_msg_dispatcher(message)
    if message.startswith(b"hold "):  # hold user lock 2 until the file named after "hold " exists
        hold(2, message[5:].decode())
        record("held", uwsgi.mule_id(), 2)
        return True
    record("msg", uwsgi.mule_id(), repr(message[:40]), len(message))
    if message == b"raise":
        raise RuntimeError("hook boom")
    return True


uwsgi.mule_msg_hook = hook


def slow_handler(num):
    """Signal 30's handler (target ``mule2``): longer than ``--mule-harakiri``."""
    record("sig", uwsgi.mule_id(), num)
    time.sleep(10)


if not uwsgi.mule_id():  # (registered in the master, at import: every mule inherits it)
    uwsgi.register_signal(30, "mule2", slow_handler)


@uwsgidecorators.mulefunc(1)
def on_mule_one(arg):
    record("mulefunc1", uwsgi.mule_id(), arg)


@uwsgidecorators.mulefunc("fast")
def on_farm_fast(arg):
    record("mulefuncfast", uwsgi.mule_id(), arg)


@uwsgidecorators.mulefunc
def on_any_mule(arg):
    record("mulefuncany", uwsgi.mule_id(), arg)


@uwsgidecorators.farm("solo")
def on_solo(message):
    """Mule 5's loop (``--farm solo:5``): each message of the farm."""
    record("farm", uwsgi.mule_id(), repr(message))


def mule_side_steps():
    """Run in mule 3 by ``@mule(3)``, before its message loop (nothing is queued for it yet but
    what these steps send)."""
    return [
        ("mule_id", lambda: uwsgi.mule_id()),
        ("worker_id", lambda: uwsgi.worker_id()),
        ("in_farm", lambda: uwsgi.in_farm()),
        ("in_farm_fast", lambda: uwsgi.in_farm("fast")),
        ("in_farm_bytes", lambda: uwsgi.in_farm(b"fast")),
        ("get_msg_timeout", lambda: uwsgi.mule_get_msg(timeout=1)),
        ("get_msg_nosignals_timeout", lambda: uwsgi.mule_get_msg(False, False, 65536, 1)),
        ("self_msg", lambda: uwsgi.mule_msg(b"to-myself", 3)),
        ("get_msg_truncated", lambda: uwsgi.mule_get_msg(buffer_size=4, timeout=1)),
        ("self_msg_str", lambda: uwsgi.mule_msg("text", 3)),
        ("get_msg_kwargs", lambda: uwsgi.mule_get_msg(signals=False, farms=False, timeout=1)),
        ("get_msg_bad_kw", lambda: uwsgi.mule_get_msg(bogus=1)),
        ("get_msg_str_timeout", lambda: uwsgi.mule_get_msg(timeout="1")),
        ("lock_in_mule", lambda: (uwsgi.lock(2), uwsgi.is_locked(2), uwsgi.unlock(2))),
        ("metric_in_mule", lambda: (uwsgi.metric_inc("cnt", 100), uwsgi.metric_get("cnt"))),
        ("sharedarea_in_mule", lambda: uwsgi.sharedarea_write(0, 8000, b"mule")),
    ]


@uwsgidecorators.mule(3)
def mule_three():
    answers = {}
    for name, step in mule_side_steps():
        record("mstep", name)
        answers[name] = outcome(step)
    with open(MULE3 + ".tmp", "w") as f:
        json.dump(answers, f, sort_keys=True)
    os.replace(MULE3 + ".tmp", MULE3)


def mule_steps():
    big = b"x" * 70000
    return [
        ("mule_id", lambda: uwsgi.mule_id()),
        ("in_farm", lambda: uwsgi.in_farm()),
        ("in_farm_fast", lambda: uwsgi.in_farm("fast")),
        ("get_msg_in_worker", lambda: uwsgi.mule_get_msg(timeout=0)),
        ("farm_get_msg_in_worker", lambda: uwsgi.farm_get_msg()),
        ("msg_shared", lambda: uwsgi.mule_msg(b"shared")),
        ("msg_none", lambda: uwsgi.mule_msg(b"none", None)),
        ("msg_zero", lambda: uwsgi.mule_msg(b"zero", 0)),
        ("msg_mule1", lambda: uwsgi.mule_msg(b"one", 1)),
        ("msg_mule2_str", lambda: uwsgi.mule_msg("two", 2)),
        ("msg_farm", lambda: uwsgi.mule_msg(b"farmed", "fast")),
        ("msg_farm_missing", lambda: uwsgi.mule_msg(b"x", "nope")),
        ("msg_farm_missing_bytes", lambda: uwsgi.mule_msg(b"x", b"nope")),
        ("msg_farm_bytes", lambda: uwsgi.mule_msg(b"x", b"fast")),
        ("msg_float", lambda: uwsgi.mule_msg(b"x", 1.5)),
        ("msg_int_message", lambda: uwsgi.mule_msg(5)),
        ("msg_empty", lambda: uwsgi.mule_msg(b"")),
        ("msg_64k", lambda: uwsgi.mule_msg(b"y" * 65536, 2)),
        ("msg_big", lambda: uwsgi.mule_msg(big, 2)),
        ("msg_raise", lambda: uwsgi.mule_msg(b"raise", 1)),
        ("msg_after_raise", lambda: uwsgi.mule_msg(b"after", 1)),
        ("farm_msg", lambda: uwsgi.farm_msg("fast", b"farm_msg")),
        ("farm_msg_missing", lambda: uwsgi.farm_msg("nope", b"x")),
        ("farm_msg_solo", lambda: uwsgi.farm_msg("solo", b"to-solo")),
        ("farm_msg_bytes_name", lambda: uwsgi.farm_msg(b"solo", b"x")),
        ("farm_msg_int_name", lambda: uwsgi.farm_msg(5, b"x")),
        ("in_farm_bytes", lambda: uwsgi.in_farm(b"fast")),
        ("in_farm_int", lambda: uwsgi.in_farm(5)),
        ("msg_true", lambda: uwsgi.mule_msg(b"true", True)),
        ("msg_empty_farm", lambda: uwsgi.mule_msg(b"x", "")),
        ("msg_list_target", lambda: uwsgi.mule_msg(b"x", [1])),
        ("msg_solo_bytes", lambda: uwsgi.mule_msg(b"to-solo-2", b"solo")),
        ("mulefunc_one", lambda: on_mule_one("a")),
        ("mulefunc_fast", lambda: on_farm_fast("b")),
        ("mulefunc_any", lambda: on_any_mule("c")),
        ("mule_file", lambda: uwsgi.mule_file(1)),
        ("mule_msg_recv_size", lambda: uwsgi.mule_msg_recv_size()),
    ]


def sharedarea_steps():
    return [
        ("read_fresh", lambda: uwsgi.sharedarea_read(0, 0, 8)),
        ("read_nolen_len", lambda: len(uwsgi.sharedarea_read(1, 0))),
        ("read_zero_len", lambda: uwsgi.sharedarea_read(0, 0, 0)),
        ("read_at_end", lambda: uwsgi.sharedarea_read(0, 8192, 1)),
        ("read_last_byte", lambda: uwsgi.sharedarea_read(0, 8191, 1)),
        ("read_across_end", lambda: uwsgi.sharedarea_read(0, 8190, 4)),
        ("read_negative_pos", lambda: uwsgi.sharedarea_read(0, -1, 1)),
        ("read_id_2", lambda: uwsgi.sharedarea_read(2, 0, 1)),
        ("read_id_str", lambda: uwsgi.sharedarea_read("0", 0, 1)),
        ("write", lambda: uwsgi.sharedarea_write(0, 0, b"hello world")),
        ("write_str", lambda: uwsgi.sharedarea_write(0, 11, "!")),
        ("write_bytearray", lambda: uwsgi.sharedarea_write(0, 3000, bytearray(b"?"))),
        ("write_int", lambda: uwsgi.sharedarea_write(0, 0, 5)),
        ("write_across_end", lambda: uwsgi.sharedarea_write(0, 8190, b"abcd")),
        ("write_at_end", lambda: uwsgi.sharedarea_write(0, 8192, b"a")),
        ("write_last", lambda: uwsgi.sharedarea_write(0, 8191, b"z")),
        ("read_written", lambda: uwsgi.sharedarea_read(0, 0, 14)),
        ("write_id_missing", lambda: uwsgi.sharedarea_write(7, 0, b"a")),
        ("write8_255", lambda: uwsgi.sharedarea_write8(0, 20, 255)),
        ("read8_255", lambda: uwsgi.sharedarea_read8(0, 20)),
        ("write8_256", lambda: uwsgi.sharedarea_write8(0, 20, 256)),
        ("write8_negative", lambda: uwsgi.sharedarea_write8(0, 20, -1)),
        ("write16_big", lambda: uwsgi.sharedarea_write16(0, 24, 70000)),
        ("read16_big", lambda: uwsgi.sharedarea_read16(0, 24)),
        ("write16_negative", lambda: uwsgi.sharedarea_write16(0, 24, -2)),
        ("read16_negative", lambda: uwsgi.sharedarea_read16(0, 24)),
        ("write32_negative", lambda: uwsgi.sharedarea_write32(0, 32, -5)),
        ("read32_negative", lambda: uwsgi.sharedarea_read32(0, 32)),
        ("write32_big", lambda: uwsgi.sharedarea_write32(0, 32, 2 ** 32 + 7)),
        ("read32_big", lambda: uwsgi.sharedarea_read32(0, 32)),
        ("write64_min", lambda: uwsgi.sharedarea_write64(0, 40, -2 ** 63)),
        ("read64_min", lambda: uwsgi.sharedarea_read64(0, 40)),
        ("write64_over", lambda: uwsgi.sharedarea_write64(0, 40, 2 ** 63)),
        ("dec64_wrap", lambda: (uwsgi.sharedarea_write64(0, 40, -2 ** 63), uwsgi.sharedarea_dec64(0, 40),
                                uwsgi.sharedarea_read64(0, 40))),
        ("inc32_wrap", lambda: (uwsgi.sharedarea_write32(0, 32, 2 ** 31 - 1), uwsgi.sharedarea_inc32(0, 32),
                                uwsgi.sharedarea_read32(0, 32))),
        ("inc64_by", lambda: (uwsgi.sharedarea_write64(0, 48, 10), uwsgi.sharedarea_inc64(0, 48, 5),
                              uwsgi.sharedarea_read64(0, 48))),
        ("dec32_by", lambda: (uwsgi.sharedarea_dec32(0, 48, 3), uwsgi.sharedarea_read64(0, 48))),
        ("inclong", lambda: (uwsgi.sharedarea_inclong(0, 48), uwsgi.sharedarea_readlong(0, 48))),
        ("inclong_by", lambda: (uwsgi.sharedarea_inclong(0, 48, 10), uwsgi.sharedarea_readlong(0, 48))),
        ("writelong", lambda: (uwsgi.sharedarea_writelong(0, 48, 77), uwsgi.sharedarea_readlong(0, 48))),
        ("readbyte", lambda: uwsgi.sharedarea_readbyte(0, 0)),
        ("writebyte", lambda: (uwsgi.sharedarea_writebyte(0, 0, 72), uwsgi.sharedarea_read(0, 0, 1))),
        ("read64_at_end", lambda: uwsgi.sharedarea_read64(0, 8188)),
        ("read64_last", lambda: uwsgi.sharedarea_read64(0, 8184)),
        ("write64_at_end", lambda: uwsgi.sharedarea_write64(0, 8188, 1)),
        ("read32_at_end", lambda: uwsgi.sharedarea_read32(0, 8190)),
        ("read16_at_end", lambda: uwsgi.sharedarea_read16(0, 8191)),
        ("read8_at_end", lambda: uwsgi.sharedarea_read8(0, 8192)),
        ("inc32_at_end", lambda: uwsgi.sharedarea_inc32(0, 8190)),
        ("read8_missing_id", lambda: uwsgi.sharedarea_read8(9, 0)),
        ("inc64_missing_id", lambda: uwsgi.sharedarea_inc64(9, 0)),
        ("update", lambda: uwsgi.sharedarea_update(0)),
        ("update_missing", lambda: uwsgi.sharedarea_update(9)),
        ("rlock_unlock", lambda: (uwsgi.sharedarea_rlock(1), uwsgi.sharedarea_unlock(1))),
        ("wlock_unlock", lambda: (uwsgi.sharedarea_wlock(1), uwsgi.sharedarea_unlock(1))),
        ("rlock_missing", lambda: uwsgi.sharedarea_rlock(9)),
        ("wlock_missing", lambda: uwsgi.sharedarea_wlock(9)),
        ("unlock_missing", lambda: uwsgi.sharedarea_unlock(9)),
        ("memoryview", lambda: (type(uwsgi.sharedarea_memoryview(0)).__name__, len(uwsgi.sharedarea_memoryview(0)),
                                uwsgi.sharedarea_memoryview(0).readonly, uwsgi.sharedarea_memoryview(0).format)),
        ("memoryview_write", lambda: (uwsgi.sharedarea_memoryview(0).__setitem__(slice(0, 2), b"MV"),
                                      uwsgi.sharedarea_read(0, 0, 4))),
        ("memoryview_missing", lambda: uwsgi.sharedarea_memoryview(9)),
        ("object", lambda: hasattr(uwsgi, "sharedarea_object")),
        ("read_mule_wrote", lambda: uwsgi.sharedarea_read(0, 8000, 4)),
        ("no_args", lambda: uwsgi.sharedarea_read()),
    ]


def metric_steps():
    return [
        ("get_counter", lambda: uwsgi.metric_get("cnt")),
        ("get_gauge_initial", lambda: uwsgi.metric_get("gau")),
        ("get_absolute", lambda: uwsgi.metric_get("abso")),
        ("inc_counter", lambda: (uwsgi.metric_inc("cnt"), uwsgi.metric_get("cnt"))),
        ("dec_counter", lambda: (uwsgi.metric_dec("cnt", 3), uwsgi.metric_get("cnt"))),
        ("set_counter", lambda: (uwsgi.metric_set("cnt", 42), uwsgi.metric_get("cnt"))),
        ("mul_gauge", lambda: (uwsgi.metric_mul("gau", 4), uwsgi.metric_get("gau"))),
        ("div_gauge", lambda: (uwsgi.metric_div("gau", 3), uwsgi.metric_get("gau"))),
        ("div_zero", lambda: (uwsgi.metric_div("gau", 0), uwsgi.metric_get("gau"))),
        ("mul_default", lambda: (uwsgi.metric_mul("gau"), uwsgi.metric_get("gau"))),
        ("div_default", lambda: (uwsgi.metric_div("gau"), uwsgi.metric_get("gau"))),
        ("set_negative", lambda: (uwsgi.metric_set("abso", -7), uwsgi.metric_get("abso"))),
        ("set_big", lambda: (uwsgi.metric_set("abso", 2 ** 63 - 1), uwsgi.metric_inc("abso"), uwsgi.metric_get("abso"))),
        ("set_too_big", lambda: uwsgi.metric_set("abso", 2 ** 64)),
        ("set_float", lambda: uwsgi.metric_set("abso", 1.5)),
        ("set_str", lambda: uwsgi.metric_set("abso", "3")),
        ("set_max", lambda: (uwsgi.metric_set("abso", 5), uwsgi.metric_set_max("abso", 9), uwsgi.metric_set_max("abso", 2),
                             uwsgi.metric_get("abso"))),
        ("set_min", lambda: (uwsgi.metric_set_min("abso", 1), uwsgi.metric_set_min("abso", 4), uwsgi.metric_get("abso"))),
        # low: initial_value=5 (uWSGI's set_min ignores values not above it)
        ("set_min_not_above_initial", lambda: (uwsgi.metric_set("low", 9), uwsgi.metric_set_min("low", 5),
                                               uwsgi.metric_set_min("low", -1), uwsgi.metric_get("low"))),
        ("set_min_above_initial", lambda: (uwsgi.metric_set("low", 9), uwsgi.metric_set_min("low", 6),
                                           uwsgi.metric_get("low"))),
        ("get_missing", lambda: uwsgi.metric_get("nope")),
        ("set_missing", lambda: uwsgi.metric_set("nope", 1)),
        ("inc_missing", lambda: uwsgi.metric_inc("nope")),
        ("dec_missing", lambda: uwsgi.metric_dec("nope")),
        ("mul_missing", lambda: uwsgi.metric_mul("nope", 2)),
        ("div_missing", lambda: uwsgi.metric_div("nope", 2)),
        ("get_bytes_name", lambda: uwsgi.metric_get(b"cnt")),
        ("get_int_name", lambda: uwsgi.metric_get(5)),
        ("get_no_args", lambda: uwsgi.metric_get()),
        ("inc_builtin", lambda: uwsgi.metric_inc("core.busy_workers")),
        ("set_builtin", lambda: uwsgi.metric_set("worker.1.requests", 5)),
        ("get_oid", lambda: uwsgi.metric_get("1.3.6.1.4.1.35156.17.3.1")),
    ]


def collected_steps():
    """The ``--metric`` collectors and alias (the test's options), once the master has collected
    after the metric steps."""
    return [(name, (lambda name=name: uwsgi.metric_get(name)))
            for name in ("cnt", "gau", "total", "average", "adder", "multiplier", "from_file", "field_0",
                         "field_past", "no_file", "slow", "alias")] + [
        ("set_collected", lambda: uwsgi.metric_set("total", 5)),
        ("inc_alias", lambda: uwsgi.metric_inc("alias")),
        ("alias_after", lambda: uwsgi.metric_get("alias")),
    ]


def lock_steps():
    return [
        ("lock_0", lambda: (uwsgi.lock(0), uwsgi.is_locked(0), uwsgi.unlock(0), uwsgi.is_locked(0))),
        ("lock_4", lambda: (uwsgi.lock(4), uwsgi.is_locked(4), uwsgi.unlock(4))),
        ("lock_5", lambda: uwsgi.lock(5)),
        ("unlock_5", lambda: uwsgi.unlock(5)),
        ("is_locked_5", lambda: uwsgi.is_locked(5)),
        ("lock_negative", lambda: uwsgi.lock(-1)),
        ("unlock_negative", lambda: uwsgi.unlock(-1)),
        ("is_locked_negative", lambda: uwsgi.is_locked(-1)),
        ("lock_str", lambda: uwsgi.lock("1")),
        ("lock_float", lambda: uwsgi.lock(1.0)),
        ("unlock_free", lambda: uwsgi.unlock(3)),
        ("is_locked_free", lambda: uwsgi.is_locked(3)),
        ("rwlock_names", lambda: sorted(n for n in ("rwlock", "rwunlock", "lock_is_locked", "rlock", "wlock")
                                        if hasattr(uwsgi, n))),
        ("decorator", lambda: uwsgidecorators.lock(lambda: uwsgi.is_locked(0))()),
        ("decorator_type", lambda: type(uwsgidecorators.lock(lambda: 1)).__name__),
    ]


GROUPS = {"mules": mule_steps, "sharedarea": sharedarea_steps, "metrics": metric_steps, "locks": lock_steps,
          "collected": collected_steps}


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/steps":
        body = json.dumps({name: outcome(step) for name, step in GROUPS[query["group"]]()}, indent=1, sort_keys=True)
    elif path == "/mule3":
        try:
            with open(MULE3) as f:
                body = f.read()
        except OSError:
            body = "null"
    elif path == "/poke":  # sharedarea 0: the 64-bit word at POS = VALUE (the script mule waits on it)
        uwsgi.sharedarea_write64(0, int(query["pos"]), int(query["value"]))
        body = "null"
    elif path == "/hold":  # mule 3 holds user lock N until the file RELEASE exists
        body = json.dumps(uwsgi.mule_msg(b"hold " + query["release"].encode(), 3))
    elif path == "/signal":
        body = json.dumps(uwsgi.signal(int(query["num"])))
    elif path == "/is_locked":
        body = json.dumps([uwsgi.worker_id(), uwsgi.is_locked(int(query["n"]))])
    elif path == "/lock_wait":  # whether N was locked, then (the file MARK made) how long lock(N) took
        locked = uwsgi.is_locked(int(query["n"]))
        open(query["mark"], "w").close()
        started = time.monotonic()
        uwsgi.lock(int(query["n"]))
        uwsgi.unlock(int(query["n"]))
        body = json.dumps([uwsgi.worker_id(), locked, time.monotonic() - started])
    else:
        body = json.dumps(uwsgi.worker_id())
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]

