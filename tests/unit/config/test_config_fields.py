"""The typed shape of a resolved configuration (gateway/config/fields.py) is generated from the option table.

Adding or changing an option in gateway/config/options.py without regenerating fields.py fails here, with the
command to run: the table stays the one declaration, and mypy knows every option's type.
"""

from __future__ import annotations

import typing

from gateway.config import fields, gen_fields, load
from gateway.config.model import Config
from gateway.config.options import OPTIONS


def test_fields_py_is_what_the_table_generates():
    with open(gen_fields.PATH, encoding="utf-8") as f:
        current = f.read()
    assert current == gen_fields.render(), (
        "gateway/config/fields.py is out of date with the option table: run `python -m gateway.config.gen_fields`")


def test_one_field_per_option_exactly():
    declared = set(fields.ConfigFields.__annotations__)
    assert declared == {gen_fields.attribute(o) for o in OPTIONS}
    assert issubclass(Config, fields.ConfigFields)


def test_every_default_has_its_declared_type():
    """What a Config holds for an option nobody set matches the annotation (a wrong converter annotation or a
    default of the wrong type shows up here)."""
    cfg = load(["--http-socket", ":0"], {})
    hints = typing.get_type_hints(fields.ConfigFields)
    for option in OPTIONS:
        name = gen_fields.attribute(option)
        value, hint = getattr(cfg, name), hints[name]
        assert _conforms(value, hint), "--%s: default %r is not a %s" % (option.name, value, hint)


def _conforms(value: object, hint: object) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        return any(_conforms(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if origin is tuple:
        return isinstance(value, tuple) and all(_conforms(v, a) for v, a in zip(value, args))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint)  # type: ignore[arg-type]
