"""Server processes for benchmarks: the shared context, a pinned server process, and command builders.

Every server runs as a fresh process pinned with ``taskset`` to ``SERVER_CPU`` (the load generator gets
``CLIENT_CPU``), logs to a file in the context's temp dir, and is stopped by its own pid and the pids of the
children it forked: never by name, since other people's servers share the machine.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from typing import List, Optional, Sequence

from . import procfs
from .httpclient import HOST, port_free

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/
REPO = os.path.dirname(HERE)
SERVER_CPU = os.environ.get("SERVER_CPU", "0")
CLIENT_CPU = os.environ.get("CLIENT_CPU", "1")
VENV = os.environ.get("BENCH_VENV") or os.path.join(HERE, ".venv")


def log(*a) -> None:
    """Progress lines go to stderr; results go to stdout."""
    import sys

    print(*a, file=sys.stderr, flush=True)


def find_tool(name: str, env: str) -> Optional[str]:
    """``$ENV``, else bench/.venv/bin/NAME, else PATH (and /usr/sbin for nginx)."""
    path = os.environ.get(env)
    if path:
        return path
    venv_bin = os.path.join(VENV, "bin", name)
    if os.access(venv_bin, os.X_OK):
        return venv_bin
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


class Ctx:
    """What every benchmark run shares: tools, a temp dir for logs, the next port, measurement settings."""

    def __init__(self, base_port: int = int(os.environ.get("BASE_PORT", "19600")), quiet_wait: float = 10.0,
                 noisy_threshold: float = 25.0, noisy_retries: int = 2, ready_timeout: float = 20.0,
                 keep_logs: bool = False, out_dir: str = os.path.join(HERE, "results")):
        venv_py = os.path.join(VENV, "bin", "python")
        self.python = os.environ.get("PYTHON") or (venv_py if os.access(venv_py, os.X_OK) else _sys_python())
        self.uwsgi = find_tool("uwsgi", "UWSGI")
        self.wrk = find_tool("wrk", "WRK")
        self.nginx = find_tool("nginx", "NGINX")
        self.tmp = tempfile.mkdtemp(prefix="gateway-bench-")
        self.keep_logs = keep_logs
        self.next_port = base_port
        self.quiet_wait = quiet_wait
        self.noisy_threshold = noisy_threshold
        self.noisy_retries = noisy_retries
        self.ready_timeout = ready_timeout
        self.out_dir = out_dir
        self.client_pid = -1  # the running load generator, excluded from "other processes" CPU

    @classmethod
    def from_args(cls, args) -> "Ctx":
        """From an argparse namespace made with ``add_args``."""
        return cls(base_port=args.base_port, quiet_wait=args.quiet_wait, noisy_threshold=args.noisy_threshold,
                   noisy_retries=args.noisy_retries, ready_timeout=args.ready_timeout, keep_logs=args.keep_logs,
                   out_dir=args.out)

    def alloc_port(self) -> int:
        """The next free port on 127.0.0.1 from ``base_port`` up."""
        while True:
            port = self.next_port
            self.next_port += 1
            if port_free(port):
                return port

    def cleanup(self) -> None:
        if self.keep_logs:
            log("server logs kept in %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def add_args(p) -> None:
    """The options every benchmark takes (argparse): ports, quiet-machine waits, output dir, logs."""
    p.add_argument("--base-port", type=int, default=int(os.environ.get("BASE_PORT", "19600")))
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="directory for JSON + Markdown results")
    p.add_argument("--quiet-wait", type=float, default=10.0,
                   help="before each measurement, wait up to this many seconds for the machine to be idle")
    p.add_argument("--noisy-threshold", type=float, default=25.0,
                   help="measure again when other processes used more than this %% of a core during a run")
    p.add_argument("--noisy-retries", type=int, default=2)
    p.add_argument("--ready-timeout", type=float, default=20.0, help="seconds a server gets to answer its first GET")
    p.add_argument("--keep-logs", action="store_true", help="keep server logs (temp dir printed at the end)")


def _sys_python() -> str:
    import sys

    return sys.executable


class Server:
    """One server process pinned to ``SERVER_CPU``, its output in a log file; ``stop()`` ends it by pid."""

    def __init__(self, ctx: Ctx, name: str, cmd: Sequence[str], stop_sig: int = signal.SIGINT,
                 cpu: Optional[str] = SERVER_CPU, env: Optional[dict] = None):
        self.ctx, self.name, self.stop_sig, self.cmd = ctx, name, stop_sig, list(cmd)
        self.log_path = os.path.join(ctx.tmp, "%s-%d.log" % (name, int(time.time() * 1000)))
        self.log = open(self.log_path, "wb")
        argv = (["taskset", "-c", cpu] if cpu is not None else []) + self.cmd
        self.proc = subprocess.Popen(argv, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, env=env)
        self.pid = self.proc.pid  # taskset execs the server: same pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kb(self) -> int:
        return procfs.rss_kb(self.pid)

    def hwm_kb(self) -> int:
        return procfs.hwm_kb(self.pid)

    def tail(self, n: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def loop_name(self) -> Optional[str]:
        """The asyncio loop gateway says it runs on ("*** running tornado loop engine with N async cores (X) ***")."""
        try:
            with open(self.log_path, "rb") as f:
                m = re.search(rb"async cores \((\w+)\)", f.read(65536))
            return m.group(1).decode() if m else None
        except OSError:
            return None

    def stop(self) -> None:
        tree = procfs.proc_tree(self.pid)
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, self.stop_sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log("  %s did not stop on %s within 5 s: SIGKILL" % (self.name, signal.Signals(self.stop_sig).name))
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        for p in tree[1:]:  # children the server started (worker processes), by pid
            for _ in range(20):
                if not os.path.exists("/proc/%d" % p):
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def gateway_cmd(ctx: Ctx, port: int, wsgi_file: str, cores: int = 100, extra: Sequence[str] = (),
                socket_opt: str = "--http-socket", address: Optional[str] = None) -> List[str]:
    """``python -m gateway`` as the benches run it: --tornado N --greenlet, no access log, backlog 2048.

    ``address`` (a UNIX socket path) replaces ``HOST:port``."""
    return [ctx.python, "-m", "gateway", socket_opt, address or "%s:%d" % (HOST, port), "--wsgi-file", wsgi_file,
            "--tornado", str(cores), "--greenlet", "--disable-logging", "--listen", "2048"] + list(extra)


def uwsgi_cmd(ctx: Ctx, port: int, wsgi_file: str, cores: int = 100, extra: Sequence[str] = (),
              socket_opt: str = "--http-socket", address: Optional[str] = None) -> Optional[List[str]]:
    """Real uWSGI with the same flags (None when bench/setup.sh has not built it)."""
    if not ctx.uwsgi:
        return None
    return [ctx.uwsgi, socket_opt, address or "%s:%d" % (HOST, port), "--wsgi-file", wsgi_file, "--tornado", str(cores),
            "--greenlet", "--disable-logging", "--listen", "2048", "--need-app"] + list(extra)


def flask_pythonpath(ctx: Ctx) -> List[str]:
    """``--pythonpath`` to Flask and its dependencies when the servers' Python lacks them
    (FLASK_SITE: a site-packages that has them); the same for both servers."""
    site = os.environ.get("FLASK_SITE")
    if not site and subprocess.run([ctx.python, "-c", "import flask"], capture_output=True).returncode == 0:
        return []
    if not site:
        raise SystemExit("Flask is not installed for %s: set FLASK_SITE to a site-packages with it" % ctx.python)
    links = tempfile.mkdtemp(prefix="flask-path-")
    for name in ("flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker"):
        os.symlink(os.path.join(site, name), os.path.join(links, name))
    return ["--pythonpath", links]
