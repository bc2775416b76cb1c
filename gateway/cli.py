"""The ``gateway`` command: options in, a serving worker out.  The only place that exits.

::

    gateway --http-socket :9090 --wsgi-file app.py --tornado 100 --greenlet
    gateway app.ini                     # or --ini app.ini[:section]; app.json, app.yaml, app.xml too
    UWSGI_PROCESSES=1 gateway ...       # UWSGI_* environment variables are options too

Every failure before serving (a bad option, a socket that cannot be bound, an app
that cannot be loaded) prints one ``gateway: ...`` message and exits with status 1
(an app that cannot be loaded under ``--need-app``: status 22, uWSGI's).
With ``--fallback-config FILE`` such an exit runs ``gateway FILE`` instead, as uWSGI
re-executes itself from its ``atexit`` hook.
"""

from __future__ import annotations

import atexit
import glob
import os
import site
import socket
import sys
from typing import Any, List, NoReturn, Optional, Sequence, Tuple

from gateway import UWSGI_COMPAT_VERSION, __version__, hooks, logs
from gateway.app_loader import FAILED_APP_CODE, AppLoadError, allows_no_app
from gateway.config import Config, ConfigError, format_help, load
from gateway.process.log_master import logger_problem, rotation_problem, wants_log_master
from gateway.routing import RouteSyntaxError, chains_from_config
from gateway.self_command import INTERPRETER, self_command, without_cwd_on_path
from gateway.server.listeners import (
    ListenError,
    bind_shared,
    bind_socket,
    set_bind_flags,
    set_socket_file_access,
    set_socket_protocol,
    set_socket_tuning,
)


def _fail(message: str) -> NoReturn:
    sys.stderr.write("gateway: %s\n" % message)
    sys.stderr.flush()
    sys.exit(1)


def _fail_app(cfg: Config, error: BaseException) -> NoReturn:
    """The app (or a hook around it) failed to load: status 1, or with ``--need-app`` uWSGI's
    ``*** no app loaded. GAME OVER ***`` and status 22, which process managers written for
    uWSGI tell apart from a configuration error (``RestartPreventExitStatus=22``)."""
    if not (cfg.need_app and isinstance(error, AppLoadError)):
        _fail(str(error))
    sys.stderr.write("gateway: %s\n*** no app loaded. GAME OVER ***\n" % error)
    sys.stderr.flush()
    sys.exit(FAILED_APP_CODE)


#: Fallbacks in a row (one re-executing the next) at most, so that a fallback that fails
#: with itself as its fallback ends instead of looping as uWSGI would.
MAX_FALLBACKS = 8
_FALLBACK_COUNT_ENV = "GATEWAY_FALLBACK_COUNT"


class _Fallback:
    """``--fallback-config``: the file (absolute) and the exit status ``main`` ended with."""

    config: Optional[str] = None
    status: Any = None
    count = 0


def _run_fallback_config() -> None:
    """The ``atexit`` hook: on exit status 1, replace this process with ``gateway FILE``.

    Registered before anything else, so it runs after every other exit hook (vacuum,
    pidfiles), as uWSGI's does.
    """
    if _Fallback.config is None or _Fallback.status != 1:
        return
    if _Fallback.count >= MAX_FALLBACKS:
        sys.stderr.write("gateway: not falling back to %s: %d fallbacks in a row already\n"
                         % (_Fallback.config, _Fallback.count))
        return
    sys.stderr.write("!!! gateway (pid: %d) exited with status 1 !!!\n" % os.getpid())
    sys.stderr.write("!!! Fallback config to %s !!!\n" % _Fallback.config)
    sys.stderr.flush()
    sys.stdout.flush()
    env = dict(os.environ)
    env[_FALLBACK_COUNT_ENV] = str(_Fallback.count + 1)
    try:
        os.execve(INTERPRETER, self_command() + [_Fallback.config], without_cwd_on_path(env))
    except OSError as e:
        sys.stderr.write("gateway: cannot run the fallback config: %s\n" % (e.strerror or e))


def main(argv: Optional[List[str]] = None) -> None:
    """Run the ``gateway`` command (``argv`` without the program name; default ``sys.argv[1:]``)."""
    try:
        _Fallback.count = int(os.environ.pop(_FALLBACK_COUNT_ENV, "0"))
    except ValueError:
        _Fallback.count = MAX_FALLBACKS
    atexit.register(_run_fallback_config)
    args = sys.argv[1:] if argv is None else argv
    from gateway.emperor import reexec

    reexec.capture(args, os.environ)  # what a vassal's binary reload runs again
    try:
        _main(args)
    except SystemExit as e:
        _Fallback.status = e.code
        raise


def apply_environment(cfg: Config) -> None:
    """``--env``, ``--unenv``, ``--virtualenv``, ``--chdir``, ``--pythonpath``, in uWSGI's
    order, and the app's ``sys.argv`` (``['uwsgi']`` + ``--pyargv``, as uWSGI sets it)."""
    for item in cfg.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail("option '--env' expects KEY=VALUE, got %r" % item)
        os.environ[key] = value
    for key in cfg.unenv:
        os.environ.pop(key, None)
    sys.argv = ["uwsgi"] + (cfg.pyargv or "").split()
    if cfg.virtualenv:
        _activate_virtualenv(cfg.virtualenv)
    if cfg.chdir and not (cfg.chroot and not _master_keeps_root(cfg)):  # else inside the chroot, at the drop
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


def _connect_and_read(address: str, timeout: float = 30.0) -> int:
    """``--connect-and-read``: connect to a UNIX socket path or ``host:port``, copy what it
    sends to stdout until it closes; 0, or 1 with a message when it cannot be reached."""
    import socket

    try:
        if "/" in address or ":" not in address:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(address)
        else:
            host, _, port = address.rpartition(":")
            sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)
        with sock:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    except (OSError, ValueError) as e:
        sys.stderr.write("gateway: --connect-and-read %s: %s\n" % (address, getattr(e, "strerror", None) or e))
        return 1


_OPTIMIZE_ENV = "GATEWAY_OPTIMIZE_EXEC"


def _run_optimized(level: int, argv: List[str]) -> None:
    """``--optimize N``: Python's optimisation level is fixed when the interpreter starts, so
    start it again with ``-O`` N times (``-OO``: no docstrings), once, before anything is done."""
    command = self_command()
    env = dict(os.environ)
    env[_OPTIMIZE_ENV] = str(level)  # never a second time, whatever the new interpreter says
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(INTERPRETER, command[:1] + ["-O"] * level + command[1:] + list(argv), env)
    except OSError as e:
        _fail("--optimize %d: cannot start Python again: %s" % (level, e.strerror or e))


def _main(argv: List[str]) -> None:
    try:
        cfg = load(argv, os.environ)
    except ConfigError as e:
        _Fallback.config = e.fallback_config
        _fail(str(e))
    if cfg.fallback_config:
        _Fallback.config = os.path.abspath(cfg.fallback_config)  # before --chdir moves us
    if cfg.help:
        sys.stdout.write(format_help())
        sys.exit(0)
    if cfg.version:
        sys.stdout.write("gateway %s (uWSGI-compatible %s)\n" % (__version__, UWSGI_COMPAT_VERSION))
        sys.exit(0)
    if cfg.python_version:
        sys.stdout.write("%s\n" % sys.version.split()[0])
        sys.exit(0)
    if cfg.optimize is not None and sys.flags.optimize != cfg.optimize and _OPTIMIZE_ENV not in os.environ:
        _run_optimized(int(cfg.optimize), argv)
    _immediate_actions(cfg)
    for text in cfg.print:
        sys.stdout.write(text + "\n")
    sys.stdout.flush()
    if cfg.exit is not None:
        sys.exit(cfg.exit)  # --exit: the configuration was read up to it
    _run_commands(cfg)
    if cfg.connect_and_read:
        sys.exit(_connect_and_read(cfg.connect_and_read))
    if cfg.daemonize and cfg.daemonize2:
        _fail("give --daemonize (at once) or --daemonize2 (after the app is loaded), not both")
    if cfg.die_on_idle and not cfg.idle:
        _fail("--die-on-idle needs --idle SECONDS")
    problem = rotation_problem(cfg) or logger_problem(cfg)
    if problem:
        _fail(problem)
    try:
        routes = chains_from_config(cfg)  # each rule was checked by its option; here the goto labels
    except RouteSyntaxError as e:
        _fail(str(e))
    if cfg.umask is not None:
        os.umask(cfg.umask)  # before the log file and any socket file are created
    _set_limits(cfg)
    from gateway.process.worker_triggers import set_thread_stack_size

    set_thread_stack_size(cfg)  # --thread-stacksize: every process's threads, set before any fork
    from gateway.emperor import vassal

    vassal.current = vassal.from_environ(os.environ)
    if cfg.daemonize and not vassal.has_emperor():  # a vassal never detaches: it logs to the file (uWSGI)
        from gateway.process.pidfile import daemonize

        daemonize()  # the command returns now; errors from here on go to the log file
    log_file = cfg.logto or cfg.daemonize
    if log_file:
        _log_to(log_file, cfg=cfg)
    _write_pidfiles(cfg, ("pidfile", "safe-pidfile"))
    logs.setup(logdate=logs.date_format(cfg), request_stream=_request_log(cfg))
    from gateway import startup_lines

    startup_lines.hold(startup_lines.config_lines(cfg) + startup_lines.first_lines(cfg))
    startup_lines.banner_held()
    _after_log_setup(cfg)
    for warning in cfg.warnings:
        logs.gen_log.warning("gateway: %s", warning)
    if vassal.current is not None:
        logs.gen_log.info("*** has_emperor mode detected (fd: %d) ***", vassal.current.fd)
    for phase, chain in routes.items():
        if len(chain):
            for line in chain.dump(phase):
                logs.gen_log.info("%s", line)
    _check_emperor(cfg)
    _apply_envdirs(cfg.envdir, "envdir")
    apply_environment(cfg)
    startup_lines.hold(startup_lines.chdir_lines(cfg) + startup_lines.limit_lines(cfg, master=_runs_master(cfg)))
    if cfg.emperor:
        sys.exit(_run_emperor(cfg))
    _prepare_python(cfg)
    if cfg.chdir2 and not os.path.isdir(cfg.chdir2):
        _fail("--chdir2 %s: no such directory (cwd: %s)" % (cfg.chdir2, os.getcwd()))
    for path in cfg.mimefile:
        from gateway.server.static_policy import read_mime_file

        try:
            read_mime_file(path)
        except OSError as e:
            _fail("--mimefile %s: %s" % (path, e.strerror or e))
    if cfg.upload_progress and not os.path.isdir(cfg.upload_progress):
        _fail("--upload-progress %s: no such directory (cwd: %s)" % (cfg.upload_progress, os.getcwd()))
    if cfg.upload_progress and not cfg.post_buffering:
        _fail("--upload-progress needs --post-buffering BYTES: the progress of a body larger "
              "than BYTES is told while it is read before the app runs")
    if cfg.logto2 and wants_log_master(cfg):
        _fail("--logto2 with --log-master (or a log rotation option) is not supported yet: use --logto")
    routing = bool(cfg.http or cfg.https)
    if cfg.http_to_https and not routing:
        _fail("--http-to-https needs the HTTP router: add --http or --https")
    fastrouter = bool(cfg.fastrouter)
    if not (_worker_sockets_given(cfg) or routing or fastrouter):
        _fail("no socket to serve: give --http-socket ADDR (e.g. --http-socket :9090), --socket ADDR or --http ADDR")
    has_app = bool(cfg.wsgi_file or cfg.module or cfg.eval or cfg.paste or cfg.mount)
    if not has_app and _worker_sockets_given(cfg) and allows_no_app(cfg):
        has_app = True  # uWSGI's full dynamic mode: the apps the requests name (gateway.mounts)
    subscribed = routing and bool(cfg.http_subscription_server)  # the router's nodes announce themselves
    if not has_app and not (routing and (cfg.http_to or subscribed)) and not (fastrouter and not routing):
        _fail("no app given: use --wsgi-file FILE, --module MODULE[:CALLABLE] or --eval CODE (or, to serve "
              "only the dynamic apps the web server names with UWSGI_SCRIPT/UWSGI_FILE, --vhost or --no-default-app)")
    _run_asap(cfg)
    # Extra processes the master spawns and respawns: the --http/--https router.
    children: List[Any] = []
    set_bind_flags(reuse_port=bool(cfg.reuse_port), freebind=bool(cfg.freebind))
    set_socket_tuning(sndbuf=int(cfg.socket_sndbuf or 0), rcvbuf=int(cfg.socket_rcvbuf or 0),
                      fast_open=int(cfg.tcp_fast_open or 0), abstract=bool(cfg.abstract_socket))
    try:
        for index, spec in enumerate(cfg.shared_socket):
            startup_lines.hold(startup_lines.shared_socket_lines(index, spec, bind_shared(spec, cfg.listen)),
                               early=True)
    except ListenError as e:
        _fail(str(e))
    if cfg.spooler or cfg.spooler_external:
        children.extend(_spooler_children(cfg))
    if fastrouter and not has_app:
        children.extend(_fastrouter_children(cfg, []))
        if not routing:  # a FastRouter-only instance: the master runs it, no workers
            sys.exit(_run_master(cfg, [], children, workers=0))
    internal = None
    if routing:
        routers, internal = _router_children(cfg)
        children.extend(routers)
        if not has_app or ((cfg.http_to or subscribed) and not _worker_sockets_given(cfg)):
            sys.exit(_run_master(cfg, [], children, workers=0))
    sockets = []
    try:
        for spec in cfg.http_socket + cfg.http11_socket:
            sockets.append(_bind(spec, cfg.listen, "http"))
        sockets.extend(_bind_https(cfg))
        for spec in cfg.socket:
            sockets.append(_bind(spec, cfg.listen, cfg.protocol or "uwsgi"))
        for spec in cfg.fastcgi_socket:
            sockets.append(_bind(spec, cfg.listen, "fastcgi"))
        for spec in cfg.fastcgi_nph_socket:
            sockets.append(_bind(spec, cfg.listen, "fastcgi-nph"))
        for spec in cfg.scgi_socket:
            sockets.append(_bind(spec, cfg.listen, "scgi"))
        for spec in cfg.scgi_nph_socket:
            sockets.append(_bind(spec, cfg.listen, "scgi-nph"))
    except ListenError as e:
        _fail(str(e))
    from gateway.emperor import reexec

    reexec.close_unclaimed()
    if cfg.map_socket:
        from gateway.server.socket_map import map_problem, parse_maps

        problem = map_problem(parse_maps(cfg.map_socket), len(sockets), int(cfg.processes or 1))
        if problem:
            _fail(problem)
    _socket_files(cfg, sockets)
    if cfg.so_keepalive:
        # accepted sockets inherit it from the listening one (Linux)
        for sock in sockets:
            if sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if fastrouter and has_app:  # after the worker sockets: --fastrouter-use-socket names a bound one
        children.extend(_fastrouter_children(cfg, sockets))
    if internal is not None:
        # --http without --socket/--http-to: the workers serve the router on this one
        set_socket_protocol(internal, "uwsgi")
        sockets.append(internal)

    numproc = int(cfg.processes or 1)
    startup_lines.hold(startup_lines.socket_lines(sockets, mapped=True), early=True)
    startup_lines.hold(startup_lines.socket_lines(sockets) + startup_lines.python_lines(cfg)
                       + startup_lines.server_lines(cfg, sockets, numproc))
    if _needs_master(cfg) or children:
        sys.exit(_run_master(cfg, sockets, children))

    from gateway import warning_message
    from gateway.process.worker import Worker
    from gateway.subsystems import Subsystems, SubsystemsConfigError

    try:
        # shared memory (caches, locks, metrics, signal table) exists before any fork
        Subsystems.create(cfg, workers=1, master=False)
        warning_message.create()
    except (SubsystemsConfigError, OSError) as e:
        _fail(str(e))

    _drop_privileges(cfg)
    startup_lines.flush()
    worker = Worker(cfg, sockets, worker_id=1)
    try:
        code = worker.run()
    except (AppLoadError, hooks.HookFailed) as e:
        _fail_app(cfg, e)
    sys.exit(code)


def _prepare_python(cfg: Config) -> None:
    """uWSGI's Python start-up (:mod:`gateway.python_extras`): ``sys.executable``, the module
    aliases, the early imports; then ``--test`` and ``--python``, which run instead of serving."""
    from gateway import python_extras

    try:
        python_extras.prepare_interpreter(cfg)
    except AppLoadError as e:
        _fail(str(e))
    if cfg.test:
        _drop_privileges(cfg)  # uWSGI imports it once --uid/--gid/--chroot are applied
        sys.exit(python_extras.test_import(cfg.test))
    if cfg.python:
        # uWSGI's command mode: no socket, the app loaded when one is given, then the script;
        # both as --uid/--gid (uWSGI runs the script in a worker, never as root)
        _run_asap(cfg)
        _drop_privileges(cfg)
        if cfg.wsgi_file or cfg.module or cfg.eval or cfg.paste or cfg.mount:
            from gateway.app_loader import load_apps

            try:
                load_apps(cfg)
            except (AppLoadError, hooks.HookFailed) as e:
                _fail(str(e))
        from gateway import uwsgi_module

        uwsgi_module.install()
        sys.exit(python_extras.run_script(cfg.python, "--python"))


def _run_commands(cfg: Config) -> None:
    """uWSGI's one-shot commands (:mod:`gateway.commands`): exit with their status, or go on
    (the inspection commands print and let the instance start)."""
    from gateway import commands

    try:
        status = commands.immediate(cfg)
        if status is None:
            status = commands.after_load(cfg)
    except commands.CommandError as e:
        sys.stdout.flush()
        sys.stderr.write("gateway: %s\n" % e)
        sys.stderr.flush()
        sys.exit(e.status)
    if status is not None:
        sys.exit(status)


def _check_emperor(cfg: Config) -> None:
    """A vassal (``UWSGI_EMPEROR_FD``) talks to its Emperor from its master; an Emperor runs
    alone (uWSGI forks it beside an instance: here the instances are its vassals)."""
    from gateway.emperor import vassal

    if vassal.current is not None and not cfg.emperor:
        from gateway.process.master import master_hooks

        master_hooks.append(vassal.current.attach)
    if cfg.emperor:
        if (_worker_sockets_given(cfg) or cfg.http or cfg.https
                or cfg.wsgi_file or cfg.module or cfg.eval or cfg.paste or cfg.mount):
            _fail("--emperor runs the Emperor alone: give the sockets and the app in the vassal files")
        if cfg.emperor_tyrant and (cfg.uid or cfg.gid):
            _fail("--emperor-tyrant runs each vassal as its file's owner: the Emperor must stay root "
                  "(drop --uid/--gid)")


def _run_emperor(cfg: Config) -> int:
    """``--emperor``: govern one vassal per config file (:mod:`gateway.emperor`)."""
    from gateway import startup_lines
    from gateway.emperor import vassal
    from gateway.emperor.emperor import Emperor, EmperorError

    _drop_privileges(cfg)
    startup_lines.flush()  # uWSGI's banner, before "*** starting uWSGI Emperor ***"
    try:
        return Emperor(cfg, link=vassal.current).run()
    except (EmperorError, ListenError) as e:
        _fail(str(e))


def _bind(spec: str, backlog: int, protocol: str) -> socket.socket:
    """Bind ``spec``, or take it over from the process this one replaced (a vassal's binary
    reload keeps its listening sockets open: :mod:`gateway.emperor.reexec`)."""
    from gateway.emperor import reexec
    from gateway.server.listeners import set_socket_protocol

    sock = reexec.take(protocol, spec) if not spec.startswith("=") else None
    if sock is not None:
        set_socket_protocol(sock, protocol)
        return sock
    from gateway import startup_lines

    sock = bind_socket(spec, backlog, protocol)
    if not spec.startswith("="):
        reexec.remember(sock, protocol, spec)
    startup_lines.name_socket(sock, spec)
    return sock


def _worker_sockets_given(cfg: Config) -> bool:
    return bool(cfg.http_socket or cfg.http11_socket or cfg.https_socket or cfg.ssl_socket or cfg.socket
                or cfg.fastcgi_socket
                or cfg.scgi_socket or cfg.fastcgi_nph_socket or cfg.scgi_nph_socket)


def _bind_https(cfg: Config) -> List[socket.socket]:
    """``--https-socket`` and ``--ssl-socket ADDR,CERT,KEY[,CIPHERS[,CA]]`` (HTTP and uwsgi over
    TLS): the TLS contexts are built now, with the router's code (:mod:`gateway.router.tls_config`),
    so a bad certificate fails at startup with one line; the worker terminates TLS."""
    from gateway.router.tls import TLSConfigError
    from gateway.router.tls_config import listener_contexts, unused_tls_options
    from gateway.server.listeners import set_tls_context

    unused = unused_tls_options(cfg)
    if unused:
        logs.gen_log.warning("%s: no --https, --https-socket or --ssl-socket to apply to (ignored)", ", ".join(unused))
    values = [("--https-socket", v) for v in cfg.https_socket] + [("--ssl-socket", v) for v in cfg.ssl_socket]
    try:
        contexts = listener_contexts(cfg, values)
    except TLSConfigError as e:
        _fail(str(e))
    out = []
    for (option, _), (spec, context) in zip(values, contexts):
        protocol = "https" if option == "--https-socket" else "suwsgi"
        sock = _bind(spec.address, cfg.listen, protocol)
        set_tls_context(sock, context, protocol)
        out.append(sock)
    return out


def _run_asap(cfg: Config) -> None:
    """The ``asap``, ``pre-jail`` and ``in-jail`` hooks (gateway has no jail: they follow each
    other), then the ``--shared-import`` modules (once, here, before any fork: every process
    inherits them, with or without ``--lazy-apps``).  From here on the ``as-user-atexit``
    hooks run when this process exits, as uWSGI registers them at startup."""
    hooks.register_atexit(cfg)
    hooks.warn_never_run(cfg)
    try:
        for phase in ("asap", "pre-jail", "in-jail"):
            hooks.run_phase(cfg, phase)
    except hooks.HookFailed as e:
        _fail(str(e))
    if cfg.shared_import:
        from gateway import uwsgi_module
        from gateway.app_loader import import_modules

        uwsgi_module.install()  # a shared module may ``import uwsgi`` as the app does
        import_modules(cfg.shared_import)


def _runs_master(cfg: Config) -> bool:
    """True if this instance will run a master: :func:`_needs_master`, or children of its own
    (the routers, the spooler, the Emperor's loop)."""
    return bool(_needs_master(cfg) or cfg.http or cfg.https or cfg.fastrouter or cfg.emperor)


def _needs_master(cfg: Config) -> bool:
    """``--master``, or an option only a master can carry out (uWSGI's ``UWSGI_OPT_MASTER``)."""
    from gateway import mules
    from gateway.emperor.vassal import has_emperor
    from gateway.process import cron_tasks, daemons, master_watch, triggers

    return bool(cfg.master or master_watch.needs_master(cfg) or has_emperor() or wants_log_master(cfg) or (cfg.processes or 1) > 1 or cfg.stats or cfg.idle
                or cfg.cheaper or cfg.evil_reload_on_rss or cfg.evil_reload_on_as or daemons.configured(cfg)
                or cron_tasks.configured(cfg) or cfg.spooler or cfg.spooler_external or mules.configured(cfg)
                or cfg.daemonize2
                or cfg.hook_master_start or cfg.hook_touch or cfg.stats_push or cfg.carbon
                or cfg.enable_metrics or cfg.metrics_no_cores or cfg.queue_store or triggers.needs_master(cfg)
                or cfg.alarm or cfg.metric_threshold or cfg.alarm_fd or cfg.alarm_backlog or cfg.not_log_alarm
                or cfg.cache_store or cfg.cache_udp_server or cfg.cache_udp_node
                or cfg.static_cache_paths
                or cfg.subscribe_to or cfg.subscribe2)


def _socket_files(cfg: Config, sockets: List[Any], vacuum_only: Sequence[Any] = ()) -> None:
    """``--chmod-socket``, ``--chown-socket`` and ``--vacuum`` for the UNIX sockets just bound
    (the workers', the routers'; TCP and abstract ones are left).  ``vacuum_only``: sockets that
    keep the umask, as in uWSGI (the subscription servers': ``--chmod-socket 666`` opens the
    app's socket to the web server, and must not let everyone subscribe nodes)."""
    from gateway.process.privileges import PrivilegeError, resolve_group, resolve_user

    uid = gid = -1
    if cfg.chown_socket:
        user, _, group = cfg.chown_socket.partition(":")
        try:
            if user:
                uid = resolve_user(user)[0]
            if group:
                gid = resolve_group(group)
        except PrivilegeError as e:
            _fail("--chown-socket " + str(e).split(" ", 1)[1])
    try:
        for sock in sockets:
            set_socket_file_access(sock, cfg.chmod_socket, uid, gid)
    except ListenError as e:
        _fail(str(e))
    if cfg.vacuum:
        from gateway.process import vacuum

        vacuum.add_sockets(list(sockets) + list(vacuum_only))


def _set_limits(cfg: Config) -> None:
    """``--limit-as`` and ``--max-fd``: process limits every child inherits."""
    import resource

    for option, which, value in (("limit-as", resource.RLIMIT_AS, (cfg.limit_as or 0) * 1024 * 1024),
                                 ("max-fd", resource.RLIMIT_NOFILE, cfg.max_fd or 0)):
        if value:
            try:
                resource.setrlimit(which, (value, value))
            except (OSError, ValueError) as e:
                _fail("--%s %s: %s" % (option, cfg.get(option), e))


def _write_pidfiles(cfg: Config, names: Tuple[str, ...]) -> None:
    """``--pidfile``/``--safe-pidfile`` (before privileges are dropped), ``--pidfile2`` (after)."""
    from gateway.process.pidfile import write_pidfiles

    problem = write_pidfiles(cfg, names, vacuum=bool(cfg.vacuum))
    if problem:
        _fail(problem)


def _request_log(cfg: Config) -> Optional[Any]:
    """``--req-logger file:PATH`` (alone): the request lines' own file, opened once before any fork and
    written by every process with one ``write`` per line (``O_APPEND``: lines never interleave)."""
    from gateway.process.log_master import requests_via_master

    specs = cfg.req_logger
    if len(specs) != 1 or not specs[0].startswith("file:") or requests_via_master(cfg):
        return None  # stdio or none: with the other lines; through the log master
    spec = specs[0]
    path = spec[5:]
    try:
        return open(path, "a", buffering=1, encoding="utf-8", errors="replace")
    except OSError as e:
        _fail("--req-logger %s: %s" % (spec, e.strerror or e))


def _log_routing(cfg: Config) -> Any:
    """The logger plugins' sockets and files, opened now (before any fork and before
    privileges are dropped), or None; a spec that cannot work stops the start."""
    from gateway.log_plugins import SpecError
    from gateway.log_sinks import SYSLOG_SOCKET
    from gateway.process.log_master import build_routing, logger_specs

    try:
        routing = build_routing(cfg)
    except SpecError as e:
        _fail(str(e))
    if routing is not None:
        specs = logger_specs(cfg) + logger_specs(cfg, "req-logger")
        if any(s.plugin == "syslog" for s in specs) and not os.path.exists(SYSLOG_SOCKET):
            logs.gen_log.warning("gateway: --logger syslog: %s does not exist (no syslog daemon?): the syslog "
                                 "lines are dropped until it does", SYSLOG_SOCKET)
    return routing


def _log_to(path: str, option: str = "--logto", cfg: Optional[Config] = None) -> None:
    """``--logto FILE``: stdout and stderr of every process go to FILE (appended), as uWSGI does;
    with ``cfg``, ``--log-truncate`` empties it first, ``--logfile-chmod``/``--logfile-chown`` set
    its mode and owner."""
    truncate = os.O_TRUNC if cfg is not None and cfg.log_truncate else 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | truncate, 0o640)
        if cfg is not None and cfg.logfile_chmod is not None:
            os.fchmod(fd, cfg.logfile_chmod)
    except OSError as e:
        _fail("%s %s: %s" % (option, path, e.strerror or e))
    if cfg is not None and cfg.logfile_chown and (cfg.uid or cfg.gid):
        from gateway.process.privileges import PrivilegeError, resolve_group, resolve_user

        try:
            uid, gid = resolve_user(str(cfg.uid)) if cfg.uid else (-1, -1)
            if cfg.gid:
                gid = resolve_group(str(cfg.gid))
            os.fchown(fd, uid, gid)
        except (PrivilegeError, OSError) as e:
            _fail("--logfile-chown %s: %s" % (path, getattr(e, "strerror", None) or e))
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _run_master(cfg: Config, sockets: List[Any], children: List[Any], workers: Optional[int] = None) -> int:
    """Load the app in the master (unless ``--lazy-apps``), then fork and supervise.

    A master also runs without ``--master`` when there are several workers or extra
    children (the router), as uWSGI spawns its router without a master too, and for
    external daemons (uWSGI's daemon options imply ``--master``).
    """
    from gateway import warning_message
    from gateway.process.app_reload import AppReloader
    from gateway.process.cheaper import CheaperConfigError
    from gateway.process.master import Master
    from gateway.process.worker import cores_per_worker
    from gateway.subsystems import Subsystems, SubsystemsConfigError, metrics_enabled
    from gateway.subsystems.builtin_metrics import builtin_specs

    numproc = (cfg.processes or 1) if workers is None else workers
    if cfg.limit_nproc and numproc:
        from gateway.process.startup import adjusted_workers

        numproc = adjusted_workers(numproc, True, logs.gen_log)
    # uWSGI's built-in metrics (worker.N.requests...): registered with the others, collected by the master
    builtin = builtin_specs(numproc, cores_per_worker(cfg), len(sockets), no_cores=bool(cfg.metrics_no_cores)) \
        if metrics_enabled(cfg) else []
    try:
        # shared memory (caches, locks, metrics, signal table) exists before any fork
        Subsystems.create(cfg, workers=max(numproc, 1), master=True, builtin_metrics=builtin)
        warning_message.create()
    except (SubsystemsConfigError, OSError) as e:
        _fail(str(e))
    from gateway import alarms, mules, pushers, spooler
    from gateway.process import cron_tasks, daemons, master_watch, subscriber, triggers
    from gateway.spooler import runner as spooler_runner
    from gateway.subsystems import metrics_source

    routing = _log_routing(cfg)
    try:
        master = Master(cfg, sockets, children=children, workers=numproc)  # binds --stats
        master.log_routing = routing
        # from here on this process's lines go through the log master (encoders, loggers), the
        # startup lines and what the app prints at import included, as uWSGI's
        master.capture_log()
        # extra children: external daemons (after the workers), cron commands (on schedule),
        # mules (their queues now, the processes after the workers)
        daemons.attach(master, cfg)
        cron_tasks.attach(master, cfg)
        mules.attach(master, cfg)
        triggers.attach(master, cfg)  # touch files, fs monitors, config timers (after the mules)
        master_watch.attach(master, cfg)  # --reload-on-fd, --check-mountpoint, --notify-socket
        if spooler.current is not None:
            spooler_runner.attach(master, cfg, spooler.current)
        # uWSGI runs them before it re-executes itself for a reload, too
        # (in a child of the master, as --hook-touch: they must not stop its loop)
        if cfg.hook_as_user_atexit or cfg.exec_as_user_atexit:
            runner = master.hook_runner()
            master.on_reload(lambda: runner.run(lambda: hooks.run_phase(cfg, "as-user-atexit")))
        # the built-in metrics, then --stats-push and --carbon: on the master's timers
        metrics_source.attach(master, cfg)
        pushers.attach(master, cfg)
        alarms.attach(master, cfg)
        subscriber.attach(master, cfg, sockets, numproc)  # --subscribe-to, --subscribe2
    except (ListenError, subscriber.SubscriberConfigError, CheaperConfigError, daemons.DaemonConfigError, cron_tasks.CronConfigError,
            mules.MuleConfigError, pushers.PusherConfigError, alarms.AlarmConfigError) as e:
        _fail(str(e))
    _child_privileges(cfg, master)
    _drop_privileges(cfg, keep_root=_root_kept(cfg))
    from gateway import startup_lines

    startup_lines.flush()
    if not cfg.lazy_apps and numproc:
        reloader = AppReloader(cfg, sockets)
        try:
            master.app = reloader.load()
        except (AppLoadError, hooks.HookFailed) as e:
            if master.log_master is not None:
                master.log_master.finish(1.0)  # what the app printed, before the error
            _fail_app(cfg, e)
        startup_lines.log_lines(startup_lines.app_loaded_lines(cfg))
        master.app_loader = reloader.reload
    if cfg.daemonize2:
        from gateway.emperor.vassal import has_emperor

        if has_emperor():  # a vassal never detaches (uWSGI): it logs to the file
            if not cfg.logto:
                _log_to(str(cfg.daemonize2), "--daemonize2")
        else:
            _daemonize_late(cfg, master)
    return master.run()


def _daemonize_late(cfg: Config, master: Any) -> None:
    """``--daemonize2 LOGFILE``: detach now that the app is loaded (a broken app still failed
    on the terminal), log to LOGFILE (unless ``--logto``), and rewrite the pidfiles with the
    master's new pid, as uWSGI does."""
    from gateway import uwsgi_module
    from gateway.process.pidfile import daemonize

    logs.gen_log.info("*** daemonizing uWSGI ***")
    daemonize()  # the command returns here; this is the detached grandchild
    if not cfg.logto:
        _log_to(str(cfg.daemonize2), "--daemonize2")
    master.pid = os.getpid()
    hooks.adopt_atexit()
    if uwsgi_module.masterpid():
        uwsgi_module._runtime.masterpid = master.pid
    _write_pidfiles(cfg, ("pidfile", "safe-pidfile", "pidfile2", "safe-pidfile2"))


def _drop_privileges(cfg: Config, keep_root: bool = False) -> None:
    """``--uid``/``--gid`` (and ``--chroot``): after every socket is bound, before the app is
    loaded.  Before it: ``--file-write``, the interface and filesystem waits, the ``as-root``
    hooks; after it: the ``as-user`` hooks (both run only when started as root, as uWSGI
    does), ``--wait-for-socket``, ``--prio``.  ``keep_root`` (``--master-as-root``): this
    process keeps its identity, its children drop (:func:`_child_privileges`)."""
    from gateway.process import startup, startup_waits
    from gateway.process.privileges import PrivilegeError, drop

    as_root = os.getuid() == 0
    try:
        for spec in cfg.file_write:
            startup.file_write(spec, logs.gen_log)
        startup_waits.waits_before_drop(cfg, logs.gen_log)
        if as_root:
            hooks.run_phase(cfg, "as-root")
        if keep_root:
            logs.gen_log.info("the master keeps its privileges (--master-as-root): each child drops them")
        else:
            drop(cfg.uid, cfg.gid, logs.gen_log, chroot=cfg.chroot, chroot_workdir=cfg.chdir or "/",
                 add_gids=cfg.add_gid, initgroups=not cfg.no_initgroups)
            if cfg.chroot:
                _path_after_chroot()
            if as_root:
                hooks.run_phase(cfg, "as-user")
        startup_waits.socket_waits(cfg, logs.gen_log)
    except (PrivilegeError, hooks.HookFailed, startup.StartupError, startup_waits.WaitFailed) as e:
        _fail(str(e))
    if cfg.prio is not None:
        startup.set_priority(cfg.prio, logs.gen_log)
    _write_pidfiles(cfg, ("pidfile2", "safe-pidfile2"))
    if cfg.logto2:
        _log_to(cfg.logto2, "--logto2", cfg=cfg)


def _path_after_chroot() -> None:
    """After ``--chroot``: the working directory (inside it) leads ``sys.path``, as before."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.insert(0, cwd)


def _master_keeps_root(cfg: Config) -> bool:
    """``--master-as-root`` with a master to keep root (without one, the process drops as usual)."""
    return _root_kept(cfg) and bool(_needs_master(cfg) or cfg.http or cfg.https)


def _root_kept(cfg: Config) -> bool:
    """``--master-as-root`` started as root.  Started by another user there is no root to keep:
    the drop happens here, as without the option (it fails at startup, once, when it cannot
    succeed), not in every child, each of which would die of it and be respawned."""
    return bool(cfg.master_as_root) and os.geteuid() == 0


def _child_privileges(cfg: Config, master: Any) -> None:
    """In every child the master forks: ``--never-swap`` again (memory locks are not
    inherited), and with ``--master-as-root`` the drop to ``--uid``/``--gid``/``--chroot``
    (a daemon with its own ``uid=`` switches itself instead)."""
    if cfg.never_swap:
        from gateway.process.startup import lock_memory

        master.on_fork_child(lambda: lock_memory(logs.gen_log) and None)
    if _root_kept(cfg) and (cfg.uid or cfg.gid or cfg.chroot):
        from gateway.process.privileges import PrivilegeError, drop_in_child, preload, resolve_identity

        # what every child will switch to must exist: refused now, once, rather than by each
        # child (which would die of it and be respawned, forever)
        try:
            resolve_identity(cfg.uid, cfg.gid, cfg.add_gid, not cfg.no_initgroups)
        except PrivilegeError as e:
            _fail(str(e))
        if cfg.chroot and not os.path.isdir(cfg.chroot):
            _fail("--chroot %s: no such directory" % cfg.chroot)
        preload(everything=bool(cfg.chroot))  # once here, not in every child
        master.child_privileges = lambda worker: drop_in_child(cfg, logs.gen_log, worker)


class _EarlyLog:
    """Lines logged before :func:`gateway.logs.setup`: straight to standard error."""

    def info(self, message: str, *args: Any) -> None:
        sys.stderr.write((message % args if args else message) + "\n")
        sys.stderr.flush()

    warning = info


def _immediate_actions(cfg: Config) -> None:
    """What uWSGI does while it reads the options (``UWSGI_OPT_IMMEDIATE``), done as soon as
    the configuration is read: ``--early-envdir`` (the configuration already saw it),
    ``--flock``/``--flock-wait``, ``--immediate-gid``/``--immediate-uid``; and the settings
    later steps read: ``--binsh``, ``--force-cwd``."""
    from gateway.emperor import reexec
    from gateway.process import startup
    from gateway.process.privileges import PrivilegeError, drop_immediately

    _apply_envdirs(cfg.early_envdir, "early-envdir")
    startup.configure_shell(cfg.binsh)
    if cfg.force_cwd:
        reexec.ORIGIN.cwd = os.path.abspath(cfg.force_cwd)
    log = _EarlyLog()  # the log is not set up yet (nor detached with --daemonize)
    try:
        for path in cfg.flock:
            startup.lock_file(path, False, "flock", log)
        for path in cfg.flock_wait:
            startup.lock_file(path, True, "flock-wait", log)
        drop_immediately(cfg.immediate_uid, cfg.immediate_gid, log)
    except (startup.StartupError, PrivilegeError) as e:
        _fail(str(e))


def _after_log_setup(cfg: Config) -> None:
    """Once the log is set up (uWSGI's place): ``--never-swap``, ``--flock2``/``--flock-wait2``,
    ``--limit-nproc``."""
    from gateway.process import startup

    if cfg.never_swap:
        if (cfg.uid or cfg.gid) and os.geteuid() == 0 and not startup.memlock_unlimited():
            _fail("--never-swap with --uid/--gid needs an unlimited RLIMIT_MEMLOCK (ulimit -l unlimited, "
                  "systemd's LimitMEMLOCK=infinity): once root is dropped, locked pages count against "
                  "it and the workers could not allocate memory")
        startup.lock_memory(logs.gen_log)
    try:
        if cfg.flock2:
            startup.lock_file(cfg.flock2, False, "flock2", logs.gen_log)
        if cfg.flock_wait2:
            startup.lock_file(cfg.flock_wait2, True, "flock-wait2", logs.gen_log)
    except startup.StartupError as e:
        _fail(str(e))
    if cfg.limit_nproc:
        startup.set_limit_nproc(cfg.limit_nproc, logs.gen_log)


def _apply_envdirs(paths: List[str], option: str) -> None:
    """``--envdir``/``--early-envdir``: each daemontools envdir into ``os.environ``, in order."""
    from gateway.config.envdir import EnvdirError, apply, read_envdir

    for path in paths:
        try:
            apply(read_envdir(path), os.environ)
        except EnvdirError as e:
            _fail("--%s %s" % (option, str(e).split(" ", 1)[1]))


def _spooler_children(cfg: Config) -> List[Any]:
    """``--spooler DIR`` (times ``--spooler-processes``): the directories are created and
    resolved now, and :data:`gateway.spooler.current` set before the app loads (so it may
    spool at import, as under uWSGI); each spooler is an extra child of the master (a
    spooler needs a master, as in uWSGI), forked after the app is loaded."""
    from gateway import spooler
    from gateway.spooler.runner import child_specs

    try:
        spooler.current = spooler.Spoolers.from_config(cfg)
    except spooler.SpoolerConfigError as e:
        _fail(str(e))
    return child_specs(cfg, spooler.current)


def _fastrouter_children(cfg: Config, sockets: List[Any]) -> List[Any]:
    """The FastRouter processes (``--fastrouter``), their sockets bound before any fork;
    ``sockets``: the bound worker sockets (``--fastrouter-use-socket`` picks one)."""
    from gateway.router.fastrouter_main import FastRouterError, fastrouter_children

    try:
        specs, socks = fastrouter_children(cfg, sockets)
    except FastRouterError as e:
        _fail(str(e))
    _socket_files(cfg, socks.listeners, vacuum_only=socks.subscription)
    return specs


def _router_children(cfg: Config) -> Tuple[List[Any], Optional[Any]]:
    """The HTTP router processes (``--http-processes N``, named "uWSGI http 1" to "uWSGI http N" as
    uWSGI names them) as extra children of the master, and the internal worker socket if one was
    made (``--http`` without ``--http-to`` or ``--socket``).  Every socket is bound here, once,
    before any fork: all the routers accept on the same listening sockets (the kernel hands each
    connection to one of them), a respawned router reuses them, and a bad certificate fails at
    startup.  Each router has its own loop, worker connection pool and timeout sweep."""
    from gateway.process.master import ChildSpec
    from gateway.process.privileges import PrivilegeError, resolve_group, resolve_user
    from gateway.router.main import (
        RouterError,
        bind_router_sockets,
        bind_subscription_servers,
        check_fallbacks,
        run_router,
        worker_addresses,
    )

    try:  # --http-uid/--http-gid: an unknown name fails now, not in each router
        if cfg.http_uid:
            resolve_user(cfg.http_uid)
        if cfg.http_gid:
            resolve_group(cfg.http_gid)
    except PrivilegeError as e:
        _fail(str(e).replace("--uid", "--http-uid").replace("--gid", "--http-gid"))
    subscription: List[Any] = []
    upstreams: List[str] = []
    try:
        check_fallbacks(cfg)
        listeners = bind_router_sockets(cfg)
        if cfg.http_subscription_server:
            # the nodes come from the subscription table (as uWSGI, --http-to is then unused)
            subscription = bind_subscription_servers(cfg)
            internal = None
        else:
            upstreams, internal = worker_addresses(cfg)
    except RouterError as e:
        _fail(str(e))
    from gateway import startup_lines

    startup_lines.hold(startup_lines.router_lines(cfg.http, [listener.sock for listener in listeners], subscription))
    # the routers' UNIX sockets as the workers' (uWSGI's bind_to_unix); the subscription ones
    # are only vacuumed
    _socket_files(cfg, [listener.sock for listener in listeners], vacuum_only=subscription)
    stats = None
    if cfg.http_stats:
        from gateway.router.stats import bind_stats

        try:
            stats = bind_stats(cfg.http_stats, cfg.listen)
        except ListenError as e:
            _fail(str(e))
    ours = internal is not None
    count = int(cfg.http_processes)
    # the stats socket is served by the first router only, as uWSGI's corerouters do
    import functools

    beats = None
    if cfg.http_harakiri:
        from gateway.router.harakiri import Heartbeats

        beats = Heartbeats(count)  # shared with the routers: made before any fork
    specs = [ChildSpec("uWSGI http %d" % n,
                       functools.partial(run_router, cfg, listeners, upstreams, ours, stats if n == 1 else None,
                                         (beats, n - 1) if beats is not None else None, subscription))
             for n in range(1, count + 1)]
    if beats is not None:
        from gateway.process.master import master_hooks
        from gateway.router.harakiri import watch

        limit = float(cfg.http_harakiri)
        master_hooks.append(lambda master: watch(master, beats, specs, limit))
    return specs, internal
