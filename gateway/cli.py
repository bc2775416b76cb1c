"""The ``gateway`` command: options in, a serving worker out.  The only place that exits.

::

    gateway --http-socket :9090 --wsgi-file app.py --tornado 100 --greenlet
    gateway app.ini                     # or --ini app.ini[:section]
    UWSGI_PROCESSES=1 gateway ...       # UWSGI_* environment variables are options too

Every failure before serving (a bad option, a socket that cannot be bound, an app
that cannot be loaded) prints one ``gateway: ...`` message and exits with status 1.
"""

from __future__ import annotations

import glob
import os
import signal
import site
import sys
from typing import Any, List, NoReturn, Optional

from gateway import UWSGI_COMPAT_VERSION, __version__, logs
from gateway.app_loader import AppLoadError
from gateway.config import Config, ConfigError, format_help, load
from gateway.server.listeners import ListenError, bind_tcp


def _fail(message: str) -> NoReturn:
    sys.stderr.write("gateway: %s\n" % message)
    sys.stderr.flush()
    sys.exit(1)


def apply_environment(cfg: Config) -> None:
    """``--env``, ``--virtualenv``, ``--chdir``, ``--pythonpath``, in uWSGI's order."""
    for item in cfg.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail("option '--env' expects KEY=VALUE, got %r" % item)
        os.environ[key] = value
    if cfg.virtualenv:
        _activate_virtualenv(cfg.virtualenv)
    if cfg.chdir:
        try:
            os.chdir(cfg.chdir)
        except OSError as e:
            _fail("--chdir %s: %s" % (cfg.chdir, e.strerror or e))
    for entry in reversed(cfg.pythonpath):
        matches = sorted(glob.glob(entry)) or [entry]
        for path in reversed(matches):
            path = os.path.abspath(path)
            if path not in sys.path:
                sys.path.insert(0, path)
    if "" not in sys.path and os.getcwd() not in sys.path:
        # uWSGI imports --module relative to the working directory.
        sys.path.insert(0, os.getcwd())


def _activate_virtualenv(path: str) -> None:
    home = os.path.abspath(path)
    if not os.path.isdir(home):
        _fail("--virtualenv %s: no such directory" % path)
    pattern = os.path.join(home, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    found = glob.glob(pattern)
    if not found:
        _fail(
            "--virtualenv %s: no lib/python%d.%d/site-packages inside (was it made with another Python?)"
            % (path, sys.version_info[0], sys.version_info[1])
        )
    # Put the virtualenv's packages first, as running its own interpreter would.
    before = list(sys.path)
    site.addsitedir(found[0])
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + before
    os.environ["VIRTUAL_ENV"] = home


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        cfg = load(argv, os.environ)
    except ConfigError as e:
        _fail(str(e))
    if cfg.help:
        sys.stdout.write(format_help())
        sys.exit(0)
    if cfg.version:
        sys.stdout.write("gateway %s (uWSGI-compatible %s)\n" % (__version__, UWSGI_COMPAT_VERSION))
        sys.exit(0)
    logs.setup()
    for warning in cfg.warnings:
        logs.gen_log.warning("gateway: %s", warning)
    apply_environment(cfg)
    routing = bool(cfg.http or cfg.https)
    if not cfg.http_socket and not routing:
        _fail("no socket to serve: give --http-socket ADDR (e.g. --http-socket :9090) or --http ADDR")
    has_app = bool(cfg.wsgi_file or cfg.module)
    if not has_app and not (routing and cfg.http_to):
        _fail("no app given: use --wsgi-file FILE or --module MODULE[:CALLABLE]")
    router_pid = 0
    if routing:
        router_pid = _start_router(cfg)
        if not has_app or not cfg.http_socket:
            sys.exit(_wait_router(router_pid))
    sockets = []
    try:
        for spec in cfg.http_socket:
            sockets.append(bind_tcp(spec, cfg.listen))
    except ListenError as e:
        _stop_router(router_pid)
        _fail(str(e))

    from gateway.process.worker import Worker
    from gateway.subsystems import Subsystems, SubsystemsConfigError

    try:
        # shared memory (caches, locks, metrics, signal table) exists before any fork
        Subsystems.create(cfg, workers=1, master=False)
    except (SubsystemsConfigError, OSError) as e:
        _fail(str(e))

    worker = Worker(cfg, sockets, worker_id=1)
    try:
        code = worker.run()
    except AppLoadError as e:
        _stop_router(router_pid)
        _fail(str(e))
    _stop_router(router_pid)
    sys.exit(code)


# -- the HTTP router process ------------------------------------------------------------
# TEMPORARY until the master (gateway/process/master.py) lands: the master will spawn
# and respawn the router child through its generic facility.  Until then the CLI forks
# it here and stops it when the worker exits.


def _start_router(cfg: Any) -> int:
    from gateway.router.main import RouterError, bind_router_sockets, run_router

    upstreams = list(cfg.http_to)
    if not upstreams:
        _fail("--http/--https need --http-to ADDR (a uwsgi socket) until --socket lands")
    try:
        listeners = bind_router_sockets(cfg)
    except RouterError as e:
        _fail(str(e))
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = run_router(cfg, listeners, upstreams)
        except BaseException:
            logs.gen_log.exception("the HTTP router failed")
        finally:
            sys.stderr.flush()
            os._exit(code)
    for listener in listeners:
        listener.sock.close()
    return pid


def _stop_router(pid: int) -> None:
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _wait_router(pid: int) -> int:
    """Only a router runs here (``--http-to`` without an app): forward stop signals, reap it."""
    def forward(sig: int, _frame: Any) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(sig, forward)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 0
        return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
