"""The Erlang C-node against real OTP nodes (the system OTP 25 and OTP 28).

One Erlang test node (``shared/tools/erl-test-node``) per release serves the whole
module, reset before each test (``reset_test_node``); each test starts its own node
in-process on a loop thread, under a fresh name.  Tests that need a node of their
own (other kernel options, a node they kill) start it themselves.  Erlang-side
actions go through the test node's ``uwsgitest`` module, called from our node.  Skipped when ``erl`` is missing,
failed instead when ``CI=true``.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from gateway.erlang import api, etf
from gateway.erlang.errors import AuthenticationFailed, BadRPC, ErlangTimeout, NodeDown, NodeNotRunning
from gateway.rpc import registry
from integration.erlang_support import (
    LoopThread,
    otp_bindir,
    reset_test_node,
    start_api_node,
    start_erl_or_skip,
    stop_api_node,
    unique,
)

A = etf.Atom
pytestmark = [pytest.mark.needs("erl"), pytest.mark.timeout(120)]


@pytest.fixture(scope="module", params=["system", "28"])
def otp(request):
    return request.param


@pytest.fixture(scope="module")
def cookie(otp):
    return unique("cookie")


@pytest.fixture(scope="module")
def shared_erl(otp, cookie):
    """One Erlang test node per module and release (starting one costs ~1 s)."""
    node = start_erl_or_skip(pytest, unique("erl"), cookie, otp)
    yield node
    node.stop()


@pytest.fixture
def erl(shared_erl, request):
    """The shared test node, reset for this test through this test's own node
    ``py`` (a fresh name each test, so no connection, pid or registration survives
    from an earlier test): test processes alive, collector emptied, echoer's
    target cleared."""
    if "py" in request.fixturenames:
        request.getfixturevalue("py")
        reset_test_node(shared_erl)
    return shared_erl


@pytest.fixture
def loop_thread():
    lt = LoopThread()
    yield lt
    try:
        stop_api_node(lt)
    finally:
        lt.stop()


@pytest.fixture
def call_mode():
    """How our node runs Python callables; tests parametrize it to cover both."""
    return "inline"


BOTH_MODES = pytest.mark.parametrize("call_mode", ["inline", "threads"])


@pytest.fixture
def busy_poll():
    """The node's busy poll (seconds); None: its default (on).  0 turns it off."""
    return None


BUSY_POLL_OFF_TOO = pytest.mark.parametrize("busy_poll", [None, 0])


@pytest.fixture
def py(loop_thread, cookie, call_mode, busy_poll):
    """Our node (the process-wide one of gateway.erlang.api), hidden, on the loop thread."""
    kw = {} if busy_poll is None else {"busy_poll": busy_poll}
    node = start_api_node(loop_thread, unique("py") + "@localhost", cookie, rpc_threads=4, call_mode=call_mode, **kw)
    assert node.call_mode == call_mode
    assert node.busy_poll == (busy_poll if busy_poll is not None else 50e-6)
    return node


@pytest.fixture
def rpc_functions():
    names = []

    def register(name, func):
        registry.register(name, func)
        names.append(name)

    yield register
    for n in names:
        registry._table.pop(n, None)


# ---------------------------------------------------------------- Python -> Erlang


def test_hello_rpc_the_docs_example(erl, py):
    assert api.erlang_rpc(erl.name, "uwsgitest", "hello", []) == A("hello world !")


def test_connect_handle_reuse_and_close(erl, py):
    h = api.erlang_connect(erl.name)
    assert h.node == erl.name
    assert api.erlang_rpc(h, "uwsgitest", "echo", [[1, b"x", {A("a"): 1.5}]]) == [1, b"x", {A("a"): 1.5}]
    h2 = api.erlang_connect(erl.name)
    assert erl.name in py.connected_nodes()
    api.erlang_close(h)
    time.sleep(0.1)
    assert erl.name in py.connected_nodes()  # h2 still holds it
    api.erlang_close(h2)
    deadline = time.time() + 5
    while erl.name in py.connected_nodes() and time.time() < deadline:
        time.sleep(0.05)
    assert erl.name not in py.connected_nodes()
    with pytest.raises(ValueError):
        api.erlang_rpc(h2, "erlang", "node", [])
    # on demand again
    assert api.erlang_rpc(erl.name, "erlang", "node", []) == A(erl.name)


def test_badrpc_is_its_own_exception(erl, py):
    with pytest.raises(BadRPC) as e:
        api.erlang_rpc(erl.name, "nosuchmodule", "nofun", [1])
    assert e.value.reason == (A("EXIT"), (A("undef"), [(A("nosuchmodule"), A("nofun"), [1], [])]))


def test_rpc_timeout_then_connection_still_usable(erl, py):
    t = time.monotonic()
    with pytest.raises(ErlangTimeout):
        api.erlang_rpc(erl.name, "timer", "sleep", [3000], timeout=0.3)
    assert time.monotonic() - t < 2
    assert isinstance(ErlangTimeout("x"), TimeoutError)
    assert api.erlang_rpc(erl.name, "uwsgitest", "echo", [7]) == 7


@BUSY_POLL_OFF_TOO
def test_many_calls_in_flight_on_one_connection(erl, py, loop_thread):
    async def many():
        import asyncio

        return await asyncio.gather(*(api.rpc(erl.name, "uwsgitest", "echo", [i]) for i in range(200)))

    assert loop_thread.call(many()) == list(range(200))
    assert len([c for c in py._connections.values()]) == 1


@BUSY_POLL_OFF_TOO
def test_send_and_recv_uwsgiecho_round_trip(erl, py):
    api.erlang_connect(erl.name)
    me = py.self_pid(erl.name)
    api.erlang_send_message(erl.name, "echoer", (me, b"hello"))
    assert api.erlang_recv_message(erl.name, timeout=5) == (A("i_am_echo"), b"hello")
    # to a pid given as uWSGI's (id, serial, creation) tuple: make echoer answer there
    collector_pid = api.erlang_rpc(erl.name, "erlang", "whereis", [A("collector")])
    api.erlang_send_message(erl.name, (collector_pid.id, collector_pid.serial, collector_pid.creation), b"via-tuple")
    assert b"via-tuple" in api.erlang_rpc(erl.name, "uwsgitest", "collected", [1, 2000])
    with pytest.raises(ErlangTimeout):
        api.erlang_recv_message(erl.name, timeout=0.2)
    # a receiver that timed out takes nothing with it: the next message is there
    api.erlang_send_message(erl.name, "echoer", (me, b"again"))
    assert api.erlang_recv_message(erl.name, timeout=5) == (A("i_am_echo"), b"again")


@BUSY_POLL_OFF_TOO
def test_send_and_recv_from_an_async_core(erl, py, loop_thread):
    import concurrent.futures

    import loop_engine

    done: "concurrent.futures.Future" = concurrent.futures.Future()
    api.erlang_connect(erl.name)
    me = py.self_pid(erl.name)

    def app():
        try:
            got = []
            for i in range(50):
                api.erlang_send_message(erl.name, "echoer", (me, i))
                got.append(api.erlang_recv_message(erl.name, timeout=5))
            try:
                api.erlang_recv_message(erl.name, timeout=0.1)
            except ErlangTimeout:
                got.append("timeout")
            done.set_result(got)
        except BaseException as e:  # pragma: no cover - reported below
            done.set_exception(e)

    async def go():
        loop_engine.Engine(1, loop_thread.io_loop).submit(app)

    loop_thread.call(go())
    assert done.result(30) == [(A("i_am_echo"), i) for i in range(50)] + ["timeout"]


def test_mnesia_read_write_via_rpc(erl, py):
    if erl.otp != "system":
        pytest.skip("the bundled OTP 28 runtime ships kernel/stdlib/crypto only, no mnesia")
    assert api.erlang_rpc(erl.name, "mnesia", "start", []) == A("ok")
    table = A(unique("kv"))
    assert api.erlang_rpc(erl.name, "mnesia", "create_table", [table, [(A("attributes"), [A("k"), A("v")])]]) == (
        A("atomic"),
        A("ok"),
    )
    assert api.erlang_rpc(erl.name, "mnesia", "dirty_write", [(table, b"key", {"n": 1})]) == A("ok")
    assert api.erlang_rpc(erl.name, "mnesia", "dirty_read", [table, b"key"]) == [(table, b"key", {b"n": 1})]
    assert api.erlang_rpc(erl.name, "mnesia", "dirty_read", [table, b"nokey"]) == []


# ---------------------------------------------------------------- Erlang -> Python


@BUSY_POLL_OFF_TOO
@BOTH_MODES
def test_rpc_call_from_erlang_into_register_rpc(erl, py, rpc_functions):
    rpc_functions("myfunction", lambda *args: (b"py_got", list(args)))
    got = api.erlang_rpc(erl.name, "uwsgitest", "rpc_to", [py.atom, A("anymodule"), A("myfunction"), [b"arg", 42]])
    assert got == (b"py_got", [b"arg", 42])
    # erpc:call sees the same value
    assert api.erlang_rpc(erl.name, "uwsgitest", "erpc_to", [py.atom, A("m"), A("myfunction"), [], 5000]) == (
        A("ok"),
        (b"py_got", []),
    )


def test_rpc_call_unknown_function_is_undef_exactly(erl, py):
    with pytest.raises(BadRPC) as e:  # rpc_to returns {badrpc, ...}, which erlang_rpc raises
        api.erlang_rpc(erl.name, "uwsgitest", "rpc_to", [py.atom, A("anymod"), A("nosuch"), [b"a"]])
    assert e.value.reason == (A("EXIT"), (A("undef"), [(A("anymod"), A("nosuch"), [b"a"], [])]))


@BOTH_MODES
def test_rpc_call_python_exception_maps_to_badrpc_exit(erl, py, rpc_functions, gateway_errors, expect_log):
    def boom(x):
        raise ValueError("bad %r" % (x,))

    rpc_functions("boom", boom)
    with pytest.raises(BadRPC) as e, expect_log("gateway.app", "ValueError: bad 1"):
        api.erlang_rpc(erl.name, "uwsgitest", "rpc_to", [py.atom, A("m"), A("boom"), [1]])
    exit_tag, (reason, stack) = e.value.reason
    assert exit_tag == "EXIT"
    assert reason == (A("python"), b"ValueError", b"bad 1")
    assert stack == [(A("m"), A("boom"), 1, [])]
    assert any(r.name == "gateway.app" and r.exc_info for r in gateway_errors.records)


@BOTH_MODES
def test_rpc_cast_and_block_call(erl, py, rpc_functions):
    hits = []
    rpc_functions("note", lambda *a: hits.append(a) or b"noted")
    assert api.erlang_rpc(erl.name, "rpc", "cast", [py.atom, A("m"), A("note"), [1]]) is True
    assert api.erlang_rpc(erl.name, "rpc", "block_call", [py.atom, A("m"), A("note"), [2], 5000]) == b"noted"
    deadline = time.time() + 5
    while len(hits) < 2 and time.time() < deadline:
        time.sleep(0.02)
    assert sorted(hits) == [(1,), (2,)]
    with pytest.raises(BadRPC):
        api.erlang_rpc(erl.name, "rpc", "block_call", [py.atom, A("m"), A("absent"), [], 5000])


def test_net_adm_ping_pong(erl, py):
    assert api.erlang_rpc(erl.name, "net_adm", "ping", [py.atom]) == A("pong")


@BUSY_POLL_OFF_TOO
@BOTH_MODES
def test_registered_process_receives_erlang_send(erl, py):
    got = []
    event = threading.Event()

    def myprocess(msg):
        got.append(msg)
        event.set()

    api.erlang_register_process("myprocess", myprocess)
    try:
        # {myprocess, Node} ! "Hello" on the Erlang side
        api.erlang_rpc(erl.name, "uwsgitest", "send_to", [(A("myprocess"), py.atom), [ord(c) for c in "Hello"]])
        assert event.wait(5)
        assert etf.to_str(got[0]) == "Hello"
    finally:
        api.erlang_unregister_process("myprocess")


@BOTH_MODES
def test_gen_server_call_to_registered_process(erl, py):
    api.erlang_register_process("mygen", lambda req: (A("reply"), req))
    try:
        assert api.erlang_rpc(erl.name, "uwsgitest", "gen_call", [(A("mygen"), py.atom), (A("add"), 1, 2), 5000]) == (
            A("ok"),
            (A("reply"), (A("add"), 1, 2)),
        )
        # a name nobody registered: the monitor fires noproc at once
        assert api.erlang_rpc(erl.name, "uwsgitest", "watch", [(A("nobody"), py.atom), 2000]) == (
            A("down"),
            A("noproc"),
        )
    finally:
        api.erlang_unregister_process("mygen")


@BOTH_MODES
def test_legacy_erlang_func(erl, py, monkeypatch):
    import sys
    import types

    seen = []
    fake = types.ModuleType("uwsgi")
    fake.erlang_func = lambda msg: seen.append(msg) or (A("legacy_reply"), msg)
    monkeypatch.setitem(sys.modules, "uwsgi", fake)
    # a message to a name nobody registered goes to uwsgi.erlang_func
    api.erlang_rpc(erl.name, "erlang", "send", [(A("whatever"), py.atom), b"hi"])
    deadline = time.time() + 5
    while not seen and time.time() < deadline:
        time.sleep(0.02)
    assert seen == [b"hi"]


# ---------------------------------------------------------------- failures and recovery


def test_wrong_cookie_refused_both_ways(erl, loop_thread):
    py = start_api_node(loop_thread, unique("py") + "@localhost", "NOT-" + erl.cookie)
    with pytest.raises(AuthenticationFailed):
        api.erlang_rpc(erl.name, "erlang", "node", [], timeout=5)
    # and Erlang dialling us with its own cookie gets pang
    bindir = otp_bindir(erl.otp)
    out = subprocess.run(
        [os.path.join(bindir, "erl"), "-sname", unique("probe") + "@localhost", "-setcookie", erl.cookie, "-hidden",
         "-noshell", "-eval", "io:format(\"~p~n\", [net_adm:ping('%s')]), halt()." % py.full],
        capture_output=True, text=True, timeout=60,
    )
    assert out.stdout.strip() == "pang"


def test_unknown_node_is_nodedown(py):
    with pytest.raises(NodeDown):
        api.erlang_rpc("nobody_here@localhost", "erlang", "node", [], timeout=5)


def test_peer_killed_mid_call_then_reconnect(otp, cookie, py, loop_thread):
    alive = unique("victim")
    erl = start_erl_or_skip(pytest, alive, cookie, otp)
    try:
        fut = loop_thread.submit(api.rpc(erl.name, "timer", "sleep", [20000], 10))
        time.sleep(0.5)
        t = time.monotonic()
        erl.kill()
        with pytest.raises(NodeDown):
            fut.result(15)
        assert time.monotonic() - t < 5  # long before the 10 s timeout
    finally:
        erl.stop()
    erl2 = start_erl_or_skip(pytest, alive, cookie, otp)
    try:
        assert api.erlang_rpc(erl2.name, "uwsgitest", "hello", []) == A("hello world !")
    finally:
        erl2.stop()


@BOTH_MODES
def test_blocking_function_does_not_stall_ticks(otp, cookie, loop_thread, rpc_functions, call_mode):
    erl = start_erl_or_skip(pytest, unique("tick"), cookie, otp, "-kernel net_ticktime 2")
    try:
        py = start_api_node(
            loop_thread, unique("py") + "@localhost", cookie, net_ticktime=2, rpc_threads=2, call_mode=call_mode
        )
        rpc_functions("slow", lambda: time.sleep(5) or b"slept")
        t = time.monotonic()
        assert api.erlang_rpc(erl.name, "uwsgitest", "rpc_to", [py.atom, A("m"), A("slow"), [], 15000], timeout=20) == b"slept"
        assert time.monotonic() - t >= 5
        # the connection survived 2.5 net_ticktimes of a busy function
        assert erl.name in py.connected_nodes()
        if call_mode == "inline":
            # the loop thread slept in the function: the watchdog thread did the ticking
            assert py.ticks.watchdog.ticks >= 4
        if call_mode == "inline":
            # and an idle connection stays up across several ticktimes (the loop's own
            # ticks: the same in both call modes, so checked once per release)
            time.sleep(5)
            assert api.erlang_rpc(erl.name, "erlang", "nodes", [A("hidden")]) == [py.atom]
    finally:
        erl.stop()


@BOTH_MODES
def test_python_function_waits_for_erlang_without_blocking_other_calls(erl, py, rpc_functions, loop_thread, call_mode):
    """A function that calls back into Erlang (inline: its core suspends on the loop;
    threads: its worker sleeps) while other rpc:calls into Python go on."""
    rpc_functions("waiter", lambda ms: (b"waited", api.erlang_rpc(erl.name, "timer", "sleep", [ms])))
    rpc_functions("quick", lambda: b"quick")
    slow = loop_thread.submit(api.rpc(erl.name, "uwsgitest", "rpc_to", [py.atom, A("m"), A("waiter"), [1500]], 10))
    time.sleep(0.3)
    t = time.monotonic()
    for _ in range(5):
        assert api.erlang_rpc(erl.name, "uwsgitest", "rpc_to", [py.atom, A("m"), A("quick"), []]) == b"quick"
    assert time.monotonic() - t < 1.0
    assert not slow.done()
    assert slow.result(10) == (b"waited", A("ok"))


@BUSY_POLL_OFF_TOO
def test_sync_api_fast_paths_report_errors(erl, py, loop_thread):
    """The thread fast path (request written by the caller, answer on a lock)."""
    assert api.erlang_rpc(erl.name, "erlang", "node", []) == A(erl.name)
    with pytest.raises(BadRPC):
        api.erlang_rpc(erl.name, "nosuchmodule", "f", [])
    with pytest.raises(ErlangTimeout):
        api.erlang_rpc(erl.name, "timer", "sleep", [2000], timeout=0.3)
    # the late answer to the timed-out call is dropped; the connection still works
    time.sleep(2)
    assert api.erlang_rpc(erl.name, "uwsgitest", "echo", [[1, 2]]) == [1, 2]
    with pytest.raises(TypeError):
        api.erlang_rpc(erl.name, "erlang", "node", 5)


def test_api_without_node_raises():
    with pytest.raises(NodeNotRunning):
        api.erlang_rpc("x@localhost", "m", "f", [])


def test_sync_api_on_loop_outside_core_is_refused(erl, py, loop_thread):
    import loop_engine

    async def on_loop():
        try:
            api.erlang_rpc(erl.name, "erlang", "node", [])
        except loop_engine.NotInCore as e:
            return e

    assert isinstance(loop_thread.call(on_loop()), loop_engine.NotInCore)


def test_sync_api_inside_a_core_suspends_only_that_core(erl, py, loop_thread):
    import concurrent.futures

    import loop_engine

    results: "concurrent.futures.Future" = concurrent.futures.Future()
    order = []

    def slow_core():
        order.append("slow-start")
        v = api.erlang_rpc(erl.name, "timer", "sleep", [300])
        order.append("slow-end")
        return v

    def fast_core():
        order.append("fast")
        return api.erlang_rpc(erl.name, "uwsgitest", "hello", [])

    async def setup():
        engine = loop_engine.Engine(2, loop_thread.io_loop)
        out = {}

        def wrap(key, fn):
            def run():
                out[key] = fn()
                if len(out) == 2:
                    results.set_result(out)

            return run

        engine.submit(wrap("slow", slow_core))
        engine.submit(wrap("fast", fast_core))

    loop_thread.call(setup())
    out = results.result(10)
    assert out == {"slow": A("ok"), "fast": A("hello world !")}
    assert order.index("fast") < order.index("slow-end")
