"""A real nginx for tests: own prefix in a temp dir, 127.0.0.1 only, stopped by pid.

::

    with Nginx('''
        server {
            listen {listen};
            location / { include uwsgi_params; uwsgi_pass 127.0.0.1:%d; }
        }
    ''' % backend_port) as ngx:
        urllib.request.urlopen("http://127.0.0.1:%d/" % ngx.port)

``config`` is the body of the ``http { }`` block.  Each ``{listen}`` (or ``{listen0}``,
``{listen1}``...) becomes ``127.0.0.1:PORT`` of a socket this module binds on an
ephemeral port and passes to nginx already listening (nginx's ``NGINX`` inherited-sockets
environment variable), so there is no bind race; ``ngx.port`` / ``ngx.ports[i]`` tell
the ports.  The stock ``uwsgi_params`` (14 entries), and Debian's ``fastcgi_params`` and
``scgi_params``, sit next to ``nginx.conf``.

``nginx_binary()`` is ``require("nginx")``: a missing nginx skips locally and fails
under ``CI=true``.  Use one :class:`Nginx` per test module (a module-scoped fixture);
:meth:`Nginx.reload` swaps the config without a restart.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Any, List, Optional, Tuple

from peers import require

#: nginx's stock uwsgi_params (the Debian package also appends HTTP_HOST).
UWSGI_PARAMS = """\
uwsgi_param  QUERY_STRING       $query_string;
uwsgi_param  REQUEST_METHOD     $request_method;
uwsgi_param  CONTENT_TYPE       $content_type;
uwsgi_param  CONTENT_LENGTH     $content_length;
uwsgi_param  REQUEST_URI        $request_uri;
uwsgi_param  PATH_INFO          $document_uri;
uwsgi_param  DOCUMENT_ROOT      $document_root;
uwsgi_param  SERVER_PROTOCOL    $server_protocol;
uwsgi_param  REQUEST_SCHEME     $scheme;
uwsgi_param  HTTPS              $https if_not_empty;
uwsgi_param  REMOTE_ADDR        $remote_addr;
uwsgi_param  REMOTE_PORT        $remote_port;
uwsgi_param  SERVER_PORT        $server_port;
uwsgi_param  SERVER_NAME        $server_name;
"""

#: Debian's fastcgi_params (nginx 1.22; no PATH_INFO: SCRIPT_NAME is the whole path).
FASTCGI_PARAMS = """\
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;
fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;
fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;
fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  REMOTE_USER        $remote_user;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;
fastcgi_param  REDIRECT_STATUS    200;
fastcgi_param  HTTP_HOST          $host;
"""

#: Debian's scgi_params (nginx sends CONTENT_LENGTH first by itself).
SCGI_PARAMS = """\
scgi_param  REQUEST_METHOD     $request_method;
scgi_param  REQUEST_URI        $request_uri;
scgi_param  QUERY_STRING       $query_string;
scgi_param  CONTENT_TYPE       $content_type;
scgi_param  DOCUMENT_URI       $document_uri;
scgi_param  DOCUMENT_ROOT      $document_root;
scgi_param  SCGI               1;
scgi_param  SERVER_PROTOCOL    $server_protocol;
scgi_param  REQUEST_SCHEME     $scheme;
scgi_param  HTTPS              $https if_not_empty;
scgi_param  REMOTE_ADDR        $remote_addr;
scgi_param  REMOTE_PORT        $remote_port;
scgi_param  SERVER_PORT        $server_port;
scgi_param  SERVER_NAME        $server_name;
scgi_param  HTTP_HOST          $host;
"""

_TEMPLATE = """\
{user}worker_processes 1;
daemon off;
pid {prefix}/logs/nginx.pid;
error_log {prefix}/logs/error.log {log_level};
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
{body}
}}
"""

_LISTEN = re.compile(r"\{listen(\d*)\}")


def nginx_binary() -> str:
    return require("nginx")


class Nginx:
    """One nginx master (``daemon off``) with a private prefix; see the module docstring."""

    def __init__(self, config: str, log_level: str = "info", start_timeout: float = 10.0) -> None:
        self.binary = nginx_binary()
        self.config = config
        self.log_level = log_level
        self.start_timeout = start_timeout
        self.prefix = ""
        self.ports: List[int] = []
        self.proc: Optional[subprocess.Popen] = None
        self._socks: List[socket.socket] = []

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    # -- config ---------------------------------------------------------------------

    def _listen_count(self, body: str) -> int:
        found = [int(n or 0) for n in _LISTEN.findall(body)]
        return max(found) + 1 if found else 0

    def _render(self, body: str) -> str:
        while len(self._socks) < self._listen_count(body):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(511)
            self._socks.append(s)
            self.ports.append(s.getsockname()[1])
        body = _LISTEN.sub(lambda m: "127.0.0.1:%d" % self.ports[int(m.group(1) or 0)], body)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        return _TEMPLATE.format(user=user, prefix=self.prefix, log_level=self.log_level, body=body)

    def _write_config(self, body: str) -> None:
        with open(os.path.join(self.prefix, "conf", "nginx.conf"), "w") as f:
            f.write(self._render(body))

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> "Nginx":
        self.prefix = tempfile.mkdtemp(prefix="gateway-nginx-")
        for d in ("conf", "logs", "tmp"):
            os.mkdir(os.path.join(self.prefix, d))
        for name, text in (("uwsgi_params", UWSGI_PARAMS), ("fastcgi_params", FASTCGI_PARAMS),
                           ("scgi_params", SCGI_PARAMS)):
            with open(os.path.join(self.prefix, "conf", name), "w") as f:
                f.write(text)
        self._write_config(self.config)
        env = dict(os.environ)
        env["NGINX"] = "".join("%d;" % s.fileno() for s in self._socks)
        self.proc = subprocess.Popen(
            [self.binary, "-p", self.prefix, "-c", "conf/nginx.conf", "-e", "logs/error.log"],
            env=env, pass_fds=[s.fileno() for s in self._socks],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait_started()
        return self

    def _wait_started(self) -> None:
        pidfile = os.path.join(self.prefix, "logs", "nginx.pid")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:  # type: ignore[union-attr]
                raise AssertionError("nginx exited at start (%s):\n%s" % (self.proc.returncode, self.error_log()))  # type: ignore[union-attr]
            if os.path.exists(pidfile) and "start worker process" in self.error_log():
                return
            time.sleep(0.02)
        self.stop()
        raise AssertionError("nginx did not start in %.0fs:\n%s" % (self.start_timeout, self.error_log()))

    def reload(self, config: str) -> None:
        """Replace the ``http { }`` body and wait until the new workers run (SIGHUP)."""
        self.config = config
        self._write_config(config)
        marker = self.error_log().count("start worker process")
        os.kill(self.pid, signal.SIGHUP)
        deadline = time.monotonic() + self.start_timeout
        while self.error_log().count("start worker process") <= marker:
            if time.monotonic() > deadline or self.proc.poll() is not None:  # type: ignore[union-attr]
                raise AssertionError("nginx did not reload:\n%s" % self.error_log())
            time.sleep(0.02)
        # The old worker may still finish a request: harmless for new connections.

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGQUIT)  # graceful: workers finish, master exits
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for s in self._socks:
            s.close()
        self._socks = []
        if self.prefix:
            shutil.rmtree(self.prefix, ignore_errors=True)

    def get(self, path: str, method: str = "GET", body: Any = None, headers: Optional[dict] = None,
            timeout: float = 10) -> Tuple[int, dict, bytes]:
        """One request through nginx on a fresh connection: ``(status, headers, body)``."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def env(self, path: str, **kw: Any) -> dict:
        """The JSON environ a probe app answers ``path`` with (status 200 asserted)."""
        status, _, body = self.get(path, **kw)
        assert status == 200, body
        return json.loads(body)

    def error_log(self) -> str:
        try:
            with open(os.path.join(self.prefix, "logs", "error.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def __enter__(self) -> "Nginx":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
