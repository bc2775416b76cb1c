"""Parsing ``--cron``/``--unique-cron``/``--cron2`` entries (gateway/process/cron_tasks.py)."""

from __future__ import annotations

import pytest

from gateway.process.cron_tasks import CronConfigError, CronEntry, _Task, parse_cron, parse_cron2


class FakeMaster:
    """What a cron entry needs of the master: ``start_child`` (a new pid each time)."""

    def __init__(self) -> None:
        self.started = 0

    def start_child(self, spec) -> int:
        self.started += 1
        return 1000 + self.started


def test_a_unique_cron_still_running_starts_again_once_its_run_ended():
    """As uWSGI: a ``--unique-cron`` entry whose run still goes is passed over without using up
    the occurrence, so once the run ends it starts at the next check where the time matches
    (gateway skipped that occurrence, with a line, until 2026-12-05)."""
    master = FakeMaster()
    task = _Task(master, parse_cron("-1 -1 -1 -1 -1 sleep 90", unique=True))
    task.check(1_000_000.0)
    assert master.started == 1
    task.check(1_000_060.0)  # a minute later: still running, passed over
    assert master.started == 1
    task._on_death(task.pid, 0)
    task.check(1_000_091.0)
    assert master.started == 2


def test_cron_fields_and_a_command_with_spaces():
    assert parse_cron("59 2 -1 -1 -1 /usr/bin/backup --full  now") == CronEntry(
        59, 2, -1, -1, -1, "/usr/bin/backup --full  now")
    assert parse_cron("-5 -1 -1 -1 -1 ./sync.sh", unique=True).unique


def test_cron2_keys_default_to_any():
    entry = parse_cron2("minute=-10,unique=1,harakiri=300 ./report.sh --all")
    assert entry == CronEntry(-10, -1, -1, -1, -1, "./report.sh --all", unique=True, harakiri=300)
    assert parse_cron2("hour=3 x", harakiri=7).harakiri == 7  # --cron-harakiri as the default


@pytest.mark.parametrize("text, fragment", [
    ("1 2 3 4 cmd", "expected 'minute hour day month weekday command'"),
    ("a 2 3 4 5 cmd", "must be integers"),
    ("60 -1 -1 -1 -1 cmd", "minute 60 is out of range"),
    ("-1 -1 0 -1 -1 cmd", "day 0 is out of range"),
    ("-1 -1 -1 13 -1 cmd", "month 13 is out of range"),
])
def test_bad_cron_entries(text, fragment):
    with pytest.raises(CronConfigError, match=fragment):
        parse_cron(text)


@pytest.mark.parametrize("text, fragment", [
    ("./x.sh", "expected 'key=value"),
    ("minute=5", "expected 'key=value"),
    ("colour=red ./x.sh", "unknown key 'colour'"),
    ("minute=five ./x.sh", "minute='five' is not an integer"),
])
def test_bad_cron2_entries(text, fragment):
    with pytest.raises(CronConfigError, match=fragment):
        parse_cron2(text)
