"""The master's pure decisions (respawn back-off, harakiri verdicts) and the scoreboard layout."""

from __future__ import annotations

from gateway.process import policy
from gateway.process.scoreboard import (
    W_DELTA_REQUESTS,
    W_REQUESTS,
    Scoreboard,
    WorkerBoard,
)

S = 1_000_000  # µs


def test_first_death_respawns_at_once_then_backs_off_up_to_a_cap():
    assert policy.respawn_delay(0) == 0 and policy.respawn_delay(1) == 0
    delays = [policy.respawn_delay(n) for n in range(2, 12)]
    assert delays == sorted(delays) and delays[0] > 0
    assert delays[-1] == policy.MAX_RESPAWN_DELAY


def test_only_deaths_at_start_count_as_fast():
    assert policy.next_fast_deaths(3, 0.5) == 4
    assert policy.next_fast_deaths(3, policy.FAST_DEATH + 1) == 0


def test_harakiri_ignores_workers_without_requests_and_when_off():
    assert policy.harakiri_verdict(1, 100 * S, 0, []) is None
    assert policy.harakiri_verdict(0, 100 * S, 0, [(0, 0)]) is None


def test_a_stalled_loop_blames_the_cores_busy_since_before_the_stall():
    now = 100 * S
    # loop last turned 3 s ago; core 1 started before that, core 2 after (it is queued behind)
    verdict = policy.harakiri_verdict(2, now, now - 3 * S, [(1, now - 4 * S), (2, now - int(2.5 * S))])
    assert verdict == [1]


def test_a_stalled_loop_blames_the_request_that_started_just_after_its_last_beat():
    """The request that blocks the loop usually started after its last beat: it is blamed as
    soon as it has run ``harakiri`` seconds, not ``HARAKIRI_GRACE`` later."""
    now = 100 * S
    beat = now - int(2.2 * S)
    assert policy.harakiri_verdict(2, now, beat, [(0, now - int(2.1 * S))]) == [0]
    assert policy.harakiri_verdict(2, now, beat, [(0, now - int(1.9 * S))]) is None


def test_a_live_loop_gets_a_grace_to_cancel_its_suspended_core():
    now = 100 * S
    fresh_beat = now - S // 10
    assert policy.harakiri_verdict(2, now, fresh_beat, [(0, now - 3 * S)]) is None
    late = now - int((2 + policy.HARAKIRI_GRACE + 0.1) * S)
    assert policy.harakiri_verdict(2, now, fresh_beat, [(0, late), (1, now)]) == [0]


def test_expired_cores_are_those_past_the_limit():
    now = 100 * S
    assert policy.expired_cores(1.5, now, [(0, now - 2 * S), (1, now - S)]) == [0]
    assert policy.expired_cores(0, now, [(0, 0)]) == []


def test_worker_board_counts_and_records_vars_in_shared_memory():
    board = Scoreboard(4, 3)
    wb = WorkerBoard(board, 2)
    env = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/x?y", "REMOTE_ADDR": "127.0.0.1", "HTTP_COOKIE": "secret"}
    wb.begin(1, env, 1000.0)
    snap = board.snapshot(2)
    assert snap["status"] == "idle" or snap["status"] == "busy"
    core = snap["cores"][1]
    assert core["in_request"] == 1 and core["req_info"] == {"request_start": 1000}
    assert core["vars"] == ["REQUEST_METHOD=GET", "REQUEST_URI=/x?y", "REMOTE_ADDR=127.0.0.1", ""]
    wb.requests += 1
    wb.tx += 10
    wb.end(1, 1000.0)
    snap = board.snapshot(2)
    assert snap["cores"][1]["in_request"] == 0 and snap["cores"][1]["vars"] == []
    assert snap["cores"][1]["requests"] == 1 and snap["requests"] == 1 and snap["tx"] == 10
    assert board.get(2, W_DELTA_REQUESTS) == 1 and board.get(1, W_REQUESTS) == 0  # its own slot only


def test_respawn_keeps_cumulative_counters_and_resets_the_rest():
    board = Scoreboard(2, 1)
    wb = WorkerBoard(board, 1)
    board.spawned(1, 10, 0)
    wb.requests += 5
    wb.begin(0, {}, 1.0)
    board.died(1)
    board.spawned(1, 11, 0)
    snap = board.snapshot(1)
    assert snap["requests"] == 5 and snap["delta_requests"] == 0 and snap["respawn_count"] == 2
    assert snap["cores"][0]["in_request"] == 0


def test_current_slots_follow_the_newest_generation():
    board = Scoreboard(4, 1)  # two worker ids, two slots each
    board.spawned(1, 10, 0)
    board.spawned(2, 11, 0)
    assert board.current_slots() == [1, 2]
    board.spawned(3, 12, 1)  # worker 1 reloaded into its second slot
    assert board.current_slots() == [3, 2]


def test_a_reload_reimports_app_code_only():
    import json
    import types

    from gateway.process.app_reload import is_app_code as _is_app_code

    app = types.ModuleType("myapp")
    app.__file__ = "/srv/site/myapp/views.py"
    assert _is_app_code("myapp.views", app)
    lib = types.ModuleType("flask")
    lib.__file__ = "/venv/lib/python3.11/site-packages/flask/__init__.py"
    assert not _is_app_code("flask", lib)
    ext = types.ModuleType("fast")
    ext.__file__ = "/srv/site/fast.cpython-311-x86_64-linux-gnu.so"
    assert not _is_app_code("fast", ext)
    assert not _is_app_code("json", json)  # the standard library
    ours = types.ModuleType("gateway.x")
    ours.__file__ = "/work/gateway/x.py"
    assert not _is_app_code("gateway.x", ours)


def test_user_deadlines_stand_beside_harakiri():
    now = 100 * S
    fresh_beat = now - S // 10
    starts = [(0, now - 2 * S), (1, now - 2 * S)]
    # no --harakiri: only core 0's own deadline counts; the worker may still cancel it (live loop)
    assert policy.harakiri_verdict(0, now, fresh_beat, starts, {0: now - S // 2}) is None
    assert policy.expired_cores(0, now, starts, {0: now - S // 2, 1: now + S}) == [0]
    # past the grace, stuck loop or not: the master kills; within it, only a loop stuck since
    # before the deadline (a loop that turned after it may be cancelling the request)
    assert policy.harakiri_verdict(0, now, fresh_beat, starts, {0: now - 2 * S}) == [0]
    assert policy.harakiri_verdict(0, now, now - 3 * S, starts, {1: now - 2 * S}) == [1]
    assert policy.harakiri_verdict(0, now, now - 3 * S, starts, {1: now - S}) == [1]
    assert policy.harakiri_verdict(0, now, now - S, starts, {1: now - 2 * S}) == [1]  # past the grace
    assert policy.harakiri_verdict(0, now, now - S // 2, starts, {1: now - S}) is None  # beat after it
    assert policy.harakiri_verdict(0, now, now - S // 5, starts, {1: now - S // 10}) is None  # not stalled
    # a deadline later than --harakiri's does not delay it
    early = [(0, now - 4 * S), (1, now - 4 * S)]
    assert policy.harakiri_verdict(1, now, now - 3 * S, early, {0: now + 60 * S}) == [0, 1]


def test_the_log_lines_total_counts_every_workers_requests_as_uwsgi():
    board = Scoreboard(2, 1)
    one, two = WorkerBoard(board, 1), WorkerBoard(board, 2)
    one.requests += 1
    two.requests += 1
    two.requests += 1
    # "req: N/TOTAL": uWSGI's workers[0].requests is the instance's, kept over respawns
    assert (one.total_requests, two.total_requests, two.requests) == (3, 3, 2)
    board.spawned(2, 4242, 1)
    assert one.total_requests == 3


def test_a_request_held_by_an_app_thread_gets_no_grace():
    """The worker cannot cancel a thread: the master kills at the deadline itself."""
    now = 100 * S
    fresh_beat = now - S // 10
    starts = [(0, now - int(2.1 * S))]
    assert policy.harakiri_verdict(2, now, fresh_beat, starts) is None  # a loop core: the grace
    assert policy.harakiri_verdict(2, now, fresh_beat, starts, None, {0}) == [0]
    assert policy.harakiri_verdict(0, now, fresh_beat, starts, {0: now - S // 10}, {0}) == [0]
    assert policy.harakiri_verdict(0, now, fresh_beat, starts, {0: now + S // 10}, {0}) is None
