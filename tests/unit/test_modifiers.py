"""--allowed-modifiers / --remap-modifier resolved into one table (gateway.server.modifiers)."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load
from gateway.protocol.uwsgi import VARS_MODIFIERS
from gateway.server.modifiers import UNAVAILABLE, modifier_table, served_as


def test_neither_option_is_no_table():
    assert modifier_table(None, None) is None and modifier_table([], []) is None


def test_allowed_then_remapped_in_uwsgis_order():
    table = modifier_table([0, 173], [(0, 5), (100, 7)])
    assert table is not None
    assert (table[0], table[173], table[5]) == (0, 173, 0)  # 5 is served as a WSGI request
    assert table[100] == UNAVAILABLE and table[30] == UNAVAILABLE
    assert table[7] == UNAVAILABLE  # remapped from a refused modifier1: refused too
    assert served_as(table, VARS_MODIFIERS) == {0, 5}


def test_options_parse_and_bad_values_name_the_option():
    cfg = load(["--socket", ":0", "--allowed-modifiers", "0, 30,173", "--remap-modifier", "0:5,30:31"], {})
    assert cfg.allowed_modifiers == [0, 30, 173] and cfg.remap_modifier == [(0, 5), (30, 31)]
    for args in (["--allowed-modifiers", "0,x"], ["--allowed-modifiers", "256"], ["--remap-modifier", "0-5"],
                 ["--remap-modifier", "0:300"]):
        with pytest.raises(ConfigError, match=args[0].lstrip("-")):
            load(["--socket", ":0"] + args, {})
