"""The XML reader: the <uwsgi> stanza, ids, empty elements, CDATA eval, <app>, errors (pure)."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError
from gateway.config.xmlconf import parse_xml


def kv(text, section=""):
    entries, found = parse_xml(text, section, "app.xml")
    assert found
    return [(e.key, e.value) for e in entries]


def test_each_child_element_is_an_option_and_an_empty_one_is_1():
    text = """<?xml version="1.0" encoding="UTF-8"?>
<uwsgi>
  <http-socket>:9090</http-socket>
  <master/>
  <lazy-apps></lazy-apps>
  <env>A=1</env><env>B=&lt;2&gt; &amp; caf\u00e9</env>
  <!-- a comment -->
  <env><![CDATA[C=<raw>]]></env>
  <env> spaced </env>
</uwsgi>"""
    entries, _ = parse_xml(text, "", "app.xml")
    assert [(e.key, e.value, e.origin) for e in entries] == [
        ("http-socket", ":9090", "app.xml line 3"),
        ("master", "1", "app.xml line 4"),
        ("lazy-apps", "1", "app.xml line 5"),
        ("env", "A=1", "app.xml line 6"),
        ("env", "B=<2> & café", "app.xml line 6"),
        ("env", "C=<raw>", "app.xml line 8"),
        ("env", " spaced ", "app.xml line 9"),  # kept as written, as uWSGI does
    ]


def test_a_stanza_inside_another_root_is_chosen_by_id():
    text = """<all>
      <uwsgi><socket>:1</socket></uwsgi>
      <uwsgi id="dev"><socket>:2</socket></uwsgi>
      <uwsgi id="prod"><socket>:3</socket></uwsgi>
    </all>"""
    assert kv(text) == [("socket", ":1")]
    assert kv(text, "dev") == [("socket", ":2")]
    assert kv(text, "prod") == [("socket", ":3")]
    assert kv(text, "other") == [("socket", ":1")]  # the stanza without id serves any id


def test_children_with_another_id_are_skipped():
    text = '<uwsgi><socket id="dev">:8080</socket><socket id="prod">:80</socket><master/></uwsgi>'
    assert kv(text, "dev") == [("socket", ":8080"), ("master", "1")]
    assert kv(text) == [("socket", ":8080"), ("socket", ":80"), ("master", "1")]


def test_a_cdata_section_in_the_stanza_is_eval_code_and_plain_text_is_ignored():
    text = "<uwsgi>\n  ignored text\n  <![CDATA[\nimport os\nif True:\n    x = 1 < 2\n]]>\n</uwsgi>"
    entries, _ = parse_xml(text, "", "app.xml")
    assert [(e.key, e.value, e.origin) for e in entries] == [
        ("eval", "\nimport os\nif True:\n    x = 1 < 2\n", "app.xml line 3")]


def test_app_with_a_mountpoint_is_a_mount():
    assert kv('<uwsgi><app mountpoint="/blog">blog.py</app></uwsgi>') == [("mount", "/blog=blog.py")]


def test_the_declared_encoding_is_honoured():
    text = '<?xml version="1.0" encoding="ISO-8859-1"?><uwsgi><env>G=caf\udce9</env></uwsgi>'
    assert kv(text) == [("env", "G=café")]  # the byte 0xe9 read as latin-1


@pytest.mark.parametrize("text, section, message", [
    ("<uwsgi><socket>:1</socket>", "", "app.xml line 1 column 27: no element found"),
    ("<uwsgi>\n<a></b></uwsgi>", "", "app.xml line 2 column 6: mismatched tag"),
    ("<uwsgi/><uwsgi/>", "", "app.xml line 1 column 9: junk after document element"),
    ("", "", "app.xml line 1 column 1: no element found"),
    ("<config><other/></config>", "", "app.xml: no <uwsgi> element (the root element or one of its children)"),
    ('<config><uwsgi id="a"/></config>', "b", "app.xml: no <uwsgi> element with id 'b'"),
    ("<uwsgi>\n <socket><x/></socket></uwsgi>", "", "app.xml line 2: <socket> holds other elements"),
    ("<uwsgi><app>blog.py</app></uwsgi>", "", "app.xml line 1: <app> needs a mountpoint attribute"),
    ('<!DOCTYPE u [<!ENTITY big "xxxx">]>\n<uwsgi><a>&big;</a></uwsgi>', "",
     "app.xml line 1: entity declarations are not allowed"),
])
def test_malformed_or_unusable_xml_is_one_clear_error(text, section, message):
    with pytest.raises(ConfigError) as info:
        parse_xml(text, section, "app.xml")
    assert str(info.value).startswith(message)
