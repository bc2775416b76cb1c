"""``--mount /prefix=app`` and ``--manage-script-name``: several WSGI apps in one worker.

:class:`Mounts` is itself a WSGI app, installed in place of the app(s), so it works the
same under every protocol (the runner never knows).  Choosing the app for a request, as
uWSGI does (``UWSGI_APPID``, when the web server sends it, is the key instead of all this):

* with ``--manage-script-name``: the **longest** mountpoint that prefixes ``PATH_INFO``
  on a segment boundary (``/app`` matches ``/app`` and ``/app/x``, not ``/apple``)
  becomes ``SCRIPT_NAME`` and is cut from ``PATH_INFO``;
* without it: the mountpoint equal to the ``SCRIPT_NAME`` the web server sent
  (``uwsgi_param SCRIPT_NAME /app;``); ``PATH_INFO`` is left as it is;
* with ``--vhost``: the mountpoint equal to ``HOST|SCRIPT_NAME``, HOST being ``SERVER_NAME``
  (``HTTP_HOST`` with ``--vhost-host``, its port cut), as uWSGI keys its apps; a mountpoint
  given without ``|`` (``www.example.org``) means that host at the root;
* with ``--ignore-script-name`` (and no ``--vhost``): the app mounted at the root (``--mount
  =app.py`` or ``/=app.py``), whatever ``SCRIPT_NAME`` says; ``--manage-script-name`` still
  moves the mountpoint from ``PATH_INFO`` to ``SCRIPT_NAME`` (as uWSGI does: its apps are
  keyed by ``SCRIPT_NAME`` after that rewrite, and this option empties the key);
* otherwise the default app, unless ``--no-default-app``: as in uWSGI the first app loaded
  (``--wsgi-file``/``--module``, else the first ``--mount``); with ``--no-default-app``,
  uWSGI's ``--- no python application found ---`` and a ``500``.

**Dynamic apps**: a request whose key has no app and that names one (``UWSGI_SCRIPT``
``mod[:callable]``, ``UWSGI_MODULE`` + ``UWSGI_CALLABLE``, ``UWSGI_FILE``, set by the web
server: ``uwsgi_param UWSGI_SCRIPT mymodule;``) has it loaded in this worker and kept under
that key, logged as uWSGI does; ``UWSGI_CHDIR`` is where the app runs, ``UWSGI_TOUCH_RELOAD``
a file whose change recycles the worker.  At most ``--max-apps`` apps per worker; a failed
load is not kept (the next request retries) and the request goes to the default app, else
``500``.

``environ["gateway.app_id"]`` is the app's index (the default app is 0, mounts follow
in the order given, then the dynamic apps in the order loaded), shown as ``app: N`` in the
request log line.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

from gateway.logs import gen_log

if TYPE_CHECKING:  # pragma: no cover
    from gateway.config.model import Config

WSGIApp = Callable[..., Any]


def split_mount(spec: str, vhost: bool = False) -> Tuple[str, str]:
    """``"/prefix=app.py"`` -> ``("/prefix", "app.py")``; a trailing ``/`` is dropped
    (``"/"`` becomes ``""``, the root).  With ``vhost``: ``"host|/prefix=app.py"`` ->
    ``("host|/prefix", ...)`` and ``"host=app.py"`` -> ``("host|", ...)``.  Raises ValueError."""
    mountpoint, sep, target = spec.partition("=")
    if not sep or not target:
        raise ValueError("--mount %r: expected MOUNTPOINT=APP (e.g. /app=app.py)" % spec)
    mountpoint = mountpoint.strip()
    if vhost and not mountpoint.startswith("/"):
        host, _, path = mountpoint.partition("|")
        if not host or (path and not path.startswith("/")):
            raise ValueError("--mount %r: with --vhost the mountpoint is HOST or HOST|/PREFIX" % spec)
        return "%s|%s" % (host.lower(), path.rstrip("/")), target.strip()
    if mountpoint and not mountpoint.startswith("/"):
        raise ValueError("--mount %r: the mountpoint must start with /" % spec)
    return mountpoint.rstrip("/"), target.strip()


def app_mountpoints(cfg: "Config") -> List[str]:
    """The mountpoints of the apps ``cfg`` loads, indexed by app id: ``""`` for the default
    app (``--wsgi-file``/``--module``/``--eval``/``--paste``, id 0), then each ``--mount`` in
    the order given (from id 0 when there is no default app).  Loading is all or nothing, so
    this is also what a loaded worker holds: the stats' ``apps`` and ``uwsgi.workers()`` list
    it without asking the workers.  Empty when a ``--mount`` is malformed (the app load says
    why, and nothing starts)."""
    out = [""] if (cfg.wsgi_file or cfg.module or cfg.eval or cfg.paste) else []
    try:
        out.extend(split_mount(spec, vhost=bool(cfg.vhost))[0] for spec in cfg.mount or ())
    except ValueError:
        return []
    return out


class Mounts:
    """``Mounts([("/a", app_a), ("/b", app_b)], default=app, manage_script_name=True)``

    ``loader``: uWSGI's dynamic apps.  A request naming an app to load (``UWSGI_SCRIPT``,
    ``UWSGI_MODULE``/``UWSGI_CALLABLE``, ``UWSGI_FILE``) whose key (``UWSGI_APPID``, else the
    mountpoint the request selects) has no app yet has ``loader(environ)`` load one in this
    worker, kept under that key for the next requests: at most ``max_apps`` apps in all.
    ``loader`` returns the app or raises :class:`~gateway.app_loader.AppLoadError`."""

    def __init__(self, mounts: Iterable[Tuple[str, WSGIApp]], default: Optional[WSGIApp] = None,
                 manage_script_name: bool = False, vhost: Optional[str] = None,
                 default_fallback: bool = True, ignore_script_name: bool = False,
                 loader: Optional[Callable[[Dict[str, Any]], WSGIApp]] = None, max_apps: int = 64) -> None:
        self.default = default if default_fallback else None
        self.default_fallback = default_fallback
        #: --ignore-script-name: the app is looked up with an empty SCRIPT_NAME
        self.ignore_script_name = ignore_script_name
        self.manage_script_name = manage_script_name
        #: --vhost: the environ key naming the host (SERVER_NAME, or HTTP_HOST with --vhost-host)
        self.vhost = vhost
        mounts = list(mounts)
        first = 1 if default is not None else 0
        #: mountpoint -> (app id, app)
        self.by_mountpoint: Dict[str, Tuple[int, WSGIApp]] = {}
        for i, (mountpoint, app) in enumerate(mounts):
            self.by_mountpoint[mountpoint.rstrip("/")] = (first + i, app)
        if default is not None and vhost is None:
            # as in uWSGI, the default app is mounted at "" (--no-default-app still serves it
            # the requests whose key is empty), unless a --mount took the root
            self.by_mountpoint.setdefault("", (0, default))
        #: how many apps this worker holds: the next app id
        self.count = first + len(mounts)
        if self.default is None and default_fallback and self.by_mountpoint:
            # uWSGI's default app is the first one loaded: without --wsgi-file/--module, the
            # first mount takes the requests no mountpoint matches (its id is 0 then)
            self.default = min(self.by_mountpoint.values(), key=lambda e: e[0])[1]
        self.loader = loader
        self.max_apps = max_apps
        #: app id -> the directory a request to it chdir()s to (UWSGI_CHDIR of its loading)
        self.chdirs: Dict[int, str] = {}
        #: app id -> (UWSGI_TOUCH_RELOAD file, its mtime when the app loaded)
        self.touch: Dict[int, Tuple[str, Optional[int]]] = {}
        #: dynamic loads one at a time (uWSGI's lock_pyloaders); reentrant: a greenlet that
        #: switches inside an import leaves the lock to its thread, not to a deadlock
        self._load_lock = threading.RLock()
        self._sort()

    def _sort(self) -> None:
        #: longest first, for the prefix search
        self.ordered: List[Tuple[str, int, WSGIApp]] = sorted(
            ((m, i, a) for m, (i, a) in self.by_mountpoint.items()), key=lambda t: -len(t[0]))

    def _manage(self, environ: Dict[str, Any]) -> None:
        """--manage-script-name: the longest mountpoint prefixing PATH_INFO moves to SCRIPT_NAME."""
        path = environ.get("PATH_INFO", "")
        for mountpoint, _app_id, _app in self.ordered:
            n = len(mountpoint)
            if n and path.startswith(mountpoint) and (len(path) == n or path[n] == "/"):
                environ["SCRIPT_NAME"] = mountpoint
                environ["PATH_INFO"] = path[n:]
                return

    def key(self, environ: Dict[str, Any]) -> str:
        """The key the request's app is found under (uWSGI's ``uwsgi_get_app_id``):
        ``UWSGI_APPID`` if sent, else ``HOST|SCRIPT_NAME`` with ``--vhost``, else ``""`` with
        ``--ignore-script-name``, else ``SCRIPT_NAME`` (a trailing ``/`` dropped)."""
        appid = environ.get("UWSGI_APPID")
        if appid:
            return appid.rstrip("/")
        if self.vhost is not None:
            host = environ.get(self.vhost, "")
            if self.vhost == "HTTP_HOST":
                host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            return "%s|%s" % (host.lower(), environ.get("SCRIPT_NAME", "").rstrip("/"))
        if self.ignore_script_name:
            return ""
        return environ.get("SCRIPT_NAME", "").rstrip("/")

    def select(self, environ: Dict[str, Any]) -> Optional[Tuple[int, WSGIApp]]:
        """The ``(app id, app)`` for ``environ``, adjusting SCRIPT_NAME/PATH_INFO when managed,
        loading a dynamic app the request names when its key has none."""
        if self.manage_script_name and self.vhost is None:
            self._manage(environ)
        key = self.key(environ)
        found = self.by_mountpoint.get(key)
        if found is None and self.loader is not None and is_dynamic(environ):
            found = self.load(key, environ)
        if found is not None:
            return found
        if self.default is not None:
            return 0, self.default
        return None

    def load(self, key: str, environ: Dict[str, Any]) -> Optional[Tuple[int, WSGIApp]]:
        """Load the app ``environ`` names under ``key`` (uWSGI's ``init_uwsgi_app`` with its
        dynamic loader): None when it cannot (logged, as uWSGI words it; the next request
        naming it tries again)."""
        assert self.loader is not None
        from gateway.app_loader import AppLoadError, log_ready

        with self._load_lock:
            found = self.by_mountpoint.get(key)  # another thread/greenlet loaded it meanwhile
            if found is not None:
                return found
            app_id = self.count
            if app_id >= self.max_apps:
                gen_log.error("ERROR: you cannot load more than %d apps in a worker", self.max_apps)
                return None
            chdir = environ.get("UWSGI_CHDIR")
            if chdir:
                _chdir(chdir)
            for var in IGNORED_AT_LOAD:
                if environ.get(var):
                    warn_once(var, IGNORED_AT_LOAD[var])
            start = time.monotonic()
            try:
                app = self.loader(environ)
            except AppLoadError as e:
                gen_log.error("%s", e)
                gen_log.error("unable to load app %d (mountpoint='%s') (callable not found or import error)",
                              app_id, key)
                return None
            self.count += 1
            entry = self.by_mountpoint[key] = (app_id, app)
            self._sort()
            if chdir:
                self.chdirs[app_id] = chdir
            touch = environ.get("UWSGI_TOUCH_RELOAD")
            if touch:
                self.touch[app_id] = (touch, _mtime(touch))
            is_default = (self.default is None and self.default_fallback
                          and (key == "" or key.startswith("/")))
            if is_default:
                # uWSGI: the first app loaded at a path (or the root) is the default app
                self.default = app
            log_ready(app_id, key, int(time.monotonic() - start), is_default)
            return entry

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        found = self.select(environ)
        if found is None:
            # uWSGI's app -1 (the request log's "app: -1|req: -1/N"): not app 0's request
            environ["gateway.app_id"] = -1
            response = environ.get("gateway.response")
            if response is not None:
                response.settings.stats.app_switched(-1)
            gen_log.error("--- no python application found, check your startup logs for errors --- (%s %s)",
                          environ.get("REQUEST_METHOD", ""), environ.get("REQUEST_URI", environ.get("PATH_INFO", "")))
            from gateway.server.error_pages import managed_error

            # uWSGI's body (its headers: Connection: close, no Content-Length); --error-page-500
            return managed_error(500, start_response, b"Internal Server Error")
        app_id, app = found
        environ["gateway.app_id"] = app_id
        if app_id:
            # the runner counted the request for app 0 when it started (uWSGI counts at the
            # start, so a request harakiri ends is counted): it belongs to this app
            response = environ.get("gateway.response")
            if response is not None:
                response.settings.stats.app_switched(app_id)
        if self.chdirs:
            where = self.chdirs.get(app_id)
            if where is not None:
                _chdir(where)
        if self.touch:
            self._check_touch(app_id, environ)
        return app(environ, start_response)

    def _check_touch(self, app_id: int, environ: Dict[str, Any]) -> None:
        """UWSGI_TOUCH_RELOAD: the app's file changed since it loaded: this request is served,
        then the worker retires (a master respawns it, without its dynamic apps)."""
        watched = self.touch.get(app_id)
        if watched is None:
            return
        path, mtime = watched
        now = _mtime(path)
        if now is not None and now != mtime:
            environ["gateway.retire_after"] = "UWSGI_TOUCH_RELOAD: %s was modified" % path


#: the vars that name an app to load (uWSGI sets ``wsgi_req->dynamic`` for each)
DYNAMIC_VARS = ("UWSGI_SCRIPT", "UWSGI_MODULE", "UWSGI_CALLABLE", "UWSGI_FILE")

#: vars uWSGI applies when it loads a dynamic app, which gateway ignores: why, said once
IGNORED_AT_LOAD = {
    "UWSGI_PYHOME": "UWSGI_PYHOME is ignored: every app of a worker shares one interpreter, whose "
                    "sys.prefix and sys.path cannot change for one app; use --virtualenv/--pythonpath",
    "UWSGI_HOME": "UWSGI_HOME is ignored: every app of a worker shares one interpreter, whose "
                  "sys.prefix and sys.path cannot change for one app; use --virtualenv/--pythonpath",
}

_warned: Set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Log ``message`` the first time this process meets ``key``."""
    if key not in _warned:
        _warned.add(key)
        gen_log.warning("%s", message)


def is_dynamic(environ: Dict[str, Any]) -> bool:
    """Whether the request names an app to load (even an empty name, as uWSGI)."""
    return ("UWSGI_SCRIPT" in environ or "UWSGI_MODULE" in environ or "UWSGI_FILE" in environ
            or "UWSGI_CALLABLE" in environ)  # DYNAMIC_VARS, unrolled: this runs per request


def _chdir(path: str) -> None:
    try:
        os.chdir(path)
    except OSError as e:
        gen_log.error("chdir(%s): %s", path, e.strerror or e)


def _mtime(path: str) -> Optional[int]:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None
