"""gateway/protocol/http_range.py: uWSGI's reading of ``Range`` (the first range only) and
what each range resolves to for a given size."""

from __future__ import annotations

import pytest

from gateway.protocol.http_range import parse_range, resolve


@pytest.mark.parametrize("header, size, expected", [
    ("bytes=0-99", 1000, (206, 0, 99)),
    ("bytes=100-", 1000, (206, 100, 999)),
    ("bytes=-10", 1000, (206, 990, 999)),
    ("bytes=990-5000", 1000, (206, 990, 999)),      # the end is clipped to the size
    ("bytes=0-0", 1000, (206, 0, 0)),
    ("bytes=0-999", 1000, (200, 0, 999)),           # all of it: a plain 200, as uWSGI
    ("bytes=0-", 1000, (200, 0, 999)),
    ("bytes=-5000", 1000, (200, 0, 999)),           # a suffix longer than the file: all of it
    ("bytes=1000-", 1000, (416, 0, 0)),             # starts past the end
    ("bytes=-0", 1000, (416, 0, 0)),                # the last 0 bytes
    ("bytes=5-9, 20-30", 1000, (206, 5, 9)),        # only the first range counts
    (" Bytes = 5-9", 1000, (206, 5, 9)),
])
def test_resolved_ranges(header, size, expected):
    assert resolve(parse_range(header), size) == expected


@pytest.mark.parametrize("header", ["items=0-9", "bytes", "bytes=", "bytes=9-5", "bytes=a-b", "bytes=-",
                                    "bytes=5", "bytes=1-2-3", "0-9"])
def test_unusable_headers_are_ignored(header):
    assert parse_range(header) is None
    assert resolve(parse_range(header), 1000) == (200, 0, 999)


def test_an_empty_file_is_always_answered_whole():
    assert resolve(parse_range("bytes=0-"), 0)[0] == 200
    assert resolve(parse_range("bytes=-3"), 0)[0] == 200
    assert resolve(parse_range("bytes=1-"), 0)[0] == 416


@pytest.mark.parametrize("header", ["bytes=\xb2-", "bytes=0-\xb9", "bytes=-\xb3", "bytes=\u0661-\u0662"])
def test_non_ascii_digits_are_not_positions(header):
    # str.isdigit() accepts them, int() refuses them: a client's header must not raise
    assert parse_range(header) is None


@pytest.mark.parametrize("header, expected", [
    ("bytes=" + "9" * 5000 + "-", (416, 0, 0)),            # starts past any size
    ("bytes=0-" + "9" * 5000, (200, 0, 999)),             # ends past any size: to the end
    ("bytes=10-" + "9" * 30, (206, 10, 999)),
    ("bytes=-" + "9" * 5000, (200, 0, 999)),              # a suffix longer than any file
    ("bytes=" + "9" * 40 + "-" + "9" * 40, (416, 0, 0)),
])
def test_huge_positions_resolve_without_int_conversion_errors(header, expected):
    assert resolve(parse_range(header), 1000) == expected
