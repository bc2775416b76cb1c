"""Values of the ``uwsgi`` module that real uWSGI 2.0.31 gives (compared live in
``tests/integration/test_api_differential.py``), where a unit test pins them cheaply."""

from __future__ import annotations

from gateway import uwsgi_module


def test_total_requests_counts_every_worker_under_a_master(monkeypatch):
    # uWSGI's workers[0].requests: the instance's finished requests, not the caller's worker's
    monkeypatch.setattr(uwsgi_module._runtime, "workers", lambda: ({"requests": 2}, {"requests": 3}))
    assert uwsgi_module.total_requests() == 5


def test_has_threads_is_an_int_and_magic_table_holds_bytes():
    assert type(uwsgi_module.has_threads) is int
    table = uwsgi_module._magic_table()
    assert table[b"%"] == b"%" and table[b"("] == b"%(" and table[b"V"] == b"2.0.31"
    assert all(type(k) is bytes and type(v) is bytes and v for k, v in table.items())


def test_accepting_returns_none_and_sets_the_scoreboard_flag(monkeypatch):
    flags = []

    class Board:
        def set_accepting(self, flag: bool) -> None:
            flags.append(flag)

    monkeypatch.setattr(uwsgi_module._runtime, "stats", Board())
    assert uwsgi_module.accepting(0) is None
    assert uwsgi_module.accepting() is None
    assert flags == [False, True]


def test_env_exists_only_in_a_request():
    assert not hasattr(uwsgi_module, "env")
    assert "env" not in dir(uwsgi_module)

