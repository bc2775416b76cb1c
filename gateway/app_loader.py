"""Find the WSGI callable: ``--wsgi-file``, ``--module mod[:callable]`` / ``"mod:factory()"``, ``--eval``.

Around it, in the order uWSGI uses: ``--exec-pre-app`` commands, ``--import`` modules,
the app (and the ``--mount`` apps), ``--exec-post-app`` commands (:func:`load_apps`,
the one place every load goes through: the master's, a ``--lazy-apps`` worker's, a
reload's).  ``--shared-import`` modules are imported once, earlier, by the CLI
(:func:`import_modules`).

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
import time
import traceback
import types
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple

from gateway.logs import gen_log

if TYPE_CHECKING:  # pragma: no cover
    from gateway.config.model import Config


#: the exit status when no app loads under ``--need-app`` (uWSGI's ``UWSGI_FAILED_APP_CODE``):
#: the CLI's, and a ``--lazy-apps`` worker's, on which the master stops the instance with it
FAILED_APP_CODE = 22


class AppLoadError(Exception):
    """The app could not be loaded; ``str()`` says exactly why."""


def load_app(
    wsgi_file: Optional[str] = None,
    module: Optional[str] = None,
    callable_name: str = "application",
    eval_code: Optional[str] = None,
    paste: Optional[str] = None,
    paste_name: Optional[str] = None,
) -> Callable[..., Any]:
    """Load and return the WSGI callable (exactly one of ``wsgi_file``/``module``/``eval_code``/``paste``)."""
    if sum(1 for given in (wsgi_file, module, eval_code, paste) if given) > 1:
        raise AppLoadError("give only one of --wsgi-file, --module, --eval and --paste")
    if paste:
        return _load_paste(paste, paste_name)
    if wsgi_file:
        mod = _exec_file(wsgi_file, option="--wsgi-file")
        where = "file %s" % wsgi_file
        attr = callable_name
    elif eval_code:
        mod = _exec_code(eval_code)
        where = "the --eval code"
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
        raise AppLoadError("no app given: use --wsgi-file FILE, --module MODULE[:CALLABLE] or --eval CODE")
    app = _get_attr(mod, attr, where)
    if not callable(app):
        raise AppLoadError("%r in %s is not callable (it is %s)" % (attr, where, type(app).__name__))
    return app


def load_apps(cfg: Config) -> Callable[..., Any]:
    """The worker's WSGI callable from the config: ``--wsgi-file``/``--module``/``--eval``,
    plus the ``--mount`` apps (then a :class:`gateway.mounts.Mounts` dispatching between
    them); the ``pre-app`` hooks and ``--import`` before, the ``post-app`` hooks after.

    A failed ``--exec-pre-app``/``--exec-post-app`` command fails the load
    (:class:`AppLoadError`); a failed ``--hook-pre-app``/``--hook-post-app`` raises
    :class:`~gateway.hooks.HookFailed`, which in a worker stops the whole instance, as in uWSGI.
    """
    from gateway.hooks import HookFailed, run_phase

    try:
        run_phase(cfg, "pre-app")
        import_modules(cfg.get("import") or ())
        if cfg.post_pymodule_alias:
            from gateway.python_extras import alias_modules

            alias_modules(cfg.post_pymodule_alias, "--post-pymodule-alias")
        app = _load_configured_apps(cfg)
        run_phase(cfg, "post-app")
    except HookFailed as e:
        if e.destroy:
            raise
        raise AppLoadError(str(e)) from None
    return app


def import_modules(names: Iterable[str], option: str = "--import") -> None:
    """``--import``/``--shared-import``: import each module, or run each file (a name with a
    ``/`` or ending in ``.py``) as the module uWSGI would name it (``lib/tasks.py`` ->
    ``lib_tasks``).  A failure is logged with its traceback and the next one is tried: uWSGI
    prints the exception and carries on, and ini files rely on that."""
    for name in names:
        try:
            if "/" in name or name.endswith(".py"):
                _exec_file(name, option=option, module_name=_pythonize(name))
            else:
                _import(name)
        except AppLoadError as e:
            gen_log.error("%s %s failed: %s", option, name, e)


def _pythonize(path: str) -> str:
    """uWSGI's module name for an imported file: dots and slashes as underscores, no ``.py``."""
    name = path.replace(".", "_").replace("/", "_")
    return name[:-3] if name.endswith("_py") else name


def configure_paste_logging(spec: str) -> None:
    """``--paste-logger``: ``logging.config.fileConfig`` on the ``--paste`` file, as uWSGI does
    before ``loadapp``; a broken logging section is reported and the app still loads.

    ``disable_existing_loggers=False``: uWSGI's own log lines are C code that Python's
    logging cannot silence, gateway's are Python loggers (``gateway.*``, which do not
    propagate): the default ``True`` would mute the server.
    """
    import logging.config

    path = spec[len("config:"):] if spec.startswith("config:") else spec
    try:
        logging.config.fileConfig(path, disable_existing_loggers=False)
    except Exception:
        gen_log.error("--paste-logger: cannot configure logging from %s:\n%s", path, traceback.format_exc())


def _load_configured_apps(cfg: Config) -> Callable[..., Any]:
    """The default app and the ``--mount`` ones, in a :class:`gateway.mounts.Mounts` (always:
    it also loads the dynamic apps requests name).  Without any: uWSGI's full dynamic mode."""
    if cfg.paste and cfg.paste_logger:
        configure_paste_logging(cfg.paste)
    mounts = list(cfg.mount or [])
    callable_name = cfg.callable or "application"
    has_default = bool(cfg.wsgi_file or cfg.module or cfg.eval or cfg.paste)
    del load_seconds[:]
    from gateway.mounts import Mounts, split_mount

    if cfg.vhost:
        gen_log.info("VirtualHosting mode enabled.")

    max_apps = int(cfg.max_apps or 64)
    if len(mounts) + (1 if has_default else 0) > max_apps:
        raise AppLoadError("you cannot load more than %d apps in a worker (--max-apps): %d --mount%s"
                           % (max_apps, len(mounts), " and a default app" if has_default else ""))
    default = _timed(0, "", not cfg.no_default_app, wsgi_file=cfg.wsgi_file, module=cfg.module, callable_name=callable_name,
                     eval_code=cfg.eval, paste=cfg.paste, paste_name=cfg.paste_name) if has_default else None
    apps = []
    for spec in mounts:
        try:
            mountpoint, target = split_mount(spec, vhost=bool(cfg.vhost))
        except ValueError as e:
            raise AppLoadError(str(e)) from None
        gen_log.info("mounting %s on %s", target, mountpoint)
        as_file = target.endswith((".py", ".wsgi")) or "/" in target
        apps.append((mountpoint, _timed(len(load_seconds), mountpoint, not cfg.no_default_app,
                                        callable_name=callable_name,
                                        **{"wsgi_file" if as_file else "module": target})))
    if not apps and default is None:
        if not allows_no_app(cfg):
            raise AppLoadError("no app given: use --wsgi-file FILE, --module MODULE[:CALLABLE] or --eval CODE")
        gen_log.info("*** no app loaded. going in full dynamic mode ***")
    return Mounts(apps, default=default, manage_script_name=bool(cfg.manage_script_name),
                  vhost=("HTTP_HOST" if cfg.vhost_host else "SERVER_NAME") if cfg.vhost else None,
                  default_fallback=not cfg.no_default_app, ignore_script_name=bool(cfg.ignore_script_name),
                  loader=lambda environ: load_dynamic(environ, callable_name), max_apps=max_apps)


def allows_no_app(cfg: Config) -> bool:
    """Whether the instance may start without an app, serving only the dynamic apps requests
    name (uWSGI's full dynamic mode): with ``--vhost`` or ``--no-default-app``, the options of
    such a setup; otherwise (and always with ``--need-app``) a missing app is the CLI's
    ``no app given`` error."""
    return bool((cfg.vhost or cfg.no_default_app) and not cfg.need_app)


def load_dynamic(environ: Dict[str, Any], callable_name: str = "application") -> Callable[..., Any]:
    """The app a request names, as uWSGI's dynamic loader reads it: ``UWSGI_SCRIPT``
    (``mod``, ``mod:callable``, ``mod:factory()``), else ``UWSGI_MODULE`` (with
    ``UWSGI_CALLABLE``), else ``UWSGI_FILE``; ``callable_name`` (``--callable``) when none is
    named.  Raises :class:`AppLoadError`."""
    script = environ.get("UWSGI_SCRIPT")
    module = environ.get("UWSGI_MODULE")
    if script:
        return load_app(module=script, callable_name=callable_name)
    if module:
        name = environ.get("UWSGI_CALLABLE")
        return load_app(module="%s:%s" % (module, name) if name else module, callable_name=callable_name)
    if environ.get("UWSGI_FILE"):
        return load_app(wsgi_file=environ["UWSGI_FILE"], callable_name=callable_name)
    raise AppLoadError("the request names no app to load (UWSGI_CALLABLE needs UWSGI_MODULE)")


#: Whole seconds each app of this process's last load took, by app id (the stats'
#: ``apps[].startup_time``): a worker copies them into its scoreboard slot, whether it loaded
#: the apps itself (``--lazy-apps``) or inherited the master's.
load_seconds: List[int] = []


def _timed(app_id: int, mountpoint: str, default: bool = True, **how: Any) -> Callable[..., Any]:
    """:func:`load_app` with ``how``, then :func:`log_ready` (app 0 is the default app, unless
    ``default`` is False: ``--no-default-app``)."""
    start = time.monotonic()
    app = load_app(**how)
    seconds = int(time.monotonic() - start)
    load_seconds.append(seconds)
    log_ready(app_id, mountpoint, seconds, default and app_id == 0)
    return app


def log_ready(app_id: int, mountpoint: str, seconds: int, default: bool) -> None:
    """uWSGI's line for a loaded app (``WSGI app 0 (mountpoint='') ready in 0 seconds on
    interpreter 0x... pid: 42 (default app)``, which deployment scripts wait for); the
    interpreter is named by its ``sys`` module's address."""
    gen_log.info("WSGI app %d (mountpoint='%s') ready in %d seconds on interpreter 0x%x pid: %d%s", app_id,
                 mountpoint, seconds, id(sys), os.getpid(), " (default app)" if default else "")


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


def _load_paste(spec: str, name: Optional[str] = None) -> Callable[..., Any]:
    """``--paste config:FILE``: PasteDeploy's ``loadapp`` (what uWSGI's paste loader calls);
    ``name`` (``--paste-name``) picks the app section."""
    try:
        from paste.deploy import loadapp  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise AppLoadError("--paste %s needs the PasteDeploy package (pip install PasteDeploy)" % spec) from None
    try:
        app = loadapp(spec, name=name) if name else loadapp(spec)
    except Exception:
        raise AppLoadError("loading --paste %s failed:\n%s" % (spec, traceback.format_exc())) from None
    if not callable(app):
        raise AppLoadError("--paste %s gave %r, which is not callable" % (spec, app))
    return app


def _exec_code(code: str) -> types.ModuleType:
    """``--eval``: ``code`` run as the module ``uwsgi_eval_config`` (uWSGI's name for it)."""
    name = "uwsgi_eval_config"
    try:
        compiled = compile(code, name, "exec")
    except SyntaxError:
        raise AppLoadError("--eval code has a syntax error:\n%s" % traceback.format_exc(limit=0)) from None
    mod = types.ModuleType(name)
    sys.modules[name] = mod
    try:
        exec(compiled, mod.__dict__)
    except BaseException as e:
        sys.modules.pop(name, None)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise AppLoadError("running the --eval code failed:\n%s" % traceback.format_exc()) from None
    return mod


def _exec_file(path: str, option: str, module_name: Optional[str] = None) -> types.ModuleType:
    full = os.path.abspath(path)
    if os.path.isdir(full) and os.path.isfile(os.path.join(full, "__init__.py")):
        full = os.path.join(full, "__init__.py")  # a package directory, as uWSGI's --import takes it
    if not os.path.isfile(full):
        raise AppLoadError("%s %s: no such file (cwd: %s)" % (option, path, os.getcwd()))
    name = module_name or "uwsgi_file_" + "".join(c if c.isalnum() else "_" for c in os.path.splitext(path)[0])
    spec = importlib.util.spec_from_file_location(name, full)
    if spec is None or spec.loader is None:
        raise AppLoadError("%s %s: cannot be loaded as Python source" % (option, path))
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
        raise AppLoadError("%s %s has a syntax error:\n%s" % (option, path, traceback.format_exc(limit=0))) from None
    except BaseException as e:
        sys.modules.pop(name, None)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise AppLoadError("loading %s %s failed:\n%s" % (option, path, traceback.format_exc())) from None
    return mod


def _get_attr(mod: Any, attr: str, where: str) -> Any:
    try:
        return getattr(mod, attr)
    except AttributeError:
        names = sorted(n for n in vars(mod) if callable(getattr(mod, n, None)) and not n.startswith("_"))
        hint = (" (callables there: %s)" % ", ".join(names[:8])) if names else ""
        raise AppLoadError("%s has no attribute %r; set --callable%s" % (where, attr, hint)) from None
