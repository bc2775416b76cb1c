"""The rest of uWSGI's python plugin: module aliases, early imports, ``sys.executable``, and
the options that run Python code in the app's environment instead of serving.

* ``--pymodule-alias NAME=TARGET`` (:func:`alias_modules`): ``import NAME`` gives the module
  ``TARGET`` (a module name), or the module run from the file ``TARGET`` (a value with a
  ``/``), registered as ``NAME``.  Done before anything else is imported (uWSGI does it when
  it starts Python); ``--post-pymodule-alias`` does the same just before the app is loaded.
  A target that cannot be imported stops the start, as in uWSGI.
* ``--early-pyimport`` (:func:`early_imports`): imported once the options are read, before
  any socket is bound.
* ``--py-sys-executable PATH``: the app's ``sys.executable``; gateway keeps the real
  interpreter in :data:`gateway.self_command.INTERPRETER` to start itself again.
* ``--test MODULE`` (:func:`test_import`), ``--python FILE`` (:func:`run_script`): import a
  module, run a script as ``__main__``, with ``import uwsgi`` working, then exit.
* ``--pyshell``/``--pyshell-oneshot``/``--python-worker-override`` (:func:`hijack`): what
  a worker runs instead of serving, or before it.
* ``--reload-os-env`` (:class:`EnvironRefresher`): ``os.environ`` is a copy Python makes at
  startup; a C library's ``setenv()`` changes only the process environment, so before each
  request the copy is refreshed from it.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import sys
import traceback
import types
from typing import TYPE_CHECKING, Any, Dict, Iterable, Optional

from gateway.app_loader import AppLoadError, _exec_file, import_modules
from gateway.logs import gen_log

if TYPE_CHECKING:  # pragma: no cover
    from gateway.config.model import Config


def alias_modules(specs: Iterable[str], option: str = "--pymodule-alias") -> None:
    """Register each ``NAME=TARGET`` of ``specs`` in ``sys.modules``; raises
    :class:`AppLoadError` naming the option when a target cannot be imported."""
    for spec in specs:
        name, _, target = spec.partition("=")
        if "/" in target:
            _exec_file(target, option=option, module_name=name)
        else:
            try:
                module = importlib.import_module(target)
            except Exception:
                raise AppLoadError("%s %s: importing %r failed:\n%s"
                                   % (option, spec, target, traceback.format_exc())) from None
            sys.modules[name] = module
        gen_log.info('mapped virtual pymodule "%s" to real pymodule "%s"', name, target)


def early_imports(cfg: Config) -> None:
    """``--early-pyimport``: the modules (or ``.py`` files), each failure logged and skipped."""
    if cfg.early_pyimport:
        from gateway import uwsgi_module

        uwsgi_module.install()
        import_modules(cfg.early_pyimport, "--early-pyimport")


def prepare_interpreter(cfg: Config) -> None:
    """What uWSGI does when it starts Python, in its order: ``sys.executable``, the module
    aliases, the early imports.  Raises :class:`AppLoadError`."""
    if cfg.py_sys_executable:
        sys.executable = cfg.py_sys_executable
    alias_modules(cfg.pymodule_alias)
    early_imports(cfg)


def test_import(module: str) -> int:
    """``--test MODULE``: 0 when it imports, else 1 (its traceback on stderr)."""
    from gateway import uwsgi_module

    uwsgi_module.install()
    try:
        importlib.import_module(module)
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        traceback.print_exc()
        return 1
    return 0


def run_script(path: str, option: str) -> int:
    """Run ``path`` as a fresh ``__main__`` module (``sys.argv`` left as the app has it,
    ``['uwsgi'] + --pyargv``); its ``sys.exit`` status, 0 at its end, 1 when it raised (the
    traceback on stderr) or cannot be read."""
    try:
        with open(path, "rb") as f:
            code = compile(f.read(), path, "exec")
    except OSError as e:
        sys.stderr.write("gateway: %s %s: %s (cwd: %s)\n" % (option, path, e.strerror or e, os.getcwd()))
        return 1
    except SyntaxError:
        traceback.print_exc(limit=0)
        return 1
    main = types.ModuleType("__main__")
    main.__file__ = os.path.abspath(path)
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    except SystemExit as e:
        return _exit_status(e.code)
    except KeyboardInterrupt:
        return 130
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _exit_status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write("%s\n" % code)  # sys.exit("message"), as the interpreter does
    return 1


def run_shell(code: str) -> int:
    """``--pyshell``: ``code`` run in a fresh ``__main__``-like namespace, or (empty) an
    interactive console on the terminal; its exit status."""
    namespace: Dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        if code:
            exec(compile(code, "<pyshell>", "exec"), namespace)
        else:
            import code as console

            try:
                import readline  # noqa: F401  (line editing, as uWSGI imports it)
            except ImportError:
                pass
            console.interact(banner="", local=namespace, exitmsg="")
    except SystemExit as e:
        return _exit_status(e.code)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def hijack(cfg: Config, worker_id: int) -> Optional[int]:
    """What a worker runs instead of serving once its app is loaded: an exit status, or None
    to serve.  ``--python-worker-override`` in every worker, ``--pyshell`` in worker 1 (the
    shell, then the worker exits), ``--pyshell-oneshot`` in worker 1 (the shell, then it serves)."""
    if cfg.python_worker_override:
        return run_script(cfg.python_worker_override, "--python-worker-override")
    if worker_id != 1:
        return None
    if cfg.pyshell is not None:
        return run_shell(cfg.pyshell)
    if cfg.pyshell_oneshot is not None:
        status = run_shell(cfg.pyshell_oneshot)
        gen_log.info("...the --pyshell-oneshot shell ended (status %d): worker %d serves", status, worker_id)
    return None


class EnvironRefresher:
    """``--reload-os-env``: ``refresh()`` makes ``os.environ`` what the process environment
    (libc's ``environ``) holds now.  Only variables set or changed there are copied:
    ``os.environ`` is Python's mapping, the process environment is where ``setenv()`` writes."""

    def __init__(self) -> None:
        self._environ = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")

    def entries(self) -> Dict[bytes, bytes]:
        """The process environment now, as bytes."""
        out: Dict[bytes, bytes] = {}
        env = self._environ
        i = 0
        while env[i] is not None:
            key, sep, value = (env[i] or b"").partition(b"=")
            if sep and key:
                out[key] = value
            i += 1
        return out

    def refresh(self) -> None:
        current = os.environ
        for key, value in self.entries().items():
            k, v = os.fsdecode(key), os.fsdecode(value)
            if current.get(k) != v:
                current[k] = v  # putenv of the same value: harmless


def request_hook(refresher: EnvironRefresher) -> Any:
    """A request-start hook of :class:`~gateway.server.settings.ServerSettings`."""

    def hook(core: Any, environ: Dict[str, Any]) -> None:
        try:
            refresher.refresh()
        except Exception:
            gen_log.exception("--reload-os-env: cannot read the process environment")

    return hook
