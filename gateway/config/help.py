"""``--help`` text, generated from the option table.

One block per section, in :data:`~gateway.config.options.SECTIONS` order.  Each
option shows its short form, its name and value placeholder, its help, its
aliases and its default; options not supported yet are marked so.  The long tail
of recognised-but-unsupported uWSGI options is listed by name only.
"""

from __future__ import annotations

import textwrap

from gateway.config.converters import describe
from gateway.config.options import OPTIONS, OTHER, SECTIONS, Option

WIDTH = 100
_COLUMN = 32
NOT_SUPPORTED = "[not supported yet]"

_INTRO = """\
Usage: gateway [options...] [config.ini]

gateway is a pure-Python application server that reads uWSGI's options: a uWSGI
command line or ini file ([uwsgi] section) works unchanged as far as the options
below go.  Options come, in increasing precedence for single values, from UWSGI_<NAME>
environment variables (UWSGI_HTTP_SOCKET=:8080), then the command line and the ini
files it loads, in order; repeatable options accumulate.  Write '--name value' or
'--name=value'; flags take no value on the command line and true/false in ini files."""


def _signature(option: Option) -> str:
    long = f"--{option.name}" + ("" if option.flag else f" {option.metavar or 'VALUE'}")
    return f"-{option.short}, {long}" if option.short else f"    {long}"


def _describe(option: Option) -> str:
    parts = []
    if not option.supported:
        parts.append(NOT_SUPPORTED)
    parts.append(option.help.rstrip(".") + ".")
    if option.hint:
        parts.append(option.hint[0].upper() + option.hint[1:] + ".")
    if option.aliases:
        parts.append("Also: " + ", ".join(f"--{alias}" for alias in option.aliases) + ".")
    if option.repeatable and "repeat" not in option.help:
        parts.append("Repeatable.")
    default = describe(option.default) if not option.flag else ""
    if default and option.supported:
        parts.append(f"Default: {default}.")
    return " ".join(parts)


def format_option(option: Option, width: int = WIDTH) -> str:
    """The help lines of one option."""
    signature = "  " + _signature(option)
    wrapper = textwrap.TextWrapper(width=width, initial_indent=" " * _COLUMN,
                                   subsequent_indent=" " * _COLUMN,
                                   break_on_hyphens=False, break_long_words=False)
    lines = wrapper.wrap(_describe(option))
    if len(signature) < _COLUMN - 1:
        lines[0] = signature.ljust(_COLUMN) + lines[0][_COLUMN:]
    else:
        lines.insert(0, signature)
    return "\n".join(lines)


def format_help(width: int = WIDTH) -> str:
    """The full ``--help`` text."""
    blocks = [_INTRO]
    for section in SECTIONS:
        options = [option for option in OPTIONS if option.section == section]
        if not options:
            continue
        if section == OTHER:
            names: list[str] = []
            for option in options:
                names.extend(f"--{spelling}" for spelling in option.spellings)
            body = textwrap.fill(
                "uWSGI options gateway recognises and refuses with a clear error rather than "
                "ignoring them: " + ", ".join(names) + ".",
                width=width, initial_indent="  ", subsequent_indent="  ",
                break_on_hyphens=False, break_long_words=False)
            blocks.append(f"{section}:\n{body}")
            continue
        blocks.append(f"{section}:\n" + "\n".join(format_option(o, width) for o in options))
    return "\n\n".join(blocks) + "\n"
