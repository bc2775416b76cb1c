"""The ``uwsgi`` module's argument conversions (``gateway/api_args.py``): what uWSGI 2.0.31's
``PyArg_ParseTuple`` formats accept, and the errors they raise."""

from __future__ import annotations

import pytest

from gateway.api_args import c_int_arg
from gateway.subsystems import api


@pytest.mark.parametrize("fmt, low, high", [("b", 0, 255), ("i", -2 ** 31, 2 ** 31 - 1),
                                            ("l", -2 ** 63, 2 ** 63 - 1), ("L", -2 ** 63, 2 ** 63 - 1)])
def test_c_int_arg_accepts_its_c_types_range_only(fmt, low, high):
    assert c_int_arg(low, "f", fmt) == low and c_int_arg(high, "f", fmt) == high
    for beyond in (low - 1, high + 1):
        with pytest.raises(OverflowError):
            c_int_arg(beyond, "f", fmt)


def test_c_int_arg_messages_are_cpythons():
    with pytest.raises(OverflowError, match="^unsigned byte integer is less than minimum$"):
        c_int_arg(-1, "f", "b")
    with pytest.raises(OverflowError, match="^signed integer is greater than maximum$"):
        c_int_arg(2 ** 31, "f", "i")
    with pytest.raises(TypeError, match="f: an integer is required, not 'str'"):
        c_int_arg("1", "f", "i")


@pytest.mark.parametrize("call, error, message", [
    # uWSGI's "s|l": the value is a C long (until 2026-12-05 2**64 was stored as 0 and True returned)
    (lambda: api.metric_set("m", 2 ** 64), OverflowError, "Python int too large to convert to C long"),
    (lambda: api.metric_inc("m", -2 ** 63 - 1), OverflowError, "Python int too large to convert to C long"),
    # uWSGI's "|i": a lock number is a C int (until then: ValueError "Invalid lock number")
    (lambda: api.lock(2 ** 31), OverflowError, "signed integer is greater than maximum"),
    (lambda: api.is_locked(-2 ** 31 - 1), OverflowError, "signed integer is less than minimum"),
])
def test_metric_values_and_lock_numbers_beyond_c_types(call, error, message):
    with pytest.raises(error, match=message):
        call()
