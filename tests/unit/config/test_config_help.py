"""--help is generated from the table: every option appears, sections in order, status marked."""

from __future__ import annotations

import re

from gateway.config import OPTIONS, format_help
from gateway.config.help import NOT_SUPPORTED, format_option
from gateway.config.options import OTHER, SECTIONS, find


def test_every_option_and_alias_appears():
    text = format_help()
    for option in OPTIONS:
        for spelling in option.spellings:
            assert re.search(rf"--{re.escape(spelling)}\b", text), spelling


def test_supported_options_show_short_form_metavar_and_default():
    text = format_help()
    assert "-p, --processes N" in text
    assert "-w, --module MODULE[:CALLABLE]" in text
    line = format_option(find("buffer-size"))
    assert line.startswith("  -b, --buffer-size BYTES")
    assert "Default: 4096." in " ".join(line.split())
    assert "Also: --workers." in " ".join(format_option(find("processes")).split())


def test_sections_appear_in_order():
    text = format_help()
    positions = [text.index(f"\n{section}:\n") for section in SECTIONS]
    assert positions == sorted(positions)


def test_unsupported_options_are_marked_and_supported_ones_are_not():
    assert NOT_SUPPORTED in format_option(find("emperor-broodlord"))
    assert NOT_SUPPORTED not in format_option(find("route"))
    assert NOT_SUPPORTED not in format_option(find("spooler"))
    assert NOT_SUPPORTED not in format_option(find("http-socket"))
    assert NOT_SUPPORTED not in format_option(find("vacuum"))  # an accepted no-op
    other = format_help().split(f"\n{OTHER}:\n", 1)[1]
    assert "--spooler-signal-as-task" in other and "--http-socket" not in other


def test_lines_fit_the_width_except_long_signatures():
    for line in format_help(width=100).splitlines():
        assert len(line) <= 100 or line.strip().startswith("-")
