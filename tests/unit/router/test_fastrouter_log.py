"""The FastRouter's rate-limited log lines: one per kind per second, and a bounded memory of kinds."""

from __future__ import annotations


def test_rate_limited_log_lines_are_bounded(monkeypatch):
    from gateway.router import fastrouter

    lines = []
    monkeypatch.setattr(fastrouter, "_last_logged", {})
    monkeypatch.setattr(fastrouter.gen_log, "error", lambda *a: lines.append(a))
    for i in range(3000):
        fastrouter.log_limited("connect-node%d" % i, "line %s", i)
    assert len(fastrouter._last_logged) <= fastrouter._MAX_LOG_KINDS
    assert len(lines) == fastrouter._MAX_LOG_KINDS  # the rest fell within the same second
    fastrouter.log_limited("connect-node0", "again")
    assert len(lines) == fastrouter._MAX_LOG_KINDS  # still within its second
