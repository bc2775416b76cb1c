"""Config files of every format uWSGI reads: ini, JSON, YAML and XML, one way to read them all.

Each format has a pure parser (``ini.py``, ``jsonconf.py``, ``yamlconf.py``,
``xmlconf.py``: text → entries).  This module does what is common, as uWSGI's
``uwsgi_open_and_read`` and ``config_magic_table_fill`` do for every loader:

* ``file[:section]`` is split on the last colon (``:section`` alone reuses the
  previous file of the same format, which uWSGI does for ini files only);
* the file is read (bounded by ``MAX_CONFIG_FILE_BYTES``) relative to the
  working directory, and magic variables (``%d``, ``%n``, ...) are replaced in
  the whole text before it is parsed;
* the format comes from the option (``--json``) or, for ``--include``,
  ``--inherit``, ``--config`` and a lone file argument, from the extension:
  ``.ini``, ``.xml``, ``.yaml``/``.yml``, ``.json``/``.js``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

from gateway.config import jsonconf, xmlconf, yamlconf
from gateway.config.errors import ConfigError
from gateway.config.ini import (
    DEFAULT_SECTION,
    MagicContext,
    ReadFile,
    absolute_path,
    magic_variables,
    parse_ini,
    read_text,
    split_spec,
    substitute_magic,
)
from gateway.config.model import Entry

Parser = Callable[[str, str, str], "tuple[list[Entry], bool]"]


@dataclass(frozen=True)
class Format:
    """One config file format: its option name, how messages name it, its parser."""

    name: str
    label: str
    default_section: str
    parse: Parser
    #: the warning for a section that is not in the file (formats that make it an error raise)
    missing: str = "section [{section}] not found in {label} file '{file}'"


FORMATS: dict[str, Format] = {
    "ini": Format("ini", "ini", DEFAULT_SECTION, parse_ini),
    "json": Format("json", "JSON", jsonconf.DEFAULT_SECTION, jsonconf.parse_json),
    "yaml": Format("yaml", "YAML", yamlconf.DEFAULT_SECTION, yamlconf.parse_yaml,
                   missing="no top-level '{section}:' in {label} file '{file}'"),
    "xml": Format("xml", "XML", xmlconf.DEFAULT_SECTION, xmlconf.parse_xml),
}

#: File name endings → format, in uWSGI's order of checks (``uwsgi_opt_load``).
EXTENSIONS = {".ini": "ini", ".xml": "xml", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".js": "json"}


def format_of(file: str) -> str | None:
    """The format a file name's extension says (case-insensitive), or None."""
    lowered = file.lower()
    for extension, name in EXTENSIONS.items():
        if lowered.endswith(extension):
            return name
    return None


def config_file_format(spec: str) -> str | None:
    """The format of ``file[:section]`` by the file's extension, or None."""
    return format_of(spec) or format_of(split_spec(spec)[0])


@dataclass
class ConfigFile:
    """What one config file contributed: its entries, the file and format it was, and warnings."""

    path: str
    section: str
    format: str
    entries: list[Entry]
    warnings: list[str]
    #: its magic-variable table (the first file's gives the uppercase letters of the others)
    magic: dict[str, str] = field(default_factory=dict)


def read_config(
    spec: str,
    context: MagicContext,
    *,
    kind: str | None = None,
    last_file: str | None = None,
    read_file: ReadFile = read_text,
    inject_before: Sequence[str] = (),
    inject_after: Sequence[str] = (),
    first_magic: dict[str, str] | None = None,
) -> ConfigFile:
    """Read ``file[:section]`` (relative to ``context.cwd``) into entries, magic variables applied.

    ``kind`` is a key of :data:`FORMATS`; None means "by the extension", an
    error when the extension is none of uWSGI's.  Includes inside the file are
    returned as ordinary entries; following them is the caller's job.
    ``first_magic`` is the magic table of the first config file read (None: this is the first).
    ``inject_before`` / ``inject_after`` name files (relative to ``context.cwd``) whose text
    goes before / after the file's own, before the magic variables are replaced (uWSGI's
    ``--inject-before``/``--inject-after``); a newline is added where a part lacks one.
    """
    file, section = split_spec(spec)
    if not file:
        if last_file is None:
            what = FORMATS[kind].label if kind else "config"
            raise ConfigError(f"{what} '{spec}' names only a section, and no {what} file was read before")
        file = last_file
    if kind is None:
        kind = format_of(file)
        if kind is None:
            raise ConfigError(f"cannot tell the format of config file '{file}': its name must end in "
                              + ", ".join(EXTENSIONS))
    fmt = FORMATS[kind]
    written_section = section or ""
    section = section or fmt.default_section
    if "://" in file:
        raise ConfigError(f"{fmt.label} '{file}': loading configuration from a URL is not supported yet "
                          "by gateway")
    try:
        text = read_file(os.path.join(context.cwd, file))
    except OSError as exc:
        raise ConfigError(f"cannot read {fmt.label} file '{file}': {exc.strerror or exc}") from None
    if inject_before or inject_after:
        text = _injected(text, inject_before, inject_after, context.cwd, read_file)
    table = magic_variables(file, absolute_path(file, context.cwd), written_section, context, first_magic)
    entries, found = fmt.parse(substitute_magic(text, table), section, file)
    warnings = [] if found else [fmt.missing.format(section=section, label=fmt.label, file=file)]
    return ConfigFile(file, section, kind, entries, warnings, table)


def _injected(text: str, before: Sequence[str], after: Sequence[str], cwd: str, read_file: ReadFile) -> str:
    """``text`` with the ``inject-before`` files' text before it and the ``inject-after`` ones' after."""
    parts = []
    for file in (*before, None, *after):
        if file is None:
            parts.append(text)
            continue
        try:
            parts.append(read_file(os.path.join(cwd, file)))
        except OSError as exc:
            which = "inject-before" if file in before else "inject-after"
            raise ConfigError(f"option '{which}': cannot read '{file}': {exc.strerror or exc}") from None
    return "".join(part if part.endswith("\n") or not part else part + "\n" for part in parts)
