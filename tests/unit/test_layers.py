"""The import rules of the README's "Layout" section, checked on the source with ``ast``.

* ``protocol/`` and the sans-IO Erlang modules import only the standard library;
* ``loop_engine`` never imports ``gateway``;
* ``server/`` never imports ``process/``;
* ``routing/``'s rule modules (all but its WSGI layer, ``wsgi.py`` and ``response.py``) import only the standard library, their
  own package, ``gateway.protocol`` and ``gateway.logs`` (the loggers, which import nothing of gateway's);
* nothing imports ``gateway.cli``.
"""

from __future__ import annotations

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANS_IO_ERLANG = {"etf", "epmd", "handshake", "dist", "flags", "names", "errors"}

def _stdlib_names() -> set:
    """The standard library's top-level module names (``sys.stdlib_module_names``, Python 3.10+;
    on 3.9, the built-in ones and what the stdlib directory holds)."""
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return set(names)
    import sysconfig

    found = set(sys.builtin_module_names)
    for directory in (sysconfig.get_paths()["stdlib"], os.path.join(sysconfig.get_paths()["stdlib"], "lib-dynload")):
        for entry in os.listdir(directory):
            if entry != "site-packages":
                found.add(entry.split(".", 1)[0])
    return found


STDLIB = _stdlib_names()


def imports_of(path: str):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    pkg = os.path.relpath(os.path.dirname(path), ROOT).replace(os.sep, ".")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                yield ".".join(base + ([node.module] if node.module else []))
            else:
                yield node.module or ""


def modules(top: str):
    for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                yield os.path.relpath(path, ROOT)[:-3].replace(os.sep, "."), path


def test_protocol_and_sans_io_erlang_import_only_the_stdlib_and_their_own_group():
    bad = []
    for name, path in list(modules("gateway/protocol")) + list(modules("gateway/erlang")):
        if name.startswith("gateway.erlang") and name.rsplit(".", 1)[1] not in SANS_IO_ERLANG:
            continue
        group = "gateway.protocol" if name.startswith("gateway.protocol") else "gateway.erlang"
        for imp in imports_of(path):
            top = imp.split(".")[0]
            if top in STDLIB or top == "__future__" or imp.startswith(group) or imp == "gateway":
                continue
            bad.append("%s imports %s" % (name, imp))
    assert not bad, bad


def test_routing_rules_are_sans_io():
    bad = []
    for name, path in modules("gateway/routing"):
        if name in ("gateway.routing.wsgi", "gateway.routing.response"):  # the WSGI side
            continue
        for imp in imports_of(path):
            top = imp.split(".")[0]
            if top in STDLIB or top == "__future__" or imp.startswith(("gateway.routing", "gateway.protocol")) \
                    or imp == "gateway.logs":
                continue
            if name == "gateway.routing.__init__" and imp == "gateway.config":  # TYPE_CHECKING only
                continue
            bad.append("%s imports %s" % (name, imp))
    assert not bad, bad


def test_loop_engine_never_imports_gateway():
    bad = [
        "%s imports %s" % (name, imp)
        for name, path in modules("loop_engine")
        for imp in imports_of(path)
        if imp.split(".")[0] == "gateway"
    ]
    assert not bad, bad


def test_server_never_imports_process_and_nothing_imports_cli():
    bad = []
    for name, path in modules("gateway"):
        for imp in imports_of(path):
            if name.startswith("gateway.server") and imp.startswith("gateway.process"):
                bad.append("%s imports %s" % (name, imp))
            if imp.startswith("gateway.cli") and name not in ("gateway.__main__", "gateway.cli"):
                bad.append("%s imports %s" % (name, imp))
    assert not bad, bad


def test_logs_imports_nothing_of_gateway():
    """Any layer may log: ``gateway.logs`` must then depend on no other layer."""
    bad = [imp for imp in imports_of(os.path.join(ROOT, "gateway", "logs.py")) if imp.split(".")[0] == "gateway"]
    assert not bad, bad
