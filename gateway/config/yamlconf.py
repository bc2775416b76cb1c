"""uWSGI's YAML subset: the ``uwsgi:`` mapping of a YAML file as ordered entries.

uWSGI does not use a YAML library by default: its own line reader
(``core/yaml.c``) takes a top-level key (``uwsgi``, or the section asked with
``file.yaml:section``) and reads the ``key: value`` lines indented under it.
This is the same subset, read the same way, plus the few YAML forms people
write in such files (uWSGI accepts them when built against libyaml)::

    # a comment
    uwsgi:
      http-socket: :9090           # plain value, the rest of the line (a comment ends it)
      master: true                 # text, checked by the option (true/false, yes/no, on/off, 1/0)
      env: "GREETING=hello # not a comment"   # 'single' or "double" quotes are removed
      env:                         # a repeated key repeats the option, as in ini files
        - A=1                      # a block list repeats the option too
        - B=2
      pythonpath: [lib, vendor]    # and so does a one-line flow list
      lazy-apps:                   # nothing after the colon: an empty value (a flag turns on)
    other:                         # other top-level keys are skipped
      processes: 8

What is read, exactly:

* the first top-level key equal to the section starts it; the next line at the
  top-level indentation (or a ``---`` document marker) ends it.  Only the first
  such section is read, as in uWSGI;
* every option line of the section has the indentation of its first line;
  ``- item`` lines belong to the ``key:`` line above them (deeper, or at the
  same indentation, both valid YAML);
* the key is what comes before the first ``:`` followed by a blank (or ending
  the line), so ``log-format: %(addr): %(status)`` has the value
  ``%(addr): %(status)``, as uWSGI reads it;
* ``#`` starts a comment at the start of a line or after a blank, outside
  quotes; a tab in the indentation counts as 8 spaces (uWSGI's rule).

Refused with an error naming the line (uWSGI's reader would stop silently or
produce odd options): nested mappings, misaligned lines, block scalars
(``|``, ``>``), flow mappings (``{...}``), unterminated quotes.  Anchors,
aliases and tags are not interpreted: ``&x`` is just text, as in uWSGI's reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.errors import ConfigError
from gateway.config.model import Entry

DEFAULT_SECTION = "uwsgi"

_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


@dataclass
class _PendingKey:
    """A ``key:`` line with nothing after the colon: a list may follow, else an empty value."""

    key: str
    indent: int
    origin: str
    items: int = 0
    item_indent: int | None = None


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lineno = 0

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.name} line {self.lineno}: {message}")

    def syntax_error(self, message: str) -> ConfigError:
        """An error about YAML syntax a uWSGI user may have meant as plain text."""
        return self.error(f"{message} (quote a value that is text starting with '[', '{{', '|' or '>')")

    def split_key(self, content: str) -> tuple[str, str] | None:
        """``key: rest`` → (key, rest stripped); None when the line is no ``key:`` line."""
        if content[0] in "\"'":
            key, after = self.quoted(content)
            after = after.lstrip(" \t")
            if not after.startswith(":") or (len(after) > 1 and after[1] not in " \t"):
                return None
            return key, after[1:].strip(" \t")
        index = 0
        while True:
            index = content.find(":", index)
            if index < 0:
                return None
            if index + 1 == len(content) or content[index + 1] in " \t":
                break
            index += 1
        key = content[:index].rstrip(" \t")
        if _comment_start(key) >= 0:  # ``master  # note: on`` is a key without a colon
            return None
        return key, content[index + 1 :].strip(" \t")

    def scalar(self, text: str) -> str:
        """One value: quoted (quotes removed), or plain (up to a comment, blanks stripped)."""
        if not text:
            return ""
        if text[0] in "\"'":
            value, rest = self.quoted(text)
            rest = rest.lstrip(" \t")
            if rest and not rest.startswith("#"):
                raise self.error(f"unexpected text after a quoted value: '{rest}'")
            return value
        if text[0] in "|>":
            raise self.syntax_error("block scalars ('|' and '>') are not supported; write the value on one line")
        if text[0] == "{":
            raise self.syntax_error("flow mappings ('{...}') are not supported")
        cut = _comment_start(text)
        return (text if cut < 0 else text[:cut]).rstrip(" \t")

    def quoted(self, text: str) -> tuple[str, str]:
        """A quoted scalar at the start of ``text``: (its value, the text after the closing quote)."""
        quote = text[0]
        out: list[str] = []
        i = 1
        while i < len(text):
            char = text[i]
            if char == quote:
                if quote == "'" and text[i + 1 : i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                return "".join(out), text[i + 1 :]
            if char == "\\" and quote == '"':
                i = self.escape(text, i + 1, out)
                continue
            out.append(char)
            i += 1
        raise self.error(f"the quoted value {text} does not end on its line (multi-line values are not supported)")

    def escape(self, text: str, i: int, out: list[str]) -> int:
        letter = text[i : i + 1]
        if letter in _ESCAPES and letter:
            out.append(_ESCAPES[letter])
            return i + 1
        if letter in _HEX_ESCAPES:
            digits = text[i + 1 : i + 1 + _HEX_ESCAPES[letter]]
            try:
                if len(digits) != _HEX_ESCAPES[letter]:
                    raise ValueError(digits)
                out.append(chr(int(digits, 16)))
            except ValueError:
                raise self.error(f"bad escape '\\{letter}{digits}' in a double-quoted value") from None
            return i + 1 + len(digits)
        raise self.error(f"unknown escape '\\{letter}' in a double-quoted value")

    def flow_list(self, text: str) -> list[str]:
        """``[a, "b", 'c']`` on one line → its items."""
        items: list[str] = []
        i = 1
        while True:
            while i < len(text) and text[i] in " \t":
                i += 1
            if i >= len(text):
                raise self.syntax_error("a flow list ('[...]') must end on its line")
            char = text[i]
            if char == "]":
                rest = text[i + 1 :].lstrip(" \t")
                if rest and not rest.startswith("#"):
                    raise self.syntax_error(f"unexpected text after a flow list: '{rest}'")
                return items
            if char in "[{":
                raise self.syntax_error("nested lists and mappings are not supported in a flow list")
            if char == ",":
                raise self.syntax_error("an empty item in a flow list")
            if char in "\"'":
                value, rest = self.quoted(text[i:])
                i = len(text) - len(rest)
            else:
                start = i
                while i < len(text) and text[i] not in ",]" and not (
                    text[i] == "#" and text[i - 1] in " \t"
                ):
                    if text[i] in "[{}":
                        raise self.syntax_error("nested lists and mappings are not supported in a flow list")
                    i += 1
                value = text[start:i].rstrip(" \t")
            items.append(value)
            while i < len(text) and text[i] in " \t":
                i += 1
            if text[i : i + 1] == ",":
                i += 1
            elif i >= len(text) or text[i] == "#":
                raise self.syntax_error("a flow list ('[...]') must end on its line")
            elif text[i] != "]":
                raise self.syntax_error(f"expected ',' or ']' in a flow list, got '{text[i]}'")


def _comment_start(text: str) -> int:
    """Index of a ``#`` that starts a comment in plain text (at the start or after a blank), or -1."""
    for index, char in enumerate(text):
        if char == "#" and (index == 0 or text[index - 1] in " \t"):
            return index
    return -1


def _indentation(line: str) -> tuple[int, str]:
    """(indentation width with a tab counting 8, as uWSGI counts it; the rest of the line)."""
    width = 0
    for index, char in enumerate(line):
        if char == " ":
            width += 1
        elif char == "\t":
            width += 8
        else:
            return width, line[index:]
    return width, ""


def parse_yaml(text: str, section: str = DEFAULT_SECTION, name: str = "<yaml>") -> tuple[list[Entry], bool]:
    """The entries of the top-level mapping ``section`` in ``text``, and whether it exists.

    Pure: no file access, no magic variables (the caller substitutes them first,
    as uWSGI does on the whole file).  Raises :class:`ConfigError` naming the line.
    """
    reader = _Reader(name)
    entries: list[Entry] = []
    top: int | None = None
    found = in_section = False
    entry_indent: int | None = None
    pending: _PendingKey | None = None

    def flush() -> None:
        if pending is not None and pending.items == 0:
            entries.append(Entry(pending.key, "", pending.origin))

    for lineno, raw in enumerate(text.split("\n"), 1):
        reader.lineno = lineno
        indent, content = _indentation(raw.rstrip(" \t\r"))
        if not content or content.startswith("#"):
            continue
        if indent == 0 and (content in ("---", "...") or content.startswith(("--- ", "---\t", "%"))):
            if in_section:
                break
            continue  # a document marker or a directive (``%YAML 1.2``)
        if top is None:
            top = indent
        if indent < top:
            raise reader.error("this line is indented less than the first line of the file")
        if not in_section:
            if indent > top:
                continue  # inside another top-level key
            split = reader.split_key(content)
            if split is None or split[0] != section:
                continue
            if split[1] and not split[1].startswith("#"):
                raise reader.error(f"'{section}:' must be followed by indented 'key: value' lines, "
                                   "not a value on its line")
            in_section = found = True
            continue
        if indent <= top:
            break
        origin = f"{name} line {lineno}"
        if content == "-" or content.startswith(("- ", "-\t")):
            if pending is None or indent < pending.indent:
                raise reader.error("a list item ('- ...') must follow a 'key:' line with no value")
            if pending.item_indent is None:
                pending.item_indent = indent
            elif indent != pending.item_indent:
                raise reader.error("the items of a list must be aligned")
            item = content[1:].strip(" \t")
            if item[:1] in ("[", "-") or (item[:1] not in "\"'" and reader.split_key(item) is not None):
                raise reader.error("nested lists and mappings are not supported; a list item is one value "
                                   "(quote it if it is text with ': ' in it)")
            entries.append(Entry(pending.key, reader.scalar(item), origin))
            pending.items += 1
            continue
        if entry_indent is None:
            entry_indent = indent
        if indent != entry_indent:
            what = "indented deeper than" if indent > entry_indent else "not aligned with"
            raise reader.error(f"this line is {what} the options of '{section}:' "
                               "(nested mappings and multi-line values are not supported)")
        split = reader.split_key(content)
        if split is None:
            raise reader.error(f"expected 'key: value', got '{content}'")
        key, value = split
        if not key:
            raise reader.error("a key is missing before ':'")
        flush()
        pending = None
        if not value or value.startswith("#"):
            pending = _PendingKey(key, indent, origin)
        elif value.startswith("["):
            entries.extend(Entry(key, item, origin) for item in reader.flow_list(value))
        else:
            entries.append(Entry(key, reader.scalar(value), origin))
    flush()
    return entries, found
