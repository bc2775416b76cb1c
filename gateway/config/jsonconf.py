"""uWSGI JSON config files: the ``"uwsgi"`` object of a JSON document as ordered entries.

What uWSGI's JSON loader (``core/json.c``, over jansson) does, and so what this one does::

    {"uwsgi": {"http-socket": ":9090", "processes": 4, "master": true,
               "env": ["A=1", "B=2"], "lazy-apps": false}}

* ``file.json:name`` reads the object ``name`` instead of ``uwsgi``; a document
  without it (or where it is not an object) is an error, as in uWSGI;
* a string is the value as is; an integer is its digits; ``true`` is ``1`` and
  ``false`` / ``null`` are ``0`` (so a flag turns on or off);
* a list repeats the option once per item, in order (an empty list adds nothing);
* magic variables are replaced in the whole text before parsing, as in uWSGI.

Differences, each to refuse or keep rather than drop silently: a real number
(``1.5``) keeps its text, where jansson's loader skips it; an object, or a list
inside a list, as a value is an error, where uWSGI skips it; a key given twice
adds the option twice, like a repeated ini key (jansson keeps the last one).
"""

from __future__ import annotations

import json
from typing import Any

from gateway.config.errors import ConfigError
from gateway.config.model import Entry

DEFAULT_SECTION = "uwsgi"


class _Object(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs in document order, duplicates kept."""


class _Number(str):
    """A JSON number as written in the file."""


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str, section: str = DEFAULT_SECTION, name: str = "<json>") -> tuple[list[Entry], bool]:
    """The entries of the object ``section`` in the JSON document ``text``.

    Pure: no file access, no magic variables (the caller substitutes them
    first).  Raises :class:`ConfigError` naming the line and column of a syntax
    error, or the key of a value that is no option value.  The second item is
    always True: a missing object is an error, not a warning.
    """
    try:
        root = json.loads(text, object_pairs_hook=_Object, parse_int=_Number, parse_float=_Number,
                          parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # NaN, Infinity
        raise ConfigError(f"{name}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{name}: the JSON document is nested too deeply") from None
    if not isinstance(root, _Object):
        raise ConfigError(f"{name}: the JSON document must be an object holding an object named '{section}'")
    objects = [value for key, value in root if key == section]
    if not objects or not all(isinstance(value, _Object) for value in objects):
        raise ConfigError(f"{name}: you must define an object named '{section}' in your JSON data")
    entries: list[Entry] = []
    for obj in objects:
        for key, value in obj:
            origin = f"{name} key '{key}'"
            if not key:
                raise ConfigError(f"{name}: an empty key in the object '{section}'")
            if isinstance(value, _Object):
                raise ConfigError(f"{name}: the value of '{key}' is an object; an option takes a "
                                  "string, a number, true/false/null or a list of them")
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, list):
                        raise ConfigError(f"{name}: item {index} of '{key}' is a list or an object; "
                                          "a list holds strings, numbers or true/false/null")
                    entries.append(Entry(key, _text(item), f"{origin} item {index}"))
            else:
                entries.append(Entry(key, _text(value), origin))
    return entries, True


def _text(value: Any) -> str:
    if value is True:
        return "1"
    if value is False or value is None:
        return "0"
    return str(value)
