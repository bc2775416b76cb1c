"""Find the WSGI callable: ``--wsgi-file``, ``--module mod[:callable]`` / ``"mod:factory()"``.

Each way loading can fail has its own message (uvicorn's ``importer.py`` lesson):
the file does not exist, the module itself is not found, importing it raised (with
that traceback, since it is the app's bug), the attribute is missing, the attribute is
not callable, the factory raised.  :class:`AppLoadError` carries the message; the CLI
prints it and exits 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
import types
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from gateway.config.model import Config


class AppLoadError(Exception):
    """The app could not be loaded; ``str()`` says exactly why."""


def load_app(
    wsgi_file: Optional[str] = None,
    module: Optional[str] = None,
    callable_name: str = "application",
) -> Callable[..., Any]:
    """Load and return the WSGI callable (exactly one of ``wsgi_file``/``module``)."""
    if wsgi_file and module:
        raise AppLoadError("give either --wsgi-file or --module, not both")
    if wsgi_file:
        mod = _exec_file(wsgi_file)
        where = "file %s" % wsgi_file
        attr = callable_name
    elif module:
        modname, attr, call = _split_module_spec(module, callable_name)
        mod = _import(modname)
        where = "module %s" % modname
        if call:
            factory = _get_attr(mod, attr, where)
            if not callable(factory):
                raise AppLoadError("%s:%s is not callable, cannot call it as a factory" % (modname, attr))
            try:
                app = factory()
            except Exception:
                raise AppLoadError(
                    "calling the app factory %s:%s() failed:\n%s" % (modname, attr, traceback.format_exc())
                ) from None
            if not callable(app):
                raise AppLoadError("the app factory %s:%s() returned %r, which is not callable" % (modname, attr, app))
            return app
    else:
        raise AppLoadError("no app given: use --wsgi-file FILE or --module MODULE[:CALLABLE]")
    app = _get_attr(mod, attr, where)
    if not callable(app):
        raise AppLoadError("%r in %s is not callable (it is %s)" % (attr, where, type(app).__name__))
    return app


def load_apps(cfg: Config) -> Callable[..., Any]:
    """The worker's WSGI callable from the config: ``--wsgi-file``/``--module``, plus the
    ``--mount`` apps (then a :class:`gateway.mounts.Mounts` dispatching between them)."""
    mounts = list(cfg.mount or [])
    callable_name = cfg.callable or "application"
    if not mounts:
        return load_app(cfg.wsgi_file, cfg.module, callable_name)
    from gateway.mounts import Mounts, split_mount

    default = load_app(cfg.wsgi_file, cfg.module, callable_name) if (cfg.wsgi_file or cfg.module) else None
    apps = []
    for spec in mounts:
        try:
            mountpoint, target = split_mount(spec)
        except ValueError as e:
            raise AppLoadError(str(e)) from None
        if target.endswith((".py", ".wsgi")) or "/" in target:
            app = load_app(wsgi_file=target, callable_name=callable_name)
        else:
            app = load_app(module=target, callable_name=callable_name)
        apps.append((mountpoint, app))
    return Mounts(apps, default=default, manage_script_name=bool(cfg.manage_script_name))


def _split_module_spec(spec: str, default_callable: str) -> Tuple[str, str, bool]:
    """``mod``, ``mod:attr``, ``mod:factory()``; uWSGI's ``mod.py`` form is accepted too."""
    modname, sep, attr = spec.partition(":")
    call = False
    if not sep:
        attr = default_callable
    attr = attr.strip()
    if attr.endswith("()"):
        attr = attr[:-2]
        call = True
    elif "(" in attr:
        raise AppLoadError("--module %r: only a factory without arguments ('mod:factory()') is supported" % spec)
    if modname.endswith(".py"):
        modname = modname[:-3].replace("/", ".")
    if not modname or not attr or not attr.isidentifier():
        raise AppLoadError("--module %r is not of the form 'module', 'module:callable' or 'module:factory()'" % spec)
    return modname, attr, call


def _import(modname: str) -> types.ModuleType:
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as e:
        if e.name and (modname == e.name or modname.startswith(e.name + ".")):
            raise AppLoadError(
                "module %r not found (sys.path: %s); use --pythonpath or --chdir" % (modname, ", ".join(sys.path[:4]))
            ) from None
        raise AppLoadError("importing module %r failed:\n%s" % (modname, traceback.format_exc())) from None
    except Exception:
        raise AppLoadError("importing module %r failed:\n%s" % (modname, traceback.format_exc())) from None


def _exec_file(path: str) -> types.ModuleType:
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise AppLoadError("--wsgi-file %s: no such file (cwd: %s)" % (path, os.getcwd()))
    name = "uwsgi_file_" + "".join(c if c.isalnum() else "_" for c in os.path.splitext(path)[0])
    spec = importlib.util.spec_from_file_location(name, full)
    if spec is None or spec.loader is None:
        raise AppLoadError("--wsgi-file %s: cannot be loaded as Python source" % path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    # Like uWSGI, the file's own directory is importable from the file.
    here = os.path.dirname(full)
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        spec.loader.exec_module(mod)
    except SyntaxError:
        sys.modules.pop(name, None)
        raise AppLoadError("--wsgi-file %s has a syntax error:\n%s" % (path, traceback.format_exc(limit=0))) from None
    except BaseException as e:
        sys.modules.pop(name, None)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise AppLoadError("loading --wsgi-file %s failed:\n%s" % (path, traceback.format_exc())) from None
    return mod


def _get_attr(mod: Any, attr: str, where: str) -> Any:
    try:
        return getattr(mod, attr)
    except AttributeError:
        names = sorted(n for n in vars(mod) if callable(getattr(mod, n, None)) and not n.startswith("_"))
        hint = (" (callables there: %s)" % ", ".join(names[:8])) if names else ""
        raise AppLoadError("%s has no attribute %r; set --callable%s" % (where, attr, hint)) from None
