"""A probe of the ``uwsgi`` module, run unchanged under real uWSGI and under gateway.

``GET /`` runs every step of :data:`STEPS` in order (in the same worker, one request) and
answers a JSON object: for each step its result as ``{"type": ..., "repr": ...}`` or the
exception as ``{"exc": ..., "msg": ...}``.  ``tests/integration/test_api_differential.py``
diffs the two servers' answers; values that legitimately differ (pids, times, addresses)
are compared by type only there.  Steps mutate the cache, sharedarea, metrics and locks in
a fixed order, so a step sees what the previous ones left.  ``PROBE_TRACE=1`` in the environment
prints each step's name to stderr before it runs (to find a step that hangs).
"""

import json
import os
import sys

import uwsgi
import uwsgidecorators

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # (uWSGI's --wsgi-file does not)
from probe_steps import outcome


def _rpc_echo(*args):
    return b"|".join(args)


def _signal_handler(num):
    pass


def _rpc_boom(*args):
    raise RuntimeError("boom")


def _spooler(env):
    return uwsgi.SPOOL_OK  # (the probe's tasks are only there to be written)


uwsgi.spooler = _spooler  # (in place of uwsgidecorators' manage_spool_request)
if not uwsgi.mule_id():  # (uWSGI's mules may not register RPC functions)
    uwsgi.register_rpc("echo", _rpc_echo)
    uwsgi.register_rpc("boom", _rpc_boom)
    uwsgi.register_rpc("text", lambda *args: "text")
    uwsgi.register_rpc("none", lambda *args: None)


def _workers_apps():
    workers = uwsgi.workers()
    return (type(workers).__name__, len(workers),
            sorted({(type(w["apps"]).__name__, len(w["apps"])) for w in workers}),
            sorted({(k, type(v).__name__) for w in workers for a in w["apps"] for k, v in a.items()}))


def _opt_shape():
    return sorted((k, type(v).__name__, [type(i).__name__ for i in v] if isinstance(v, list) else None)
                  for k, v in uwsgi.opt.items())


STEPS = [
    # identity
    ("numproc", lambda: uwsgi.numproc),
    ("worker_id", lambda: uwsgi.worker_id()),
    ("mule_id", lambda: uwsgi.mule_id()),
    ("masterpid_is_ppid", lambda: uwsgi.masterpid() == os.getppid()),
    ("masterpid", lambda: uwsgi.masterpid()),
    ("version", lambda: uwsgi.version),
    ("version_info", lambda: uwsgi.version_info),
    ("hostname", lambda: uwsgi.hostname),
    ("started_on", lambda: uwsgi.started_on),
    ("total_requests", lambda: uwsgi.total_requests()),
    ("request_id", lambda: uwsgi.request_id()),
    ("cores", lambda: uwsgi.cores),
    ("buffer_size", lambda: uwsgi.buffer_size),
    ("has_threads", lambda: uwsgi.has_threads),
    ("loop", lambda: uwsgi.loop),
    ("unbit", lambda: uwsgi.unbit),
    ("is_a_reload", lambda: uwsgi.is_a_reload),
    ("applications", lambda: uwsgi.applications),
    ("SPOOL_OK", lambda: (uwsgi.SPOOL_OK, uwsgi.SPOOL_RETRY, uwsgi.SPOOL_IGNORE)),
    ("sockets", lambda: [type(s).__name__ for s in uwsgi.sockets]),
    ("magic_table_keys", lambda: sorted(uwsgi.magic_table)),
    ("magic_table_types", lambda: sorted({(type(k).__name__, type(v).__name__) for k, v in uwsgi.magic_table.items()})),
    ("opt_shape", _opt_shape),
    ("opt_cache2", lambda: uwsgi.opt.get("cache2")),
    ("opt_master", lambda: uwsgi.opt.get("master")),
    ("workers_keys", lambda: sorted({(k, type(v).__name__) for w in uwsgi.workers() for k, v in w.items()})),
    ("workers_apps", _workers_apps),
    ("env_type", lambda: type(uwsgi.env).__name__),
    ("env_path", lambda: uwsgi.env["PATH_INFO"]),
    ("env_in_dir", lambda: "env" in dir(uwsgi)),
    ("micros", lambda: type(uwsgi.micros()).__name__),
    ("mem", lambda: [type(x).__name__ for x in uwsgi.mem()]),
    ("logsize", lambda: uwsgi.logsize()),
    ("listen_queue", lambda: uwsgi.listen_queue()),
    ("listen_queue_1", lambda: uwsgi.listen_queue(1)),
    ("connection_fd", lambda: type(uwsgi.connection_fd()).__name__),
    ("is_connected_bad", lambda: uwsgi.is_connected(-1)),
    ("is_connected_file", lambda: uwsgi.is_connected(sys.stderr.fileno())),
    ("is_connected_closed", lambda: uwsgi.is_connected(4000)),
    ("accepting", lambda: uwsgi.accepting()),
    ("accepting_0", lambda: uwsgi.accepting(0)),
    ("accepting_1", lambda: uwsgi.accepting(1)),
    ("ready", lambda: uwsgi.ready()),
    ("cl", lambda: uwsgi.cl()),
    ("i_am_the_spooler", lambda: uwsgi.i_am_the_spooler()),
    ("i_am_the_lord", lambda: uwsgi.i_am_the_lord("x")),
    ("lord_scroll", lambda: uwsgi.lord_scroll("x")),
    ("scrolls", lambda: uwsgi.scrolls("x")),
    ("in_farm", lambda: uwsgi.in_farm()),
    ("in_farm_name", lambda: uwsgi.in_farm("nope")),
    ("spooler_pid", lambda: uwsgi.spooler_pid()),
    ("spooler_pids", lambda: uwsgi.spooler_pids()),
    ("embedded_data", lambda: uwsgi.embedded_data("nope")),
    ("set_warning_message", lambda: uwsgi.set_warning_message("w")),
    ("websocket_handshake_plain", lambda: uwsgi.websocket_handshake()),
    ("chunked_read_nb_plain", lambda: uwsgi.chunked_read_nb()),
    ("parsefile_missing", lambda: uwsgi.parsefile("/nonexistent/probe")),
    ("offload", lambda: uwsgi.offload()),
    ("ready_fd", lambda: uwsgi.ready_fd()),
    ("connect_refused", lambda: uwsgi.connect("127.0.0.1:1")),
    ("recv_bad_fd", lambda: uwsgi.recv(4000)),
    ("close_bad_fd", lambda: uwsgi.close(4000)),
    ("set_user_harakiri", lambda: uwsgi.set_user_harakiri(0)),
    ("setprocname", lambda: uwsgi.setprocname("probe")),
    ("mule_msg_no_mules", lambda: uwsgi.mule_msg("x")),
    ("farm_msg_no_farm", lambda: uwsgi.farm_msg("nope", "x")),
    ("alarm_unknown", lambda: uwsgi.alarm("nope", "msg")),
    ("log", lambda: uwsgi.log("probe log line")),
    ("log_bytes", lambda: uwsgi.log(b"probe log line")),
    ("log_this_request", lambda: uwsgi.log_this_request()),
    ("set_logvar", lambda: uwsgi.set_logvar("lv", "val")),
    ("get_logvar", lambda: uwsgi.get_logvar("lv")),
    ("get_logvar_missing", lambda: uwsgi.get_logvar("nope")),
    ("add_var", lambda: uwsgi.add_var("av", "val")),
    ("add_var_bytes", lambda: uwsgi.add_var(b"av2", b"val")),
    # cache (c: items=10)
    ("cache_get_missing", lambda: uwsgi.cache_get("k1", "c")),
    ("cache_exists_missing", lambda: uwsgi.cache_exists("k1", "c")),
    ("cache_set", lambda: uwsgi.cache_set("k1", "v1", 0, "c")),
    ("cache_set_again", lambda: uwsgi.cache_set("k1", "v2", 0, "c")),
    ("cache_get", lambda: uwsgi.cache_get("k1", "c")),
    ("cache_get_bytes_key", lambda: uwsgi.cache_get(b"k1", "c")),
    ("cache_get_bytes_name", lambda: uwsgi.cache_get("k1", b"c")),
    ("cache_exists", lambda: uwsgi.cache_exists("k1", "c")),
    ("cache_update", lambda: uwsgi.cache_update("k1", b"v3", 0, "c")),
    ("cache_get_updated", lambda: uwsgi.cache_get("k1", "c")),
    ("cache_update_new", lambda: uwsgi.cache_update("k2", "new", 0, "c")),
    ("cache_set_bytes", lambda: uwsgi.cache_set(b"k3", b"\xff\x00", 0, "c")),
    ("cache_get_binary", lambda: uwsgi.cache_get("k3", "c")),
    ("cache_set_int", lambda: uwsgi.cache_set("k4", 5, 0, "c")),
    ("cache_set_expire", lambda: uwsgi.cache_set("k5", "e", 100, "c")),
    ("cache_keys", lambda: sorted(uwsgi.cache_keys("c"))),
    ("cache_keys_type", lambda: type(uwsgi.cache_keys("c")).__name__),
    ("cache_num_str", lambda: uwsgi.cache_num("k1", "c")),
    ("cache_inc_new", lambda: uwsgi.cache_inc("n", 5, 0, "c")),
    ("cache_num", lambda: uwsgi.cache_num("n", "c")),
    ("cache_get_num", lambda: uwsgi.cache_get("n", "c")),
    ("cache_inc", lambda: uwsgi.cache_inc("n", 1, 0, "c")),
    ("cache_inc_default", lambda: uwsgi.cache_inc("n")),
    ("cache_dec", lambda: uwsgi.cache_dec("n", 2, 0, "c")),
    ("cache_mul", lambda: uwsgi.cache_mul("n", 3, 0, "c")),
    ("cache_div", lambda: uwsgi.cache_div("n", 2, 0, "c")),
    ("cache_num_after", lambda: uwsgi.cache_num("n", "c")),
    ("cache_inc_on_string", lambda: uwsgi.cache_inc("k1", 1, 0, "c")),
    ("cache_del", lambda: uwsgi.cache_del("k1", "c")),
    ("cache_del_missing", lambda: uwsgi.cache_del("k1", "c")),
    ("cache_get_deleted", lambda: uwsgi.cache_get("k1", "c")),
    ("cache_get_noname", lambda: uwsgi.cache_get("k2")),
    ("cache_set_noname", lambda: uwsgi.cache_set("k9", "v")),
    ("cache_get_badname", lambda: uwsgi.cache_get("k2", "nope")),
    ("cache_set_badname", lambda: uwsgi.cache_set("k2", "v", 0, "nope")),
    ("cache_exists_badname", lambda: uwsgi.cache_exists("k2", "nope")),
    ("cache_del_badname", lambda: uwsgi.cache_del("k2", "nope")),
    ("cache_keys_badname", lambda: uwsgi.cache_keys("nope")),
    ("cache_clear_badname", lambda: uwsgi.cache_clear("nope")),
    ("cache_fill", lambda: [uwsgi.cache_set("f%d" % i, "x", 0, "c") for i in range(12)]),
    ("cache_clear", lambda: uwsgi.cache_clear("c")),
    ("cache_keys_cleared", lambda: uwsgi.cache_keys("c")),
    ("cache_set_big", lambda: uwsgi.cache_set("big", "x" * 100000, 0, "c")),
    ("cache_get_empty_key", lambda: uwsgi.cache_get("", "c")),
    # sharedarea 0 (2 pages)
    ("sharedarea_write", lambda: uwsgi.sharedarea_write(0, 0, b"hello")),
    ("sharedarea_write_str", lambda: uwsgi.sharedarea_write(0, 5, "world")),
    ("sharedarea_read", lambda: uwsgi.sharedarea_read(0, 0, 10)),
    ("sharedarea_read_nolen", lambda: len(uwsgi.sharedarea_read(0, 0))),
    ("sharedarea_readbyte", lambda: uwsgi.sharedarea_readbyte(0, 0)),
    ("sharedarea_writebyte", lambda: uwsgi.sharedarea_writebyte(0, 0, 72)),
    ("sharedarea_read8", lambda: uwsgi.sharedarea_read8(0, 0)),
    ("sharedarea_write8", lambda: uwsgi.sharedarea_write8(0, 16, 7)),
    ("sharedarea_write16", lambda: uwsgi.sharedarea_write16(0, 16, 700)),
    ("sharedarea_read16", lambda: uwsgi.sharedarea_read16(0, 16)),
    ("sharedarea_write32", lambda: uwsgi.sharedarea_write32(0, 16, 70000)),
    ("sharedarea_read32", lambda: uwsgi.sharedarea_read32(0, 16)),
    ("sharedarea_write64", lambda: uwsgi.sharedarea_write64(0, 16, 2 ** 40)),
    ("sharedarea_read64", lambda: uwsgi.sharedarea_read64(0, 16)),
    ("sharedarea_writelong", lambda: uwsgi.sharedarea_writelong(0, 16, 5)),
    ("sharedarea_readlong", lambda: uwsgi.sharedarea_readlong(0, 16)),
    ("sharedarea_inclong", lambda: uwsgi.sharedarea_inclong(0, 16)),
    ("sharedarea_inc64", lambda: uwsgi.sharedarea_inc64(0, 16, 3)),
    ("sharedarea_inc32", lambda: uwsgi.sharedarea_inc32(0, 16)),
    ("sharedarea_dec64", lambda: uwsgi.sharedarea_dec64(0, 16, 2)),
    ("sharedarea_dec32", lambda: uwsgi.sharedarea_dec32(0, 16)),
    ("sharedarea_read64_after", lambda: uwsgi.sharedarea_read64(0, 16)),
    ("sharedarea_rlock", lambda: uwsgi.sharedarea_rlock(0)),
    ("sharedarea_unlock", lambda: uwsgi.sharedarea_unlock(0)),
    ("sharedarea_wlock", lambda: uwsgi.sharedarea_wlock(0)),
    ("sharedarea_unlock2", lambda: uwsgi.sharedarea_unlock(0)),
    ("sharedarea_memoryview", lambda: (type(uwsgi.sharedarea_memoryview(0)).__name__, len(uwsgi.sharedarea_memoryview(0)))),
    ("sharedarea_read_bad_id", lambda: uwsgi.sharedarea_read(5, 0, 1)),
    ("sharedarea_read_past_end", lambda: uwsgi.sharedarea_read(0, 10 ** 7, 1)),
    ("sharedarea_write_past_end", lambda: uwsgi.sharedarea_write(0, 10 ** 7, b"x")),
    # metrics (m)
    ("metric_get", lambda: uwsgi.metric_get("m")),
    ("metric_set", lambda: uwsgi.metric_set("m", 10)),
    ("metric_inc", lambda: uwsgi.metric_inc("m")),
    ("metric_inc_5", lambda: uwsgi.metric_inc("m", 5)),
    ("metric_dec", lambda: uwsgi.metric_dec("m", 2)),
    ("metric_mul", lambda: uwsgi.metric_mul("m", 3)),
    ("metric_div", lambda: uwsgi.metric_div("m", 2)),
    ("metric_set_max", lambda: uwsgi.metric_set_max("m", 1000)),
    ("metric_set_min", lambda: uwsgi.metric_set_min("m", 3)),
    ("metric_get_after", lambda: uwsgi.metric_get("m")),
    ("metric_get_missing", lambda: uwsgi.metric_get("nope")),
    ("metric_set_missing", lambda: uwsgi.metric_set("nope", 1)),
    ("metric_inc_missing", lambda: uwsgi.metric_inc("nope")),
    ("metric_div_zero", lambda: uwsgi.metric_div("m", 0)),
    ("metric_get_builtin", lambda: type(uwsgi.metric_get("core.requests")).__name__),
    # locks
    ("lock", lambda: uwsgi.lock()),
    ("is_locked", lambda: uwsgi.is_locked()),
    ("unlock", lambda: uwsgi.unlock()),
    ("is_locked_after", lambda: uwsgi.is_locked()),
    ("is_locked_0", lambda: uwsgi.is_locked(0)),
    ("lock_bad", lambda: uwsgi.lock(5)),
    ("unlock_bad", lambda: uwsgi.unlock(5)),
    ("is_locked_bad", lambda: uwsgi.is_locked(5)),
    # signals
    ("signal_registered_no", lambda: uwsgi.signal_registered(30)),
    ("signal_received_before", lambda: uwsgi.signal_received()),
    ("register_signal", lambda: uwsgi.register_signal(30, "worker", _signal_handler)),
    ("signal_registered", lambda: uwsgi.signal_registered(30)),
    ("register_signal_again", lambda: uwsgi.register_signal(30, "worker", _signal_handler)),
    ("register_signal_bad_target", lambda: uwsgi.register_signal(31, "nowhere", _signal_handler)),
    ("register_signal_out_of_range", lambda: uwsgi.register_signal(300, "worker", _signal_handler)),
    ("signal", lambda: uwsgi.signal(30)),
    ("signal_unregistered", lambda: uwsgi.signal(40)),
    ("signal_received", lambda: uwsgi.signal_received()),
    ("add_timer", lambda: uwsgi.add_timer(30, 1000)),
    ("add_rb_timer", lambda: uwsgi.add_rb_timer(30, 1000)),
    ("add_cron", lambda: uwsgi.add_cron(30, 0, -1, -1, -1, -1)),
    ("add_file_monitor", lambda: uwsgi.add_file_monitor(30, "/tmp")),
    # rpc
    ("register_rpc", lambda: uwsgi.register_rpc("echo2", _rpc_echo)),
    ("register_rpc_bytes_name", lambda: uwsgi.register_rpc(b"echo3", _rpc_echo)),
    ("rpc_list", lambda: sorted(uwsgi.rpc_list())),
    ("rpc_list_type", lambda: type(uwsgi.rpc_list()).__name__),
    ("rpc_local", lambda: uwsgi.rpc("", "echo", b"a", b"b")),
    ("rpc_local_bytes", lambda: uwsgi.rpc(b"", b"echo", b"a", b"b")),
    ("call", lambda: uwsgi.call("echo", b"a", b"b")),
    ("call_bytes", lambda: uwsgi.call(b"echo", b"a")),
    ("call_noargs", lambda: uwsgi.call("echo")),
    ("call_bytes_noargs", lambda: uwsgi.call(b"echo")),
    ("call_missing", lambda: uwsgi.call(b"nope")),
    ("rpc_missing", lambda: uwsgi.rpc(b"", b"nope")),
    ("call_raises", lambda: uwsgi.call(b"boom")),
    ("call_returns_str", lambda: uwsgi.call(b"text")),
    ("call_returns_none", lambda: uwsgi.call(b"none")),
    # spooler and queue (only with --spooler / --queue: else AttributeError in both)
    ("spool", lambda: uwsgi.spool({b"probe": b"1"}).startswith(uwsgi.spoolers[0])),
    ("spool_type", lambda: type(uwsgi.spool({"probe": "2"})).__name__),
    ("spool_kwargs", lambda: type(uwsgi.spool(probe=b"3")).__name__),
    ("spool_bad_value", lambda: uwsgi.spool({b"probe": 3})),
    ("send_to_spooler", lambda: type(uwsgi.send_to_spooler({b"probe": b"4"})).__name__),
    ("spoolers_type", lambda: (type(uwsgi.spoolers).__name__, [type(x).__name__ for x in uwsgi.spoolers])),
    ("spooler_pid_type", lambda: type(uwsgi.spooler_pid()).__name__),
    ("spooler_pids_type", lambda: (type(uwsgi.spooler_pids()).__name__, len(uwsgi.spooler_pids()))),
    ("spooler_jobs_type", lambda: type(uwsgi.spooler_jobs()).__name__),
    ("spooler_get_task_missing", lambda: uwsgi.spooler_get_task("/nonexistent/task")),
    ("set_spooler_frequency", lambda: uwsgi.set_spooler_frequency(1)),
    ("queue_size", lambda: uwsgi.queue_size),
    ("queue_push", lambda: uwsgi.queue_push(b"one")),
    ("queue_push_str", lambda: uwsgi.queue_push("two")),
    ("queue_last", lambda: uwsgi.queue_last()),
    ("queue_last_2", lambda: uwsgi.queue_last(2)),
    ("queue_get", lambda: uwsgi.queue_get(0)),
    ("queue_get_empty", lambda: uwsgi.queue_get(5)),
    ("queue_set", lambda: uwsgi.queue_set(5, b"five")),
    ("queue_slot", lambda: uwsgi.queue_slot()),
    ("queue_pull_slot", lambda: uwsgi.queue_pull_slot()),
    ("queue_pop", lambda: uwsgi.queue_pop()),
    ("queue_pull", lambda: uwsgi.queue_pull()),
    ("queue_pull_empty", lambda: [uwsgi.queue_pull() for _ in range(12)]),
    # decorators module
    ("decorators_names", lambda: sorted(n for n in dir(uwsgidecorators) if not n.startswith("_"))),
    ("get_free_signal", lambda: uwsgidecorators.get_free_signal()),
    ("dec_rpc", lambda: uwsgidecorators.rpc("decorated")(_rpc_echo) is _rpc_echo),
    ("dec_rpc_call", lambda: uwsgi.call(b"decorated", b"x")),
    ("dec_signal", lambda: uwsgidecorators.signal(50)(_signal_handler) is _signal_handler),
    ("dec_signal_registered", lambda: uwsgi.signal_registered(50)),
    ("dec_timer", lambda: uwsgidecorators.timer(100, signum=51)(_signal_handler) is _signal_handler),
    ("dec_rbtimer", lambda: uwsgidecorators.rbtimer(100, signum=52)(_signal_handler) is _signal_handler),
    ("dec_cron", lambda: uwsgidecorators.cron(0, 0, -1, -1, -1, signum=53)(_signal_handler) is _signal_handler),
    ("dec_filemon", lambda: uwsgidecorators.filemon("/tmp", signum=54)(_signal_handler) is _signal_handler),
    ("dec_lock", lambda: uwsgidecorators.lock(lambda: (uwsgi.is_locked(), "in"))()),
    ("dec_lock_after", lambda: uwsgi.is_locked()),
    ("dec_postfork", lambda: type(uwsgidecorators.postfork(_signal_handler)).__name__),
    ("dec_harakiri", lambda: uwsgidecorators.harakiri(30)(lambda: "done")()),
    ("dec_thread", lambda: type(uwsgidecorators.thread(lambda: None)).__name__),
    ("dec_mulefunc_no_mules", lambda: type(uwsgidecorators.mulefunc(1)(_signal_handler)).__name__),
]


def _import_time():
    """What the module says while the app is imported (by the master, before the fork)."""
    steps = {
        "worker_id": uwsgi.worker_id, "mule_id": uwsgi.mule_id, "ready": uwsgi.ready,
        "masterpid_is_me": lambda: uwsgi.masterpid() == os.getpid(), "numproc": lambda: uwsgi.numproc,
        "cores": lambda: uwsgi.cores, "total_requests": uwsgi.total_requests,
        "workers_len": lambda: len(uwsgi.workers()), "env": lambda: hasattr(uwsgi, "env"),
        "sockets": lambda: len(uwsgi.sockets), "started_on": lambda: type(uwsgi.started_on).__name__,
        "cache_get": lambda: uwsgi.cache_get("nope", "c"), "metric_get": lambda: uwsgi.metric_get("m"),
        "lock": uwsgi.lock, "unlock": uwsgi.unlock, "is_locked": uwsgi.is_locked,
        "request_id": uwsgi.request_id, "signal_received": uwsgi.signal_received,
        "connection_fd": uwsgi.connection_fd, "cl": uwsgi.cl, "accepting": uwsgi.accepting,
    }
    out = {}
    for name, step in sorted(steps.items()):
        try:
            value = step()
        except Exception as e:
            out[name] = "%s: %s" % (type(e).__name__, e)
        else:
            out[name] = repr(value)
    return out


IMPORT_TIME = _import_time() if not uwsgi.mule_id() else None


#: the steps a mule runs too (``--mule=tests/apps/api_probe.py``: it stores their answers in the
#: cache ``mule``, which ``/mule`` reads); per-request calls are left out (uWSGI's mule crashes)
MULE_STEPS = {
    "numproc", "worker_id", "mule_id", "masterpid_is_ppid", "total_requests", "cores", "ready",
    "i_am_the_spooler", "in_farm", "in_farm_name", "mule_msg_no_mules", "env_type", "log",
    "workers_apps", "lock", "is_locked", "unlock", "cache_get_missing", "cache_set", "cache_get",
    "metric_get", "metric_inc", "listen_queue", "logsize", "mem", "register_signal", "add_timer",
    "signal_unregistered", "sharedarea_read", "rpc_local_bytes", "call_missing", "setprocname",
}


def run_steps(only=None):
    out = {}
    trace = os.environ.get("PROBE_TRACE")
    for name, step in STEPS:
        if only is not None and name not in only:
            continue
        if trace:
            print("probe step", name, file=sys.stderr, flush=True)
        out[name] = outcome(step)
    out["dir"] = {"type": "list", "repr": repr(sorted(n for n in dir(uwsgi) if not n.startswith("_")))}
    return out


def counters():
    """What ``/count`` answers: this request's identity and counters."""
    return [uwsgi.worker_id(), uwsgi.request_id(), uwsgi.total_requests(), uwsgi.signal_received()]


def application(environ, start_response):
    if environ["PATH_INFO"] == "/count":
        body = json.dumps(counters()).encode()
    elif environ["PATH_INFO"] == "/wait":  # (gateway only: uWSGI's tornado engine has no signals)
        uwsgi.register_signal(20, "worker", _signal_handler)
        uwsgi.signal_wait(20)
        body = json.dumps(uwsgi.signal_received()).encode()
    elif environ["PATH_INFO"] == "/import":
        body = json.dumps(IMPORT_TIME).encode()
    elif environ["PATH_INFO"] == "/mule":
        body = uwsgi.cache_get("mule", "mule") or b"null"
    elif environ["PATH_INFO"] == "/raise":
        body = json.dumps(uwsgi.signal(20)).encode()
    else:
        body = json.dumps(run_steps(), indent=1, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


if uwsgi.mule_id():  # run as a mule's script
    uwsgi.cache_set("mule", json.dumps(run_steps(MULE_STEPS), sort_keys=True).encode(), 0, "mule")
    while True:
        uwsgi.mule_get_msg()
