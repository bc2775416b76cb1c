"""``--mount /prefix=app`` and ``--manage-script-name``: several WSGI apps in one worker.

:class:`Mounts` is itself a WSGI app, installed in place of the single app when
``--mount`` is given, so it works the same under every protocol (the runner never
knows).  Choosing the app for a request, as uWSGI does:

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

``environ["gateway.app_id"]`` is the app's index (the default app is 0, mounts follow
in the order given), shown as ``app: N`` in the request log line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple

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
    """``Mounts([("/a", app_a), ("/b", app_b)], default=app, manage_script_name=True)``"""

    def __init__(self, mounts: Iterable[Tuple[str, WSGIApp]], default: Optional[WSGIApp] = None,
                 manage_script_name: bool = False, vhost: Optional[str] = None,
                 default_fallback: bool = True, ignore_script_name: bool = False) -> None:
        self.default = default if default_fallback else None
        #: --ignore-script-name: the app is looked up with an empty SCRIPT_NAME
        self.ignore_script_name = ignore_script_name
        self.manage_script_name = manage_script_name
        #: --vhost: the environ key naming the host (SERVER_NAME, or HTTP_HOST with --vhost-host)
        self.vhost = vhost
        first = 1 if default is not None else 0
        #: mountpoint -> (app id, app)
        self.by_mountpoint: Dict[str, Tuple[int, WSGIApp]] = {}
        for i, (mountpoint, app) in enumerate(mounts):
            self.by_mountpoint[mountpoint.rstrip("/")] = (first + i, app)
        if self.default is None and default_fallback and self.by_mountpoint:
            # uWSGI's default app is the first one loaded: without --wsgi-file/--module, the
            # first mount takes the requests no mountpoint matches (its id is 0 then)
            self.default = next(iter(self.by_mountpoint.values()))[1]
        #: longest first, for the prefix search
        self.ordered: List[Tuple[str, int, WSGIApp]] = sorted(
            ((m, i, a) for m, (i, a) in self.by_mountpoint.items()), key=lambda t: -len(t[0]))

    def select(self, environ: Dict[str, Any]) -> Optional[Tuple[int, WSGIApp]]:
        """The ``(app id, app)`` for ``environ``, adjusting SCRIPT_NAME/PATH_INFO when managed."""
        if self.vhost is not None:
            host = environ.get(self.vhost, "")
            if self.vhost == "HTTP_HOST":
                host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            key = "%s|%s" % (host.lower(), environ.get("SCRIPT_NAME", "").rstrip("/"))
            found = self.by_mountpoint.get(key)
            if found is not None:
                return found
        elif self.manage_script_name:
            path = environ.get("PATH_INFO", "")
            for mountpoint, app_id, app in self.ordered:
                n = len(mountpoint)
                if path.startswith(mountpoint) and (len(path) == n or path[n] == "/"):
                    environ["SCRIPT_NAME"] = mountpoint
                    environ["PATH_INFO"] = path[n:]
                    if self.ignore_script_name:
                        break
                    return app_id, app
            if self.ignore_script_name and "" in self.by_mountpoint:
                return self.by_mountpoint[""]
        else:
            script = "" if self.ignore_script_name else environ.get("SCRIPT_NAME", "").rstrip("/")
            found = self.by_mountpoint.get(script)
            if found is not None:
                return found
        if self.default is not None:
            return 0, self.default
        return None

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        found = self.select(environ)
        if found is None:
            gen_log.error("--- no python application found, check your startup logs for errors --- (%s %s)",
                          environ.get("REQUEST_METHOD", ""), environ.get("REQUEST_URI", environ.get("PATH_INFO", "")))
            from gateway.server.error_pages import managed_error

            return managed_error(500, start_response, b"Internal Server Error\n")  # --error-page-500
        app_id, app = found
        environ["gateway.app_id"] = app_id
        if app_id:
            # the runner counted the request for app 0 when it started (uWSGI counts at the
            # start, so a request harakiri ends is counted): it belongs to this app
            response = environ.get("gateway.response")
            if response is not None:
                response.settings.stats.app_switched(app_id)
        return app(environ, start_response)
