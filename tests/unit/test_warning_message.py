"""``uwsgi.set_warning_message``: uWSGI's 80-byte message and the PING answer carrying it."""

from __future__ import annotations

import pytest

from gateway import warning_message as wm


@pytest.fixture(autouse=True)
def clean():
    wm.set_message("")
    yield
    wm.set_message("")


def test_ping_reply_without_and_with_a_message():
    assert wm.ping_reply() == b"\x64\x00\x00\x01"  # uWSGI's plain PING answer
    assert wm.set_message("degraded") is True  # uWSGI 2.0.31 returns True
    assert wm.message() == b"degraded"
    assert wm.ping_reply() == b"\x64\x08\x00\x01degraded"
    wm.set_message("ok")  # a shorter message replaces the longer one entirely
    assert wm.ping_reply() == b"\x64\x02\x00\x01ok"


def test_long_messages_are_cut_to_80_bytes():
    wm.set_message("y" * 200)
    assert wm.message() == b"y" * 80


def test_argument_checks():
    with pytest.raises(TypeError):
        wm.set_message(b"bytes")
    with pytest.raises(ValueError):
        wm.set_message("a\0b")
