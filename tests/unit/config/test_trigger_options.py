"""The trigger options' values (gateway/config/options.py, _trigger_options): parsed into
typed tuples, uWSGI's aliases, errors that name the option."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load


def test_file_signal_command_and_timer_values():
    cfg = load(["--touch-signal", "/tmp/a file 17", "--fs-signal", "/srv 255", "--touch-exec", "/t echo hi there",
                "--timer", "3 5", "--signal-timer", "4 6", "--rbtimer", "5 7", "--signal-rbtimer", "6 8"], {})
    assert cfg.touch_signal == [("/tmp/a file", 17)]  # the signal is the last word
    assert cfg.fs_signal == [("/srv", 255)]
    assert cfg.touch_exec == [("/t", "echo hi there")]  # the command after the first space
    assert cfg.signal_timer == [(3, 5), (4, 6)]
    assert cfg.signal_rbtimer == [(5, 7), (6, 8)]


@pytest.mark.parametrize("argv, option", [
    (["--touch-signal", "/tmp/x"], "touch-signal"),
    (["--touch-signal", "/tmp/x 256"], "touch-signal"),
    (["--fs-signal", "/tmp/x sig"], "fs-signal"),
    (["--touch-exec", "/tmp/x"], "touch-exec"),
    (["--timer", "3"], "timer"),
    (["--timer", "3 0"], "timer"),
    (["--rbtimer", "300 1"], "rbtimer"),
    (["--check-interval", "0"], "check-interval"),
    (["--mule-msg-recv-size", "0"], "mule-msg-recv-size"),
    (["--thread-stacksize", "16"], "thread-stacksize"),
    (["--threads-stacksize", "-1"], "threads-stacksize"),
])
def test_bad_values_name_the_option(argv, option):
    with pytest.raises(ConfigError, match=option):
        load(argv, {})


def test_aliases_and_defaults():
    cfg = load(["--threads-stack-size", "256", "-r", "--no-threads-wait"], {})
    assert cfg.thread_stacksize == 256 and cfg.reaper is True
    defaults = load([], {})
    assert (defaults.mule_reload_mercy, defaults.mule_msg_recv_size, defaults.check_interval) == (60, 65536, 1)
    assert defaults.cheap is False and defaults.die_on_no_workers is False
