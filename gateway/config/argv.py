"""uWSGI-style command-line tokenizer: argv → ordered :class:`~gateway.config.model.Entry` list.

uWSGI parses its command line with GNU ``getopt_long`` over its option table;
this module reproduces the parts users rely on, driven by
:data:`~gateway.config.options.OPTIONS`:

* ``--opt value`` and ``--opt=value``; a value-taking option consumes the next
  argument whatever it looks like (``--chdir --x`` sets chdir to ``--x``), as
  getopt does;
* bare flags (``--master``); ``--master=1`` is refused ("does not take a value");
* options with an optional value (``--mule``, ``--mule=script.py``): bare, the value
  is ``""``; a following argument that is not an option or a config file is taken
  as the value too (getopt would leave it positional, an error here);
* repeated options, kept in order (the resolver decides: last wins, or a list);
* short forms ``-p 4`` and ``-p4``, and bundled short flags ``-ML`` (getopt
  semantics: in ``-Lp4`` the flag ``-L`` is followed by ``-p`` with value ``4``);
* ``--`` ends the options;
* positional arguments: ``file.ini`` (or ``file.ini:section``) means
  ``--ini file.ini``, and likewise ``.xml`` (``--xml``), ``.yaml``/``.yml``
  (``--yaml``) and ``.json``/``.js`` (``--json``).  getopt permutes arguments,
  so uWSGI loads such files *after* every option on the command line, wherever
  they appear; so do we.  Any other positional argument is an error naming it.

Long options must be spelled exactly: getopt's unambiguous-prefix matching
(``--proc``) is not reproduced, and an unknown option gets a "did you mean"
suggestion.  ``--help``/``--version`` stop tokenizing, as uWSGI's immediate
``--help`` exits before later arguments are looked at.
"""

from __future__ import annotations

from gateway.config.errors import ConfigError
from gateway.config.files import EXTENSIONS, config_file_format
from gateway.config.model import Entry
from gateway.config.options import OPTIONS_BY_SHORT, Option, find, short_key, suggest

ORIGIN = "command line"
_STOPPERS = ("help", "version")


def tokenize(argv: list[str]) -> list[Entry]:
    """Split ``argv`` (without the program name) into entries, in application order.

    Values are raw text; a bare flag has the value ``True``.  Raises
    :class:`ConfigError` for unknown options, missing or unexpected values and
    unusable positional arguments.
    """
    entries: list[Entry] = []
    positional: list[str] = []
    #: custom options declared so far (``--declare-option NAME=...``): NAME -> takes a value
    custom: dict[str, bool] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positional.extend(argv[i:])
            break
        if arg.startswith("--"):
            name, eq, inline = arg[2:].partition("=")
            option = find(name)
            if option is None and name in custom:
                # uWSGI: a custom option takes a value when its template uses $1, $2 or $3
                if eq:
                    entries.append(Entry(name, inline, ORIGIN))
                elif custom[name] and i < len(argv):
                    entries.append(Entry(name, argv[i], ORIGIN))
                    i += 1
                elif custom[name]:
                    raise ConfigError(f"option '--{name}' requires a value")
                else:
                    entries.append(Entry(name, True, ORIGIN))
                continue
            if option is None:
                raise ConfigError(_unrecognized(f"--{name}", name))
            if option.flag:
                if eq:
                    raise ConfigError(f"option '--{name}' does not take a value")
                entries.append(Entry(name, True, ORIGIN))
            elif eq:
                entries.append(Entry(name, inline, ORIGIN))
            elif option.optional_value:
                # getopt's optional_argument takes only --opt=VALUE; a following word that is
                # no option nor config file is taken too (it could only be an error otherwise)
                if i < len(argv) and not argv[i].startswith("-") and config_file_format(argv[i]) is None:
                    entries.append(Entry(name, argv[i], ORIGIN))
                    i += 1
                else:
                    entries.append(Entry(name, "", ORIGIN))
            elif i < len(argv):
                entries.append(Entry(name, argv[i], ORIGIN))
                i += 1
            else:
                raise ConfigError(_missing_value(option, f"--{name}"))
            if option.name in _STOPPERS:
                return entries
            if option.name == "declare-option" and isinstance(entries[-1].value, str):
                declared, _, template = entries[-1].value.partition("=")
                custom[declared.strip()] = any("$%d" % n in template for n in (1, 2, 3))
        elif arg.startswith("-") and arg != "-":
            j = 1
            while j < len(arg):
                letter = arg[j]
                option = OPTIONS_BY_SHORT.get(letter)
                if option is None:
                    raise ConfigError(_unrecognized(f"-{letter}", None))
                key = short_key(option)
                if option.flag:
                    entries.append(Entry(key, True, ORIGIN))
                    j += 1
                    if option.name in _STOPPERS:
                        return entries
                    continue
                rest = arg[j + 1 :]
                if rest:
                    entries.append(Entry(key, rest, ORIGIN))
                elif i < len(argv):
                    entries.append(Entry(key, argv[i], ORIGIN))
                    i += 1
                else:
                    raise ConfigError(_missing_value(option, f"-{letter}"))
                break
        else:
            positional.append(arg)
    for arg in positional:
        entries.append(_positional(arg))
    return entries


def _positional(arg: str) -> Entry:
    kind = config_file_format(arg)
    if kind is not None:
        # the loader option of that format (uWSGI's uwsgi_opt_load), not shown in uwsgi.opt
        return Entry(kind, arg, f"{ORIGIN} (config file argument)", exported=False)
    raise ConfigError(
        f"unexpected argument '{arg}' (gateway takes options, and config files ending in "
        f"{', '.join(EXTENSIONS)})"
    )


def _unrecognized(spelled: str, name: str | None) -> str:
    message = f"unrecognized option '{spelled}'"
    close = suggest(name) if name else None
    if close:
        message += f" (did you mean '--{close}'?)"
    return message


def _missing_value(option: Option, spelled: str) -> str:
    if not option.supported:
        return f"option '{spelled}' is not supported yet by gateway"
    return f"option '{spelled}' requires a value"
