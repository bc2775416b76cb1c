"""The key=value,... splitter behind --cache2 and --metric, and each option's message when it fails."""

import pytest

from gateway.sharedmem.cache import CacheConfigError, CacheSpec
from gateway.sharedmem.keyvals import parse_keyvals
from gateway.sharedmem.metrics import MetricConfigError, MetricSpec


def test_parts_are_split_and_stripped_blank_parts_skipped():
    assert parse_keyvals(" name = a ,, items=10,") == {"name": "a", "items": "10"}
    assert parse_keyvals("a=b=c") == {"a": "b=c"}


def test_a_part_without_equals_is_none():
    assert parse_keyvals("name=a,items") is None


def test_each_option_names_itself_when_malformed():
    with pytest.raises(CacheConfigError, match="unable to parse cache definition 'name=a,items'"):
        CacheSpec.parse("name=a,items")
    with pytest.raises(MetricConfigError, match="invalid metric keyval syntax: name=m,oid"):
        MetricSpec.parse("name=m,oid")
    assert CacheSpec.parse("name=a, items=10").max_items == 10
    assert MetricSpec.parse("name=m, type=gauge").name == "m"
