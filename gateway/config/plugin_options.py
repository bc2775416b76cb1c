"""The option names of uWSGI's plugins (beyond python, http, corerouter and cheaper_busyness).

uWSGI declares most of its options in plugins: the ones PyPI's build embeds (``buildconf/
default.ini``: rawrouter, sslrouter, zergpool, symcall, rrdtool, nagios...) and the ones a
deployment adds (pypy, the other languages, cgi, webdav, pty, tuntap...).  An ini file written
for uWSGI may use any of them; gateway must answer each by name, never "unknown option".

Kept apart from :mod:`gateway.config.options` (which splices :func:`plugin_options` into its
table and :func:`plugin_aliases` into the options it names) so the whole family reads in one
place.  Two answers, in this order of preference:

* an alias of an option gateway implements, when the plugin's option means the same thing
  (PyPy's ``pypy-wsgi-file`` is ``--wsgi-file``: gateway runs on the interpreter that starts it);
* refused by name, with one hint shared by the plugin's family saying why and what to use
  instead.

The names come from ``tests/fixtures/uwsgi/plugin_option_names.txt`` (fastrouter's are declared by
the fastrouter's own work).  In each group below the first word is the name and the others are
uWSGI's aliases (entries of the plugin's table sharing a handler and a target); a trailing ``!``
marks an option that takes no value (or an optional one).
"""

from __future__ import annotations

from typing import Callable

#: option name gateway implements → the plugin spellings that mean the same thing.
_ALIASES: dict[str, tuple[str, ...]] = {
    # plugins/pypy: the same loaders as the python plugin, for the PyPy interpreter
    "wsgi-file": ("pypy-wsgi-file",),
    "module": ("pypy-wsgi",),
    "pythonpath": ("pypy-pp", "pypy-python-path", "pypy-pythonpath"),
    "ini-paste": ("pypy-ini-paste",),
}

_ROUTER = ("the %s is not part of gateway (its HTTP router is --http): put a TCP or TLS proxy "
           "(haproxy, nginx stream) in front for raw or SNI routing")

#: (hint, groups): one hint per plugin family.
_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (_ROUTER % "rawrouter (raw TCP forwarding)", (
        "rawrouter", "rawrouter-processes rawrouter-workers", "rawrouter-zerg", "rawrouter-use-cache !",
        "rawrouter-use-pattern", "rawrouter-use-base", "rawrouter-fallback", "rawrouter-use-code-string",
        "rawrouter-use-socket !", "rawrouter-to", "rawrouter-gracetime", "rawrouter-events",
        "rawrouter-max-retries", "rawrouter-quiet", "rawrouter-cheap !", "rawrouter-subscription-server",
        "rawrouter-subscription-slot", "rawrouter-timeout",
        "rawrouter-stats rawrouter-stats-server rawrouter-ss", "rawrouter-harakiri", "rawrouter-xclient !",
        "rawrouter-buffer-size",
    )),
    (_ROUTER % "sslrouter (TLS termination routed by SNI)", (
        "sslrouter", "sslrouter2", "sslrouter-session-context", "sslrouter-processes sslrouter-workers",
        "sslrouter-zerg", "sslrouter-use-cache !", "sslrouter-use-pattern", "sslrouter-use-base",
        "sslrouter-fallback", "sslrouter-use-code-string", "sslrouter-use-socket !", "sslrouter-to",
        "sslrouter-gracetime", "sslrouter-events", "sslrouter-max-retries", "sslrouter-quiet",
        "sslrouter-cheap !", "sslrouter-subscription-server", "sslrouter-timeout",
        "sslrouter-stats sslrouter-stats-server sslrouter-ss", "sslrouter-harakiri", "sslrouter-sni !",
        "sslrouter-buffer-size",
    )),
    ("the forkptyrouter (a shell on a pseudo-terminal per connection) is not part of gateway", (
        "forkptyrouter forkpty-router", "forkptyurouter forkpty-urouter",
        "forkptyrouter-command forkpty-router-command forkptyrouter-cmd forkpty-router-cmd",
        "forkptyrouter-rows", "forkptyrouter-cols", "forkptyrouter-processes forkptyrouter-workers",
        "forkptyrouter-zerg", "forkptyrouter-fallback", "forkptyrouter-events", "forkptyrouter-cheap !",
        "forkptyrouter-timeout", "forkptyrouter-stats forkptyrouter-stats-server forkptyrouter-ss",
        "forkptyrouter-harakiri",
    )),
    ("the pty plugin (a pseudo-terminal server for the app) is not part of gateway", (
        "pty-socket", "pty-log !", "pty-input !", "pty-connect", "pty-uconnect", "pty-no-isig !", "pty-exec",
    )),
    ("the tuntap plugin (a userspace network router) is not part of gateway", (
        "tuntap-router", "tuntap-device", "tuntap-use-credentials !", "tuntap-router-firewall-in",
        "tuntap-router-firewall-out", "tuntap-router-route", "tuntap-router-stats", "tuntap-device-rule",
    )),
    ("gateway's loop engine is Tornado with greenlet cores (--tornado N --greenlet): gevent's monkey "
     "patching is not applied (gevent --monkey-patch it in the app if it needs it)", (
        "gevent-monkey-patch !", "gevent-early-monkey-patch !", "gevent-wait-for-hub !",
    )),
    ("gateway's concurrency is --tornado N --greenlet: the ugreen and Stackless suspend engines are "
     "not part of it", (
        "ugreen-stacksize", "stackless !",
    )),
    ("gateway runs on the Python interpreter that starts it (start it with pypy3 to use PyPy): "
     "use the python options (--wsgi-file, --module, --pythonpath, --paste config:FILE, --import)", (
        "pypy-lib", "pypy-setup", "pypy-home", "pypy-paste", "pypy-eval", "pypy-eval-post-fork",
        "pypy-exec", "pypy-exec-post-fork",
    )),
    ("zerg pools (passing listening sockets to other instances) are not supported: use --reuse-port "
     "or --shared-socket", (
        "zergpool zerg-pool",
    )),
    ("gateway is pure Python: it loads no shared library and calls no C symbol (the symcall plugin); "
     "serve a WSGI app, register RPC functions with uwsgi.register_rpc", (
        "symcall", "symcall-use-next !", "symcall-register-rpc", "symcall-post-fork",
    )),
    ("gateway writes no RRD files: read the metrics from --stats, or push them with --stats-push or "
     "--carbon", (
        "rrdtool", "rrdtool-freq", "rrdtool-lib", "zabbix-template !",
    )),
    (("gateway has no --nagios check: use --ping ADDR (exit 0 when the node answers, 2 on a warning, "
      "1 when it does not answer)"), (
        "nagios !",
    )),
    ("gateway has no curl cron tasks: use --cron with a command that fetches the URL (curl -s URL)", (
        "curl-cron cron-curl", "legion-curl-cron legion-cron-curl curl-cron-legion cron-curl-legion",
    )),
    ("gateway speaks no ZeroMQ (the mongrel2 and logzmq plugins): use --socket, --http-socket, and "
     "--log-socket for logs", (
        "zeromq zmq zeromq-socket zmq-socket mongrel2", "log-zeromq",
    )),
    ("gateway reads its configuration from ini, xml, yaml and json files only (no SQLite or LDAP "
     "loader)", (
        "sqlite3 sqlite", "ldap", "ldap-schema !", "ldap-schema-ldif !",
    )),
    ("gateway serves Python WSGI applications only: the CGI plugin is not part of it (serve static "
     "files with --static-map, or run a CGI script from the app)", (
        "cgi", "cgi-map-helper cgi-helper", "cgi-from-docroot !", "cgi-buffer-size", "cgi-timeout",
        "cgi-index", "cgi-allowed-ext", "cgi-unset", "cgi-loadlib", "cgi-optimize cgi-optimized !",
        "cgi-path-info !", "cgi-do-not-kill-on-error !", "cgi-async-max-attempts !",
        "cgi-close-stdin-on-eof !", "cgi-safe", "cgi-dontresolve !",
    )),
    ("gateway serves Python WSGI applications only: the PHP plugin is not part of it", (
        "php-ini php-config", "php-ini-append php-config-append", "php-set", "php-index", "php-docroot",
        "php-allowed-docroot", "php-allowed-ext", "php-allowed-script", "php-server-software", "php-app",
        "php-app-qs", "php-fallback", "php-fallback2", "php-fallback-qs", "php-app-bypass", "php-var",
        "php-constant", "php-dump-config !", "php-exec-before php-exec-begin",
        "php-exec-after php-exec-end", "php-sapi-name early-php-sapi-name", "early-php !", "php-mount",
    )),
    ("gateway serves Python WSGI applications only: the Perl/PSGI plugin is not part of it", (
        "psgi", "psgi-enable-psgix-io !", "perl-no-die-catch !", "perl-local-lib", "perl-version !",
        "perl-args", "perl-arg", "perl-exec", "perl-exec-post-fork", "perl-auto-reload",
        "perl-auto-reload-ignore", "plshell plshell-oneshot !", "perl-no-plack !", "early-perl",
        "early-psgi", "early-perl-exec", "coroae",
    )),
    ("gateway serves Python WSGI applications only: the Ruby/Rack plugin is not part of it", (
        "rails", "rack", "ruby-gc-freq rb-gc-freq", "rb-lib ruby-lib",
        "rb-require ruby-require rbrequire rubyrequire require",
        "shared-rb-require shared-ruby-require shared-rbrequire shared-rubyrequire shared-require",
        "gemset rvm", "rvm-path", "rbshell rbshell-oneshot !", "rbthreads rb-threads rbthread rb-thread !",
        "fiber !",
    )),
    ("gateway serves Python WSGI applications only: the Lua plugin is not part of it", (
        "lua", "lua-load", "lua-postload", "lua-postfork-worker", "lua-postfork-mule",
        "lua-postfork-spooler", "lua-shell luashell !", "lua-shell-oneshot luashell-oneshot !",
        "lua-gc-freq", "lua-gc-full !",
    )),
    ("gateway serves Python WSGI applications only: the JVM plugins (jvm, jwsgi, ring) are not part "
     "of it", (
        "jvm-main-class", "jvm-opt", "jvm-class", "jvm-classpath", "jwsgi", "ring-load clojure-load",
        "ring-app",
    )),
    ("gateway serves Python WSGI applications only: the Mono, V8 and Go plugins are not part of it", (
        "mono-app", "mono-gc-freq", "mono-key", "mono-version", "mono-config", "mono-assembly",
        "mono-exec", "mono-index", "v8-load", "v8-preemptive", "v8-gc-freq", "v8-module-path", "v8-jsgi",
        "go-load gccgo-load", "go-args gccgo-args", "goroutines",
    )),
    ("gateway serves Python WSGI applications only: the dumbloop plugin (a non-WSGI worker loop) is "
     "not part of it (use a mule, --mule FILE)", (
        "dumbloop-modifier1", "dumbloop-code", "dumbloop-function",
    )),
    ("gateway mounts no remote storage (the glusterfs, rados and gridfs plugins): serve such files "
     "from the app", (
        "glusterfs-mount", "glusterfs-timeout", "rados-mount", "rados-timeout", "gridfs-mount",
        "gridfs-debug !",
    )),
    ("the webdav plugin is not part of gateway: serve WebDAV from the app (e.g. WsgiDAV)", (
        "webdav-mount", "webdav-css", "webdav-javascript webdav-js", "webdav-class-directory",
        "webdav-div", "webdav-lock-cache", "webdav-principal-base", "webdav-add-option", "webdav-add-prop",
        "webdav-add-collection-prop", "webdav-add-object-prop", "webdav-add-prop-href",
        "webdav-add-collection-prop-href", "webdav-add-object-prop-href", "webdav-add-prop-comp",
        "webdav-add-collection-prop-comp", "webdav-add-object-prop-comp", "webdav-add-rtype-prop",
        "webdav-add-rtype-collection-prop", "webdav-add-rtype-object-prop", "webdav-skip-prop",
    )),
    ("the xslt plugin is not part of gateway: apply stylesheets from the app (e.g. lxml)", (
        "xslt-docroot", "xslt-ext", "xslt-var", "xslt-stylesheet", "xslt-content-type",
    )),
    ("the geoip plugin is not part of gateway: look addresses up from the app (e.g. geoip2)", (
        "geoip-country", "geoip-city", "geoip-use-disk !",
    )),
    ("gateway does no PAM authentication (the pam plugin): authenticate in the app or the front "
     "server", (
        "pam", "pam-user",
    )),
    ("gateway has no notfound plugin: an unmatched request gets the app's answer, or --route's", (
        "notfound-log !",
    )),
    ("gateway calls shutdown() on no socket: a stopping worker closes them, and the master closes "
     "the listening sockets it owns (uWSGI 2.0's --shutdown-sockets)", (
        "shutdown-sockets !",
    )),
)


def plugin_aliases() -> dict[str, tuple[str, ...]]:
    """Option name → the plugin spellings :mod:`gateway.config.options` adds to its aliases."""
    return dict(_ALIASES)


def refused_plugin_names() -> dict[str, str]:
    """Every refused spelling (names and aliases) → the hint it is refused with."""
    return {spelling: hint for hint, groups in _FAMILIES
            for group in groups for spelling in group.rstrip(" !").split()}


def plugin_options(unsupported: Callable[..., object]) -> tuple:
    """The refused plugin options (``unsupported`` is :func:`gateway.config.options._unsupported`)."""
    out = []
    for hint, groups in _FAMILIES:
        for group in groups:
            flag = group.endswith("!")
            name, *aliases = group.rstrip(" !").split()
            out.append(unsupported(name, *aliases, flag=flag, hint=hint))
    return tuple(out)
