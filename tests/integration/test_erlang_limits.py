"""The Erlang node's bounds against real OTP 25 and 28 nodes: every limit answered, never silence.

Issue 9, items 7-13: deep terms, ``0.0``/``-0.0`` map keys, many calls in flight,
registered-process mailboxes, the atom table, half-open handshakes and a wrong
cookie.  One test node per release serves the module (reset before each test);
each test starts its own node in-process.
"""

from __future__ import annotations

import math
import os
import selectors
import socket
import subprocess
import threading
import time

import pytest

from gateway.erlang import api, etf
from gateway.erlang.errors import ErlangError
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
    return unique("limcookie")


@pytest.fixture(scope="module")
def shared_erl(otp, cookie):
    node = start_erl_or_skip(pytest, unique("limerl"), cookie, otp)
    yield node
    node.stop()


@pytest.fixture
def loop_thread():
    lt = LoopThread()
    yield lt
    try:
        stop_api_node(lt)
    finally:
        lt.stop()


@pytest.fixture
def node_options():
    """Extra :class:`~gateway.erlang.node.Node` options; tests override it."""
    return {}


@pytest.fixture
def py(loop_thread, cookie, node_options):
    return start_api_node(loop_thread, unique("py") + "@localhost", cookie, **node_options)


@pytest.fixture
def erl(shared_erl, py):
    reset_test_node(shared_erl)
    return shared_erl


@pytest.fixture
def rpc_functions():
    names = []

    def register(name, func):
        registry.register(name, func)
        names.append(name)

    yield register
    for n in names:
        registry._table.pop(n, None)


def _erl_eval(erl, expr: str, timeout: float = 60) -> str:
    """Run an Erlang expression on a fresh hidden probe node; its printed result
    without whitespace (``~p`` wraps long terms)."""
    bindir = otp_bindir(erl.otp)
    out = subprocess.run(
        [os.path.join(bindir, "erl"), "-sname", unique("probe") + "@localhost", "-setcookie", erl.cookie, "-hidden",
         "-noshell", "-eval", "io:format(\"~p~n\", [begin %s end]), halt()." % expr],
        capture_output=True, text=True, timeout=timeout,
    )
    return "".join(out.stdout.split())


# ---------------------------------------------------------------- item 9: calls and mailboxes


def test_2000_concurrent_rpc_calls_are_all_answered(erl, py, rpc_functions):
    """Each call waits (its core suspends on an rpc back to Erlang), so all 2,000
    are pending at once: more than the old fixed cap of 1,024."""
    rpc_functions("waiter", lambda i: (api.erlang_rpc(erl.name, "timer", "sleep", [300]), i)[1])
    n = 2000
    results, bad = api.erlang_rpc(
        erl.name, "rpc", "multicall", [[py.atom] * n, A("m"), A("waiter"), [7], 60000], timeout=90
    )
    assert bad == []
    assert results == [7] * n


@pytest.mark.parametrize("node_options", [{"max_pending": 3}])
def test_the_call_cap_is_an_option_and_its_error_names_it(erl, py, rpc_functions, node_options, gateway_errors):
    rpc_functions("held", lambda: (api.erlang_rpc(erl.name, "timer", "sleep", [500]), b"done")[1])
    results, bad = api.erlang_rpc(
        erl.name, "rpc", "multicall", [[py.atom] * 5, A("m"), A("held"), [], 20000], timeout=30
    )
    assert bad == []
    assert results.count(b"done") == 3
    refused = [r for r in results if r != b"done"]
    assert refused == [(A("badrpc"), (A("EXIT"), (A("system_limit"), [(A("m"), A("held"), 0, [])])))] * 2
    assert any("--erlang-max-calls" in r.getMessage() for r in gateway_errors.records)


@pytest.mark.parametrize("node_options", [{"call_mode": "inline"}, {"call_mode": "threads", "rpc_threads": 4}])
def test_registered_process_mailbox_keeps_every_message_in_order(erl, py, node_options):
    """2,000 messages reach a handler that now and then waits on Erlang: none is
    dropped, they arrive in order, and only one handler runs at a time."""
    n = 2000
    got = []
    running = [0, 0]  # now, max
    finished = threading.Event()

    def handler(msg):
        running[0] += 1
        running[1] = max(running[1], running[0])
        if len(got) % 100 == 0:
            api.erlang_rpc(erl.name, "erlang", "node", [])  # wait on Erlang now and then
        got.append(msg)
        running[0] -= 1
        if len(got) == n:
            finished.set()

    api.erlang_register_process("slowbox", handler)
    try:
        api.erlang_send_message(erl.name, "echoer", (A("set_target"), (A("slowbox"), py.atom)))
        for i in range(n):
            api.erlang_send_message(erl.name, "echoer", i)
        assert finished.wait(60), "got %d of %d messages" % (len(got), n)
        assert got == [(A("i_am_echo"), i) for i in range(n)]
        assert running[1] == 1
    finally:
        api.erlang_unregister_process("slowbox")


# ---------------------------------------------------------------- item 12: handshakes


@pytest.mark.parametrize("node_options", [{"handshake_timeout": 0.5, "max_handshakes": 4}])
def test_idle_connections_are_closed_and_bounded(erl, py, node_options, gateway_errors):
    socks = [socket.create_connection(("127.0.0.1", py.port), timeout=5) for _ in range(10)]
    try:
        t = time.monotonic()
        closed_at = []
        sel = selectors.DefaultSelector()
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        while len(closed_at) < len(socks) and time.monotonic() - t < 10:
            for key, _ in sel.select(timeout=1):
                assert key.fileobj.recv(1) == b""  # closed by the node: refused at accept or timed out
                sel.unregister(key.fileobj)
                closed_at.append(time.monotonic() - t)
        sel.close()
        assert len(closed_at) == len(socks)
        assert max(closed_at) < 3.0
        assert sum(1 for x in closed_at if x < 0.4) >= 6  # past max_handshakes: at once
        messages = [r.getMessage() for r in gateway_errors.records]
        assert any("--erlang-max-handshakes" in m for m in messages)
        assert any("--erlang-handshake-timeout" in m for m in messages)
        # the node still serves Erlang
        assert api.erlang_rpc(erl.name, "net_adm", "ping", [py.atom]) == A("pong")
    finally:
        for s in socks:
            s.close()


# ---------------------------------------------------------------- item 13: wrong cookie


def test_wrong_cookie_is_logged_as_erlang_does(shared_erl, loop_thread, gateway_errors):
    py = start_api_node(loop_thread, unique("py") + "@localhost", "NOT-" + shared_erl.cookie)
    assert _erl_eval(shared_erl, "net_adm:ping('%s')" % py.full) == "pang"
    deadline = time.monotonic() + 5
    pattern = "Connection attempt from node probe"
    while time.monotonic() < deadline:
        lines = [r.getMessage() for r in gateway_errors.records if r.name == "gateway.error"]
        if any(pattern in m and "rejected. Invalid challenge reply." in m for m in lines):
            break
        time.sleep(0.05)
    else:
        pytest.fail("no 'Connection attempt from node ... rejected' line in %r" % lines)


# ---------------------------------------------------------------- item 8: 0.0 and -0.0 map keys


def test_zero_and_minus_zero_map_keys_round_trip(erl, py):
    pairs = [(0.0, A("pos")), (-0.0, A("neg"))]
    built = api.erlang_rpc(erl.name, "maps", "from_list", [pairs])
    if erl.otp == "system":  # OTP 25: 0.0 =:= -0.0, one key (the last one wins)
        assert len(built) == 1
        return
    assert len(built) == 2  # OTP 27+: two keys, decoded as two
    # Python's dict holds one of them as a plain float key, the other as a MapKey
    signs = {math.copysign(1.0, k.term if isinstance(k, etf.MapKey) else k): v for k, v in built.items()}
    assert signs == {1.0: A("pos"), -1.0: A("neg")}
    # and encoded back as two keys: Erlang sees the same map
    assert api.erlang_rpc(erl.name, "maps", "size", [built]) == 2
    assert api.erlang_rpc(erl.name, "erlang", "=:=", [built, api.erlang_rpc(erl.name, "maps", "from_list", [pairs])]) is True


# ---------------------------------------------------------------- item 7: deep terms


def _nested(depth):
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_10000_deep_list_goes_through_both_ways(erl, py, rpc_functions):
    """Real Erlang echoes a 10,000-deep list; so do we (Erlang -> Python -> Erlang)."""
    rpc_functions("echo", lambda x: x)
    deep = _nested(10000)
    back = api.erlang_rpc(erl.name, "uwsgitest", "rpc_to", [py.atom, A("m"), A("echo"), [deep], 20000], timeout=30)
    assert etf.encode(back) == etf.encode(deep)  # (== on such lists recurses in C)


def test_terms_past_the_depth_limit_are_answered_at_once(erl, py, rpc_functions):
    """Deeper than max_depth (100,000): rpc:call, rex and gen_server:call callers
    get an error at once instead of waiting for their timeout."""
    rpc_functions("echo", lambda x: x)
    api.erlang_register_process("deepbox", lambda req: req)
    try:
        expr = (
            "Py = '%s', Deep = lists:foldl(fun(_, Acc) -> [Acc] end, [], lists:seq(1, %d)), "
            "T = erlang:monotonic_time(millisecond), "
            "R = {rpc:call(Py, m, echo, [Deep], 30000), rpc:block_call(Py, m, echo, [Deep], 30000), "
            "(catch gen_server:call({deepbox, Py}, Deep, 30000))}, "
            "{R, erlang:monotonic_time(millisecond) - T < 10000}" % (py.full, etf.MAX_DEPTH + 1)
        )
        out = _erl_eval(erl, expr)
        assert out.startswith("{{{badrpc,"), out
        assert "{badrpc,{'EXIT',system_limit}}" in out, out
        assert "{error,system_limit}" in out, out
        assert out.endswith("true}"), out  # answered at once, not after the 30 s timeouts
    finally:
        api.erlang_unregister_process("deepbox")


# ---------------------------------------------------------------- item 11: a full atom table


@pytest.fixture
def early_rpc():
    """An rpc function registered before the node starts (its name is pinned)."""
    registry.register("pinned_fn", lambda *a: (b"got", list(a)))
    yield
    registry._table.pop("pinned_fn", None)


@pytest.mark.parametrize("node_options", [{"max_atoms": 1}])
def test_a_full_atom_table_never_locks_the_node_out(early_rpc, shared_erl, py, node_options):
    """Every new atom is refused; what the node knows and serves still works, and a
    term with a refused atom gets an error answer, never silence."""
    expr = (
        "Py = '%s', T = erlang:monotonic_time(millisecond), "
        "R = {net_adm:ping(Py), rpc:call(Py, erpc, pinned_fn, [1], 20000), "
        "rpc:call(Py, erpc, pinned_fn, [a_brand_new_atom], 20000), rpc:call(Py, nomod_new, pinned_fn, [], 20000)}, "
        "{R, erlang:monotonic_time(millisecond) - T < 10000}" % py.full
    )
    out = _erl_eval(shared_erl, expr)
    assert out.startswith("{{pong,{<<\"got\">>,[1]},{badrpc,"), out
    assert out.count("badrpc") == 2 and out.endswith("true}"), out
    # our own call whose answer holds a refused atom fails at once too
    t = time.monotonic()
    with pytest.raises(ErlangError):
        api.erlang_rpc(shared_erl.name, "uwsgitest", "hello", [], timeout=20)
    assert time.monotonic() - t < 5
