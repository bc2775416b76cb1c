"""The JSON reader: the object asked for, each value type as uWSGI turns it into text, errors (pure)."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError
from gateway.config.jsonconf import parse_json


def kv(text, section="uwsgi"):
    entries, found = parse_json(text, section, "app.json")
    assert found
    return [(e.key, e.value) for e in entries]


def test_each_value_type_becomes_the_text_uwsgi_would_use():
    text = """{"uwsgi": {"socket": ":1", "processes": 4, "master": true, "lazy-apps": false,
                          "harakiri": null, "ratio": 1.50, "big": -12e3, "empty": ""}}"""
    assert kv(text) == [("socket", ":1"), ("processes", "4"), ("master", "1"), ("lazy-apps", "0"),
                        ("harakiri", "0"), ("ratio", "1.50"), ("big", "-12e3"), ("empty", "")]


def test_a_list_repeats_the_option_in_order_and_an_empty_list_adds_nothing():
    entries, _ = parse_json('{"uwsgi": {"env": ["A=1", 2, true, null], "pythonpath": [], "x": "y"}}',
                            "uwsgi", "app.json")
    assert [(e.key, e.value, e.origin) for e in entries] == [
        ("env", "A=1", "app.json key 'env' item 0"),
        ("env", "2", "app.json key 'env' item 1"),
        ("env", "1", "app.json key 'env' item 2"),
        ("env", "0", "app.json key 'env' item 3"),
        ("x", "y", "app.json key 'x'"),
    ]


def test_a_key_given_twice_adds_the_option_twice():
    assert kv('{"uwsgi": {"env": "A=1", "socket": ":1", "env": "B=2"}}') == [
        ("env", "A=1"), ("socket", ":1"), ("env", "B=2")]


def test_another_object_can_be_selected_and_others_are_ignored():
    text = '{"uwsgi": {"socket": ":1"}, "dev": {"socket": ":2"}, "notes": [1, {"a": {}}]}'
    assert kv(text, "dev") == [("socket", ":2")]
    assert kv(text) == [("socket", ":1")]


def test_unicode_escapes_and_non_ascii_text():
    assert kv('{"uwsgi": {"env": "G=caf\\u00e9", "h": "na\u00efve"}}') == [("env", "G=café"), ("h", "naïve")]


@pytest.mark.parametrize("text, message", [
    # the json module's own words (Python 3.13 names the trailing comma, one column earlier)
    ('{"uwsgi": {"a": 1,}}', ("app.json line 1 column 19: Expecting property name enclosed in double quotes",
                              "app.json line 1 column 18: Illegal trailing comma before end of object")),
    ('{"uwsgi": {\n  "a": 1\n  "b": 2}}', "app.json line 3 column 3: Expecting ',' delimiter"),
    ('', "app.json line 1 column 1: Expecting value"),
    ('{"uwsgi": {}} trailing', "app.json line 1 column 15: Extra data"),
    ('{"uwsgi": {"a": NaN}}', "app.json: NaN is not valid JSON"),
    ('{"uwsgi": {"a": Infinity}}', "app.json: Infinity is not valid JSON"),
    ('[' * 100_000 + ']' * 100_000, "app.json: the JSON document is nested too deeply"),
    ('["uwsgi"]', "app.json: the JSON document must be an object holding an object named 'uwsgi'"),
    ('{"other": {}}', "app.json: you must define an object named 'uwsgi' in your JSON data"),
    ('{"uwsgi": "socket"}', "app.json: you must define an object named 'uwsgi'"),
    ('{"uwsgi": {"a": {"b": 1}}}', "app.json: the value of 'a' is an object"),
    ('{"uwsgi": {"a": [1, [2]]}}', "app.json: item 1 of 'a' is a list or an object"),
    ('{"uwsgi": {"a": [{"b": 1}]}}', "app.json: item 0 of 'a' is a list or an object"),
    ('{"uwsgi": {"": "x"}}', "app.json: an empty key in the object 'uwsgi'"),
])
def test_malformed_or_unusable_json_is_one_clear_error(text, message):
    with pytest.raises(ConfigError) as info:
        parse_json(text, "uwsgi", "app.json")
    assert str(info.value).startswith(message if isinstance(message, tuple) else (message,))
