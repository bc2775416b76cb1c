"""Assemble every configuration source into one ordered entry list, as uWSGI does.

The order is uWSGI's: ``UWSGI_*`` variables first, then the command line, then
config files given as positional arguments.  Immediate keys act while the list is
built, at their position ("top-bottom, expand asap" in uWSGI's docs):

* ``ini = file[:section]`` inserts that file's entries right after itself (its
  own ``ini`` lines recurse); so do ``json``/``js``, ``yaml``/``yml`` and
  ``xml``/``xmlconfig`` for their formats, and ``include`` and ``config`` for
  the format the file's extension says (``files.py``).  Paths are relative to
  the working directory, not to the including file; use ``%d`` for that, as
  with uWSGI.  ``$(ENV)`` and ``%(name)`` (from entries read so far) are
  expanded in the path first, which uWSGI does not do; the usual magic
  variables work as in uWSGI;
* ``inherit = file`` is not immediate in uWSGI: the file is read after every
  other source, so its entries come last (and its single-value options win),
  in the order the ``inherit`` keys appeared;
* ``set = name=value`` / ``set-placeholder = name=value`` add an entry ``name``;
* ``strict`` makes later keys that are not options an error;
* ``fallback-config = file`` is remembered at once (made absolute, so a later
  ``--chdir`` does not change it), so that a configuration that fails further
  on still names its fallback (``ConfigError.fallback_config``);
* ``early-envdir = DIR`` sets the envdir's variables in ``environ`` (when it is a
  mutable mapping; else in a copy) for the entries after it; so does ``ienv = KEY=VALUE``
  for one variable (it is also an ``env`` for the process);
* ``inject-before = FILE`` / ``inject-after = FILE``: every config file read after it gets
  FILE's text before (after) its own, before magic variables are replaced;
* ``blacklist = 'A B'`` / ``whitelist = 'A B'`` open an options context: every key after it
  (until ``end-blacklist`` / ``end-whitelist``) must not be (must be) one of the names,
  compared case-insensitively and, for an option, under any of its spellings (uWSGI compares
  the spelling only); a key outside the context is an error, as in uWSGI, even in an ``if-*``
  block that fails, and ``end-whitelist`` itself must be whitelisted;
* ``resolve = NAME=HOST`` sets placeholder ``NAME`` to HOST's first IPv4 address (a DNS
  lookup bounded by ``RESOLVE_TIMEOUT``, through the injected ``resolve_name``);
* ``exit[ = STATUS]`` stops the reading there: the entries before it are returned and the
  command line exits with STATUS (1 when none).

Include cycles and excessive nesting (``max_include_depth``, across formats and
``inherit``) are errors; uWSGI would loop until it runs out of memory.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping, MutableMapping, Sequence

from gateway.config import converters as conv
from gateway.config import envdir, logic
from gateway.config.errors import ConfigError, Invalid
from gateway.config.expand import (
    DEFAULT_MAX_SUBSTITUTIONS,
    entries_resolver,
    environment_resolver,
    expand_text,
)
from gateway.config.files import EXTENSIONS, format_of, read_config
from gateway.config.ini import FIRST_FILE_LETTERS, MagicContext, read_text, split_spec
from gateway.config.logic import BLOCK_KEYS, END_KEYS
from gateway.config.model import Entry
from gateway.config.options import RESOLVE_TIMEOUT, find, suggest

DEFAULT_MAX_INCLUDE_DEPTH = 16

#: ``set``-style keys → whether the name must be a placeholder (not an option).
_SETTERS = {"set": False, "set-placeholder": True, "set-ph": True}

#: Options that read a config file where they stand → its format (None: by its extension).
_LOADERS: dict[str, str | None] = {"ini": "ini", "json": "json", "yaml": "yaml", "xml": "xml",
                                   "include": None, "config": None}


def _strict_exempt(entry: Entry) -> bool:
    """Placeholders ``--strict`` allows: uWSGI's "configured" ones, from ``set-placeholder``
    (``set-ph``) and ``resolve`` (a plain ``set`` of a name that is no option is refused)."""
    return entry.origin.endswith(("(via set-placeholder)", "(via resolve)"))


def _strict_error(entry: Entry) -> ConfigError:
    close = suggest(entry.key)
    hint = f" (did you mean '{close}'?)" if close else ""
    return ConfigError(f"unknown option '{entry.key}'{hint}{where(entry)}; --strict forbids placeholders")


class _StopReading(Exception):
    """``exit``: nothing after it is read."""


def resolve_ipv4(host: str, timeout: float = RESOLVE_TIMEOUT) -> str:
    """HOST's first IPv4 address, as uWSGI's ``gethostbyname``; the lookup runs in a daemon
    thread so that a DNS server that never answers costs ``timeout`` seconds, not forever.

    Raises :class:`OSError` when the name does not resolve (or has no IPv4 address) or the
    lookup takes longer than ``timeout``.
    """
    import socket
    import threading

    result: list = []

    def lookup() -> None:
        try:
            result.append(socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
        except (OSError, UnicodeError, IndexError) as e:
            result.append(e if isinstance(e, OSError) else OSError(str(e) or "no address"))

    worker = threading.Thread(target=lookup, name="resolve %s" % host, daemon=True)
    worker.start()
    worker.join(timeout)
    if not result:
        raise OSError("no answer in %g seconds" % timeout)
    if isinstance(result[0], OSError):
        raise result[0]
    return str(result[0])


def _listed(key: str, words: Sequence[str]) -> bool:
    """Is ``key`` one of ``words`` (case-insensitive; an option under any of its spellings)?"""
    option = find(key)
    for word in words:
        if word.lower() == key.lower():
            return True
        if option is not None and find(word.lower()) is option:
            return True
    return False


def where(entry: Entry) -> str:
    """`` (from app.ini line 3)`` for error messages; nothing for the command line."""
    return "" if entry.origin == "command line" else f" (from {entry.origin})"


def spelled(key: str, entry: Entry) -> str:
    """How to name an option in a message: ``--key`` on the command line, ``key`` elsewhere."""
    return f"--{key}" if entry.origin.startswith("command line") else key


class _Assembler:
    def __init__(
        self,
        context: MagicContext,
        environ: Mapping[str, str],
        read_file: Callable[[str], str],
        max_include_depth: int,
        max_substitutions: int,
        resolve_name: Callable[[str], str] = resolve_ipv4,
    ) -> None:
        self.context = context
        self.resolve_name = resolve_name
        #: ``inject-before`` / ``inject-after`` files seen so far
        self.inject_before: list[str] = []
        self.inject_after: list[str] = []
        #: the open ``blacklist`` / ``whitelist`` contexts (their words), None when closed
        self.blacklist: list[str] | None = None
        self.whitelist: list[str] | None = None
        self.environ = environ
        self.read_file = read_file
        self.max_include_depth = max_include_depth
        self.max_substitutions = max_substitutions
        self.out: list[Entry] = []
        self.warnings: list[str] = []
        #: the last file read of each format, for ``:section`` alone
        self.last_files: dict[str, str] = {}
        #: the first config file's magic table (its letters are the uppercase ``%D``, ``%N``...)
        self.first_magic: dict[str, str] | None = None
        #: the ``fallback-config`` file seen so far (absolute)
        self.fallback_config: str | None = None
        #: ``inherit`` entries, read once every other source is in
        self.inherited: list[tuple[Entry, tuple[str, ...]]] = []
        self.strict = False
        #: the open logic block (``if-env`` ... ``endif``), the outcome of the last condition,
        #: and whether entries produced by a block are being added (they bypass it)
        self.block: logic.Block | None = None
        self.last_failed = False
        self.in_logic = False
        #: ``declare-option NAME=TEMPLATE``: the custom options declared so far
        self.custom: dict[str, str] = {}

    def add(self, entry: Entry, stack: tuple[str, ...] = ()) -> None:
        key = entry.key
        option = find(key)
        self.check_context(entry)
        if option is None and key in self.custom and not (self.block is not None and not self.in_logic):
            self.expand_custom(entry, stack)
            return
        if option is not None and not self.in_logic:
            if option.name in END_KEYS:
                self.block, self.last_failed = None, False
                self.out.append(entry)  # shown in uwsgi.opt and --show-config, as uWSGI
                return
            if option.name in BLOCK_KEYS:
                self.open_logic(option.name, entry)
                self.out.append(entry)
                return
        if self.block is not None and not self.in_logic:
            self.through_logic(entry, stack)
            return
        if option is None and self.strict and not _strict_exempt(entry):
            raise _strict_error(entry)
        self.out.append(entry)
        if option is None or not isinstance(entry.value, str):
            if option is not None and option.name == "strict":
                self.strict = True
            elif option is not None and option.name in ("end-blacklist", "end-whitelist", "exit"):
                self.core_tail(option.name, entry)  # given bare on the command line
            return
        if option.name == "strict":
            try:
                self.strict = conv.boolean(entry.value)
            except Invalid:
                pass  # the resolver reports the bad value
        elif option.name in ("declare-option", "declare-option2"):
            name, _, template = self.expand_now(entry).partition("=")
            self.custom[name.strip()] = template  # checked by the option's converter
        elif option.name in _LOADERS:
            self.include(entry, stack, _LOADERS[option.name])
        elif option.name == "inherit":
            self.inherited.append((entry, stack))
        elif option.name == "early-envdir":
            self.early_envdir(entry)
        elif option.name == "fallback-config":
            path = self.expand_now(entry)
            self.fallback_config = os.path.join(self.context.cwd, path) if path else None
        elif option.name in ("ini-paste", "ini-paste-logged"):
            # uWSGI: the file's [uwsgi] section, and its app through PasteDeploy (-logged: and
            # its logging configuration, as --paste-logger)
            self.include(entry, stack, "ini")
            path = self.expand_now(entry).split(":", 1)[0]
            self.add(Entry("paste", "config:" + os.path.join(self.context.cwd, path), entry.origin, entry.exported),
                     stack)
            if option.name == "ini-paste-logged":
                self.add(Entry("paste-logger", True, entry.origin, entry.exported), stack)
        elif key in _SETTERS:
            self.setter(entry, placeholder_only=_SETTERS[key])
        else:
            self.core_tail(option.name, entry)

    def core_tail(self, name: str, entry: Entry) -> None:
        """The immediate options of uWSGI's long tail (see the module docstring)."""
        if name == "inject-before":
            self.inject_before.append(self.expand_now(entry))
        elif name == "inject-after":
            self.inject_after.append(self.expand_now(entry))
        elif name in ("blacklist", "whitelist"):
            words = self.expand_now(entry).split()
            if name == "blacklist":
                self.blacklist = words
            else:
                self.whitelist = words
        elif name == "end-blacklist":
            self.blacklist = None
        elif name == "end-whitelist":
            self.whitelist = None
        elif name == "resolve":
            self.resolve(entry)
        elif name == "env" and entry.key == "ienv":
            variable, _, value = self.expand_now(entry).partition("=")
            if variable:  # a bad value is reported by the option's converter
                if not isinstance(self.environ, MutableMapping):
                    self.environ = dict(self.environ)
                self.environ[variable] = value
        elif name == "exit":
            if self.out and self.out[-1] is entry and (entry.value is True or not str(entry.value).strip()):
                self.out[-1] = Entry(entry.key, "1", entry.origin, entry.exported)  # uWSGI's default
            raise _StopReading

    def check_context(self, entry: Entry) -> None:
        """``blacklist`` / ``whitelist``: refuse a key the open context forbids."""
        label = spelled(entry.key, entry) if find(entry.key) is not None else entry.key
        if self.blacklist is not None and _listed(entry.key, self.blacklist):
            raise ConfigError(f"forbidden option '{label}' (by blacklist){where(entry)}")
        if self.whitelist is not None and not _listed(entry.key, self.whitelist):
            raise ConfigError(f"forbidden option '{label}' (by whitelist){where(entry)}")

    def resolve(self, entry: Entry) -> None:
        """``resolve = NAME=HOST``: placeholder NAME holds HOST's IPv4 address."""
        name, sep, host = self.expand_now(entry).partition("=")
        name, host = name.strip(), host.strip()
        if not sep or not name or not host:
            raise ConfigError(f"option '{spelled(entry.key, entry)}' expects PLACEHOLDER=NAME, "
                              f"got '{entry.value}'{where(entry)}")
        if find(name) is not None:
            raise ConfigError(f"'{name}' cannot be a placeholder: it is an option{where(entry)}")
        try:
            address = self.resolve_name(host)
        except OSError as e:
            raise ConfigError(f"option '{spelled(entry.key, entry)}': unable to resolve name {host}: "
                              f"{e.strerror or e}{where(entry)}") from None
        self.add(Entry(name, address, f"{entry.origin} (via resolve)", entry.exported))

    def early_envdir(self, entry: Entry) -> None:
        """``early-envdir = DIR``: its variables are in the environment of what follows
        (``$(VAR)``, ``if-env``), as uWSGI sets them while it reads the options."""
        path = os.path.join(self.context.cwd, self.expand_now(entry))
        if not isinstance(self.environ, MutableMapping):
            self.environ = dict(self.environ)
        try:
            envdir.apply(envdir.read_envdir(path), self.environ)
        except envdir.EnvdirError as e:
            raise ConfigError(f"option '{spelled(entry.key, entry)}': {e}{where(entry)}") from None

    def expand_custom(self, entry: Entry, stack: tuple[str, ...]) -> None:
        """A custom option (``declare-option``): its template's ``key=value`` items, with
        ``$1``, ``$2``... replaced by the words of the value, become entries here."""
        if len(stack) >= self.max_include_depth:
            raise ConfigError("custom option %s expands into itself (more than %d levels)%s"
                              % (entry.key, self.max_include_depth, where(entry)))
        value = entry.value if isinstance(entry.value, str) else ""
        words = self.expand_now(entry).split(" ") if value else [""]
        self.out.append(entry)  # uwsgi.opt shows NAME; the options it gives are applied, not exported
        for item in self.custom[entry.key].split(";"):
            key, sep, raw = item.partition("=")
            if not sep:
                break  # uWSGI stops at an item without '='
            for n in range(len(words), 0, -1):  # $10 before $1
                key = key.replace("$%d" % n, words[n - 1])
                raw = raw.replace("$%d" % n, words[n - 1])
            self.add(Entry(key.strip(), raw, "%s (custom option %s)" % (entry.origin, entry.key), exported=False),
                     stack + (entry.key,))

    def open_logic(self, kind: str, entry: Entry) -> None:
        """``if-*``, ``for*``, ``else``: the entries up to ``endif`` go through the block."""
        arg = self.expand_now(entry) if isinstance(entry.value, str) else ""
        if self.block is not None and self.block.kind in logic.CONDITIONS:
            self.last_failed = self.block.failed
        try:
            self.block = logic.open_block(kind, arg, self.block, self.last_failed, self.facts())
        except logic.LogicError as e:
            raise ConfigError(f"{e}{where(entry)}") from None

    def through_logic(self, entry: Entry, stack: tuple[str, ...]) -> None:
        block = self.block
        assert block is not None
        try:
            if isinstance(entry.value, str):
                values: list = block.apply(entry.value, self.facts())
            else:
                values = [entry.value] if block.apply("", self.facts()) else []
        except logic.LogicError as e:
            raise ConfigError(f"{e}{where(entry)}") from None
        if block.kind in logic.CONDITIONS:
            self.last_failed = block.failed
        self.in_logic = True
        try:
            for value in values:
                self.add(Entry(entry.key, value, entry.origin, entry.exported), stack)
        finally:
            self.in_logic = False

    def facts(self) -> logic.LogicFacts:
        def option_value(name: str) -> str | None:
            # the first entry spelled ``name`` (uWSGI's uwsgi_get_exported_opt: another
            # spelling of the option does not count, a flag given bare has no value)
            for e in self.out:
                if e.key == name:
                    return e.value if isinstance(e.value, str) else None
            return None

        return logic.LogicFacts(self.environ, self.context.hostname, option_value, cwd=self.context.cwd,
                                read_file=self.read_file)

    def include(self, entry: Entry, stack: tuple[str, ...], kind: str | None) -> None:
        """Read the config file ``entry`` names and add its entries here (``kind``: its format)."""
        spec = self.expand_now(entry)
        if not spec:
            raise ConfigError(f"option '{spelled(entry.key, entry)}' expects a config file "
                              f"(FILE or FILE:SECTION), got ''{where(entry)}")
        if len(stack) >= self.max_include_depth:
            raise ConfigError(f"config files nested more than {self.max_include_depth} deep "
                              f"at '{spec}'{where(entry)}")
        if kind is None:
            kind = format_of(split_spec(spec)[0])
            if kind is None:
                raise ConfigError(f"option '{spelled(entry.key, entry)}' cannot tell the format of "
                                  f"'{spec}': the file name must end in {', '.join(EXTENSIONS)}{where(entry)}")
        # uWSGI's include and inherit (uwsgi_opt_load) never make the "first" file of the
        # uppercase magic variables: before one is read, they are empty there
        template = find(entry.key) in (find("include"), find("inherit"))
        first = self.first_magic
        if first is None and template:
            first = dict.fromkeys(FIRST_FILE_LETTERS, "")
        loaded = read_config(spec, self.context, kind=kind, last_file=self.last_files.get(kind),
                             read_file=self.read_file, inject_before=self.inject_before,
                             inject_after=self.inject_after, first_magic=first)
        if self.first_magic is None and not template:
            self.first_magic = loaded.magic
        identity = f"{os.path.realpath(os.path.join(self.context.cwd, loaded.path))}:{loaded.section}"
        if identity in stack:
            chain = " -> ".join(s.rsplit(":", 1)[0] for s in (*stack, identity))
            raise ConfigError(f"config file include cycle: {chain}")
        self.last_files[loaded.format] = loaded.path
        self.warnings.extend(loaded.warnings)
        for child in loaded.entries:
            self.add(child, (*stack, identity))

    def finish(self) -> None:
        """Read the ``inherit`` files, in order; the ones they name come after them."""
        while self.inherited:
            entry, stack = self.inherited.pop(0)
            self.include(entry, stack, None)

    def setter(self, entry: Entry, placeholder_only: bool) -> None:
        try:
            name, value = conv.placeholder_assignment(entry.value)  # type: ignore[arg-type]
        except Invalid as exc:
            raise ConfigError(f"option '{spelled(entry.key, entry)}' expects {exc.expected}, "
                              f"got '{entry.value}'{where(entry)}") from None
        if placeholder_only and find(name) is not None:
            raise ConfigError(f"'{name}' cannot be a placeholder: it is an option{where(entry)}")
        via = "set-placeholder" if placeholder_only else "set"
        self.add(Entry(name, value, f"{entry.origin} (via {via})", entry.exported))

    def expand_now(self, entry: Entry) -> str:
        value = str(entry.value)
        what = f"'{entry.key}' ({entry.origin})"
        value = expand_text(value, "$", environment_resolver(self.environ), what=what,
                            max_substitutions=self.max_substitutions)
        return expand_text(value, "%", entries_resolver(self.out), what=what,
                           max_substitutions=self.max_substitutions)


def assemble(
    env_entries: Sequence[Entry],
    argv_entries: Sequence[Entry],
    context: MagicContext,
    *,
    environ: Mapping[str, str],
    read_file: Callable[[str], str] = read_text,
    max_include_depth: int = DEFAULT_MAX_INCLUDE_DEPTH,
    max_substitutions: int = DEFAULT_MAX_SUBSTITUTIONS,
    resolve_name: Callable[[str], str] = resolve_ipv4,
) -> tuple[list[Entry], list[str], str | None]:
    """All entries in application order with includes and ``set`` followed; warnings; the fallback.

    The last item is the last ``fallback-config`` file (absolute), or None; a
    :class:`ConfigError` raised here carries the one seen before the error.
    ``resolve_name(host)`` answers ``resolve`` (an IPv4 address, or :class:`OSError`).
    """
    assembler = _Assembler(context, environ, read_file, max_include_depth, max_substitutions, resolve_name)
    try:
        try:
            for entry in (*env_entries, *argv_entries):
                assembler.add(entry)
            assembler.finish()
        except _StopReading:
            pass  # ``exit``: what follows it is never read
        if assembler.strict:
            # uWSGI checks every option again once all are read: a placeholder given before
            # ``strict`` (an ``UWSGI_*`` variable, an earlier line) is refused too
            for entry in assembler.out:
                if find(entry.key) is None and entry.key not in assembler.custom and not _strict_exempt(entry):
                    raise _strict_error(entry)
    except ConfigError as exc:
        exc.fallback_config = assembler.fallback_config
        raise
    return assembler.out, assembler.warnings, assembler.fallback_config
