"""Generate ``gateway/config/fields.py``, the typed shape of a resolved configuration, from the option table.

The table (``options.py``) stays the one place an option is declared.  Code reads options as attributes of
:class:`~gateway.config.model.Config` (``cfg.socket_timeout``), and mypy should know each one's type and
refuse a name that is no option, so :class:`~gateway.config.fields.ConfigFields` declares every option as
an annotated attribute, and ``Config`` inherits it.  That class is generated, never written by hand::

    python -m gateway.config.gen_fields          # after adding or changing an option: rewrite fields.py

``tests/unit/config/test_config_fields.py`` fails when ``fields.py`` is not what this module generates.
Each annotation comes from the option: a flag is ``bool``; otherwise the converter's return annotation,
in a ``List`` when the option is repeatable (values accumulate, lists flattened), ``Optional`` when it has
no default (unset is ``None``).
"""

from __future__ import annotations

import keyword
import os
import sys
import typing
from typing import Any

from gateway.config.options import OPTIONS, Option

HEADER = '''"""The typed shape of a resolved configuration: one annotated attribute per option.

GENERATED from the option table by ``python -m gateway.config.gen_fields``: do not edit by hand (the test
``tests/unit/config/test_config_fields.py`` fails until this file matches the table).  Each attribute's
comment is the option's help, first sentence.
"""

from __future__ import annotations

from typing import List, Optional, Tuple


class ConfigFields:
    """Every option of ``gateway/config/options.py`` as a typed attribute; :class:`Config` inherits them."""

    __slots__ = ()

'''


def _type_name(tp: Any) -> str:
    """``int``, ``str``, ``Tuple[str, int]``, ``List[str]`` for a converter's return annotation."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, typing.List):
        return "List[%s]" % _type_name(args[0])
    if origin in (tuple, typing.Tuple):
        return "Tuple[%s]" % ", ".join(_type_name(a) for a in args)
    if isinstance(tp, type):
        return tp.__name__
    raise TypeError("cannot name the type %r in fields.py" % (tp,))


def annotation(option: Option) -> str:
    """The attribute type of ``option`` on a resolved Config."""
    if option.flag:
        return "bool"
    returns = typing.get_type_hints(option.type)["return"]
    if option.repeatable:
        if typing.get_origin(returns) in (list, typing.List):
            returns = typing.get_args(returns)[0]  # a list-valued converter: values are flattened
        return "List[%s]" % _type_name(returns)
    name = _type_name(returns)
    return name if option.default is not None else "Optional[%s]" % name


#: Config's own methods and attributes: an option of that name is ``name_`` (``config.get_``
#: for ``--get``), as a Python keyword is
_CONFIG_NAMES = frozenset(("get", "given", "source_of", "as_dict", "in_order", "uwsgi_opt", "defaults",
                           "sources", "placeholders", "warnings"))


def attribute(option: Option) -> str:
    """The attribute name: dashes as underscores, ``async_`` for a Python keyword (``get_``
    for a name :class:`~gateway.config.model.Config` uses itself)."""
    name = option.attribute
    return name + "_" if keyword.iskeyword(name) or name in _CONFIG_NAMES else name


def render() -> str:
    """The whole text of ``fields.py``."""
    lines = []
    for option in OPTIONS:
        summary = " ".join(option.help.split()).split(". ")[0].rstrip(".")
        if len(summary) > 100:
            summary = summary[:99].rstrip() + "…"
        if not option.supported:
            summary = "not supported yet" + (": " + summary if summary else "")
        lines.append("    #: --%s%s" % (option.name, ": " + summary if summary else ""))
        lines.append("    %s: %s" % (attribute(option), annotation(option)))
    return HEADER + "\n".join(lines) + "\n"


PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fields.py")


def main() -> int:
    with open(PATH, "w", encoding="utf-8") as f:
        f.write(render())
    print("wrote %s (%d options)" % (os.path.relpath(PATH), len(OPTIONS)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
