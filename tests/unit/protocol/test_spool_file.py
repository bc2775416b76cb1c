"""Spool files: round trips, a file written by real uWSGI 2.0.31, malformed files, names."""

from __future__ import annotations

import os

import pytest

from gateway.protocol import spool_file as S

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "spool", "uwsgi-2.0.31.spool")


def test_round_trip_keeps_vars_in_order_and_the_body():
    pairs = [(b"name", b"x"), (b"args", bytes(range(256))), (b"empty", b"")]
    data = S.encode_task(pairs, b"\x00body\xff")
    assert data[0] == S.MOD1_SPOOLER and data[3] == 0
    task = S.decode_task(data)
    assert task.vars == pairs and task.body == b"\x00body\xff" and task.modifier1 == 17


def test_the_bytes_match_what_uwsgi_writes():
    with open(FIXTURE, "rb") as f:
        captured = f.read()
    ours = S.encode_task([(b"name", b"from-uwsgi"), (b"at", b"4102444800"), (b"x", b"\x00\xff")], b"BODY\x00bytes")
    assert ours == captured
    task = S.decode_task(captured)
    assert task.vars == [(b"name", b"from-uwsgi"), (b"at", b"4102444800"), (b"x", b"\x00\xff")]
    assert task.body == b"BODY\x00bytes"
    assert S.reserved_fields(task.vars) == S.Reserved(None, None, 4102444800)


@pytest.mark.parametrize("data, message", [
    (b"", "shorter than the 4-byte header"),
    (b"\x11\x05", "shorter than the 4-byte header"),
    (b"\x11\x10\x00\x00\x04\x00name", "truncated"),
    (b"\x11\x06\x00\x00\x00\x00\x01\x00x\x00", "empty key"),
    (b"\x11\x05\x00\x00\x04\x00nam", "runs past the end"),
])
def test_malformed_files_are_refused(data, message):
    with pytest.raises(S.MalformedTask, match=message):
        S.decode_task(data)


def test_vars_over_64k_are_refused_and_point_at_the_body():
    with pytest.raises(S.TaskTooLarge, match="use the 'body'"):
        S.encode_task([(b"big", b"x" * 40000), (b"big2", b"x" * 40000)])
    assert S.decode_task(S.encode_task([(b"k", b"v")], b"x" * 200000)).body == b"x" * 200000


def test_reserved_fields_as_uwsgi_parses_them():
    r = S.reserved_fields([(b"spooler", b"/q"), (b"priority", b"3"), (b"at", b"1700000000.75")])
    assert r == S.Reserved(b"/q", b"3", 1700000000)
    assert S.reserved_fields([(b"at", b"12abc")]).at == 12
    assert S.reserved_fields([(b"at", b"soon")]).at == 0


def test_names_and_scan_order():
    name = S.task_file_name("host", 12, 3, 99, 1700000000, 5)
    assert name == "uwsgi_spoolfile_on_host_12_3_99_1700000000_5"
    assert S.is_task_name(name) and not S.is_task_name(".tmp_" + name) and not S.is_task_name("malformed_" + name)
    assert sorted(["b", "10", name, "2", "a"], key=S.scan_order) == ["2", "10", "a", "b", name]
    ninth, tenth = (S.task_file_name("host", 12, n, 99, 1700000000, 5) for n in (9, 10))
    assert sorted([tenth, ninth], key=S.scan_order) == [ninth, tenth]  # numbers as numbers (versionsort)
