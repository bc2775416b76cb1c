"""Helpers for the Erlang integration tests and the benchmark: real OTP nodes, a loop thread.

``ErlNode`` starts ``shared/tools/erl-test-node`` (:func:`support.shared_dir.shared_dir`,
overridable with ``ERL_TEST_NODE``) for one OTP release and stops it by its own pid.
``LoopThread`` runs an asyncio/Tornado loop in a background thread, so the tests can
drive our node both as coroutines on the loop and through the synchronous
``uwsgi.erlang_*`` functions from another thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import signal
import subprocess
import threading
from typing import Any

from support.shared_dir import shared_dir

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_TOOL = os.path.join(shared_dir(), "tools", "erl-test-node")
_counter = itertools.count(1)


def tool_path() -> str:
    return os.environ.get("ERL_TEST_NODE", DEFAULT_TOOL)


def unique(prefix: str) -> str:
    return "%s%d_%d" % (prefix, os.getpid(), next(_counter))


class ErlNode:
    """A real Erlang test node (``uwsgitest`` loaded), in the foreground, stopped by pid."""

    def __init__(self, alive: str, cookie: str, otp: str = "system", extra_args: str = "", host: str = "localhost"):
        self.name = "%s@%s" % (alive, host)
        self.cookie = cookie
        self.otp = otp
        env = dict(os.environ, ERL_TEST_NODE_OTP=otp)
        if extra_args:
            env["ERL_TEST_NODE_ARGS"] = extra_args
        self.proc = subprocess.Popen(
            [tool_path(), self.name, cookie],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != self.name:
            self.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError("erl-test-node %s (OTP %s) did not start: %s" % (self.name, otp, err.strip()[-500:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()  # EOF -> init:stop()
                self.proc.wait(timeout=15)
            except (subprocess.TimeoutExpired, OSError):
                self.kill()
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


class LoopThread:
    """An asyncio loop (with Tornado's IOLoop on it) running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="erlang-test-loop", daemon=True)
        self.thread.start()
        self.io_loop = self.call(self._ioloop())

    async def _ioloop(self) -> Any:
        from tornado.ioloop import IOLoop

        return IOLoop.current()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Any) -> "concurrent.futures.Future[Any]":
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.loop.is_running():
            self.loop.close()


def start_api_node(lt: LoopThread, name: str, cookie: str, **kw: Any) -> Any:
    """Start the process-wide node of :mod:`gateway.erlang.api` on ``lt``'s loop."""
    from gateway.erlang import api

    async def go() -> Any:
        return await api.start(io_loop=lt.io_loop, name=name, cookie=cookie, **kw)

    return lt.call(go())


def stop_api_node(lt: LoopThread) -> None:
    from gateway.erlang import api

    async def go() -> None:
        await api.stop()

    lt.call(go())


#: The registered processes ``uwsgitest:start()`` runs on a test node.
TEST_PROCESSES = ("echoer", "ponger", "collector")


def reset_test_node(erl: ErlNode) -> None:
    """Make a shared test node as good as new for the next test, through the
    process-wide node of :mod:`gateway.erlang.api`: its test processes must be
    alive (a test that killed one fails here), the collector is emptied and the
    echoer's target cleared."""
    from gateway.erlang import api, etf

    atom = etf.Atom
    for name in TEST_PROCESSES:
        if api.erlang_rpc(erl.name, "erlang", "whereis", [atom(name)]) == atom("undefined"):
            raise RuntimeError("the shared test node %s lost its %s process" % (erl.name, name))
    api.erlang_send_message(erl.name, "echoer", (atom("set_target"), atom("undefined")))
    assert api.erlang_rpc(erl.name, "uwsgitest", "clear_collected", []) == atom("ok")


def otp_params() -> list:
    return ["system", "28"]


def start_erl_or_skip(pytest: Any, alive: str, cookie: str, otp: str, extra_args: str = "") -> ErlNode:
    """Start a test node; skip (fail when CI=true) if it cannot run here."""
    from peers import in_ci, require

    require("erl")
    try:
        return ErlNode(alive, cookie, otp, extra_args)
    except (RuntimeError, OSError) as e:
        if in_ci():
            pytest.fail(str(e), pytrace=False)
        pytest.skip(str(e))
        raise


def otp_bindir(otp: str) -> str:
    """The bin directory (erl, epmd, erl_call) of an OTP release, via ``otp-runtime``."""
    tool = os.path.join(os.path.dirname(os.path.abspath(tool_path())), "otp-runtime")
    return subprocess.check_output([tool, otp], text=True).strip()
