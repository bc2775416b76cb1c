"""The tracebacker's report format (uWSGI's), on frames made here."""

from __future__ import annotations

import sys

from gateway.process.tracebacker import HEADER, render


def _inner():
    return sys._getframe()


def test_one_line_per_frame_outermost_first_in_uwsgi_format():
    frame = _inner()
    report = render([("core 3", frame), ("th\u00e9", frame)]).decode("ascii")
    assert report.startswith(HEADER.decode())
    lines = report[len(HEADER):].splitlines()
    mine = [line for line in lines if line.startswith("thread_id = core 3 ")]
    assert mine[-1] == ("thread_id = core 3 filename = %s lineno = %d function = _inner line = return sys._getframe()"
                        % (__file__, _inner.__code__.co_firstlineno + 1))
    assert "function = test_one_line_per_frame_outermost_first_in_uwsgi_format" in mine[-2]
    assert any(line.startswith("thread_id = th\\xe9 ") for line in lines)  # ASCII only, as uWSGI writes it
