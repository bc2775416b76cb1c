"""Per-app counters: the scoreboard's (under a master) and :class:`RequestStats` (without one)
keep the same books, as uWSGI's ``workers[].apps[]``: a request counted for app 0 when it
starts and moved to the ``--mount`` app that takes it, exceptions by app, load times."""

from __future__ import annotations

from typing import Any, Callable, Dict, List

import pytest

from gateway.process.scoreboard import Scoreboard, WorkerBoard
from gateway.server.settings import RequestStats

MOUNTS = ["", "/a", "/b"]


def on_board() -> Any:
    board = Scoreboard(4, 2, MOUNTS)
    return WorkerBoard(board, 2), lambda: board.app_list(2)


def alone() -> Any:
    stats = RequestStats(MOUNTS)
    return stats, stats.app_list


@pytest.mark.parametrize("make", [on_board, alone], ids=["scoreboard", "no master"])
def test_requests_move_to_the_chosen_app_and_exceptions_count_by_app(make: Callable[[], Any]) -> None:
    stats, apps = make()
    for app_id in (0, 2, 2, 1):
        stats.app_requests += 1  # what the runner does as a request starts
        stats.app_switched(app_id)  # what Mounts does once it has chosen
    stats.count_exception(2)
    stats.count_exception(7)  # an id no app has: the worker's count only
    stats.app_loaded([3, 0, 1])
    listed: List[Dict[str, Any]] = apps()
    assert [(a["id"], a["mountpoint"], a["requests"], a["exceptions"], a["startup_time"]) for a in listed] == [
        (0, "", 1, 0, 3), (1, "/a", 1, 0, 0), (2, "/b", 2, 1, 1)]
    assert stats.exceptions == 2
    assert [stats.app_request_count(i) for i in (0, 1, 2, 3)] == [1, 1, 2, 0]
    assert list(listed[0]) == ["id", "modifier1", "mountpoint", "startup_time", "requests", "exceptions", "chdir"]


def test_a_reload_carries_the_apps_counters_to_the_new_slot() -> None:
    board = Scoreboard(4, 1, MOUNTS)
    old = WorkerBoard(board, 1)
    old.app_requests += 1
    old.app_switched(1)
    old.count_exception(1)
    board.copy_counters(1, 3)
    assert [(a["requests"], a["exceptions"]) for a in board.app_list(3)] == [(0, 0), (1, 1), (0, 0)]
    assert WorkerBoard(board, 3).exceptions == 1


def test_no_app_lists_none_but_still_counts() -> None:
    board = Scoreboard(2, 1, [])
    worker = WorkerBoard(board, 1)
    worker.app_requests += 1  # the runner counts before knowing there is no app
    assert board.app_list(1) == [] and worker.app_request_count(0) == 1
