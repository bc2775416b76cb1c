"""gateway.process.worker_triggers: the --reload-on-exception-* rules, the USS/PSS reading,
the reaper."""

from __future__ import annotations

import os
import time

from gateway.process.worker_triggers import exception_matches, memory_extra, reap_children


class Custom(Exception):
    pass


def test_type_value_and_repr_rules():
    exc = ZeroDivisionError("division by zero")
    assert exception_matches(exc, ["ZeroDivisionError"], [], []) == "type ZeroDivisionError"
    assert exception_matches(exc, ["ValueError"], [], []) is None
    assert exception_matches(exc, [], ["division by zero"], []) == "value division by zero"
    assert exception_matches(exc, [], ["division"], []) is None  # the whole value, not a part
    assert exception_matches(exc, [], [], ["ZeroDivisionError: division by zero"]) is not None
    assert exception_matches(exc, [], [], ["ZeroDivisionError:division by zero"]) is None
    custom = Custom("boom")
    assert exception_matches(custom, ["Custom"], [], []) == "type Custom"
    assert exception_matches(custom, ["%s.Custom" % __name__], [], []) is not None
    assert exception_matches(custom, [], [], ["%s.Custom: boom" % __name__]) is not None


def test_memory_extra_sums_private_pages_and_pss():
    text = ("55d0-55d1 r--p 00000000 08:01 1 /usr/bin/python3\n"
            "Rss:                1000 kB\nPss:                 600 kB\n"
            "Shared_Clean:        300 kB\nPrivate_Clean:       100 kB\nPrivate_Dirty:       250 kB\n"
            "Pss_Anon:            200 kB\n")
    assert memory_extra(text) == (350 * 1024, 600 * 1024)
    assert memory_extra("") == (0, 0)
    assert memory_extra(text + text) == (700 * 1024, 1200 * 1024)  # smaps: one block per mapping


def test_reap_children_collects_exited_children_only():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait for it to be a zombie
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    assert reap_children() >= 1
    assert not os.path.exists("/proc/%d" % pid)
    assert reap_children() == 0
