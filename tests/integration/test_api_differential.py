"""The ``uwsgi`` module, differentially: ``tests/apps/api_probe.py`` runs unchanged under a real
uWSGI 2.0.31 and under gateway, with the same options, and their answers are compared.

One pair of servers per engine (preforking, and ``--tornado 10 --greenlet``), started once for
the module.  Each server gets the same requests in the same order: ``/count`` a few times
(readiness included: an HTTP request, never a bare connect, which uWSGI's tornado engine counts
as a request), then the probe ``/`` once.  Differences README documents as deliberate are listed
in :data:`DELIBERATE` with the reason; anything else that differs fails the test.
"""

from __future__ import annotations

import ast
import json
import threading
import time
from contextlib import ExitStack

import pytest

from tests.peers import RealUWSGI
from tests.server import run_server
from tests.support.httpclient import request
from tests.support.router import free_port

pytestmark = pytest.mark.timeout(120)

COMMON = ["--master", "--processes", "2", "--cache2", "name=c,items=10", "--sharedarea", "2",
          "--metric", "name=m", "--metric", "name=m2", "--die-on-term", "--disable-logging",
          "--wsgi-file", "tests/apps/api_probe.py"]
ENGINES = {"prefork": [], "tornado": ["--tornado", "10", "--greenlet"], "threads": ["--threads", "2"],
           "spooler": ["--queue", "10"],  # (and a --spooler directory of its own for each server)
           "mule": ["--mule=tests/apps/api_probe.py", "--cache2", "name=mule,items=2,blocksize=65536"]}
COUNTS = 4

#: steps whose value legitimately differs between two instances: compared by type only
#: (which worker serves the probe; uWSGI's total_requests() lags at times: its workers add to
#: one shared counter unlocked and its master rewrites it, see test_counters_match_real_uwsgi)
VOLATILE = {"masterpid", "started_on", "request_id", "worker_id", "total_requests", "spooler_pid", "spooler_pids"}

#: steps where gateway differs on purpose (README says so), with where
DELIBERATE = {
    # README "RPC": names and arguments may be str or bytes (uWSGI issue #959); failures raise
    # RPCError subclasses (--rpc-none-on-failure gives uWSGI's None); a str result is sent as UTF-8
    "call": "rpc str names", "call_noargs": "rpc str names", "rpc_local": "rpc str names",
    "register_rpc_bytes_name": "rpc str names", "rpc_list": "rpc bytes names",
    "call_missing": "rpc failures raise", "rpc_missing": "rpc failures raise",
    "call_raises": "rpc failures raise", "call_returns_str": "rpc str result",
    # README "Alarms": True/False says whether the master got it (uWSGI: always None)
    "alarm_unknown": "alarm result",
    # README "The uwsgi module": cache names and log lines may be bytes too; our TypeError says more
    "cache_get_bytes_name": "bytes accepted", "log_bytes": "bytes accepted", "cache_set_int": "message",
    # README "The uwsgi module": chunked_read_nb() on a body that is not chunked raises at once,
    # as chunked_read() (uWSGI's returns None; its chunked_read() raises after --socket-timeout)
    "chunked_read_nb_plain": "not chunked raises",
    # README "The uwsgi module": gateway's engine is always a loop (uWSGI: None without --loop/--tornado)
    "loop": "always a loop",
    # README "Command line and options": repeated options are lists in uwsgi.opt, as uWSGI
    # intends (and does on Python 2); on Python 3 its loop compares bytes to str keys, so the
    # last value replaces the others
    "opt_shape": "repeated options are lists",
    # README "The uwsgi module": workers() dicts have gateway's extra keys (accepting,
    # harakiri_count...); the namespaces have gateway's extra names: both checked below
    "workers_keys": "see test_extra_names", "dir": "see test_extra_names",
    "decorators_names": "see test_extra_names",
}

#: more of them, for one engine
DELIBERATE_FOR = {
    # README "Master and workers" (threads): uwsgi.env is the thread's request (uWSGI: none with
    # --threads)
    "threads": {"env_type", "env_path", "env_in_dir"},
    # README "The spooler": a task's keys and values may be str or numbers too (uWSGI 2.0.31 on
    # Python 3 wants bytes only, so its spool(key=value) always fails)
    "spooler": {"spool_type", "spool_kwargs", "spool_bad_value"},
}

#: in the mule, where gateway differs on purpose: README "Mules and farms" (a mule may register
#: signal handlers), "The uwsgi module" (loop), "RPC" (failures raise)
MULE_DELIBERATE = {"register_signal", "call_missing", "loop", "dir"}
DELIBERATE_FOR["mule"] = {"opt_cache2"}  # (repeated: a list, see opt_shape)

#: uWSGI names gateway's ``uwsgi`` lacks on purpose (README "The uwsgi module")
ABSENT = {"SymbolsImporter", "SymbolsZipImporter", "ZipImporter", "sharedarea_object", "start_response"}
#: uwsgidecorators names gateway lacks: uWSGI's imports and its internal helper classes
ABSENT_DECORATORS = {"Thread", "sys", "farm_loop", "mule_brain", "mule_brainloop", "mulemsg_loop"}


def get_json(port: int, path: str, deadline: float) -> object:
    """GET ``path``, retrying while the server does not listen yet (uWSGI binds before forking)."""
    while True:
        try:
            response = request(port, path, timeout=10)
            assert response.status == 200, response
            return json.loads(response.body)
        except (ConnectionRefusedError, ConnectionResetError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def answers(port: int, mule: bool) -> dict:
    deadline = time.monotonic() + 20
    counts = [get_json(port, "/count", deadline) for _ in range(COUNTS)]
    got = {"counts": counts, "probe": get_json(port, "/", deadline), "import": get_json(port, "/import", deadline)}
    while mule:  # what the mule stored once it ran its steps
        got["mule"] = get_json(port, "/mule", deadline)
        if got["mule"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return got


@pytest.fixture(scope="module", params=sorted(ENGINES))
def pair(request, tmp_path_factory):
    """``{"uwsgi": answers, "gateway": answers}`` for one engine."""
    args = COMMON + ENGINES[request.param]

    def spooler():
        return ["--spooler", str(tmp_path_factory.mktemp("spool"))] if request.param == "spooler" else []

    with ExitStack() as stack:
        port = free_port()
        node = RealUWSGI(["--http-socket", "127.0.0.1:%d" % port] + args + spooler())
        stack.callback(node.stop)
        ours = stack.enter_context(run_server(args + spooler()))
        ours.expect_traceback("RuntimeError: boom")  # the rpc function that raises, logged
        mule = request.param == "mule"
        yield {"uwsgi": answers(port, mule), "gateway": answers(ours.port, mule),
               "deliberate": set(DELIBERATE) | DELIBERATE_FOR.get(request.param, set()), "engine": request.param}


def differences_of(theirs: dict, ours: dict, deliberate: set) -> list:
    """The steps whose answers differ, but the deliberate ones (VOLATILE ones by type only)."""
    differences = []
    for step in sorted(theirs):
        if step in deliberate:
            continue
        expected, got = theirs[step], ours[step]
        if "msg" in got:  # (an AttributeError names the module: ours is gateway.uwsgi_module)
            got = dict(got, msg=got["msg"].replace("gateway.uwsgi_module", "uwsgi"))
        if step in VOLATILE:
            expected, got = expected.get("type"), got.get("type")
        if expected != got:
            differences.append("%s: uWSGI %s, gateway %s" % (step, expected, got))
    return differences


def test_probe_steps_match_real_uwsgi(pair):
    theirs, ours = pair["uwsgi"]["probe"], pair["gateway"]["probe"]
    assert set(theirs) == set(ours)
    differences = differences_of(theirs, ours, pair["deliberate"])
    assert not differences, "\n".join(differences)


def test_deliberate_differences_still_differ(pair):
    """Each entry of DELIBERATE is a live difference (else it should be compared again)."""
    theirs, ours = pair["uwsgi"]["probe"], pair["gateway"]["probe"]
    same = [step for step in pair["deliberate"] if step != "loop" and theirs[step] == ours[step]]
    assert not same


def test_counters_match_real_uwsgi(pair):
    """``total_requests()`` counts the instance's finished requests (every worker's),
    ``request_id()`` the calling core's finished ones, ``signal_received()`` is 0 in a request
    that did not wait for a signal."""
    for server in ("uwsgi", "gateway"):
        counts = pair[server]["counts"]
        totals = [c[2] for c in counts]
        # At most the requests sent before, and more than this worker's own: a request is
        # counted once it is over, which the client can see before that (a finished response is
        # on the wire first; uWSGI's unlocked shared counter lags as well), so no exact sequence.
        assert all(0 <= total <= i for i, total in enumerate(totals)), (server, counts)
        if server == "gateway":  # (uWSGI's can lag further: its master rewrites the sum)
            assert totals[-1] >= sum(1 for c in counts[:-1] if c[0] == counts[-1][0]), counts
        assert [c[3] for c in counts] == [0] * COUNTS, (server, counts)
        for i, (wid, request_id, _, _) in enumerate(counts):
            before = sum(1 for c in counts[:i] if c[0] == wid)  # requests this worker served before
            if pair["engine"] == "prefork":  # one core per worker
                assert request_id == before, (server, counts)
            else:  # the core's, and a worker has several cores (async cores, threads)
                assert 0 <= request_id <= before, (server, counts)


def test_extra_names_only_add_to_uwsgis(pair):
    """``dir(uwsgi)``, ``dir(uwsgidecorators)`` and the keys of ``workers()`` dicts hold all of
    uWSGI's (with their types), but the documented absent names."""
    def names(server, step):
        return set(ast.literal_eval(pair[server]["probe"][step]["repr"]))

    assert names("uwsgi", "dir") - names("gateway", "dir") == ABSENT
    assert names("uwsgi", "decorators_names") - names("gateway", "decorators_names") == ABSENT_DECORATORS
    assert names("uwsgi", "workers_keys") <= names("gateway", "workers_keys")


def test_signal_received_is_what_the_requests_signal_wait_got():
    """uWSGI's per-request value: 0 before, the signal once ``signal_wait()`` returned (not
    compared live: uWSGI's tornado engine delivers no signals, its preforking worker blocks)."""
    args = [a if a != "2" else "1" for a in COMMON] + ENGINES["tornado"]  # (--processes 1)
    with run_server(args) as srv:
        got = []
        waiter = threading.Thread(target=lambda: got.append(request(srv.port, "/wait", timeout=20).body))
        waiter.start()
        deadline = time.monotonic() + 15
        while waiter.is_alive() and time.monotonic() < deadline:
            request(srv.port, "/raise", timeout=5)  # until the waiting request has its signal
            waiter.join(0.1)
        waiter.join(5)
        assert got == [b"20"]
        assert request(srv.port, "/count").body.endswith(b", 0]")  # a request that did not wait


def test_mule_steps_match_real_uwsgi(pair):
    if pair["engine"] != "mule":
        pytest.skip("the mule pair only")
    theirs, ours = pair["uwsgi"]["mule"], pair["gateway"]["mule"]
    assert theirs and set(theirs) == set(ours)
    differences = differences_of(theirs, ours, MULE_DELIBERATE)
    assert not differences, "\n".join(differences)


def test_import_time_answers_match_real_uwsgi(pair):
    """While the master imports the app: identity, subsystems, and the per-request calls (uWSGI
    answers those from a zeroed request, 0; here they raise SystemError/OSError outside a
    request, README "The uwsgi module"), and ``workers()`` (uWSGI lists its not yet spawned
    workers; here the master has none to show)."""
    if pair["engine"] != "prefork":
        pytest.skip("the same in every pair")
    theirs, ours = pair["uwsgi"]["import"], pair["gateway"]["import"]
    assert set(theirs) == set(ours)
    differences = ["%s: uWSGI %s, gateway %s" % (k, theirs[k], ours[k]) for k in sorted(theirs)
                   if k not in ("cl", "connection_fd", "workers_len") and theirs[k] != ours[k]]
    assert not differences, "\n".join(differences)
