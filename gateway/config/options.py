"""THE option table: every option gateway knows, declared once, as data.

The command-line tokenizer, the ini reader, the ``UWSGI_*`` environment source,
``--help`` and :class:`~gateway.config.model.Config` are all driven by
:data:`OPTIONS`; nothing else declares an option.  Spellings follow uWSGI 2.0
(``/work/shared/reference/uwsgi.md`` §5) so that uWSGI command lines and ini
files keep working.

Three kinds of entries:

* **supported** options, with a type, a default and help;
* **accepted no-ops** (``noop=True``): spellings uWSGI users write that need no
  action here (``--enable-threads``, a no-op in uWSGI too since 2.0.27;
  ``--plugins python3``).  Each one
  says why in its help;
* **known but not supported yet** (``supported=False``): uWSGI options gateway
  refuses with "option '--X' is not supported yet by gateway" rather than
  ignoring them.  Setting one to its default ("off", ``0``) is accepted, since
  there is then nothing to do: ``master = false`` and ``harakiri = 0`` load.

Options are looked up by exact spelling.  GNU ``getopt_long`` (which uWSGI uses)
also accepts unambiguous prefixes such as ``--proc``; with uWSGI's ~900 options
most prefixes are ambiguous there, and here they are refused with a
"did you mean" suggestion instead.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from typing import Any, Callable

from gateway.config import alarm_options as _alarm_opts
from gateway.config import converters as conv
from gateway.config import file_serving_options as _file_opts
from gateway.config import plugin_options as _plugin_opts
from gateway.config.errors import Invalid

# Sections, in the order ``--help`` prints them.
SOCKETS = "Sockets"
APP = "Application loading"
ENGINE = "Engine (Tornado IOLoop, greenlet cores)"
HTTP = "HTTP and limits"
LOGGING = "Logging"
RPC = "RPC"
ERLANG = "Erlang C-node"
PROCESSES = "Processes, master and stats"
SUBSYSTEMS = "Caches, locks, metrics, signals"
EMPEROR = "The Emperor (one vassal instance per config file)"
CONFIG = "Configuration sources"
OTHER = "Other uWSGI options (recognised, not supported yet)"

SECTIONS = (SOCKETS, APP, ENGINE, HTTP, LOGGING, RPC, ERLANG, PROCESSES, SUBSYSTEMS, EMPEROR, CONFIG, OTHER)


@dataclass(frozen=True)
class Option:
    """One option: its uWSGI spellings, how to convert its text, its default and help.

    ``flag`` options take no value on the command line (``--master``); in ini
    files and the environment they take a boolean word.  ``repeatable`` options
    accumulate into a list; others keep the last value given.  ``minimum`` and
    ``maximum`` bound numeric values (``clamp`` lowers a too-large value to the
    maximum, as uWSGI does for ``--buffer-size``).  ``short_key`` is the spelling
    uWSGI records in ``uwsgi.opt`` for the short form when it is not ``name``
    (``-H`` is recorded as ``home``).
    """

    name: str
    aliases: tuple[str, ...] = ()
    short: str | None = None
    type: Callable[[str], Any] = conv.text
    default: Any = None
    repeatable: bool = False
    flag: bool = False
    help: str = ""
    section: str = OTHER
    supported: bool = True
    metavar: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    clamp: bool = False
    noop: bool = False
    hint: str = ""
    short_key: str | None = None
    #: getopt's ``optional_argument``: ``--mule`` alone (value ``""``) or ``--mule=VALUE``
    optional_value: bool = False
    #: with ``optional_value``: the text the option alone stands for, converted as any value
    #: (None: the value is ``""``); uWSGI's integer options alone store 1
    bare: str | None = None

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def attribute(self) -> str:
        """The :class:`~gateway.config.model.Config` attribute: dashes as underscores."""
        return self.name.replace("-", "_")

    @property
    def empty(self) -> Any:
        """The value when the option is absent: the default, or ``[]`` / ``False``."""
        if self.repeatable:
            return []
        if self.flag:
            return bool(self.default)
        return self.default

    def convert(self, raw: str | bool) -> Any:
        """Convert raw text (or ``True`` for a bare command-line flag) to this option's value.

        Raises :class:`Invalid` when the text is not of the option's type or is
        below ``minimum`` (and above ``maximum`` unless ``clamp``).
        """
        if self.flag:
            return True if raw is True else conv.boolean(str(raw))
        if self.optional_value and (raw is True or not str(raw).strip()):
            if self.bare is None:
                return ""  # --mule alone, or "mule =" in an ini file
            raw = self.bare
        if not isinstance(raw, str):  # cannot happen from the sources, which require values
            raise Invalid("a value")
        value = self.type(raw)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            low, high = self.minimum, None if self.clamp else self.maximum
            kind = "an integer" if isinstance(value, int) else "a number"
            if low is not None and high is not None and not low <= value <= high:
                raise Invalid(f"{kind} from {_num(low)} to {_num(high)}")
            if low is not None and value < low:
                raise Invalid(f"{kind} of at least {_num(low)}")
            if high is not None and value > high:
                raise Invalid(f"{kind} of at most {_num(high)}")
        return value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _unsupported(name: str, *aliases: str, flag: bool = False, short: str | None = None,
                 repeatable: bool = False, hint: str = "") -> Option:
    """A uWSGI option from the long tail, recognised so it is refused, never ignored."""
    return Option(name, aliases, short=short, flag=flag, repeatable=repeatable, supported=False,
                  section=OTHER, hint=hint, metavar=None if flag else "VALUE",
                  help="uWSGI option, not supported yet by gateway")


_NO_COMPILER = ("gateway is pure Python: there is no C build, binary or plugin to build, dump or patch "
                "(use pip to add Python packages)")


def _command_options() -> tuple[Option, ...]:
    """uWSGI's one-shot commands (:mod:`gateway.commands`): signal a running instance, ping a
    node, inspect the resolved configuration and what gateway has built in."""
    by_pidfile = (
        ("reload", "SIGHUP (the master reloads gracefully)"),
        ("stop", "SIGINT (the master shuts down gracefully)"),
        ("pause", "SIGTSTP (the master pauses its workers: they finish their requests and accept "
                  "no more; or resumes them if paused)"),
        ("suspend", "SIGTSTP, as --pause,"),
        ("resume", "SIGTSTP, as --pause (a toggle: it resumes a paused instance),"),
    )
    listing = (
        ("plugins-list", ("plugin-list",), "built-in plugins, and the modifier1 values --socket answers"),
        ("loggers-list", ("logger-list",), "the logger plugins (--logger, --req-logger)"),
        ("loop-list", ("loops-list",), "the loop engine and the --loop values"),
        ("cheaper-algo-list", ("cheaper-algos-list", "cheaper-list"), "the --cheaper-algo algorithms"),
        ("router-list", ("routers-list",), "the --route actions"),
        ("clock-list", ("clocks-list",), "the clocks"),
        ("imperial-monitor-list", ("imperial-monitors-list",), "the --emperor monitors"),
        ("alarm-list", ("alarms-list",), "the alarm plugins (--alarm NAME PLUGIN:ARGS)"),
    )
    return (
        *(Option(name, section=PROCESSES, metavar="PIDFILE",
                 help=f"send {what} to the process whose pid is in PIDFILE, and exit")
          for name, what in by_pidfile),
        Option("signal", section=PROCESSES, metavar="ADDR,NUM",
               help="raise uWSGI signal NUM (0-255) on the server at ADDR (its --socket: host:port "
                    "or a UNIX path) and exit: 0 delivered, 2 refused, 1 unreachable"),
        Option("ping", section=PROCESSES, metavar="ADDR",
               help="ping the uwsgi node at ADDR (modifier1 100) and exit: 0 when it answers, 2 when "
                    "it answers with a warning message, 1 when it does not answer"),
        Option("ping-timeout", type=conv.integer, default=3, minimum=0, maximum=3600, section=PROCESSES,
               metavar="SECONDS", help="how long --ping waits to connect and for the answer (0: the "
                                       "default, 3)"),
        Option("get", repeatable=True, section=CONFIG, metavar="OPTION",
               help="print the value OPTION was given (the first one; nothing when it was not "
                    "given) and exit; repeatable"),
        Option("show-config", flag=True, section=CONFIG,
               help="print the configuration as an ini file (every option given, after "
                    "placeholders are expanded), then go on"),
        Option("dump-options", flag=True, section=CONFIG,
               help="print the name of every option gateway accepts and exit"),
        *(Option(name, aliases, flag=True, section=CONFIG, help=f"print {what}, then go on")
          for name, aliases, what in listing),
        Option("extract", section=CONFIG, metavar="FILE",
               help="copy FILE to standard output and exit (uWSGI's other addresses, such as "
                    "sym:// or http://, are refused)"),
        _unsupported("cflags", flag=True, hint=_NO_COMPILER),
        _unsupported("dot-h", flag=True, hint=_NO_COMPILER),
        _unsupported("config-py", flag=True, hint=_NO_COMPILER),
        _unsupported("build-plugin", hint=_NO_COMPILER),
        _unsupported("print-sym", "print-symbol", hint=_NO_COMPILER),
        _unsupported("privileged-binary-patch", hint=_NO_COMPILER),
        _unsupported("unprivileged-binary-patch", hint=_NO_COMPILER),
        _unsupported("privileged-binary-patch-arg", hint=_NO_COMPILER),
        _unsupported("unprivileged-binary-patch-arg", hint=_NO_COMPILER),
    )


def _emperor_source(raw: str) -> str:
    """``--emperor``: a directory or a glob (``dir://`` and ``glob://`` prefixes allowed);
    uWSGI's other imperial monitors (``zmq://``, ``pg://``, ``amqp://``...) are refused."""
    if raw == "":
        raise Invalid("a directory or a glob of vassal config files")
    scheme, sep, _ = raw.partition("://")
    if sep and scheme not in ("dir", "glob"):
        raise Invalid("a directory or a glob", "the '%s://' imperial monitor is not supported by gateway: "
                      "give a directory or a glob of vassal config files" % scheme)
    return raw


def _emperor_options() -> tuple[Option, ...]:
    """The Emperor's options (:mod:`gateway.emperor`) and the variants refused by name."""
    refused = ("emperor-on-demand-extension", "emperor-on-demand-ext", "emperor-on-demand-directory",
               "emperor-on-demand-dir", "emperor-on-demand-exec", "emperor-broodlord", "vassal-sos",
               "vassal-sos-backlog", "emperor-command-socket", "emperor-trigger-socket",
               "emperor-use-fork-server", "vassal-fork-base", "emperor-use-clone", "emperor-cap",
               "vassals-cap", "vassal-cap", "emperor-collect-attribute", "emperor-collect-attr",
               "emperor-fork-server-attr", "emperor-wrapper-attr", "emperor-chdir-attr",
               "emperor-wrapper-override", "emperor-wrapper-fallback", "emperor-magic-exec",
               "emperor-proxy-socket", "emperor-subreaper",
               "emperor-tyrant-nofollow", "emperor-tyrant-initgroups", "vassals-start-hook",
               "vassals-stop-hook", "emperor-extra-extension", "emperor-extra-ext",
               "emperor-wait-for-command", "emperor-wait-for-command-ignore", "early-emperor")
    flags = {"emperor-wait-for-command", "early-emperor", "emperor-magic-exec", "emperor-subreaper",
             "emperor-tyrant-nofollow", "emperor-tyrant-initgroups"}
    supported = (
        Option("emperor", repeatable=True, type=_emperor_source, section=EMPEROR, metavar="DIR|GLOB",
               help="run the Emperor: one vassal (a gateway instance) per config file (.ini, .xml, "
                    ".yaml/.yml, .json/.js) in DIR or matching GLOB, started, reloaded when the file "
                    "changes, stopped when it goes, respawned when it dies"),
        Option("emperor-freq", type=conv.integer, default=3, minimum=1, maximum=3600, section=EMPEROR,
               metavar="SECONDS", help="seconds between two scans of the vassal files (uWSGI's default: 3)"),
        Option("emperor-throttle", type=conv.integer, default=1000, minimum=1, maximum=3_600_000,
               section=EMPEROR, metavar="MS",
               help="a vassal that died before serving its first request waits MS milliseconds "
                    "before its respawn, doubled at each such death up to --emperor-max-throttle"),
        Option("emperor-max-throttle", type=conv.integer, default=180_000, minimum=1, maximum=86_400_000,
               section=EMPEROR, metavar="MS",
               help="the longest respawn delay of a failing vassal (uWSGI's default: 3 minutes)"),
        Option("emperor-curse-tolerance", type=conv.integer, default=30, minimum=1, maximum=86_400,
               section=EMPEROR, metavar="SECONDS",
               help="seconds a vassal asked to stop may take before it is killed (uWSGI's default: 30)"),
        Option("emperor-tyrant", flag=True, section=EMPEROR,
               help="(as root) run each vassal as the owner (uid and gid) of its config file; files "
                    "owned by root are refused"),
        Option("emperor-stats", ("emperor-stats-server",), section=EMPEROR, metavar="ADDR",
               help="serve the Emperor's JSON stats (its vassals) on ADDR (host:port or a UNIX path)"),
        Option("emperor-pidfile", type=conv.path, section=EMPEROR, metavar="FILE",
               help="write the Emperor's pid to FILE"),
        Option("emperor-procname", section=EMPEROR, metavar="NAME",
               help="the Emperor's process name (ps, top)"),
        Option("emperor-nofollow", flag=True, section=EMPEROR,
               help="do not follow symlinks: a symlinked vassal file is reloaded when the link "
                    "itself changes, not its target"),
        Option("emperor-wrapper", type=conv.path, section=EMPEROR, metavar="BINARY",
               help="start each vassal as 'BINARY --ini FILE' instead of 'python -m gateway --ini FILE' "
                    "(another virtualenv's gateway, a script that prepares its environment)"),
        Option("emperor-no-blacklist", flag=True, section=EMPEROR,
               help="respawn failing vassals without the --emperor-throttle delay"),
        Option("emperor-graceful-shutdown", flag=True, noop=True, section=EMPEROR,
               help="accepted: gateway's Emperor always stops its vassals gracefully"),
        Option("vassals-inherit", repeatable=True, type=conv.config_spec, section=EMPEROR,
               metavar="FILE[:SECTION]",
               help="every vassal also loads FILE after its own config (as --inherit)"),
        Option("vassals-include", repeatable=True, type=conv.config_spec, section=EMPEROR,
               metavar="FILE[:SECTION]",
               help="every vassal also loads FILE after its own config (as --include)"),
        Option("vassals-inherit-before", repeatable=True, type=conv.config_spec, section=EMPEROR,
               metavar="FILE[:SECTION]",
               help="every vassal loads FILE (as --inherit) before its own config"),
        Option("vassals-include-before", repeatable=True, type=conv.config_spec, section=EMPEROR,
               metavar="FILE[:SECTION]",
               help="every vassal loads FILE (as --include) before its own config"),
        Option("vassal-set", ("vassals-set",), repeatable=True, type=conv.key_value, section=EMPEROR,
               metavar="NAME=VALUE", help="give every vassal --set NAME=VALUE"),
        # heartbeats (gateway/emperor/heartbeat.py)
        Option("heartbeat", type=conv.integer, minimum=0, maximum=3600, section=EMPEROR, metavar="SECONDS",
               help="(in a vassal) the master tells its Emperor every SECONDS that it is alive (0: never), so an "
                    "Emperor can restart it when it hangs"),
        Option("emperor-required-heartbeat", type=conv.integer, default=30, minimum=1, maximum=86_400,
               section=EMPEROR, metavar="SECONDS",
               help="a vassal that sent heartbeats and then none for more than SECONDS is hung: "
                    "killed and respawned (uWSGI's default: 30)"),
    )
    return supported + tuple(_unsupported(name, flag=name in flags) for name in refused)


def _cache_spec(raw: str) -> str:
    from gateway.sharedmem.cache import CacheConfigError, CacheSpec

    try:
        CacheSpec.parse(raw)
    except CacheConfigError as e:
        raise Invalid("name=NAME,items=N[,...]", str(e)) from None
    return raw.strip()


def _cache_item(raw: str) -> str:
    """``--add-cache-item [CACHE ]KEY=VALUE``."""
    from gateway.subsystems.cache_preload import parse_item

    try:
        parse_item(raw)
    except ValueError:
        raise Invalid("[CACHE ]KEY=VALUE") from None
    return raw


def _route_rule(option: str) -> Callable[[str], str]:
    """A converter checking one ``--route*`` rule (the chain as a whole, with its ``goto``
    labels, is checked at startup by :func:`gateway.routing.chain_from_config`)."""

    def convert(raw: str) -> str:
        from gateway.routing.rules import RouteSyntaxError, parse_rule

        try:
            parse_rule(option, raw, 0)
        except RouteSyntaxError as e:
            raise Invalid("a routing rule", "%s in rule %r" % (e, raw)) from None
        return raw

    return convert


_PHASE_HELP = {
    "error": "when a response status is generated (every response: the app's, a rule's, gateway's 500)",
    "response": "when the response headers are about to go out",
    "final": "after the response went out (log, logvar, metrics, signals...)",
}

_PHASE_SUBJECTS = (("", "PATH_INFO"), ("-host", "HTTP_HOST"), ("-uri", "REQUEST_URI"), ("-qs", "QUERY_STRING"),
                   ("-remote-addr", "REMOTE_ADDR"), ("-user-agent", "HTTP_USER_AGENT"),
                   ("-referer", "HTTP_REFERER"), ("-remote-user", "REMOTE_USER"))


def _phase_route_options() -> tuple[Option, ...]:
    """``--error-route*``, ``--response-route*``, ``--final-route*``: uWSGI's later chains,
    each with the options of ``--route*`` plus ``-status CODE ACTION``."""
    options: list[Option] = []
    for phase, when in _PHASE_HELP.items():
        prefix = phase + "-route"
        options.append(Option(prefix + "-status", repeatable=True, type=_route_rule(prefix + "-status"),
                              section=PROCESSES, metavar="CODE ACTION",
                              help="%s chain: run ACTION %s, if the status is CODE" % (phase, when)))
        for suffix, subject in _PHASE_SUBJECTS:
            options.append(Option(prefix + suffix, repeatable=True, type=_route_rule(prefix + suffix),
                                  section=PROCESSES, metavar="REGEXP ACTION",
                                  help="%s chain: a rule on %s (see --route)" % (phase, subject)))
        for suffix, metavar, what in (("-if", "COND:ARGS ACTION", "a rule on a condition (see --route-if)"),
                                      ("-if-not", "COND:ARGS ACTION", "a rule on a false condition"),
                                      ("-run", "ACTION", "always run ACTION"),
                                      ("-label", "NAME", "a label, the target of goto:NAME")):
            options.append(Option(prefix + suffix, repeatable=True, type=_route_rule(prefix + suffix),
                                  section=PROCESSES, metavar=metavar, help="%s chain: %s" % (phase, what)))
    return tuple(options)


_HEADER_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _header_name(raw: str) -> str:
    """``--del-header``: a header name."""
    name = raw.strip()
    if not _HEADER_TOKEN.fullmatch(name):
        raise Invalid("a header name such as X-Powered-By")
    return name


def _header_to_var(raw: str) -> str:
    """``--collect-header``/``--pull-header``: ``HEADER VAR``."""
    header, _, var = raw.strip().partition(" ")
    var = var.strip()
    if not _HEADER_TOKEN.fullmatch(header) or not var or any(c.isspace() for c in var):
        raise Invalid("'HEADER VAR', e.g. 'X-User USER_FROM_APP'")
    return "%s %s" % (header, var)


def _farm_spec(raw: str) -> str:
    from gateway.mules.spec import FarmSpecError, parse_farm

    try:
        parse_farm(raw)
    except FarmSpecError as e:
        raise Invalid("NAME:MULE[,MULE...]", str(e)) from None
    return raw.strip()


def _metric_spec(raw: str) -> str:
    from gateway.sharedmem.metrics import MetricConfigError, MetricSpec

    try:
        MetricSpec.parse(raw)
    except MetricConfigError as e:
        raise Invalid("name=NAME[,type=...]", str(e)) from None
    return raw.strip()


def _stats_push_spec(raw: str) -> str:
    from gateway.pushers.specs import PushSpecError, parse_stats_push

    try:
        parse_stats_push(raw)
    except PushSpecError as e:
        raise Invalid("statsd:HOST:PORT[,PREFIX]", str(e)) from None
    return raw.strip()


def _carbon_spec(raw: str) -> str:
    from gateway.pushers.specs import PushSpecError, parse_carbon

    try:
        parse_carbon(raw)
    except PushSpecError as e:
        raise Invalid("HOST:PORT", str(e)) from None
    return raw.strip()


def _carbon_idle_avg(raw: str) -> str:
    word = raw.strip()
    if word not in ("last", "zero", "none"):
        raise Invalid("last, zero or none")
    return word


def _daemon_spec(parse: Callable[[str], Any], expected: str) -> Callable[[str], str]:
    """A converter checking a daemon option with ``parse`` (:mod:`gateway.process.daemons`)."""

    def convert(raw: str) -> str:
        from gateway.process.daemons import DaemonConfigError

        try:
            parse(raw)
        except DaemonConfigError as e:
            raise Invalid(expected, "%s" % e) from None
        return raw.strip()

    return convert


def _sharedarea_spec(raw: str) -> str:
    from gateway.sharedmem.sharedarea import SharedAreaConfigError, parse_sharedarea

    try:
        parse_sharedarea(raw)
    except SharedAreaConfigError as e:
        raise Invalid("N, pages=N or size=BYTES", str(e)) from None
    return raw.strip()


def _custom_option(raw: str) -> str:
    """``NAME=TEMPLATE``, the template ``key=value`` items separated by ``;``."""
    name, sep, template = raw.partition("=")
    name = name.strip()
    if not sep or not name or not template or "=" not in template or not re.fullmatch(r"[A-Za-z0-9][\w.-]*", name):
        raise Invalid("NAME=KEY=VALUE[;KEY=VALUE...], such as 'myapp=socket=$1;master=true'")
    if name in OPTIONS_BY_SPELLING:
        raise Invalid("a name that is not already an option (%s is)" % name)
    return raw


def _env_behaviour(raw: str) -> str:
    word = raw.strip().lower()
    if word not in ("holy", "cheat"):
        raise Invalid("holy or cheat")
    return word


def _logger_spec(raw: str) -> str:
    """``--logger``/``--req-logger``: ``[ID ]PLUGIN[:ARGS]`` with one of uWSGI's logger plugins."""
    from gateway.log_plugins import SpecError, parse_logger

    try:
        return str(parse_logger(raw))
    except SpecError as e:
        raise Invalid("[ID ]PLUGIN[:ARGS]", str(e)) from None


def _encoder_spec(raw: str) -> str:
    """``--log-encoder``/``--log-req-encoder``: ``NAME[:ID][ ARGS]``."""
    from gateway.log_plugins import SpecError, parse_encoder

    try:
        parse_encoder(raw)
    except SpecError as e:
        raise Invalid("NAME[:ID][ ARGS]", str(e)) from None
    return raw


def _route_spec(raw: str) -> str:
    """``--log-route``/``--log-req-route``: ``ID REGEXP``."""
    from gateway.log_plugins import SpecError, parse_route

    try:
        parse_route(raw)
    except SpecError as e:
        raise Invalid("ID REGEXP", str(e)) from None
    return raw.strip()


def _regexp(raw: str) -> str:
    from gateway.log_plugins import SpecError, compile_regexp

    try:
        compile_regexp(raw)
    except SpecError as e:
        raise Invalid("a regular expression", str(e)) from None
    return raw


def _cron_spec(which: str) -> Callable[[str], str]:
    """A converter checking a ``--cron``/``--unique-cron``/``--cron2`` entry at load time."""

    def convert(raw: str) -> str:
        from gateway.process.cron_tasks import CronConfigError, parse_cron, parse_cron2

        try:
            parse_cron2(raw) if which == "cron2" else parse_cron(raw, option="--" + which)
        except CronConfigError as e:
            raise Invalid("a cron entry", str(e)) from None
        return raw.strip()

    return convert


def _plain_daemon(raw: str) -> str:
    from gateway.process.daemons import parse_plain

    return _daemon_spec(parse_plain, "a command")(raw)


def _smart_daemon(raw: str) -> str:
    from gateway.process.daemons import parse_smart

    return _daemon_spec(parse_smart, "PIDFILE COMMAND")(raw)


def _keyval_daemon(raw: str) -> str:
    from gateway.process.daemons import parse_keyval

    return _daemon_spec(parse_keyval, "cmd=COMMAND[,KEY=VALUE...]")(raw)


_ASYNC_HINT = "gateway's concurrency is --tornado N --greenlet"
_MASTER_HINT = "gateway runs a single worker without a master for now"

def _hook_spec(raw: str) -> str:
    """A ``--hook-PHASE`` value: ``[!]ACTION:ARGS`` with an action gateway runs (checked now)."""
    from gateway.hooks.spec import HookSyntaxError, parse_hook

    try:
        parse_hook(raw)
    except HookSyntaxError as e:
        raise Invalid("ACTION:ARGS", str(e)) from None
    return raw


def _touch_hook_spec(raw: str) -> str:
    from gateway.hooks.spec import HookSyntaxError, parse_touch

    try:
        parse_touch(raw)
    except HookSyntaxError as e:
        raise Invalid("FILE ACTION:ARGS", str(e)) from None
    return raw.strip()


#: (phase, when it runs) for --hook-PHASE; the phases with an --exec-PHASE too are marked "exec".
_HOOK_PHASES = (
    ("asap", "at startup, before any socket is bound", "exec"),
    ("pre-jail", "at startup, after the asap ones (gateway has no jail)", "exec"),
    ("post-jail", "never: uWSGI runs it after jailing, and gateway has no jail", "exec"),
    ("in-jail", "at startup, after the pre-jail ones (gateway has no jail)", "exec"),
    ("as-root", "just before --uid/--gid drop privileges; only when started as root", "exec"),
    ("as-user", "just after --uid/--gid dropped privileges; only when started as root", "exec"),
    ("as-user-atexit", "when the master (or the only process) exits or reloads; failures are "
                       "only logged", "exec"),
    ("pre-app", "before each load of the app (in the master, or each worker with --lazy-apps)", "exec"),
    ("post-app", "after each load of the app", "exec"),
    ("post-fork", "in each worker right after it is forked (and respawned), before a lazy app loads", ""),
    ("accepting", "in each worker when it is ready to accept requests", ""),
    ("accepting-once", "in each worker when it is ready to accept, only on its first spawn", ""),
    ("accepting1", "in worker 1 when it is ready to accept requests", ""),
    ("accepting1-once", "in worker 1 when it is ready to accept, only on its first spawn", ""),
    ("master-start", "in the master once the workers are forked (implies a master)", ""),
    ("as-mule", "in each mule when it starts", ""),
    ("as-gateway", "in each --http/--https router process when it starts", ""),
)


def _hook_options() -> tuple[Option, ...]:
    """``--hook-PHASE``, ``--exec-PHASE``, ``--hook-touch`` (:mod:`gateway.hooks`), and the
    hook options gateway refuses by name (``--call-*``, the Emperor's, ``--mount-*``)."""
    out = []
    for phase, when, exec_too in _HOOK_PHASES:
        fatal = "" if phase == "as-user-atexit" or phase == "post-jail" else "; a failure stops the instance"
        out.append(Option("hook-" + phase, repeatable=True, type=_hook_spec, section=APP, metavar="ACTION:ARGS",
                          help="run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) %s%s" % (when, fatal)))
        if exec_too:
            out.append(Option("exec-" + phase, repeatable=True, section=APP, metavar="COMMAND",
                              help="run COMMAND with the shell %s%s" % (when, fatal)))
            out.append(_unsupported("call-" + phase, repeatable=True,
                                    hint="gateway has no C symbols to call; use --hook-%s exec:COMMAND" % phase))
    out.append(Option("hook-touch", repeatable=True, type=_touch_hook_spec, section=APP,
                      metavar="FILE ACTION:ARGS",
                      help="run the hook ACTION:ARGS (in a child of the master) when FILE is touched (implies a master)"))
    for name in ("emperor-start", "emperor-stop", "emperor-reload", "emperor-lost", "as-vassal", "as-emperor",
                 "as-on-demand-vassal", "as-on-config-vassal", "as-emperor-before-vassal",
                 "as-vassal-before-drop", "as-emperor-setns"):
        out.append(_unsupported("hook-" + name, repeatable=True))
    for name in ("exec-as-vassal", "exec-as-emperor"):
        out.append(_unsupported(name, repeatable=True))
    for kind in ("mount", "umount"):
        for phase in ("asap", "pre-jail", "post-jail", "in-jail", "as-root", "as-vassal", "as-emperor"):
            out.append(_unsupported("%s-%s" % (kind, phase), repeatable=True,
                                    hint="mount the filesystem before starting gateway"))
    return tuple(out)


def _module_alias(raw: str) -> str:
    """``--pymodule-alias NAME=MODULE`` or ``NAME=FILE`` (a value with a ``/``)."""
    name, sep, target = raw.partition("=")
    name, target = name.strip(), target.strip()
    if not sep or not target or not all(part.isidentifier() for part in name.split(".")):
        raise Invalid("NAME=MODULE or NAME=FILE (NAME a Python module name)")
    return "%s=%s" % (name, target)


_NOT_WSGI_HINT = "gateway serves WSGI apps: wrap this one in a WSGI callable and give it to --module"


def _python_options() -> tuple[Option, ...]:
    """The rest of uWSGI's python plugin (:mod:`gateway.python_extras`) and the core options
    about the Python response and request body, with the ones refused by name."""
    return (
        Option("pymodule-alias", repeatable=True, type=_module_alias, section=APP, metavar="NAME=MODULE|FILE",
               help="make 'import NAME' give MODULE (or the module run from FILE, a value with a /), "
                    "before anything else is imported; a target that fails to import stops the start"),
        Option("post-pymodule-alias", repeatable=True, type=_module_alias, section=APP,
               metavar="NAME=MODULE|FILE",
               help="the same, done just before the app is loaded (after --import), where the app is"),
        Option("early-pyimport", ("early-python-import",), repeatable=True, section=APP, metavar="MODULE",
               help="import MODULE (or run a .py file) as soon as the options are read, before any "
                    "socket is bound (a failure is logged and the next one tried)"),
        Option("early-python", flag=True, noop=True, section=APP,
               help="accepted: gateway's Python interpreter is running from the start"),
        Option("py-sys-executable", ("py-executable",), section=APP, metavar="PATH",
               help="the app's sys.executable (gateway itself keeps the real interpreter to start "
                    "itself again)"),
        Option("test", short="J", section=APP, metavar="MODULE",
               help="import MODULE in the app's environment (the uwsgi module included) and exit: 0 "
                    "if it imported, 1 if not; nothing is served"),
        Option("python", ("py", "pyrun"), type=conv.path, section=APP, metavar="FILE",
               help="run FILE as __main__ in the app's environment (import uwsgi works, the app is "
                    "loaded if given) and exit with its status; no socket is needed or served"),
        Option("pyshell", optional_value=True, section=APP, metavar="[CODE]",
               help="worker 1 runs an interactive Python shell (or CODE) in the app's environment "
                    "instead of serving; it exits when the shell does (a master respawns it)"),
        Option("pyshell-oneshot", optional_value=True, section=APP, metavar="[CODE]",
               help="worker 1 runs the shell (or CODE) once, then serves"),
        Option("python-worker-override", type=conv.path, section=APP, metavar="FILE",
               help="each worker runs FILE as __main__ instead of serving (the app is loaded, "
                    "import uwsgi works) and exits with its status"),
        Option("python-version", flag=True, section=APP, help="print the Python version and exit"),
        Option("paste-name", section=APP, metavar="NAME",
               help="--paste: the name of the app section to load (PasteDeploy's loadapp name=)"),
        Option("max-apps", type=conv.integer, default=64, minimum=1, section=APP, metavar="N",
               help="at most N apps (the default one and the --mount ones) in a worker; more stop "
                    "the start"),
        Option("reload-os-env", flag=True, section=APP,
               help="before each request, refresh os.environ from the process environment (for "
                    "variables a C library set with setenv())"),
        Option("py-auto-reload-ignore", repeatable=True, section=PROCESSES, metavar="MODULE",
               help="--py-autoreload does not watch MODULE (its name, as in sys.modules)"),
        Option("py-call-uwsgi-fork-hooks", flag=True, noop=True, section=PROCESSES,
               help="accepted: gateway forks with os.fork(), so the os.register_at_fork() hooks always run"),
        Option("wsgi-strict", flag=True, section=PROCESSES,
               help="an app returning bytes (not a list of bytes) has it iterated, as PEP 3333 says "
                    "(an error); by default it is sent as the body, as uWSGI does"),
        Option("wsgi-accept-buffer", ("wsgi-accept-buffers",), flag=True, section=PROCESSES,
               help="body chunks may be any object with the buffer protocol (array, mmap...), not only "
                    "bytes, bytearray and memoryview"),
        Option("wsgi-manage-chunked-input", flag=True, noop=True, section=PROCESSES,
               help="accepted: wsgi.input always decodes a chunked request body and "
                    "wsgi.input_terminated is always True"),
        Option("write-errors-tolerance", type=conv.integer, default=0, minimum=0, section=PROCESSES,
               metavar="N",
               help="a response tolerates N failed writes (the client went away): the app's iterable "
                    "is iterated on (the chunks dropped) and write() returns quietly until the N+1th"),
        Option("write-errors-exception-only", flag=True, section=PROCESSES,
               help="a failed write is the app's business: the OSError is raised in the app's "
                    "generator (or write()) for it to handle, never logged by the server"),
        Option("post-buffering-bufsize", type=conv.integer, default=0, minimum=0, section=PROCESSES,
               metavar="BYTES", help="--post-buffering reads the body BYTES at a time (0 = 65536)"),
        Option("body-read-warning", type=conv.integer, default=8, minimum=0, section=PROCESSES,
               metavar="MB",
               help="log a warning (once per request) when one read()/readline() of wsgi.input returns "
                    "more than MB megabytes"),
        _unsupported("py-program-name", "py-programname",
                     hint="gateway runs in a Python that is already started: use --virtualenv, or "
                          "--py-sys-executable for sys.executable"),
        _unsupported("no-site", flag=True,
                     hint="gateway is itself imported from site-packages: start Python with -S yourself"),
        Option("chunked-input-limit", type=conv.integer, default=1048576, minimum=0, section=PROCESSES,
               metavar="BYTES",
               help="the largest chunk uwsgi.chunked_read() returns: a larger one is an IOError (0: no limit)"),
        Option("chunked-input-timeout", type=conv.integer, default=0, minimum=0, section=PROCESSES,
               metavar="SECONDS",
               help="how long uwsgi.chunked_read() (without a timeout of its own) waits for the next "
                    "body bytes (0: --socket-timeout)"),
        _unsupported("dynamic-apps", flag=True,
                     hint="gateway does not load apps named by the web server (UWSGI_SCRIPT...): "
                          "use --mount"),
        Option("start-response-nodelay", ("start_response-nodelay",), flag=True, section=PROCESSES,
               help="send WSGI http headers as soon as possible (PEP violation): when the app calls "
                    "start_response, not with the first body bytes"),
        _unsupported("py-master-check-signals", flag=True,
                     hint="gateway's master runs no Python signal handlers of the app"),
        _unsupported("py-sharedarea", repeatable=True, hint="use --sharedarea size=BYTES"),
        _unsupported("python-raw", hint="gateway has no raw request mode: serve a WSGI app"),
        _unsupported("web3", hint=_NOT_WSGI_HINT),
        _unsupported("pump", hint=_NOT_WSGI_HINT),
        _unsupported("wsgi-lite", hint=_NOT_WSGI_HINT),
        _unsupported("pecan", hint="load the pecan app with --module (pecan.deploy) or --paste"),
    )


def _logic_options() -> tuple[Option, ...]:
    """``if-env`` and co: declared here so that they are known (never placeholders) and listed."""
    conditions = (
        ("if-env", ("ifenv",), "NAME[=VALUE]", "the environment variable is set (to VALUE)"),
        ("if-not-env", (), "NAME[=VALUE]", "the environment variable is not set (to VALUE)"),
        ("if-opt", (), "NAME[=VALUE]", "the option or placeholder was given (as VALUE)"),
        ("if-not-opt", (), "NAME[=VALUE]", "the option or placeholder was not given (as VALUE)"),
        ("if-exists", ("ifexists",), "PATH", "PATH exists"),
        ("if-not-exists", (), "PATH", "PATH does not exist"),
        ("if-file", (), "PATH", "PATH is a file"),
        ("if-not-file", (), "PATH", "PATH is not a file"),
        ("if-dir", ("ifdir", "if-directory"), "PATH", "PATH is a directory"),
        ("if-not-dir", (), "PATH", "PATH is not a directory"),
        ("if-hostname", (), "NAME", "the host is NAME"),
        ("if-not-hostname", (), "NAME", "the host is not NAME"),
        ("if-hostname-match", (), "REGEXP", "the host name matches REGEXP (a search, Python's re)"),
        ("if-not-hostname-match", (), "REGEXP", "the host name does not match REGEXP"),
        ("if-plugin", ("ifplugin",), "NAME", "the plugin is built in"),
        ("if-not-plugin", (), "NAME", "the plugin is not built in"),
    )
    out = [Option(name, aliases, repeatable=True, section=CONFIG, metavar=metavar,
                  help="the following options, up to endif, apply only if %s (%%(_): the value tested)" % what)
           for name, aliases, metavar, what in conditions]
    out += [
        Option("if-reload", flag=True, section=CONFIG, help="the following options apply only on a reload (never here)"),
        Option("if-not-reload", flag=True, section=CONFIG,
               help="the following options apply unless this is a reload (always here)"),
        Option("else", flag=True, section=CONFIG, help="the following options apply if the last condition failed"),
        Option("for", repeatable=True, section=CONFIG, metavar="ITEMS",
               help="the following options, up to endfor, once per space-separated item (%(_))"),
        Option("for-glob", repeatable=True, section=CONFIG, metavar="PATTERN",
               help="... once per path matching PATTERN"),
        Option("for-times", repeatable=True, section=CONFIG, metavar="N", help="... N times (%(_): 1..N)"),
        Option("for-readline", repeatable=True, section=CONFIG, metavar="FILE", help="... once per line of FILE"),
        Option("endif", ("end-if", "endfor", "end-for", "end"), flag=True, section=CONFIG,
               help="close the if-*/for* block"),
    ]
    return tuple(out)


def _file_and_signal(raw: str) -> tuple[str, int]:
    """``--touch-signal``/``--fs-signal``: ``FILE SIGNAL`` (a uWSGI signal 0..255)."""
    path, _, sig = raw.strip().rpartition(" ")
    if not path.strip() or not _SIGNUM.fullmatch(sig) or int(sig) > 255:
        raise Invalid("'FILE SIGNAL' with a uWSGI signal number 0..255")
    return path.strip(), int(sig)


def _file_and_command(raw: str) -> tuple[str, str]:
    """``--touch-exec``: ``FILE COMMAND`` (split at the first space, as uWSGI)."""
    path, _, command = raw.strip().partition(" ")
    if not path or not command.strip():
        raise Invalid("'FILE COMMAND'")
    return path, command.strip()


def _signal_and_seconds(raw: str) -> tuple[int, int]:
    """``--timer``/``--rbtimer``: ``SIGNAL SECONDS`` (uWSGI's timers count whole seconds)."""
    parts = raw.split()
    if len(parts) != 2 or not all(_SIGNUM.fullmatch(p) for p in parts) or int(parts[0]) > 255 \
            or int(parts[1]) < 1:
        raise Invalid("'SIGNAL SECONDS': a uWSGI signal 0..255 and whole seconds (1 or more)")
    return int(parts[0]), int(parts[1])


_SIGNUM = re.compile(r"[0-9]+")


def _stack_kb(raw: str) -> int:
    """``--thread-stacksize``: KB, 0 (the system's default) or 32..1048576 (Python's minimum)."""
    value = conv.integer(raw)
    if value != 0 and not 32 <= value <= 1024 * 1024:
        raise Invalid("0 (the default) or a stack size in KB from 32 to 1048576")
    return value


def _trigger_options() -> tuple[Option, ...]:
    """The master's triggers (touch files, filesystem monitors, config timers) and the
    process options around them (:mod:`gateway.process.triggers`, :mod:`gateway.mules`)."""
    return (
        Option("touch-signal", repeatable=True, type=_file_and_signal, section=PROCESSES,
               metavar="'FILE SIGNAL'",
               help="raise uWSGI signal SIGNAL (routed like uwsgi.signal) when FILE is modified or touched"),
        Option("touch-exec", repeatable=True, type=_file_and_command, section=PROCESSES,
               metavar="'FILE COMMAND'",
               help="run COMMAND (through /bin/sh, in a child of the master) when FILE is modified or touched"),
        Option("touch-mules-reload", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
               help="reload the mules (SIGHUP, then respawned from the master) when FILE is modified or touched"),
        Option("fs-reload", repeatable=True, type=conv.path, section=PROCESSES, metavar="PATH",
               help="gracefully reload when PATH changes (a directory: when an entry is created, "
                    "deleted, renamed or modified); inotify on Linux"),
        Option("fs-brutal-reload", repeatable=True, type=conv.path, section=PROCESSES, metavar="PATH",
               help="brutally reload (the workers are killed at once) when PATH changes"),
        Option("fs-signal", repeatable=True, type=_file_and_signal, section=PROCESSES, metavar="'PATH SIGNAL'",
               help="raise uWSGI signal SIGNAL when PATH changes"),
        Option("signal-timer", ("timer",), repeatable=True, type=_signal_and_seconds, section=PROCESSES,
               metavar="'SIGNAL SECONDS'",
               help="raise uWSGI signal SIGNAL every SECONDS (as uwsgi.add_timer)"),
        Option("signal-rbtimer", ("rbtimer",), repeatable=True, type=_signal_and_seconds, section=PROCESSES,
               metavar="'SIGNAL SECONDS'",
               help="raise uWSGI signal SIGNAL every SECONDS (as uwsgi.add_rb_timer)"),
        Option("mule-harakiri", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="SECONDS",
               help="kill (SIGKILL) a mule whose handler of a uWSGI signal runs longer than SECONDS; "
                    "the master respawns it (0 = off)"),
        Option("mule-reload-mercy", type=conv.integer, default=60, minimum=0, section=PROCESSES,
               metavar="SECONDS",
               help="seconds a reloading or stopping mule may take to exit before the master kills it"),
        Option("mule-msg-recv-size", type=conv.integer, default=65536, minimum=1, maximum=16 * 1024 * 1024,
               section=PROCESSES, metavar="BYTES",
               help="a mule's message loop reads at most BYTES of each message (longer ones are truncated)"),
        Option("die-on-no-workers", flag=True, section=PROCESSES,
               help="the master exits (status 1) when no worker is running (all of them waiting "
                    "to be respawned)"),
        Option("cheap", flag=True, section=PROCESSES,
               help="start with no worker: the master spawns them at the first connection (cheap mode)"),
        Option("reload-on-exception-type", repeatable=True, section=PROCESSES, metavar="TYPE",
               help="recycle a worker after a request whose app raised an exception of this type "
                    "(its class name, ZeroDivisionError)"),
        Option("reload-on-exception-value", repeatable=True, section=PROCESSES, metavar="VALUE",
               help="the same for an exception whose str() is VALUE"),
        Option("reload-on-exception-repr", repeatable=True, section=PROCESSES, metavar="TYPE:VALUE",
               help="the same for an exception written TYPE:VALUE (its class name, a colon, its str())"),
        Option("reload-on-pss", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="MB",
               help="recycle a worker (gracefully) when its proportional set size reaches MB (Linux)"),
        Option("reload-on-uss", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="MB",
               help="recycle a worker (gracefully) when its unique set size reaches MB (Linux)"),
        Option("stats-no-cores", flag=True, section=PROCESSES,
               help="--stats: leave the per-core objects out of each worker"),
        Option("reaper", short="r", flag=True, section=PROCESSES,
               help="after each request, a worker reaps its exited child processes (waitpid)"),
        Option("no-threads-wait", flag=True, noop=True, section=PROCESSES,
               help="accepted: a stopping worker never waits for the app's threads (it ends with os._exit)"),
        Option("thread-stacksize", ("threads-stacksize", "thread-stack-size", "threads-stack-size"),
               type=_stack_kb, default=0, section=PROCESSES, metavar="KB",
               help="stack size of the threads the app and gateway start (threading.stack_size; "
                    "at least 32 KB; 0 = the system's)"),
        Option("harakiri-queue-threshold", type=conv.integer, default=0, minimum=0, section=PROCESSES,
               metavar="N",
               help="--harakiri kills a stuck worker only while N or more connections wait in the "
                    "listen queues of the TCP sockets (Linux)"),
        Option("exit-on-reload", flag=True, section=PROCESSES,
               help="a reload request (SIGHUP, --touch-reload, the master FIFO's r) stops the "
                    "instance instead (status 0)"),
        Option("check-interval", type=conv.integer, default=1, minimum=1, maximum=3600, section=PROCESSES,
               metavar="SECONDS",
               help="seconds between the master's checks of the touch files (and of the filesystem "
                    "monitors where inotify is missing)"),
    )


def _file_write_spec(raw: str) -> str:
    """``--file-write FILE=VALUE``: a file name, ``=``, the text to write (may be empty)."""
    path, sep, _ = raw.partition("=")
    if not sep or not path.strip():
        raise Invalid("FILE=VALUE (such as /sys/kernel/mm/ksm/run=1)")
    return raw


_NAMESPACE_HINT = ("gateway does not manage Linux namespaces: start it inside the namespace "
                   "(unshare(1), nsenter(1), a container runtime)")
_JAIL_HINT = "gateway has no jails (FreeBSD jails, pivot_root): run it inside the jail or container"
_CGROUP_HINT = "gateway does not manage cgroups: start it in the cgroup (systemd's Slice=, cgexec(1))"
_REFORK_HINT = "gateway forks no extra process around the privilege drop (no jails to enter)"


def _privilege_and_startup_options() -> tuple[Option, ...]:
    """Privileges (``--master-as-root``, ``--chroot``, groups, ``--immediate-uid``), OS tuning
    (``--prio``, ``--never-swap``, ``--limit-nproc``), startup locks and waits, envdirs; and the
    Linux namespace, jail and cgroup options, refused by name."""
    wait_timeout = dict(type=conv.integer, default=60, minimum=0, maximum=86400, section=PROCESSES,
                        metavar="SECONDS")
    out = [
        Option("master-as-root", flag=True, section=PROCESSES,
               help="the master stays root; every child it forks (workers, mules, spoolers, routers...) "
                    "drops to --uid/--gid (and --chroot) right after the fork"),
        Option("chroot", type=conv.path, section=PROCESSES, metavar="DIR",
               help="chroot() to DIR (as root) just before --gid/--uid are applied; the app is loaded "
                    "inside it"),
        Option("add-gid", repeatable=True, section=PROCESSES, metavar="GROUP",
               help="with --uid/--gid: the supplementary groups become these groups (names or numbers), "
                    "instead of the user's groups from /etc/group"),
        Option("no-initgroups", flag=True, section=PROCESSES,
               help="with --uid/--gid: no supplementary groups (by default the user's groups from "
                    "/etc/group, as initgroups(3) gives)"),
        Option("immediate-uid", section=PROCESSES, metavar="USER",
               help="setuid() to USER (not root) as soon as the configuration is read, before anything else"),
        Option("immediate-gid", section=PROCESSES, metavar="GROUP",
               help="setgid() to GROUP (not root) as soon as the configuration is read, before anything "
                    "else; supplementary groups are cleared"),
        Option("prio", type=conv.integer, minimum=-20, maximum=19, section=PROCESSES, metavar="N",
               help="the scheduling priority (nice value) of every process, set after privileges are "
                    "dropped"),
        Option("never-swap", flag=True, section=PROCESSES,
               help="mlockall() the memory of every process (current and future pages) so it is never "
                    "swapped; needs CAP_IPC_LOCK or a large enough RLIMIT_MEMLOCK"),
        Option("limit-nproc", type=conv.integer, minimum=1, section=PROCESSES, metavar="N",
               help="limit the number of processes of the user (RLIMIT_NPROC); workers are reduced to "
                    "fit, as uWSGI does"),
        Option("force-cwd", type=conv.path, section=PROCESSES, metavar="DIR",
               help="the working directory a binary reload (a vassal's) returns to, instead of the one "
                    "gateway started in"),
        Option("binsh", repeatable=True, type=conv.path, section=PROCESSES, metavar="SHELL",
               help="the shell of exec hooks, daemons and cron commands: the first SHELL that is "
                    "executable, else /bin/sh"),
        Option("flock", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
               help="lock FILE (fcntl, as uWSGI) at startup and hold it; exit if another process holds it"),
        Option("flock-wait", repeatable=True, type=conv.path, section=PROCESSES,
               metavar="FILE", help="lock FILE at startup, waiting while another process holds it"),
        Option("flock2", type=conv.path, section=PROCESSES, metavar="FILE",
               help="--flock once the log file is set up (after --daemonize)"),
        Option("flock-wait2", type=conv.path, section=PROCESSES, metavar="FILE",
               help="--flock-wait once the log file is set up (after --daemonize)"),
        Option("file-write", repeatable=True, type=_file_write_spec, section=PROCESSES, metavar="FILE=VALUE",
               help="write VALUE and a newline to FILE before privileges are dropped"),
        Option("wait-for-fs", repeatable=True, type=conv.path, section=PROCESSES, metavar="PATH",
               help="wait (at most --wait-for-fs-timeout) for PATH to exist before privileges are dropped"),
        Option("wait-for-file", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
               help="wait for FILE to be a regular file (--wait-for-fs-timeout)"),
        Option("wait-for-dir", repeatable=True, type=conv.path, section=PROCESSES, metavar="DIR",
               help="wait for DIR to be a directory (--wait-for-fs-timeout)"),
        Option("wait-for-mountpoint", repeatable=True, type=conv.path, section=PROCESSES, metavar="DIR",
               help="wait for a filesystem to be mounted on DIR (--wait-for-fs-timeout)"),
        Option("wait-for-fs-timeout", **wait_timeout,  # type: ignore[arg-type]
               help="seconds --wait-for-fs/file/dir/mountpoint wait before giving up (0: 60)"),
        Option("wait-for-socket", repeatable=True, section=PROCESSES, metavar="ADDRESS",
               help="wait for a connection to ADDRESS (host:port or a UNIX socket path) to succeed "
                    "before the app is loaded"),
        Option("wait-for-socket-timeout", **wait_timeout,  # type: ignore[arg-type]
               help="seconds --wait-for-socket waits before giving up (0: 60)"),
        Option("wait-for-interface", ("wait-interface", "wait-for-iface", "wait-iface"), repeatable=True,
               section=PROCESSES, metavar="NAME",
               help="wait for the network interface NAME to exist before privileges are dropped"),
        Option("wait-for-interface-timeout", ("wait-interface-timeout", "wait-for-iface-timeout",
                                              "wait-iface-timeout"), **wait_timeout,  # type: ignore[arg-type]
               help="seconds --wait-for-interface waits before giving up (0: 60)"),
        Option("envdir", repeatable=True, type=conv.path, section=PROCESSES, metavar="DIR",
               help="set environment variables from a daemontools envdir (one file per variable; an "
                    "empty file unsets it) at startup"),
        Option("early-envdir", repeatable=True, type=conv.path, section=PROCESSES, metavar="DIR",
               help="--envdir while the configuration is read: $(VAR) in the options after it sees "
                    "the variables"),
        Option("safe-pidfile2", type=conv.path, section=PROCESSES, metavar="FILE",
               help="--pidfile2 written atomically (a temporary file renamed over FILE)"),
        Option("close-on-exec", flag=True, noop=True, section=PROCESSES,
               help="accepted: connection sockets are always close-on-exec (Python creates every "
                    "descriptor non-inheritable)"),
        Option("close-on-exec2", flag=True, noop=True, section=PROCESSES,
               help="accepted: listening sockets are always close-on-exec (Python creates every "
                    "descriptor non-inheritable)"),
        Option("skip-zero", flag=True, noop=True, section=PROCESSES,
               help="accepted: gateway never takes file descriptor 0 as a socket (uWSGI does unless "
                    "this is given)"),
        Option("use-abort", flag=True, noop=True, section=PROCESSES,
               help="accepted: a segfault or floating point exception already ends the process with "
                    "the signal's default action (a core dump where enabled)"),
        _unsupported("cap", hint="gateway does not set Linux capabilities: give them to the process "
                                 "from outside (systemd's AmbientCapabilities=, setpriv(1))"),
        _unsupported("unshare", hint=_NAMESPACE_HINT),
        _unsupported("unshare2", hint=_NAMESPACE_HINT),
        _unsupported("setns", hint=_NAMESPACE_HINT),
        _unsupported("setns-socket", hint=_NAMESPACE_HINT),
        _unsupported("setns-socket-skip", "setns-skip", repeatable=True, hint=_NAMESPACE_HINT),
        _unsupported("setns-preopen", flag=True, hint=_NAMESPACE_HINT),
        _unsupported("namespace", "ns", hint=_NAMESPACE_HINT),
        _unsupported("namespace-keep-mount", repeatable=True, hint=_NAMESPACE_HINT),
        _unsupported("namespace-net", "ns-net", hint=_NAMESPACE_HINT),
        _unsupported("pivot-root", "pivot_root", hint=_JAIL_HINT + "; --chroot DIR is supported"),
        _unsupported("jailed", flag=True, hint=_JAIL_HINT),
        _unsupported("jail", hint=_JAIL_HINT),
        _unsupported("jail-ip4", repeatable=True, hint=_JAIL_HINT),
        _unsupported("jail-ip6", repeatable=True, hint=_JAIL_HINT),
        _unsupported("jail2", "libjail", repeatable=True, hint=_JAIL_HINT),
        _unsupported("jail-attach", hint=_JAIL_HINT),
        _unsupported("jidfile", "jid-file", hint=_JAIL_HINT),
        _unsupported("cgroup", repeatable=True, hint=_CGROUP_HINT),
        _unsupported("cgroup-opt", repeatable=True, hint=_CGROUP_HINT),
        _unsupported("cgroup-dir-mode", hint=_CGROUP_HINT),
        Option("ksm", optional_value=True, supported=False, hint="gateway does not drive Linux KSM: enable it "
               "with /sys/kernel/mm/ksm/run (--file-write /sys/kernel/mm/ksm/run=1)", metavar="[N]",
               help="uWSGI option, not supported yet by gateway"),
        _unsupported("refork", "re-fork", flag=True, hint=_REFORK_HINT),
        _unsupported("refork-as-root", "re-fork-as-root", flag=True, hint=_REFORK_HINT),
        _unsupported("refork-post-jail", "re-fork-post-jail", flag=True, hint=_REFORK_HINT),
        _unsupported("forkbomb-delay", hint="gateway's master already delays the respawn of workers that die "
                                            "young (a growing back-off), instead of sleeping"),
    ]
    return tuple(out)




def _fd_watch_spec(raw: str) -> tuple[int, int, str]:
    """``--reload-on-fd FD[:BYTES] [MESSAGE]``: the descriptor, how many bytes to read from it
    when it is readable (default 1, at most ``MAX_FD_READ``), the message to log."""
    head, _, message = raw.strip().partition(" ")
    fd, colon, size = head.partition(":")
    if not _SIGNUM.fullmatch(fd) or (colon and not _SIGNUM.fullmatch(size)):
        raise Invalid("FD[:BYTES] [MESSAGE] (such as 3, 3:8 or '3 config changed')")
    if int(fd) > MAX_FD:
        raise Invalid("FD[:BYTES] [MESSAGE] with a descriptor number up to %d" % MAX_FD)
    nbytes = int(size) if colon and int(size) else 1
    if nbytes > MAX_FD_READ:
        raise Invalid("FD[:BYTES] [MESSAGE] with at most %d BYTES" % MAX_FD_READ)
    return int(fd), nbytes, message.strip()


#: ``--reload-on-fd FD:BYTES``: the largest read (uWSGI allocates whatever it is given).
MAX_FD_READ = 65536
#: the largest descriptor number (a C int): a larger one made os.fstat() raise OverflowError
MAX_FD = 2 ** 31 - 1


def _exit_status(raw: str) -> int:
    """``--exit [STATUS]``: 0..255 (alone: 1, uWSGI's default)."""
    if raw == "":
        return 1
    value = conv.integer(raw)
    if not 0 <= value <= 255:
        raise Invalid("an exit status from 0 to 255 (none: 1)")
    return value


#: ``--http-keepalive``'s idle seconds when absent, alone or 1
KEEPALIVE_DEFAULT = 15


def _keepalive_seconds(raw: str) -> int:
    """``--http-keepalive [SECONDS]``: 1 means on, for :data:`KEEPALIVE_DEFAULT` seconds.

    uWSGI's option is a switch that doubles as a duration: alone (it stores 1) or 1 turns
    its router's keep-alive on with its default idle bound, 2 and up are that bound, so
    ``http-keepalive = 1``, uWSGI's usual spelling, must not mean a one-second timeout here.
    """
    value = conv.integer(raw)
    return KEEPALIVE_DEFAULT if value == 1 else value


def _expect_limit(raw: str) -> int:
    """``--http-manage-expect [BYTES]``: the body size over which ``Expect`` gets a 413; 0: none.

    uWSGI checks the size only from 2 up (``manage_expect > 1``): 1 (``http-manage-expect = 1``,
    or the option alone, which stores 1) just turns the option on, so it is no limit here either.
    """
    value = conv.integer(raw)
    return 0 if value == 1 else value


def _resolve_spec(raw: str) -> str:
    """``--resolve PLACEHOLDER=NAME``: both parts required."""
    name, sep, host = raw.partition("=")
    if not sep or not name.strip() or not host.strip():
        raise Invalid("PLACEHOLDER=NAME (such as db=db.example.org)")
    return raw


def _choice(what: str, *allowed: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        if raw.strip().lower() not in allowed:
            raise Invalid("%s (gateway has %s only)" % (" or ".join(allowed), what))
        return raw.strip().lower()
    return convert


_C_SYMBOL_HINT = ("gateway is pure Python: it loads no shared library and calls no C symbol (do it from "
                  "the app with ctypes, or run a command with a --hook-PHASE exec: action)")
_LEGION_HINT = "legions (uWSGI's clustering of instances over UDP) are not supported"
_ZERG_HINT = ("zerg mode (receiving listening sockets from another instance) is not supported: "
              "use --reuse-port or --shared-socket")
_MULTICAST_HINT = "gateway joins no multicast group (uWSGI uses them for legions and the cache)"
_SNMP_HINT = "gateway has no SNMP agent: read the numbers from --stats, --stats-push or --carbon"
_RAW_HINT = "gateway has no raw-socket mode: every socket speaks a protocol (--socket, --http-socket...)"
_FORK_SERVER_HINT = "gateway has no fork server: the Emperor starts each vassal as a new process"
_BINARY_HINT = ("gateway has no binary of its own (it runs as python -m gateway): there is no path to "
                "force or data to append")


def _fastrouter_options() -> tuple[Option, ...]:
    """uWSGI's FastRouter (a uwsgi-in, uwsgi-out proxy process) and its subscription server
    (:mod:`gateway.router.fastrouter_main`)."""
    hint = "see the FastRouter section of the README"
    refused = {
        "fastrouter-zerg": "zerg mode is not supported",
        "fastrouter-use-cache": "cache mappers are not supported: use --fastrouter-to or a subscription server",
        "fastrouter-use-pattern": "pattern mappers are not supported: use --fastrouter-to or a subscription server",
        "fastrouter-use-base": "base-dir mappers are not supported: use --fastrouter-to or a subscription server",
        "fastrouter-use-code-string": "code-string mappers are not supported: use --fastrouter-to",
        "fastrouter-gracetime": "dead static nodes are not remembered: each connection tries the nodes in turn",
        "fastrouter-cheap": "the FastRouter always accepts",
        "fastrouter-subscription-slot": "deprecated in uWSGI too (useless since its new implementation)",
        "fastrouter-post-buffering": "the FastRouter streams the body to the node",
        "fastrouter-post-buffering-dir": "the FastRouter streams the body to the node",
        "fastrouter-harakiri": "no harakiri for the FastRouter process",
        "fastrouter-uid": "the FastRouter runs as the instance's user",
        "fastrouter-gid": "the FastRouter runs as the instance's group",
        "fastrouter-resubscribe": "subscriptions are not forwarded to other subscription servers",
        "fastrouter-resubscribe-bind": "subscriptions are not forwarded to other subscription servers",
        "fastrouter-emperor-socket": "the FastRouter does not ask an Emperor to spawn vassals",
        "fastrouter-defer-connect-timeout": "the FastRouter does not wait for vassals to spawn",
        "fastrouter-max-retries": "each connection tries every candidate node once",
    }
    flags = ("fastrouter-cheap",)
    return (
        Option("fastrouter", repeatable=True, section=SOCKETS, metavar="ADDR",
               help="run the FastRouter (a uwsgi proxy process, \"uWSGI fastrouter 1\") on ADDR (host:port, a "
                    "UNIX path or @abstract): it reads each client's uwsgi packet and forwards it to a node"),
        Option("fastrouter-to", repeatable=True, section=SOCKETS, metavar="ADDR",
               help="a uwsgi node the FastRouter forwards to; repeat for round-robin with failover to the "
                    "next on refusal"),
        Option("fastrouter-use-socket", type=conv.integer, optional_value=True, minimum=0, section=SOCKETS,
               metavar="[N]", help="the FastRouter forwards to this instance's uwsgi --socket N (0 alone)"),
        Option("fastrouter-fallback", repeatable=True, section=SOCKETS, metavar="ADDR",
               help="FastRouter: a node tried, in the order given, when every other candidate refused"),
        Option("fastrouter-processes", ("fastrouter-workers",), type=conv.integer, default=1, minimum=1,
               section=SOCKETS, metavar="N", help="run N FastRouter processes on the same sockets"),
        Option("fastrouter-timeout", type=conv.integer, default=60, minimum=1, section=SOCKETS,
               metavar="SECONDS", help="FastRouter: close a connection silent (both ways) for SECONDS"),
        Option("fastrouter-stats", ("fastrouter-stats-server", "fastrouter-ss"), section=SOCKETS, metavar="ADDR",
               help="FastRouter: a stats server on ADDR answering each connection with uWSGI's corerouter "
                    "JSON, subscriptions included (served by the first FastRouter process)"),
        Option("fastrouter-quiet", type=conv.boolean, default=False, section=SOCKETS, metavar="BOOL",
               help="FastRouter: do not log failed connections to nodes"),
        Option("fastrouter-buffer-size", type=conv.integer, default=0, minimum=0, maximum=65535,
               section=SOCKETS, metavar="BYTES",
               help="FastRouter: the largest uwsgi vars block accepted from a client (0: 65535)"),
        Option("fastrouter-force-key", section=SOCKETS, metavar="KEY",
               help="FastRouter: route every request by KEY instead of its vars"),
        Option("fastrouter-subscription-server", repeatable=True, section=SOCKETS, metavar="HOST:PORT",
               help="FastRouter: receive uWSGI subscription announces on this UDP address and route each "
                    "request to a node subscribed under its key (UWSGI_FASTROUTER_KEY, HTTP_HOST or "
                    "SERVER_NAME)"),
        Option("fastrouter-fallback-on-no-key", flag=True, section=SOCKETS,
               help="FastRouter: a request whose key has no subscribed node goes to the --fastrouter-fallback "
                    "nodes (by default the connection is closed)"),
        Option("fastrouter-subscription-fallback-key", section=SOCKETS, metavar="KEY",
               help="FastRouter: the subscription key used when a request's key has no node"),
        Option("subscription-tolerance", type=conv.integer, default=17, minimum=1, section=SOCKETS,
               metavar="SECONDS",
               help="a subscription server drops a node that sent no announce for SECONDS"),
        Option("subscription-max-keys", type=conv.integer, default=4096, minimum=1, section=SOCKETS,
               metavar="N", help="a subscription server keeps at most N keys (an announce for one more is "
                                 "refused with one rate-limited line; gateway only)"),
        Option("subscription-max-nodes", type=conv.integer, default=16384, minimum=1, section=SOCKETS,
               metavar="N", help="a subscription server keeps at most N nodes over all its keys (gateway only)"),
        Option("subscription-max-nodes-per-key", type=conv.integer, default=64, minimum=1, section=SOCKETS,
               metavar="N", help="a subscription server keeps at most N nodes per key (gateway only)"),
        Option("fastrouter-events", type=conv.integer, default=0, minimum=0, noop=True, section=SOCKETS,
               metavar="N", help="accepted: uWSGI's event batch size; the loop has no such setting"),
        *(_unsupported(name, flag=name in flags, hint="%s (%s)" % (why, hint)) for name, why in refused.items()),
        # the instance side: the master announces this instance (gateway/process/subscriber.py)
        Option("subscribe-to", ("st", "subscribe"), repeatable=True, section=SOCKETS,
               metavar="[SOCKET=]SERVER:KEY[,MODIFIER1]",
               help="announce this instance (its first socket, or SOCKET; =N= for its N-th) under KEY to the "
                    "subscription server SERVER (HOST:PORT or a UNIX datagram path), every --subscribe-freq "
                    "seconds, and unsubscribe at shutdown; SERVER:@FILE reads one KEY[,MODIFIER1] a line"),
        Option("subscribe2", repeatable=True, section=SOCKETS, metavar="server=..,key=..[,..]",
               help="as --subscribe-to in key=value form: server, key, socket (a number), addr, weight, "
                    "modifier1, modifier2, check (skip while this file exists), sni_key, sni_crt, sni_ca"),
        Option("subscribe-freq", type=conv.integer, default=10, minimum=1, maximum=3600, section=SOCKETS,
               metavar="SECONDS", help="send the subscription announces every SECONDS"),
        Option("weight", type=conv.integer, default=0, minimum=0, maximum=2 ** 32, section=SOCKETS, metavar="N",
               help="the weight announced to subscription servers for weighted round-robin (0, the default, "
                    "counts as 1)"),
        Option("auto-weight", type=conv.boolean, default=False, section=SOCKETS, metavar="BOOL",
               help="announce processes x cores as the weight"),
        Option("subscribe-with-modifier1", type=conv.integer, minimum=0, maximum=255, section=SOCKETS,
               metavar="N", help="announce this modifier1 whatever the subscription says"),
        Option("unsubscribe-on-graceful-reload", flag=True, section=SOCKETS,
               help="unsubscribe while a graceful reload runs, subscribe again once it is over"),
        Option("start-unsubscribed", flag=True, section=SOCKETS,
               help="configure the subscriptions but send nothing until the master FIFO's S"),
        *(_unsupported(name, hint="%s (%s)" % (why, hint)) for name, why in (
            ("subscription-algo", "only weighted round-robin (uWSGI's default, wrr) is implemented"),
            ("subscription-mountpoint", "subscription keys are matched whole: no mountpoints"),
            ("subscription-mountpoints", "subscription keys are matched whole: no mountpoints"),
            ("subscription-notify-socket", "subscription servers send no notifications"),
            ("subscription-tolerance-inactive", "no Emperor vassal tracking in subscriptions"),
            ("subscriptions-credentials-check", "UNIX credentials are not checked"),
            ("subscriptions-sign-check", "signed subscriptions are not supported"),
            ("subscriptions-sign-check-tolerance", "signed subscriptions are not supported"),
            ("subscriptions-sign-skip-uid", "signed subscriptions are not supported"),
        )),
        *(_unsupported(name, flag=True, hint="%s (%s)" % (why, hint)) for name, why in (
            ("subscription-clear-on-shutdown", "the shutdown sends an unsubscribe, never a clear"),
            ("subscription-dotsplit", "subscription keys are matched whole"),
            ("subscription-vassal-required", "no Emperor vassal tracking in subscriptions"),
            ("subscriptions-use-credentials", "UNIX credentials are not sent"),
        )),
    )


def _core_tail_options() -> tuple[Option, ...]:
    """The long tail of uWSGI's core options (:mod:`gateway.config.sources` acts on the
    configuration ones while the sources are read; :mod:`gateway.process.master_watch` on the
    master's).  Implemented ones first, then the accepted no-ops (each says why it is true
    here), then the families refused by name."""
    out = [
        # -- configuration templating and contexts (acted on while the sources are read)
        Option("inject-before", repeatable=True, type=conv.path, section=CONFIG, metavar="FILE",
               help="the config files read after this option get FILE's text before their own "
                    "(before the magic variables, %d... are replaced: they name the config file)"),
        Option("inject-after", repeatable=True, type=conv.path, section=CONFIG, metavar="FILE",
               help="the config files read after this option get FILE's text after their own"),
        Option("blacklist", section=CONFIG, metavar="'OPTION ...'",
               help="the options after this one may not be any of these (space-separated, any "
                    "spelling of each): one is an error"),
        Option("end-blacklist", flag=True, section=CONFIG, help="end the --blacklist context"),
        Option("whitelist", section=CONFIG, metavar="'OPTION ...'",
               help="the options after this one must be among these (list end-whitelist to be "
                    "able to end the context, as in uWSGI)"),
        Option("end-whitelist", flag=True, section=CONFIG, help="end the --whitelist context"),
        Option("resolve", repeatable=True, type=_resolve_spec, section=CONFIG, metavar="PLACEHOLDER=NAME",
               help="look NAME up in the DNS (its first IPv4 address) into placeholder %%(PLACEHOLDER), "
                    "while the sources are read; at most %d seconds, else an error" % RESOLVE_TIMEOUT),
        Option("exit", optional_value=True, type=_exit_status, section=CONFIG, metavar="[STATUS]",
               help="stop reading the configuration here and exit with STATUS (alone: 1), after "
                    "the --print texts before it (handy in an if-* block)"),
        # -- the master's watchers (gateway/process/master_watch.py); each implies a master
        Option("reload-on-fd", repeatable=True, type=_fd_watch_spec, section=PROCESSES,
               metavar="FD[:BYTES] [MESSAGE]",
               help="gracefully reload when the inherited descriptor FD is readable (BYTES read "
                    "from it, default 1; MESSAGE logged); implies a master"),
        Option("brutal-reload-on-fd", repeatable=True, type=_fd_watch_spec, section=PROCESSES,
               metavar="FD[:BYTES] [MESSAGE]",
               help="brutally reload (workers killed at once) when FD is readable; implies a master"),
        Option("check-mountpoint", ("mountpoint-check", "check-mount", "mount-check"), repeatable=True,
               type=conv.path, section=PROCESSES, metavar="PATH",
               help="destroy the instance (workers killed, exit status 1) when the filesystem of PATH "
                    "no longer answers (statfs fails, or takes more than %d s: a dead NFS or FUSE "
                    "mount); checked every --check-interval in a thread; implies a master"
                    % MOUNT_CHECK_TIMEOUT),
        Option("notify-socket", type=conv.path, section=PROCESSES, metavar="PATH",
               help="bind a UNIX datagram socket at PATH and log every datagram it receives as "
                    "[notify-socket] TEXT; implies a master"),
        Option("worker-exec", section=PROCESSES, metavar="PROGRAM",
               help="each worker runs PROGRAM instead (execvp, no arguments) with the first socket "
                    "as its standard input, blocking (a FastCGI program such as php-cgi)"),
        Option("worker-exec2", section=PROCESSES, metavar="PROGRAM",
               help="--worker-exec once the worker's --hook-post-fork hooks have run"),
        Option("signal-bufsize", ("signals-bufsize",), type=conv.integer, default=0, minimum=0,
               maximum=64 * 1024 * 1024, section=SUBSYSTEMS, metavar="BYTES",
               help="SO_SNDBUF and SO_RCVBUF of the uWSGI signal socketpairs between the master and "
                    "each worker (0: the system's)"),
        Option("mem-collector-freq", type=conv.integer, default=1, minimum=1, maximum=3600, section=PROCESSES,
               metavar="SECONDS",
               help="seconds between two measures of the workers' memory for --evil-reload-on-rss/-as "
                    "(gateway's default 1; uWSGI's 3)"),
        Option("safe-fd", ("fd-safe",), repeatable=True, type=conv.integer, minimum=0, maximum=MAX_FD,
               section=PROCESSES,
               metavar="FD",
               help="keep the inherited descriptor FD open in what gateway starts: the Emperor's "
                    "vassals and the --worker-exec programs (gateway never closes it itself)"),
        # -- accepted no-ops: each is true here as it stands
        Option("thunder-lock-watchdog", flag=True, noop=True, section=PROCESSES,
               help="accepted: gateway has no thunder lock mutex to watch (see --thunder-lock)"),
        Option("pcre-jit", flag=True, noop=True, section=CONFIG,
               help="accepted: gateway's regular expressions are Python's re (no PCRE to JIT-compile)"),
        Option("backtrace-depth", type=conv.integer, default=64, minimum=0, noop=True, section=LOGGING,
               metavar="N", help="accepted: gateway prints no C backtrace when a process crashes (its "
                                 "Python exceptions are logged with their whole traceback)"),
        Option("persistent-ipcsem", flag=True, noop=True, section=SUBSYSTEMS,
               help="accepted: gateway creates no SysV semaphores to keep or remove"),
        Option("ftok", type=conv.path, noop=True, section=SUBSYSTEMS, metavar="FILE",
               help="accepted: gateway's locks use no SysV IPC key"),
        Option("lock-engine", type=_choice("its one lock engine", "ipcsem"), noop=True, section=SUBSYSTEMS,
               metavar="ipcsem",
               help="accepted: gateway's locks are record locks on a shared file, released by the "
                    "kernel when their holder dies, as ipcsem's are"),
        Option("clock", type=_choice("the unix clock", "unix"), noop=True, section=PROCESSES, metavar="unix",
               help="accepted: gateway has one clock, unix (time.time(); see --clock-list)"),
        Option("disable-async-warn-on-queue-full", flag=True, noop=True, section=ENGINE,
               help="accepted: gateway never logs uWSGI's 'async queue is full' warning (a "
                    "connection waits for a free core)"),
        Option("harakiri-no-arh", ("no-harakiri-arh", "no-harakiri-after-req-hook"), flag=True, noop=True,
               section=PROCESSES,
               help="accepted: gateway runs no after-request hook for harakiri to cover"),
        Option("propagate-touch", flag=True, noop=True, section=PROCESSES,
               help="accepted: the master watches the touch files itself, nothing goes through "
                    "the workers' signals"),
        Option("drop-after-init", flag=True, noop=True, section=PROCESSES,
               help="accepted: gateway always drops privileges once its sockets are bound, before "
                    "the app is loaded"),
        Option("no-fd-passing", flag=True, noop=True, section=SOCKETS,
               help="accepted: gateway's sockets never take descriptors passed with a request "
                    "(uWSGI's own code for it is disabled too)"),
        # -- refused by name
        _unsupported("drop-after-apps", flag=True,
                     hint="use --master-as-root: the app is loaded in the master as root, and every "
                          "child drops privileges after the fork"),
        _unsupported("after-request-hook", "after-request-call", repeatable=True,
                     hint="gateway calls no C symbol after each request: wrap the WSGI app instead"),
        _unsupported("dlopen", repeatable=True, hint=_C_SYMBOL_HINT),
        *(_unsupported(name, repeatable=True, hint=_C_SYMBOL_HINT)
          for name in ("call-as-vassal", "call-as-vassal1", "call-as-vassal3", "call-as-emperor",
                       "call-as-emperor1", "call-as-emperor2", "call-as-emperor4")),
        _unsupported("autoload", flag=True,
                     hint="every plugin gateway has is built in: an unknown option has no plugin to load"),
        _unsupported("mode", hint="gateway has no plugin custom modes"),
        _unsupported("command-mode", flag=True, hint="use --python SCRIPT to run a script instead of serving"),
        _unsupported("force-gateway", flag=True, hint="the --http router always runs as a child of a master"),
        _unsupported("no-server", flag=True, hint="gateway always serves: give it a socket"),
        _unsupported("cgi-mode", flag=True, hint="gateway serves WSGI apps, not CGI scripts"),
        _unsupported("binary-path", hint=_BINARY_HINT),
        _unsupported("binary-append-data", hint=_BINARY_HINT),
        _unsupported("fork-server", hint=_FORK_SERVER_HINT),
        _unsupported("fork-socket", hint=_FORK_SERVER_HINT),
        _unsupported("udp", hint="gateway has no generic UDP server (the cache has --cache-udp-server)"),
        _unsupported("profiler", hint="gateway has no C profiler hooks: profile the app with a WSGI "
                                      "middleware (cProfile)"),
        _unsupported("exception-handler", repeatable=True,
                     hint="gateway logs the app's exceptions (see --reload-on-exception-* and --alarm-log)"),
        _unsupported("raw-socket", repeatable=True, hint=_RAW_HINT),
        _unsupported("raw-modifier1", hint=_RAW_HINT),
        _unsupported("raw-modifier2", hint=_RAW_HINT),
        _unsupported("puwsgi-socket", repeatable=True,
                     hint="the persistent uwsgi protocol is not supported: use --socket"),
        _unsupported("zeus", hint="zeus (a manager of master processes) is not supported: see --emperor"),
        Option("snmp", optional_value=True, supported=False, hint=_SNMP_HINT, metavar="[ADDR]",
               help="uWSGI option, not supported yet by gateway"),
        _unsupported("snmp-community", hint=_SNMP_HINT),
        *(_unsupported(name, repeatable=True, hint=_LEGION_HINT)
          for name in ("legion", "legion-mcast", "legion-node", "legion-quorum", "legion-scroll",
                       "legion-scroll-max-size", "legion-scroll-list-max-size", "legion-lord",
                       "legion-unlord", "legion-setup", "legion-death", "legion-death-on-lord-error",
                       "legion-join", "legion-node-joined", "legion-node-left", "legion-freq",
                       "legion-tolerance", "legion-skew-tolerance", "legion-cron", "cron-legion",
                       "unique-cron-legion", "unique-legion-cron", "legion-attach-daemon",
                       "legion-smart-attach-daemon", "legion-smart-attach-daemon2")),
        _unsupported("zerg", repeatable=True, hint=_ZERG_HINT),
        _unsupported("zerg-server", hint=_ZERG_HINT),
        _unsupported("zerg-fallback", flag=True, hint=_ZERG_HINT),
        _unsupported("multicast", hint=_MULTICAST_HINT),
        _unsupported("multicast-ttl", hint=_MULTICAST_HINT),
        _unsupported("multicast-loop", hint=_MULTICAST_HINT),
    ]
    return tuple(out)


#: ``--resolve``: the longest DNS lookup, in seconds, before the configuration fails.
RESOLVE_TIMEOUT = 10
#: ``--check-mountpoint``: a statfs taking longer than this (seconds) counts as a failure.
MOUNT_CHECK_TIMEOUT = 10


def _modifier1(raw: str) -> int:
    """A socket's forced modifier1: gateway serves WSGI only, so 0 (the Python plugin's)
    or 30 (WSGI with ``SCRIPT_NAME`` stripped from ``PATH_INFO``)."""
    value = conv.integer(raw)
    if value not in (0, 30):
        raise Invalid("0 or 30", "gateway has only the WSGI request handler: modifier1 0, or 30 "
                                 "(WSGI with SCRIPT_NAME stripped from PATH_INFO); got %d" % value)
    return value


def _socket_extra_options() -> tuple[Option, ...]:
    """More of uWSGI's socket options (:mod:`gateway.server.socket_setup`, ``--https-socket``,
    ``--map-socket``, ``--honour-range``) and the ``--http`` router's, with the router
    features gateway refuses by name."""
    out = [
        Option("http11-socket", repeatable=True, type=conv.address, section=SOCKETS, metavar="ADDR",
               help="the same as --http-socket (which already keeps HTTP/1.1 connections alive)"),
        Option("https-socket", repeatable=True, section=SOCKETS, metavar="ADDR,CERT,KEY[,CIPHERS[,CA]]",
               help="an --http-socket behind TLS, terminated in the worker (certificate and key in PEM, "
                    "an optional OpenSSL cipher string and client CA file, '!CA' to require a client "
                    "certificate); the app sees HTTPS=on and wsgi.url_scheme https"),
        Option("abstract-socket", short="a", flag=True, section=SOCKETS,
               help="every UNIX socket name is bound in Linux's abstract namespace (/tmp/a.sock as "
                    "@/tmp/a.sock: nothing on disk), as uWSGI's"),
        Option("no-defer-accept", flag=True, noop=True, section=SOCKETS,
               help="accepted: gateway never sets TCP_DEFER_ACCEPT (uWSGI does by default)"),
        Option("tcp-fast-open", ("tcp-fastopen",), type=conv.integer, default=0, minimum=0, section=SOCKETS,
               metavar="QLEN", help="TCP_FASTOPEN with this queue length on the TCP sockets bound"),
        Option("socket-sndbuf", type=conv.integer, default=0, minimum=0, section=SOCKETS, metavar="BYTES",
               help="SO_SNDBUF of the sockets bound (accepted connections inherit it)"),
        Option("socket-rcvbuf", type=conv.integer, default=0, minimum=0, section=SOCKETS, metavar="BYTES",
               help="SO_RCVBUF of the sockets bound (accepted connections inherit it)"),
        Option("so-send-timeout", ("socket-send-timeout", "so-write-timeout", "socket-write-timeout"),
               type=conv.integer, optional_value=True, minimum=1, section=SOCKETS, metavar="[SECONDS]",
               help="seconds a response write may wait for the client to take bytes before the "
                    "connection is dropped (alone: 1, as uWSGI); default --socket-timeout"),
        Option("map-socket", repeatable=True, type=_map_socket, section=SOCKETS, metavar="N:WORKER[,WORKER...]",
               help="serve worker socket N (0-based) only in the workers listed (1-based ids)"),
        Option("http-socket-modifier1", type=_modifier1, default=0, section=SOCKETS, metavar="N",
               help="modifier1 of the requests of --http-socket: 0 (WSGI) or 30 (PATH_INFO without SCRIPT_NAME)"),
        Option("https-socket-modifier1", type=_modifier1, default=0, section=SOCKETS, metavar="N",
               help="the same for --https-socket"),
        Option("fastcgi-modifier1", type=_modifier1, default=0, section=SOCKETS, metavar="N",
               help="the same for --fastcgi-socket"),
        Option("scgi-modifier1", type=_modifier1, default=0, section=SOCKETS, metavar="N",
               help="the same for --scgi-socket"),
    ]
    for proto in ("http-socket", "https-socket", "fastcgi", "scgi"):
        out.append(Option(proto + "-modifier2", type=conv.integer, default=0, minimum=0, maximum=255,
                          noop=True, section=SOCKETS, metavar="N",
                          help="accepted: the Python request handler ignores modifier2 (as uWSGI's)"))
    out += [
        Option("honour-range", flag=True, section=HTTP,
               help="answer a single-range Range header (206, or 416 when unsatisfiable) on static "
                    "files and wsgi.file_wrapper responses"),
        Option("fastcgi-nph-socket", repeatable=True, type=conv.socket_address, section=SOCKETS, metavar="ADDR",
               help="--fastcgi-socket in NPH mode: the answer starts with an HTTP status line "
                    "(HTTP/1.1 200 OK) instead of CGI's Status: header"),
        Option("scgi-nph-socket", repeatable=True, type=conv.socket_address, section=SOCKETS, metavar="ADDR",
               help="--scgi-socket in NPH mode: the answer starts with an HTTP status line"),
        _unsupported("tcp-fast-open-client", "tcp-fastopen-client", flag=True,
                     hint="gateway's uwsgi clients connect() normally"),
        # -- the --http router ------------------------------------------------------------
        Option("http-websockets", flag=True, noop=True, section=HTTP,
               help="accepted: the --http router always tunnels an upgraded connection (101) both ways"),
        Option("http-chunked-input", flag=True, noop=True, section=HTTP,
               help="accepted: the --http router always streams a chunked request body to the worker, "
                    "where wsgi.input de-chunks it"),
        Option("http-manage-expect", type=_expect_limit, optional_value=True, minimum=0, section=HTTP,
               metavar="[BYTES]",
               help="the --http router answers Expect: 100-continue itself (always); with BYTES "
                    "(from 2: 1 is uWSGI's 'on'), a request whose Content-Length is larger gets "
                    "413 instead (uWSGI's answer)"),
        Option("http-headers-timeout", type=conv.integer, default=0, minimum=0, section=HTTP, metavar="SECONDS",
               help="--http router: seconds a request head may take (408 after); 0: --socket-timeout"),
        Option("http-buffer-size", type=conv.integer, default=0, minimum=0, section=HTTP, metavar="BYTES",
               help="--http router: maximum size of a request head; 0: --buffer-size"),
        Option("http-server-name-as-http-host", type=conv.boolean, default=False, section=HTTP, metavar="BOOL",
               help="--http router: SERVER_NAME is the request's Host header, as sent (port included, as uWSGI)"),
        Option("http-quiet", type=conv.boolean, default=False, section=HTTP, metavar="BOOL",
               help="--http router: do not log failed connections to workers (502/504 still answered)"),
        Option("http-uid", section=HTTP, metavar="USER",
               help="--http router processes run as USER (name or number), after their sockets are bound"),
        Option("http-gid", section=HTTP, metavar="GROUP",
               help="--http router processes run as GROUP (name or number), after their sockets are bound"),
        Option("http-auto-gzip", flag=True, section=HTTP,
               help="--http router: an answer with the header uWSGI-Encoding: gzip and no Content-Encoding "
                    "goes gzipped (Content-Encoding: gzip, chunked) to a client that accepts gzip"),
        Option("http-harakiri", type=conv.integer, default=0, minimum=0, section=HTTP, metavar="SECONDS",
               help="the master kills (and respawns) a --http router process whose event loop has not "
                    "come back for SECONDS; 0: never"),
        Option("http-post-buffering", type=conv.integer, default=0, minimum=0, section=HTTP, metavar="BYTES",
               help="--http router: read a request's whole body before a worker is asked (BYTES in memory, "
                    "the rest in a temporary file under TMPDIR); 0: stream it"),
        Option("http-post-buffering-dir", noop=True, section=HTTP, metavar="DIR",
               help="accepted: a no-op in uWSGI too (the files go to TMPDIR)"),
        Option("http-fallback", repeatable=True, section=HTTP, metavar="ADDR",
               help="--http router: a uwsgi node (host:port, a UNIX path or @abstract) tried, in the order "
                    "given, when no upstream accepts the connection, before answering 502"),
        Option("http-stats", ("http-stats-server", "http-ss"), section=HTTP, metavar="ADDR",
               help="--http router: a stats server on ADDR (host:port or a UNIX path) answering each "
                    "connection with uWSGI's corerouter JSON (served by the first router process)"),
        Option("http-use-socket", type=conv.integer, optional_value=True, minimum=0, section=HTTP,
               metavar="[N]",
               help="--http router: forward to worker socket N (0 alone; numbered as --map-socket), "
                    "which must be a uwsgi --socket"),
        Option("http-events", type=conv.integer, default=0, minimum=0, section=HTTP, metavar="N",
               noop=True, help="accepted: uWSGI's size of its event batch; the router's loop has no such setting"),
        # the HTTP router's subscription server (gateway/router/http_subscription.py)
        Option("http-subscription-server", repeatable=True, section=HTTP, metavar="HOST:PORT",
               help="--http router: receive uWSGI subscription announces on this UDP address (or UNIX "
                    "datagram path) and send each request to a node subscribed under its Host"),
        Option("http-subscription-fallback-key", section=HTTP, metavar="KEY",
               help="--http router: the subscription key used when a request's Host has no node"),
    ]
    router_hints = {
        "http-raw-body": "the router streams bodies by their framing and tunnels upgraded (101) connections",
        "http-zerg": "zerg mode is not supported",
        "http-resubscribe": "subscriptions are not forwarded to other subscription servers",
        "http-use-cache": "cache mappers are not supported: use --http-to",
        "http-use-pattern": "mappers are not supported: use --http-to",
        "http-use-base": "mappers are not supported: use --http-to",
        "http-use-code-string": "code-string mappers are not supported: use --http-to",
        "http-gracetime": "static nodes are not supported: use --http-to",
        "http-cheap": "the router always accepts",
        "http-stud-prefix": "stud is not supported: use --https",
        "http-manage-rtsp": "RTSP is not supported",
        "http-manage-source": "the SOURCE method (Icecast) is not supported",
        "http-backend-http": "the router speaks uwsgi to the workers",
        "https2": "use --https ADDR,CERT,KEY[,CIPHERS[,CA]]",
    }
    flags = ("http-raw-body", "http-cheap", "http-manage-rtsp", "http-manage-source",
             "http-backend-http")
    out += [_unsupported(name, flag=name in flags, hint=hint) for name, hint in router_hints.items()
            if name != "http-use-cache"]
    out.append(Option("http-use-cache", optional_value=True, supported=False, section=OTHER, metavar="[NAME]",
                      hint=router_hints["http-use-cache"], help="uWSGI option, not supported yet by gateway"))
    return tuple(out)



def _tls_options() -> tuple[Option, ...]:
    """uWSGI's TLS options (:mod:`gateway.router.tls_config`): SNI, the OpenSSL knobs every
    server context of ``--https``, ``--https-socket`` and ``--ssl-socket`` gets, and the
    uwsgi protocol over TLS."""
    return (
        Option("ssl-socket", ("suwsgi-socket",), repeatable=True, section=SOCKETS,
               metavar="ADDR,CERT,KEY[,CIPHERS[,CA]]",
               help="a --socket (uwsgi protocol) behind TLS, terminated in the worker; HTTPS comes "
                    "from the packet's vars, as uWSGI's suwsgi"),
        Option("sni", repeatable=True, section=SOCKETS, metavar="NAME CERT,KEY[,CIPHERS[,CA]]",
               help="a certificate chosen when a TLS client asks for server name NAME (exact match), "
                    "on every --https, --https-socket and --ssl-socket"),
        Option("sni-regexp", repeatable=True, section=SOCKETS, metavar="REGEXP CERT,KEY[,CIPHERS[,CA]]",
               help="the same for the server names REGEXP matches (searched, after the exact names)"),
        Option("sni-dir", section=SOCKETS, metavar="DIR",
               help="for a server name no --sni matches, DIR/NAME.crt and DIR/NAME.key (and DIR/NAME.ca "
                    "as client CA when present), loaded on first use"),
        Option("sni-dir-ciphers", section=SOCKETS, metavar="CIPHERS",
               help="the OpenSSL cipher string of the --sni-dir contexts"),
        Option("ssl-verbose", flag=True, section=SOCKETS,
               help="log the SNI choices and the fatal TLS alerts sent to clients (a refused client "
                    "certificate, no shared cipher...)"),
        Option("ssl-option", repeatable=True, type=conv.integer, minimum=0, maximum=2 ** 64 - 1,
               section=SOCKETS, metavar="N",
               help="a raw OpenSSL option number OR'ed into every server context (SSL_OP_*)"),
        Option("ssl-sessions-timeout", ("ssl-session-timeout",), type=conv.integer, minimum=1, maximum=2 ** 31 - 1,
               section=SOCKETS, metavar="SECONDS",
               help="lifetime of cached TLS sessions (default: OpenSSL's, 7200)"),
        Option("ssl-verify-depth", type=conv.integer, optional_value=True, minimum=0, maximum=1000, section=SOCKETS,
               metavar="[N]",
               help="maximum length of a client's certificate chain verified against a client CA "
                    "(alone: 1; default: OpenSSL's, 100)"),
        Option("ssl-tmp-dir", type=conv.path, section=SOCKETS, metavar="DIR",
               help="a certificate, key or CA given as PEM text (-----BEGIN ...) is written to a file "
                    "in DIR to be loaded"),
        Option("ssl-enable-tlsv1", flag=True, section=SOCKETS,
               help="accept TLS 1.0 and 1.1 clients too (default: TLS 1.2+), if the local OpenSSL "
                    "and its security level still permit them"),
        Option("https-session-context", section=HTTP, metavar="NAME",
               help="--https router: the TLS session id context (at most 32 bytes; default: Python's)"),
        _unsupported("ssl-enable-sslv3", "ssl-enable3", flag=True,
                     hint="SSLv3 is gone from OpenSSL (and from Python's ssl): TLS 1.2+ is the default, "
                          "--ssl-enable-tlsv1 allows TLS 1.0/1.1"),
        Option("ssl-sessions-use-cache", ("ssl-session-use-cache",), optional_value=True, supported=False,
               section=OTHER, metavar="[NAME]",
               hint="Python's ssl has no session-store callbacks; sessions are cached per process and "
                    "TLS session tickets resume across workers (their keys are made before fork)",
               help="uWSGI option, not supported yet by gateway"),
    )

def parse_map_socket(raw: str) -> tuple[int, tuple[int, ...]]:
    """``--map-socket N:W1[,W2...]`` -> (N, (W1, W2...)); :class:`Invalid` when malformed."""
    index, sep, workers = raw.partition(":")
    try:
        ids = tuple(int(w) for w in workers.split(",") if w.strip())
        number = int(index)
    except ValueError:
        ids, number = (), -1
    if not sep or number < 0 or not ids or min(ids) < 1:
        raise Invalid("SOCKET:WORKER[,WORKER...] (a 0-based socket index, 1-based worker ids)")
    return number, ids


def _map_socket(raw: str) -> str:
    parse_map_socket(raw)
    return raw


OPTIONS: tuple[Option, ...] = (
    # -- sockets ------------------------------------------------------------------
    Option("http-socket", repeatable=True, type=conv.address, section=SOCKETS, metavar="ADDR",
           help="bind ADDR (host:port, :port or [ipv6]:port) and speak HTTP/1.x to clients; "
                "repeat for several addresses"),
    Option("socket", ("uwsgi-socket",), short="s", repeatable=True, type=conv.socket_address,
           section=SOCKETS, metavar="ADDR",
           help="bind ADDR (host:port, :port, [ipv6]:port or a UNIX socket path) and speak "
                "the uwsgi protocol (nginx uwsgi_pass); repeat for several addresses"),
    Option("fastcgi-socket", repeatable=True, type=conv.socket_address, section=SOCKETS, metavar="ADDR",
           help="bind ADDR (host:port, :port or a UNIX socket path) and speak FastCGI "
                "(nginx fastcgi_pass); repeat for several addresses"),
    Option("scgi-socket", repeatable=True, type=conv.socket_address, section=SOCKETS, metavar="ADDR",
           help="bind ADDR (host:port, :port or a UNIX socket path) and speak SCGI "
                "(nginx scgi_pass); repeat for several addresses"),
    Option("protocol", ("socket-protocol",), type=conv.socket_protocol, default="uwsgi", section=SOCKETS,
           metavar="NAME", help="what the --socket addresses speak: uwsgi (the default), http, "
                                "fastcgi or scgi"),
    Option("reuse-port", flag=True, section=SOCKETS,
           help="SO_REUSEPORT on the TCP sockets bound: another instance may bind the same "
                "port (the kernel spreads the connections), e.g. for a gapless restart"),
    Option("freebind", flag=True, section=SOCKETS,
           help="IP_FREEBIND on the TCP sockets bound: bind an address this host does not "
                "have (yet), e.g. a floating IP"),
    Option("so-keepalive", flag=True, section=SOCKETS,
           help="TCP keepalive probes on client connections (SO_KEEPALIVE), so dead peers are noticed"),
    Option("tcp-nodelay", flag=True, noop=True, section=SOCKETS,
           help="accepted: gateway always sets TCP_NODELAY on TCP connections"),
    Option("chmod-socket", ("chmod",), type=conv.file_mode, section=SOCKETS, metavar="MODE",
           help="permissions of the UNIX socket files bound, in octal (660: nginx in the group "
                "may connect)"),
    Option("chown-socket", section=SOCKETS, metavar="USER[:GROUP]",
           help="owner (and group) of the UNIX socket files bound, names or numbers"),
    Option("umask", type=conv.file_mode, section=SOCKETS, metavar="MASK",
           help="the process umask, in octal (022), set before any socket or file is created"),
    Option("http", ("httprouter",), repeatable=True, type=conv.address, section=SOCKETS, metavar="ADDR",
           help="run uWSGI's HTTP router: a separate process on ADDR that speaks HTTP/1.1 to "
                "clients and forwards each request over the uwsgi protocol to the workers "
                "(--http-to, else the first --socket, else an internal UNIX socket)"),
    Option("https", repeatable=True, section=SOCKETS, metavar="ADDR,CERT,KEY[,CIPHERS[,CA]]",
           help="the HTTP router on ADDR behind TLS (certificate and key files in PEM; an "
                "optional OpenSSL cipher string and a client CA file, '!CA' for optional "
                "client certificates).  The worker sees HTTPS=on"),
    Option("http-to-https", repeatable=True, section=SOCKETS, metavar="ADDR[,PORT]",
           help="a router listener on ADDR that answers every request with a 301 to the same "
                "URL over https:// (naming PORT when given); with --http or --https"),
    Option("http-to", repeatable=True, section=SOCKETS, metavar="ADDR",
           help="the uwsgi address (host:port, a UNIX path or @abstract) the HTTP router "
                "forwards to; repeat for round-robin with failover to the next on refusal"),
    Option("shared-socket", ("undeferred-shared-socket",), repeatable=True, type=conv.address, section=SOCKETS,
           metavar="ADDR",
           help="bind ADDR in the master before privileges are dropped, to be served by "
                "--http-socket =N or --socket =N (N: its 0-based index among the shared sockets); "
                "undeferred-shared-socket is the same (gateway never defers accepts)"),
    *_socket_extra_options(),
    *_tls_options(),

    # -- application loading --------------------------------------------------------
    Option("wsgi-file", ("file",), type=conv.path, section=APP, metavar="FILE",
           help="load the WSGI application from FILE, run as a module; "
                "its callable is --callable"),
    Option("module", ("wsgi",), short="w", section=APP, metavar="MODULE[:CALLABLE]",
           help="import MODULE and use CALLABLE (default: --callable); "
                "MODULE:factory() calls a zero-argument factory"),
    Option("callable", default="application", section=APP, metavar="NAME",
           help="name of the WSGI callable in --wsgi-file or --module"),
    Option("chdir", type=conv.path, section=APP, metavar="DIR",
           help="change to DIR before loading the application"),
    Option("chdir2", type=conv.path, section=APP, metavar="DIR",
           help="change each worker to DIR after the application is loaded"),
    Option("pythonpath", ("python-path", "pp", "early-pythonpath", "early-python-path"), repeatable=True,
           type=conv.path, section=APP, metavar="DIR",
           help="add DIR (a glob pattern is allowed) to sys.path; repeatable (the early- spellings "
                "too: every entry is in place before anything is imported)"),
    Option("env", ("ienv",), repeatable=True, type=conv.key_value, section=APP, metavar="KEY=VALUE",
           help="set an environment variable before loading the application; repeatable (ienv: also at once, for the $(VAR) and if-env after it)"),
    Option("virtualenv", ("home", "venv", "pyhome"), short="H", short_key="home", type=conv.path,
           section=APP, metavar="DIR", help="use the Python virtualenv in DIR"),
    Option("lazy-apps", ("lazy",), flag=True, section=APP,
           help="load the application in each worker after fork, after the worker's own IOLoop "
                "exists, instead of once in the master (uWSGI's default).  Without a master the "
                "application is always loaded in the worker"),
    Option("paste", section=APP, metavar="config:FILE",
           help="load the app with PasteDeploy's loadapp(SPEC) (Pyramid and co; needs the "
                "PasteDeploy package); instead of --wsgi-file or --module"),
    Option("ini-paste", repeatable=True, type=conv.ini_spec, section=APP, metavar="FILE",
           help="read FILE's [uwsgi] section as --ini does, and load its app with --paste config:FILE"),
    Option("ini-paste-logged", repeatable=True, type=conv.ini_spec, section=APP, metavar="FILE",
           help="--ini-paste FILE, and FILE's logging sections configure Python's logging "
                "(--paste-logger)"),
    Option("paste-logger", flag=True, section=APP,
           help="before --paste loads the app, configure Python's logging from the same file "
                "(logging.config.fileConfig: its [loggers], [handlers], [formatters])"),
    Option("eval", section=APP, metavar="CODE",
           help="run CODE as the app's module (named uwsgi_eval_config) and serve its "
                "--callable; instead of --wsgi-file or --module"),
    Option("import", ("pyimport", "py-import", "python-import"), repeatable=True, section=APP,
           metavar="MODULE",
           help="import MODULE (or the file, for a path or a name ending in .py) just before "
                "the app is loaded, where the app is (the master, or each worker with "
                "--lazy-apps); a module that fails to import is logged and skipped, as uWSGI"),
    Option("shared-import", ("shared-pyimport", "shared-py-import", "shared-python-import"),
           repeatable=True, section=APP, metavar="MODULE",
           help="import MODULE (or a .py file) once in the master before any fork, even with "
                "--lazy-apps, so every process shares it"),
    Option("pyargv", section=APP, metavar="ARGS",
           help="sys.argv for the app: 'uwsgi' followed by ARGS split on spaces (without it "
                "sys.argv is ['uwsgi'], as under uWSGI)"),
    Option("unenv", repeatable=True, section=APP, metavar="NAME",
           help="remove NAME from the environment before loading the application; repeatable"),
    *_hook_options(),
    Option("need-app", flag=True, section=APP,
           help="exit with uWSGI's status 22 ('*** no app loaded. GAME OVER ***') when the "
                "application cannot be loaded, also in a --lazy-apps worker (without it gateway "
                "exits with status 1 at startup, where uWSGI 2.0 runs on without an app)"),
    Option("plugins", ("plugin", "need-plugin", "need-plugins"), repeatable=True, type=conv.plugin_list, noop=True,
           section=APP, metavar="NAMES",
           help="accepted for uWSGI compatibility: the plugins whose features gateway has built in "
                "(python, python3X, tornado, greenlet, http, corerouter, logfile, syslog, rsyslog, "
                "carbon, cache, rpc, ping, router_*...) load; any other plugin name is refused"),
    Option("plugins-dir", ("plugin-dir",), repeatable=True, noop=True, section=APP, metavar="DIR",
           help="accepted: every plugin gateway offers is built in, there is nothing to load from DIR"),
    Option("mount", ("worker-mount",), repeatable=True, section=APP, metavar="MOUNTPOINT=APP",
           help="load APP (a file ending in .py/.wsgi or containing /, else MODULE[:CALLABLE]) "
                "and serve it for requests whose SCRIPT_NAME is MOUNTPOINT; repeatable "
                "(several apps in one worker; see --manage-script-name)"),
    Option("manage-script-name", flag=True, section=APP,
           help="pick the --mount app by the longest mountpoint prefixing PATH_INFO, "
                "and move that prefix from PATH_INFO to SCRIPT_NAME"),
    Option("optimize", short="O", type=conv.integer, minimum=0, maximum=2, section=APP, metavar="N",
           help="Python's optimisation level (-O: no asserts; 2: no docstrings either); the "
                "server starts its interpreter again with it"),
    Option("vhost", flag=True, section=APP,
           help="virtual hosting: a --mount app is chosen by SERVER_NAME|SCRIPT_NAME "
                "(--mount www.example.org=site.py, --mount 'api.example.org|/v1=api.py')"),
    Option("vhost-host", flag=True, section=APP,
           help="--vhost by the Host header (HTTP_HOST) instead of SERVER_NAME"),
    Option("no-default-app", flag=True, section=APP,
           help="a request that matches no --mount gets a 500, even with a default app"),

    # -- engine ---------------------------------------------------------------------
    Option("tornado", type=conv.integer, minimum=1, section=ENGINE, metavar="N",
           help="run the Tornado loop engine with N async cores (greenlets) per worker; "
                "needs --greenlet.  Raises --socket-timeout to 30 unless it was given"),
    Option("greenlet", flag=True, section=ENGINE,
           help="use greenlet as the suspend engine (required by --tornado)"),
    Option("loop", type=conv.loop_name, default="", section=ENGINE, metavar="NAME",
           help="asyncio loop under Tornado's IOLoop: asyncio or uvloop; empty or 'auto' "
                "uses uvloop when installed.  uWSGI's 'tornado' loop engine means auto"),
    Option("async", type=conv.integer, default=1, section=ENGINE, metavar="N", supported=False,
           hint=_ASYNC_HINT, help="uWSGI's generic async loop with N cores"),
    Option("threads", type=conv.integer, default=1, minimum=1, section=ENGINE, metavar="N",
           help="run the WSGI app in N OS threads per worker (blocking apps), while the "
                "worker's loop does all the socket I/O; without --tornado each thread gets one "
                "async core; with --tornado N the N cores share the N threads"),
    Option("enable-threads", short="T", flag=True, noop=True, section=ENGINE,
           help="accepted for uWSGI compatibility: Python threads are always enabled "
                "(a no-op in uWSGI too since 2.0.27)"),

    # -- HTTP and limits --------------------------------------------------------------
    Option("buffer-size", short="b", type=conv.integer, default=4096, minimum=1, maximum=65535,
           clamp=True, section=HTTP, metavar="BYTES",
           help="maximum size in bytes of a request head (HTTP request line and headers, "
                "or a uwsgi vars block); larger values are lowered to 65535, as uWSGI does"),
    Option("limit-post", type=conv.integer, default=0, minimum=0, section=HTTP, metavar="BYTES",
           help="maximum request body size in bytes; 0 means unlimited"),
    Option("socket-timeout", short="z", type=conv.integer, default=4, minimum=1, section=HTTP,
           metavar="SECONDS",
           help="seconds to wait on a client or an RPC peer.  --tornado raises the default "
                "to 30; a value given explicitly always wins (uWSGI also raises a value given "
                "before --tornado on the command line)"),
    Option("max-connections", type=conv.integer, default=0, minimum=0, section=HTTP, metavar="N",
           help="client connections one worker holds at once (every --http-socket, --socket, "
                "--fastcgi-socket... together), and each --http router or --fastrouter process; at N it stops "
                "accepting until one closes (the listen queue and the other processes take the "
                "next clients); 0: the descriptor limit less 64 (halved for a router, whose "
                "clients each hold a worker connection too).  gateway only"),
    Option("body-timeout", type=conv.number, default=30, minimum=0, section=HTTP, metavar="SECONDS",
           help="seconds a request body may take from the app's first read, plus one per "
                "--body-min-rate bytes received; past it the read fails with a 408 and the "
                "connection closes (a client trickling bytes cannot hold a core).  0: no "
                "deadline (only --socket-timeout per wait, as uWSGI).  gateway only"),
    Option("discard-body-max", type=conv.integer, default=1 << 20, minimum=0, section=HTTP, metavar="BYTES",
           help="--http-socket and the --http router: after a response, at most BYTES of a request body "
                "the app did not read are read and dropped so the connection goes on; past it the "
                "connection is closed without a TCP reset (see --linger-timeout).  gateway only"),
    Option("linger-timeout", type=conv.number, default=2, minimum=0, section=HTTP, metavar="SECONDS",
           help="closing a connection whose client is still sending (an unread body past "
                "--discard-body-max): our FIN goes first, and what arrives is dropped for at most "
                "SECONDS, so the client reads the response instead of a reset.  gateway only"),
    Option("body-min-rate", type=conv.integer, default=500, minimum=0, section=HTTP,
           metavar="BYTES", help="bytes per second that extend the --body-timeout deadline "
                                 "by one second each; 0: the deadline is fixed.  gateway only"),
    Option("heap-trim-interval", type=conv.number, default=5, minimum=0, section=HTTP, metavar="SECONDS",
           help="every SECONDS a worker gives free heap memory back to the kernel (glibc "
                "malloc_trim) when more than 1 MiB is free, so RSS returns to its baseline after a "
                "burst of large requests; 0: never.  gateway only"),
    Option("listen", short="l", type=conv.integer, default=100, minimum=1, section=HTTP,
           metavar="N", help="listen backlog of each socket"),
    Option("enable-proxy-protocol", flag=True, section=HTTP,
           help="--http-socket and the --http router: a connection may start with a PROXY "
                "header (HAProxy's v1 text or v2 binary) naming the client, which becomes "
                "REMOTE_ADDR/REMOTE_PORT; only behind a balancer that always sends it"),
    Option("https-export-cert", flag=True, section=HTTP,
           help="--https with a client CA: the client's certificate also reaches the app as PEM "
                "in HTTPS_CC (HTTPS_DN and HTTPS_CLIENT_CERTIFICATE are always set)"),
    Option("http-enable-proxy-protocol", flag=True, section=HTTP,
           help="the same, for the --http router only (uWSGI's http plugin option)"),
    Option("http-keepalive", type=_keepalive_seconds, default=KEEPALIVE_DEFAULT, minimum=0, section=HTTP,
           optional_value=True, bare="1", metavar="[SECONDS]",
           help="seconds an idle keep-alive HTTP connection is kept open; 0 closes it after "
                "each response; alone or 1: on, for %d seconds (uWSGI's --http-keepalive alone "
                "or 1 turns its router's keep-alive on; from 2 up its value is this duration "
                "too)" % KEEPALIVE_DEFAULT),
    Option("http-auto-chunked", flag=True, noop=True, section=HTTP,
           help="accepted: the --http router always sends a body without Content-Length to "
                "an HTTP/1.1 client chunked, keeping the connection alive (uWSGI does so only "
                "with this option)"),
    Option("http-max-headers", type=conv.integer, default=100, minimum=1, section=HTTP,
           metavar="N", help="maximum number of headers in a request"),
    Option("http-processes", ("http-workers",), type=conv.integer, default=1, minimum=1, section=HTTP,
           metavar="N",
           help="HTTP router: run N router processes (\"uWSGI http 1\" to \"uWSGI http N\"), all "
                "accepting on the same --http/--https sockets, each with its own event loop and "
                "worker connection pool (--http-upstream-keepalive and the like are per process); "
                "the master respawns each one on its own"),
    Option("http-timeout", type=conv.integer, default=60, minimum=1, section=HTTP, metavar="SECONDS",
           help="HTTP router: seconds without a byte from the worker (or in a tunnel, either "
                "way) before the request is given up: 504 before the response head, else "
                "the client connection is closed"),
    Option("http-connect-timeout", type=conv.integer, default=0, minimum=0, section=HTTP,
           metavar="SECONDS",
           help="HTTP router: seconds to establish a connection to a worker before answering "
                "502; 0 means --http-timeout"),
    Option("http-max-response-head", type=conv.integer, default=65536, minimum=256, section=HTTP,
           metavar="BYTES",
           help="HTTP router: maximum size of a response head from a worker (larger: 502)"),
    Option("allowed-modifiers", type=conv.modifier_list, section=HTTP, metavar="N[,N...]",
           help="the modifier1 values the uwsgi sockets (--socket) serve; a packet of any other "
                "gets '-- unavailable modifier requested: N --' and is closed (e.g. 0,30 refuses "
                "RPC, cache and ping packets)"),
    Option("remap-modifier", type=conv.modifier_remap, section=HTTP, metavar="SRC:DST[,...]",
           help="uwsgi sockets serve packets of modifier1 DST as those of SRC (0:5: a packet of "
                "modifier1 5 is a WSGI request); applied after --allowed-modifiers, as uWSGI"),
    Option("http-modifier1", type=conv.integer, default=0, minimum=0, maximum=255, section=HTTP,
           metavar="N", help="HTTP router: modifier1 of the uwsgi packets it sends"),
    Option("http-modifier2", type=conv.integer, default=0, minimum=0, maximum=255, section=HTTP,
           metavar="N", help="HTTP router: modifier2 of the uwsgi packets it sends"),
    Option("http-var", repeatable=True, section=HTTP, metavar="KEY=VALUE",
           help="HTTP router: add KEY=VALUE to every uwsgi packet it sends"),
    Option("http-upstream-keepalive", type=conv.integer, default=64, minimum=0, section=HTTP,
           metavar="N",
           help="HTTP router: idle connections to gateway workers kept open for the next "
                "requests (a gateway-only extension of the uwsgi protocol; used toward the "
                "internal worker socket, and toward --http-to/--socket with --http-to-gateway); "
                "0: one connection per request, as uWSGI.  gateway only"),
    Option("http-upstream-idle", type=conv.number, default=2, minimum=0.1, section=HTTP,
           metavar="SECONDS",
           help="HTTP router: seconds an idle worker connection is kept (at most half of "
                "--socket-timeout, the worker's own bound).  gateway only"),
    Option("http-upstream-max-requests", type=conv.integer, default=200, minimum=0, section=HTTP,
           metavar="N",
           help="HTTP router: requests carried by one kept worker connection before it is closed, so "
                "that load spreads again over the workers as new connections are accepted by "
                "whichever is least busy; 0: no limit.  gateway only"),
    Option("http-to-gateway", flag=True, section=HTTP,
           help="HTTP router: the --http-to (or --socket) upstreams are gateway workers: keep "
                "connections to them alive (see --http-upstream-keepalive); never set it for "
                "a real uWSGI upstream.  gateway only"),
    Option("socket-keepalive-max", type=conv.integer, default=128, minimum=0, section=HTTP,
           metavar="N",
           help="worker: idle persistent uwsgi connections (opened by gateway's HTTP router) "
                "kept per socket, each for at most --socket-timeout; over it the connection "
                "closes after its answer; 0: always close, as uWSGI.  gateway only"),
    Option("websockets-max-size", ("websocket-max-size",), type=conv.integer, default=1024,
           minimum=1, section=HTTP, metavar="KBYTES",
           help="maximum size of a received websocket message in Kbytes (uWSGI's unit; default "
                "1024 = 1 MiB); a larger one closes that websocket with status 1009"),
    Option("websockets-ping-freq", ("websocket-ping-freq",), type=conv.integer, default=30,
           minimum=1, section=HTTP, metavar="SECONDS",
           help="send a PING to every open websocket this often"),
    Option("websockets-pong-tolerance", ("websocket-pong-tolerance",), type=conv.integer,
           default=3, minimum=1, section=HTTP, metavar="SECONDS",
           help="close a websocket whose PONG has not arrived this long after our PING (a dead "
                "peer); its core then gets IOError from websocket_recv()"),

    # -- logging ----------------------------------------------------------------------
    Option("disable-logging", short="L", flag=True, section=LOGGING,
           help="do not log a line per request (errors are still logged)"),
    Option("log-4xx", flag=True, section=LOGGING,
           help="with --disable-logging: still log the requests answered 4xx"),
    Option("log-5xx", flag=True, section=LOGGING,
           help="with --disable-logging: still log the requests answered 5xx"),
    Option("log-slow", type=conv.integer, default=0, minimum=0, section=LOGGING, metavar="MSECS",
           help="with --disable-logging: still log the requests that took MSECS or more"),
    Option("log-big", type=conv.integer, default=0, minimum=0, section=LOGGING, metavar="BYTES",
           help="with --disable-logging: still log the responses of BYTES or more"),
    Option("logdate", ("log-date",), type=conv.log_date, optional_value=True, bare="true", section=LOGGING,
           metavar="[FORMAT]",
           help="start every server log line with the time: a strftime FORMAT, or true for "
                "uWSGI's default (Fri Dec  4 13:11:29 2026 - )"),
    Option("memory-report", flag=True, short="m", section=LOGGING,
           help="the request line starts with the worker's memory, as uWSGI's: {address space "
                "usage: N bytes/NMB} {rss usage: N bytes/NMB}"),
    Option("log-x-forwarded-for", flag=True, section=LOGGING,
           help="the request line shows the X-Forwarded-For header instead of REMOTE_ADDR (when "
                "the request has one)"),
    Option("logger", ("worker-logger",), repeatable=True, type=_logger_spec, section=LOGGING, metavar="[ID ]PLUGIN[:ARGS]",
           help="send every log line to this logger (repeatable: to each one): file:PATH (the first is "
                "--logto PATH), stdio, socket:HOST:PORT|PATH[,PREFIX] (a datagram per line), "
                "syslog[:IDENT[,FACILITY]], rsyslog:HOST[:PORT][,IDENT[,PRIORITY]]; with ID the logger "
                "is named and gets only the lines a --log-route sends it.  Any but one file:/stdio "
                "implies --log-master"),
    Option("req-logger", ("logger-req", "worker-logger-req"), repeatable=True, type=_logger_spec, section=LOGGING,
           metavar="[ID ]PLUGIN[:ARGS]",
           help="where the request lines go (the same plugins; the other lines stay with "
                "--logger/--logto): a lone file:PATH is appended by every process, the others go "
                "through the log master (implied)"),
    Option("log-socket", repeatable=True, type=conv.text, section=LOGGING, metavar="ADDR",
           help="--logger socket:ADDR"),
    Option("log-syslog", repeatable=True, optional_value=True, section=LOGGING, metavar="[IDENT[,FACILITY]]",
           help="--logger syslog[:IDENT[,FACILITY]]"),
    Option("log-encoder", ("worker-log-encoder",), repeatable=True, type=_encoder_spec, section=LOGGING, metavar="NAME[:ID][ ARGS]",
           help="pass every log line through this encoder (in the order given): prefix TEXT, "
                "suffix TEXT, nl, format TEMPLATE, json TEMPLATE (${msg} ${msgnl} ${unix} ${micros} "
                "${millis} ${strftime:FMT}), gzip, compress; :ID for the named logger ID only; "
                "implies --log-master"),
    Option("log-req-encoder", ("worker-log-req-encoder",), repeatable=True, type=_encoder_spec, section=LOGGING,
           metavar="NAME[:ID][ ARGS]",
           help="--log-encoder for the request lines of --req-logger"),
    Option("log-route", repeatable=True, type=_route_spec, section=LOGGING, metavar="ID REGEXP",
           help="the log lines matching REGEXP go to the named logger ID only (--logger 'ID "
                "PLUGIN:ARGS'); implies --log-master"),
    Option("log-req-route", repeatable=True, type=_route_spec, section=LOGGING, metavar="ID REGEXP",
           help="the request lines matching REGEXP go to the named request logger ID only"),
    Option("log-drain", repeatable=True, type=_regexp, section=LOGGING, metavar="REGEXP",
           help="drop the log lines matching REGEXP (not the request lines of --req-logger); implies "
                "--log-master"),
    Option("log-filter", repeatable=True, type=_regexp, section=LOGGING, metavar="REGEXP",
           help="keep only the log lines matching one --log-filter; implies --log-master"),
    Option("rsyslog-packet-size", type=conv.integer, default=1024, minimum=64, maximum=65000,
           section=LOGGING, metavar="BYTES",
           help="rsyslog logger: the largest datagram (RFC 3164 says 1024); a longer line is cut"),
    Option("rsyslog-split-messages", flag=True, section=LOGGING,
           help="rsyslog logger: send a longer line as several datagrams instead of cutting it"),
    Option("logto", type=conv.path, section=LOGGING, metavar="FILE",
           help="append every log line (master, workers, requests) to FILE instead of stderr; "
                "the readiness line goes there too"),
    Option("threaded-logger", flag=True, section=LOGGING,
           help="accepted as uWSGI means it: the workers never wait for the log target; here "
                "that is --log-master (which it implies), whose writes never block a worker"),
    Option("logto2", type=conv.path, section=LOGGING, metavar="FILE",
           help="like --logto, but FILE is opened after --uid/--gid are applied (so the new user "
                "owns it); not with --log-master"),
    Option("log-format", ("logformat",), section=LOGGING, metavar="FORMAT",
           help="the request log line as a template of uWSGI variables: %(addr) %(user) %(ltime) "
                "%(method) %(uri) %(proto) %(status) %(size) %(msecs) %(micros) %(uagent) "
                "%(referer) %(host) %(pid) %(wid) %(core) ... (README, Logging)"),
    Option("log-micros", flag=True, section=LOGGING,
           help="report request times in microseconds instead of milliseconds"),
    Option("log-master", flag=True, section=LOGGING,
           help="the master writes the workers' (and its own) output to the log target (--logto "
                "FILE or stderr) as whole lines, read through one pipe per process; implies "
                "--master, as in uWSGI"),
    Option("log-master-bufsize", type=conv.integer, default=8192, minimum=128, section=LOGGING,
           metavar="BYTES",
           help="--log-master: the longest line written in one piece (uWSGI's default); a longer "
                "line is split into pieces of this size, never dropped"),
    Option("log-master-backlog", type=conv.integer, default=1024 * 1024, minimum=8192,
           section=LOGGING, metavar="BYTES",
           help="--log-master: bytes the master holds while the log target accepts nothing (a "
                "full pipe, a stopped terminal); beyond it new lines are dropped and counted in one "
                "line once the target accepts again, so workers never wait for the log target"),
    Option("log-maxsize", type=conv.integer, default=0, minimum=0, section=LOGGING, metavar="BYTES",
           help="rotate the --logto file once it holds more than BYTES: it is renamed FILE.<unix "
                "time> (or --log-backupname) and a new empty FILE takes the next lines; implies "
                "--log-master, so every process's lines follow (0 = never)"),
    Option("log-backupname", type=conv.path, section=LOGGING, metavar="FILE",
           help="the name a rotated log gets (each rotation replaces the previous one) instead of "
                "FILE.<unix time>"),
    Option("touch-logrotate", repeatable=True, type=conv.path, section=LOGGING, metavar="FILE",
           help="rotate the --logto file (as --log-maxsize does) when FILE is touched; implies "
                "--log-master"),
    Option("touch-logreopen", repeatable=True, type=conv.path, section=LOGGING, metavar="FILE",
           help="reopen the --logto file when FILE is touched (after logrotate moved it away); "
                "implies --log-master"),
    Option("log-reopen", flag=True, section=LOGGING,
           help="reopen the --logto file at each reload (SIGHUP); implies --log-master"),
    # -- alarms and the other logging options (gateway/config/alarm_options.py) ------------
    *_alarm_opts.more_log_options(Option, LOGGING),
    *_alarm_opts.alarm_options(Option, _unsupported, LOGGING),

    # -- RPC ----------------------------------------------------------------------------
    Option("rpc-max", type=conv.integer, default=64, minimum=1, section=RPC, metavar="N",
           help="maximum number of registered RPC functions"),
    Option("rpc-none-on-failure", flag=True, section=RPC,
           help="uwsgi.rpc() and uwsgi.call() return None on every failure (unknown function, "
                "exception, refused connection, timeout, no reply), as uWSGI does, instead of "
                "raising a gateway.rpc.RPCError subclass"),
    Option("rpc-max-reply", type=conv.integer, default=64 * 1024 * 1024, minimum=1, section=RPC,
           metavar="BYTES",
           help="largest result a remote uwsgi.rpc() accepts (a bigger reply raises "
                "RPCProtocolError)"),

    # -- Erlang -----------------------------------------------------------------------
    Option("erlang", type=conv.erlang_node, section=ERLANG, metavar="NODE",
           help="run an Erlang C-node named NODE (name, name@host or name@ip), "
                "published with EPMD"),
    Option("erlang-cookie", section=ERLANG, metavar="COOKIE",
           help="Erlang distribution cookie (default: ~/.erlang.cookie)"),
    Option("erlang-visible", flag=True, section=ERLANG,
           help="connect as a visible node (hidden by default)"),
    Option("erlang-max-atoms", type=conv.integer, default=1048576, minimum=1, section=ERLANG,
           metavar="N", help="maximum number of atoms created from remote input"),
    Option("erlang-max-packet", type=conv.integer, default=67108864, minimum=1, section=ERLANG,
           metavar="BYTES", help="maximum size of a distribution packet in bytes"),
    Option("erlang-call-mode", type=conv.call_mode, default="inline", section=ERLANG, metavar="MODE",
           help="how functions called from Erlang (register_rpc functions, registered processes) "
                "run: 'inline' in a greenlet core on the worker's loop (fastest; they may wait "
                "with uwsgi.erlang_* or loop_engine.wait; a blocking one stalls the worker's "
                "HTTP serving, but the Erlang connections keep ticking), or 'threads' in "
                "--erlang-rpc-threads threads (a blocking function stalls nothing)"),
    Option("erlang-rpc-threads", type=conv.integer, default=8, minimum=1, section=ERLANG,
           metavar="N", help="threads that run functions called from Erlang with "
                             "--erlang-call-mode threads"),
    Option("erlang-busy-poll", type=conv.integer, default=50, minimum=0, section=ERLANG,
           metavar="MICROSECONDS",
           help="microseconds the Erlang node polls a connection for the peer's next packet "
                "before its loop sleeps (after answering it or sending it a call); 0 = off. "
                "Saves an epoll sleep and wake-up per exchange, costs up to that much CPU when "
                "nothing comes"),
    Option("erlang-timeout", type=conv.seconds, default=30.0, section=ERLANG, metavar="SECONDS",
           help="default timeout in seconds of uwsgi.erlang_rpc() and of connecting to a node"),
    Option("erlang-max-calls", type=conv.integer, default=10000, minimum=1, section=ERLANG,
           metavar="N", help="Python calls from Erlang (rpc:call into register_rpc functions) "
                             "running or waiting at once; past it an rpc:call gets "
                             "{badrpc, {'EXIT', system_limit}} at once (messages to registered "
                             "processes are queued, never refused)"),
    Option("erlang-handshake-timeout", type=conv.seconds, default=7.0, section=ERLANG,
           metavar="SECONDS", help="seconds a distribution connection may take to finish its "
                                   "handshake before it is closed (Erlang's net_setuptime)"),
    Option("erlang-max-handshakes", type=conv.integer, default=64, minimum=1, section=ERLANG,
           metavar="N", help="connections to the distribution port still in their handshake "
                             "at once; more are closed at accept"),

    # -- processes, master, stats (mostly later) -----------------------------------------
    Option("processes", ("workers",), short="p", type=conv.integer, default=1, minimum=1,
           section=PROCESSES, metavar="N",
           help="number of worker processes, forked by a master (above 1 a master runs even "
                "without --master)"),
    Option("master", short="M", flag=True, section=PROCESSES,
           help="run a master process: it binds the sockets, forks the workers, respawns them, "
                "reloads on SIGHUP, enforces --harakiri and serves --stats"),
    Option("cheaper", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="N",
           help="adaptive process spawning: keep at least N workers (fewer than --processes) "
                "and let --cheaper-algo start and stop the others; implies a master"),
    Option("cheaper-initial", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="N",
           help="--cheaper: workers started at boot (default: --cheaper)"),
    Option("cheaper-step", type=conv.integer, default=1, minimum=0, section=PROCESSES, metavar="N",
           help="--cheaper: workers started at once when more are needed (0 means 1, as in uWSGI)"),
    Option("cheaper-overload", type=conv.integer, default=3, minimum=1, section=PROCESSES, metavar="N",
           help="--cheaper: spawn after more than N cycles (seconds) of overload; cycles of idleness "
                "between two stops (spare); the listen-queue threshold (backlog); the seconds of "
                "each measure (busyness)"),
    Option("cheaper-idle", type=conv.integer, default=10, minimum=1, section=PROCESSES, metavar="N",
           help="--cheaper-algo spare2: cycles with too many idle workers before one stops"),
    Option("cheaper-rss-limit-soft", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="BYTES",
           help="--cheaper: add no worker while the running workers' resident memory adds up to "
                "BYTES or more"),
    Option("cheaper-rss-limit-hard", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="BYTES",
           help="--cheaper: at BYTES or more (above the soft limit), stop one worker per cycle"),
    Option("cheaper-algo", default="spare", section=PROCESSES, metavar="NAME",
           help="--cheaper's algorithm: spare (default), spare2, backlog, busyness or manual (the "
                "master FIFO's + and -)"),
    # --cheaper-algo busyness (gateway/process/cheaper_busyness.py); 0 means the default, as in uWSGI
    Option("cheaper-busyness-max", type=conv.integer, default=50, minimum=0, maximum=100, section=PROCESSES,
           metavar="PERCENT",
           help="--cheaper-algo busyness: above this average busyness workers are loaded: spawn"),
    Option("cheaper-busyness-min", type=conv.integer, default=25, minimum=0, maximum=100, section=PROCESSES,
           metavar="PERCENT",
           help="--cheaper-algo busyness: below this average busyness workers are idle: stop one "
                "once the cheaper timer has run out"),
    Option("cheaper-busyness-multiplier", type=conv.integer, default=10, minimum=0, maximum=100000,
           section=PROCESSES, metavar="N",
           help="--cheaper-algo busyness: a worker stops after --cheaper-overload x N idle seconds"),
    Option("cheaper-busyness-penalty", type=conv.integer, default=2, minimum=0, maximum=100000,
           section=PROCESSES, metavar="N",
           help="--cheaper-algo busyness: added to the multiplier when a worker is spawned back "
                "too soon after one was stopped"),
    Option("cheaper-busyness-verbose", flag=True, section=PROCESSES,
           help="--cheaper-algo busyness: log every measure and decision"),
    Option("cheaper-busyness-backlog-alert", type=conv.integer, default=33, minimum=0, maximum=1_000_000,
           section=PROCESSES, metavar="N",
           help="--cheaper-algo busyness: more than N connections in the listen queue spawn "
                "emergency workers at once"),
    Option("cheaper-busyness-backlog-multiplier", type=conv.integer, default=3, minimum=0, maximum=100000,
           section=PROCESSES, metavar="N",
           help="--cheaper-algo busyness: the multiplier while emergency workers run"),
    Option("cheaper-busyness-backlog-step", type=conv.integer, default=1, minimum=0, maximum=10000,
           section=PROCESSES, metavar="N",
           help="--cheaper-algo busyness: emergency workers spawned at once"),
    Option("cheaper-busyness-backlog-nonzero", type=conv.integer, default=60, minimum=0, maximum=1_000_000,
           section=PROCESSES, metavar="SECONDS",
           help="--cheaper-algo busyness: a listen queue never empty for SECONDS spawns "
                "emergency workers"),
    Option("harakiri", short="t", type=conv.number, default=0, minimum=0, section=PROCESSES,
           metavar="SECONDS",
           help="per request, per core: a request running longer is logged with its URI, "
                "worker and core; suspended on the loop it is cancelled in its core, stuck in "
                "blocking code its worker is killed and respawned by the master (0 = off)"),
    Option("harakiri-verbose", flag=True, section=PROCESSES,
           help="log the stack of a request hit by --harakiri"),
    Option("harakiri-graceful-timeout", type=conv.number, default=0, minimum=0, section=PROCESSES,
           metavar="SECONDS",
           help="a worker killed by --harakiri first gets --harakiri-graceful-signal and this many "
                "seconds to exit by itself, then SIGKILL (0 = SIGKILL at once)"),
    Option("harakiri-graceful-signal", type=conv.signal_number, default=15, section=PROCESSES,
           metavar="SIGNAL",
           help="the signal of a graceful harakiri attempt, a number or a name (default 15, SIGTERM)"),
    Option("max-requests", short="R", type=conv.integer, default=0, minimum=0, section=PROCESSES,
           metavar="N", help="recycle a worker (gracefully) after N requests (0 = never)"),
    Option("reload-on-rss", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="MB",
           help="recycle a worker (gracefully) when its resident memory exceeds MB (0 = never)"),
    Option("max-requests-delta", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="N",
           help="worker K recycles after --max-requests + K * N requests, so the workers do not all "
                "restart at once"),
    Option("reload-on-as", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="MB",
           help="recycle a worker (gracefully) when its address space exceeds MB (0 = never)"),
    Option("evil-reload-on-rss", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="MB",
           help="the master kills (SIGKILL) a worker whose resident memory reaches MB, checked "
                "from /proc every second even while the worker is stuck; implies a master"),
    Option("evil-reload-on-as", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="MB",
           help="the same for the address space"),
    Option("limit-as", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="MB",
           help="cap every process's address space at MB (RLIMIT_AS; an allocation beyond fails "
                "with MemoryError)"),
    Option("max-fd", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="N",
           help="raise (or lower) the limit of open files of every process to N (RLIMIT_NOFILE)"),
    Option("cpu-affinity", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="N",
           help="pin each worker to N CPUs, worker 1 to the first N, worker 2 to the next... "
                "(Linux; 0 = no pinning)"),
    Option("idle", type=conv.number, default=0, minimum=0, section=PROCESSES, metavar="SECONDS",
           help="after SECONDS without a request, stop every worker (uWSGI's cheap mode); the "
                "master starts them again at the next connection.  With --die-on-idle the "
                "instance stops instead; implies a master"),
    Option("die-on-idle", flag=True, section=PROCESSES,
           help="stop the instance once it has been idle for --idle seconds"),
    Option("max-worker-lifetime", type=conv.number, default=0, minimum=0, section=PROCESSES,
           metavar="SECONDS",
           help="recycle a worker (gracefully) once it has run SECONDS (0 = never)"),
    Option("max-worker-lifetime-delta", type=conv.number, default=0, minimum=0, section=PROCESSES,
           metavar="SECONDS",
           help="worker K recycles after --max-worker-lifetime + K * SECONDS, so the workers "
                "do not all restart at once"),
    Option("py-tracebacker", section=PROCESSES, metavar="PATH",
           help="each worker answers on the UNIX socket PATH<worker id> with the stacks of its "
                "threads and of its requests' async cores (read it with --connect-and-read)"),
    Option("connect-and-read", section=PROCESSES, metavar="SOCKET",
           help="connect to SOCKET (a UNIX path or host:port), print what it sends until it "
                "closes, and exit (for --py-tracebacker and --stats)"),
    Option("skip-atexit", flag=True, section=PROCESSES,
           help="workers under a master do not run the atexit hooks (Python's atexit module) "
                "when they stop gracefully"),
    Option("skip-atexit-teardown", flag=True, noop=True, section=PROCESSES,
           help="accepted: workers never tear the interpreter down (they end with os._exit)"),
    Option("min-worker-lifetime", type=conv.number, default=10, minimum=0, section=PROCESSES,
           metavar="SECONDS",
           help="a worker lives at least this long before --max-requests or --reload-on-rss "
                "recycle it (uWSGI's default: 10)"),
    Option("worker-reload-mercy", type=conv.number, default=60, minimum=0, section=PROCESSES,
           metavar="SECONDS",
           help="seconds a stopping or reloading worker may take to finish its requests "
                "before the master kills it"),
    Option("reload-mercy", type=conv.number, default=0, minimum=0, section=PROCESSES, metavar="SECONDS",
           help="the longest the master waits for every process to exit during a reload or a "
                "graceful shutdown before killing it (0: --worker-reload-mercy alone decides)"),
    Option("touch-chain-reload", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
           help="chain-reload the workers (one at a time, the next once the new one serves) when "
                "FILE is touched"),
    Option("touch-reload", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
           help="gracefully reload (as SIGHUP) when FILE is modified or touched; repeatable"),
    Option("touch-workers-reload", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
           help="gracefully replace the workers when FILE is touched, without loading the app "
                "again in the master (new code only with --lazy-apps, as uWSGI)"),
    Option("attach-daemon", repeatable=True, type=_plain_daemon, section=PROCESSES, metavar="COMMAND",
           help="run COMMAND (through /bin/sh) beside the workers, respawn it when it dies, stop it "
                "(SIGTERM to its process group) when the instance stops; it must stay in the "
                "foreground; repeatable"),
    Option("attach-control-daemon", repeatable=True, type=_plain_daemon, section=PROCESSES,
           metavar="COMMAND",
           help="--attach-daemon whose death stops the whole instance"),
    Option("smart-attach-daemon", repeatable=True, type=_smart_daemon, section=PROCESSES,
           metavar="'PIDFILE COMMAND'",
           help="run COMMAND, which daemonizes itself and writes PIDFILE; the master checks the pid in "
                "PIDFILE every second and runs COMMAND again when it is gone (PIDFILE,N: wait N "
                "checks for a first pidfile, default 10); the daemon outlives the instance"),
    Option("smart-attach-daemon2", repeatable=True, type=_smart_daemon, section=PROCESSES,
           metavar="'PIDFILE COMMAND'",
           help="--smart-attach-daemon for a COMMAND that stays in the foreground: the master "
                "daemonizes it and writes PIDFILE"),
    Option("attach-daemon2", repeatable=True, type=_keyval_daemon, section=PROCESSES,
           metavar="cmd=COMMAND[,KEY=VALUE...]",
           help="a daemon with options: cmd, pidfile (smart), daemonize, freq, control, stopsignal, "
                "reloadsignal, touch (FILE;FILE), stdin, uid, gid, chdir, max_throttle, notifypid"),
    Option("cron", repeatable=True, type=_cron_spec("cron"), section=PROCESSES,
           metavar="'MIN HOUR DAY MONTH WEEKDAY COMMAND'",
           help="the master runs COMMAND (through /bin/sh, without waiting) when the time matches "
                "(-1: any, -N: every N); repeatable"),
    Option("unique-cron", repeatable=True, type=_cron_spec("unique-cron"), section=PROCESSES,
           metavar="'MIN HOUR DAY MONTH WEEKDAY COMMAND'",
           help="--cron whose COMMAND never runs twice at once"),
    Option("cron2", repeatable=True, type=_cron_spec("cron2"), section=PROCESSES,
           metavar="'KEY=VALUE[,...] COMMAND'",
           help="--cron with keys minute, hour, day, month, week (default -1), unique, harakiri"),
    Option("cron-harakiri", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="SECONDS",
           help="kill a cron command still running after SECONDS (0: never)"),
    Option("daemons-honour-stdin", flag=True, section=PROCESSES,
           help="the daemons keep the instance's stdin (by default it is /dev/null)"),
    Option("no-orphans", flag=True, noop=True, section=PROCESSES,
           help="accepted: workers and the router always stop when their master dies (uWSGI "
                "kills them only with --no-orphans)"),
    Option("die-on-term", flag=True, noop=True, section=PROCESSES,
           help="accepted: SIGTERM always shuts gateway down gracefully (uWSGI 2.0 reloads on "
                "SIGTERM unless --die-on-term; uWSGI 2.1 behaves like gateway)"),
    Option("uid", section=PROCESSES, metavar="USER",
           help="drop privileges to USER (a name or a number) once every socket is bound, "
                "before the application is loaded"),
    Option("gid", section=PROCESSES, metavar="GROUP",
           help="drop privileges to GROUP (a name or a number; default: USER's group)"),
    Option("daemonize", short="d", type=conv.path, section=PROCESSES, metavar="LOGFILE",
           help="detach into the background (the command returns at once) and log to LOGFILE"),
    Option("daemonize2", type=conv.path, section=PROCESSES, metavar="LOGFILE",
           help="detach into the background once the app is loaded (its errors still reach the "
                "terminal), log to LOGFILE, rewrite the pidfiles with the new pid; implies a master"),
    Option("pidfile", type=conv.path, section=PROCESSES, metavar="FILE",
           help="write the master's pid to FILE at startup, before privileges are dropped"),
    Option("master-fifo", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
           help="a named pipe the master reads commands from: echo r > FILE reloads, q stops, s "
                "logs the stats, l/L reopen/rotate the log, P rewrites the pidfiles"),
    Option("pidfile2", type=conv.path, section=PROCESSES, metavar="FILE",
           help="write the master's pid to FILE after privileges are dropped"),
    Option("safe-pidfile", type=conv.path, section=PROCESSES, metavar="FILE",
           help="--pidfile written atomically (a temporary file renamed over FILE)"),
    Option("vacuum", flag=True, section=PROCESSES,
           help="remove the UNIX socket files gateway bound when it exits (a stale one is "
                "replaced at the next start in any case)"),
    Option("single-interpreter", flag=True, short="i", noop=True, section=PROCESSES,
           help="accepted: gateway always runs one Python interpreter per process"),
    Option("honour-stdin", flag=True, noop=True, section=PROCESSES,
           help="accepted: gateway leaves stdin as it found it (uWSGI points it at /dev/null "
                "unless this is given)"),
    Option("py-call-osafterfork", flag=True, noop=True, section=PROCESSES,
           help="accepted: gateway forks with os.fork(), so os.register_at_fork() hooks always run"),
    Option("ignore-sigpipe", flag=True, noop=True, section=PROCESSES,
           help="accepted: a vanished client is never a SIGPIPE here (Python ignores the signal) "
                "nor a log line"),
    Option("ignore-write-errors", flag=True, noop=True, section=PROCESSES,
           help="accepted: a write to a vanished client is never logged"),
    Option("add-header", repeatable=True, type=conv.response_header, section=PROCESSES, metavar="'NAME: VALUE'",
           help="add this header to every response of the apps (repeat for several)"),
    Option("static-map", repeatable=True, type=conv.static_map, section=PROCESSES, metavar="/MOUNT=DIR",
           help="answer GET/HEAD of /MOUNT/... with the files under DIR, before the app (a "
                "missing file goes on to the app)"),
    Option("check-static", ("static-check",), repeatable=True, type=conv.path, section=PROCESSES, metavar="DIR",
           help="answer GET/HEAD with the file at DIR + the request path when there is one"),
    Option("static-index", repeatable=True, section=PROCESSES, metavar="NAME",
           help="--static-map/--check-static: a directory is answered with its first file of "
                "these names (index.html)"),
    Option("auto-procname", flag=True, section=PROCESSES,
           help="name the processes as uWSGI does in ps and top: uWSGI master, uWSGI worker N, "
                "uWSGI http N (Linux)"),
    Option("procname-prefix", section=PROCESSES, metavar="TEXT", help="put TEXT before each process name"),
    Option("procname-prefix-spaced", section=PROCESSES, metavar="TEXT",
           help="put TEXT and a space before each process name"),
    Option("procname-append", section=PROCESSES, metavar="TEXT", help="put TEXT after each process name"),
    Option("procname", section=PROCESSES, metavar="NAME", help="the name of every process but the master"),
    Option("procname-master", section=PROCESSES, metavar="NAME", help="the name of the master process"),
    Option("py-autoreload", ("python-autoreload", "py-auto-reload", "python-auto-reload"), type=conv.number, default=0, minimum=0, section=PROCESSES,
           metavar="SECONDS",
           help="development: every SECONDS, reload the instance if a source file of an imported "
                "module changed (needs a master; 0 = off)"),
    Option("catch-exceptions", flag=True, section=PROCESSES,
           help="development: an app exception's 500 answer shows its traceback (never in production)"),
    Option("reload-on-exception", flag=True, section=PROCESSES,
           help="recycle a worker (gracefully) after a request whose app raised"),
    Option("wsgi-disable-file-wrapper", flag=True, section=PROCESSES,
           help="do not offer wsgi.file_wrapper to the apps"),
    Option("static-skip-ext", repeatable=True, section=PROCESSES, metavar="EXT",
           help="--static-map/--check-static: request paths ending with EXT (.py) always go to the app"),
    Option("static-expires", repeatable=True, type=conv.static_expires, section=PROCESSES,
           metavar="'REGEXP SECONDS'",
           help="static files whose path matches REGEXP get Expires and Cache-Control max-age SECONDS"),
    Option("static-expires-path-info", repeatable=True, type=conv.static_expires, section=PROCESSES,
           metavar="'REGEXP SECONDS'", help="--static-expires, with REGEXP on the request's PATH_INFO"),
    Option("static-expires-path-info-mtime", repeatable=True, type=conv.static_expires, section=PROCESSES,
           metavar="'REGEXP SECONDS'",
           help="the same, SECONDS from the file's modification time instead of now"),
    Option("static-expires-uri", repeatable=True, type=conv.static_expires, section=PROCESSES,
           metavar="'REGEXP SECONDS'", help="--static-expires, with REGEXP on the request's REQUEST_URI"),
    Option("static-expires-uri-mtime", repeatable=True, type=conv.static_expires, section=PROCESSES,
           metavar="'REGEXP SECONDS'",
           help="the same, SECONDS from the file's modification time instead of now"),
    Option("static-expires-mtime", repeatable=True, type=conv.static_expires, section=PROCESSES,
           metavar="'REGEXP SECONDS'",
           help="--static-expires, SECONDS from the file's modification time instead of now"),
    Option("static-expires-type", repeatable=True, type=conv.static_expires_type, section=PROCESSES,
           metavar="TYPE=SECONDS", help="static files of content type TYPE (text/css) get Expires "
                                          "and Cache-Control max-age SECONDS"),
    Option("static-expires-type-mtime", repeatable=True, type=conv.static_expires_type, section=PROCESSES,
           metavar="TYPE=SECONDS", help="the same, SECONDS from the file's modification time"),
    Option("static-gzip", repeatable=True, type=conv.regexp, section=PROCESSES, metavar="REGEXP",
           help="static files whose path matches REGEXP are sent as FILE.br or FILE.gz, when that "
                "exists and the client accepts it"),
    Option("static-gzip-all", flag=True, section=PROCESSES,
           help="the same for every static file"),
    Option("static-gzip-dir", ("static-gzip-prefix",), repeatable=True, section=PROCESSES, metavar="DIR",
           help="the same for the static files whose path starts with DIR"),
    Option("static-gzip-ext", ("static-gzip-suffix",), repeatable=True, section=PROCESSES, metavar="EXT",
           help="the same for the static files whose path ends with EXT (.css)"),
    Option("static-map2", repeatable=True, type=conv.static_map, section=PROCESSES, metavar="/MOUNT=DIR",
           help="like --static-map, but the whole request path is looked up under DIR "
                "(/static/a.css is DIR/static/a.css)"),
    Option("static-safe", repeatable=True, type=conv.path, section=PROCESSES, metavar="DIR",
           help="a static file whose real path leads out of its mapped directory (a symlink) is "
                "still served when it is under DIR"),
    Option("mimefile", ("mime-file",), repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
           help="more content types for static files, from a mime.types file (type ext ext...); "
                "/etc/mime.types is read anyway"),
    # -- file serving and the request environ (gateway/config/file_serving_options.py) ----
    *_file_opts.file_serving_options(Option, HTTP, PROCESSES),
    Option("post-buffering", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="BYTES",
           help="read each request body whole before the app is called: up to BYTES in memory, "
                "a larger one in a temporary file (0 = stream wsgi.input as it arrives)"),
    Option("disable-write-exception", flag=True, section=PROCESSES,
           help="the app's write() to a vanished client returns quietly instead of raising "
                "OSError (the response's iterable is still not iterated further)"),
    Option("thunder-lock", flag=True, noop=True, section=PROCESSES,
           help="accepted: gateway's workers already take turns (each accepts one "
                "connection per wake-up; see --greedy-accept)"),
    Option("greedy-accept", flag=True, section=PROCESSES,
           help="with several workers, let each accept every pending HTTP connection at "
                "once (on uvloop in C, ~35 us cheaper per connection) instead of one per "
                "wake-up; cheaper for a connection per request, but a burst of keep-alive "
                "connections may all land on one worker and stay there (uwsgi sockets "
                "always accept greedily: nginx opens a connection per request).  gateway only"),
    Option("stats", ("stats-server",), section=PROCESSES, metavar="ADDR",
           help="serve uWSGI-compatible JSON stats from the master on ADDR (host:port or a "
                "UNIX socket path; implies a master); uwsgitop reads it"),
    Option("stats-http", flag=True, section=PROCESSES,
           help="prefix the stats document with HTTP headers"),
    Option("stats-minified", ("stats-min",), flag=True, section=PROCESSES,
           help="minify the stats document"),
    Option("stats-no-metrics", flag=True, section=PROCESSES,
           help="leave the metrics out of the stats document (as uWSGI)"),
    Option("offload-threads", ("offload-thread",), type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="N",
           help="N threads per worker read the files of wsgi.file_wrapper responses while the "
                "worker's loop sends them: the request's core is free as soon as the app returns "
                "the wrapper (0 = off: the core sends the file itself)"),
    Option("spooler", short="Q", repeatable=True, type=conv.path, section=PROCESSES, metavar="DIR",
           help="run a spooler on DIR (created if missing; implies a master): a process that runs "
                "the tasks the app writes with uwsgi.spool() / @spool, by calling uwsgi.spooler"),
    Option("spooler-processes", type=conv.integer, default=1, minimum=1, section=PROCESSES, metavar="N",
           help="spooler processes per --spooler directory (they share its tasks)"),
    Option("spooler-frequency", ("spooler-freq",), type=conv.integer, default=30, minimum=1,
           section=PROCESSES, metavar="SECONDS",
           help="how often an idle spooler scans its directory (uwsgi.spool() wakes it at once)"),
    Option("spooler-ordered", flag=True, section=PROCESSES,
           help="run tasks in order: numeric priority subdirectories first (lowest first), then "
                "the task files by name"),
    Option("spooler-chdir", type=conv.path, section=PROCESSES, metavar="DIR",
           help="chdir() to DIR before each spooler task (default: the task's directory)"),
    Option("spooler-max-tasks", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="N",
           help="recycle a spooler (the master spawns a new one) after N tasks (0 = never)"),
    Option("spooler-harakiri", type=conv.integer, default=0, minimum=0, section=PROCESSES, metavar="SECONDS",
           help="kill a spooler whose task runs longer than SECONDS (its stacks are dumped; the "
                "master respawns it and the task runs again)"),
    Option("spooler-quiet", flag=True, section=PROCESSES,
           help="do not log every spooled, started and finished task"),
    Option("spooler-import", ("spooler-pyimport", "spooler-py-import", "spooler-python-import"),
           repeatable=True, section=PROCESSES, metavar="MODULE",
           help="import MODULE (or run FILE.py) in each spooler process, after it is forked"),
    Option("spooler-max-size", type=conv.integer, default=64 * 1024 * 1024, minimum=4, section=PROCESSES,
           metavar="BYTES",
           help="the largest task file (vars + body): uwsgi.spool() refuses a larger task, a "
                "spooler leaves a larger file alone and logs it.  gateway only"),
    Option("spooler-external", repeatable=True, type=conv.path, section=PROCESSES, metavar="DIR",
           help="a spooler directory served by another instance: uwsgi.spool(spooler=DIR) writes "
                "tasks there, no spooler process of ours reads it (implies a master)"),
    Option("spooler-cheap", flag=True, section=PROCESSES,
           help="run a spooler only while its directory holds tasks: the master checks every "
                "--spooler-frequency seconds, the spooler exits once a pass finds nothing to do"),
    _unsupported("spooler-signal-as-task", flag=True),
    Option("touch-spoolers-reload", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
           help="restart the spooler processes when FILE is touched"),
    Option("mules", type=conv.integer, default=0, minimum=0, maximum=256, section=PROCESSES, metavar="N",
           help="add N mules: processes forked by the master after the app is loaded that wait "
                "for uwsgi.mule_msg() messages and uWSGI signals (implies a master)"),
    Option("mule", repeatable=True, optional_value=True, section=PROCESSES, metavar="[SCRIPT]",
           help="add one mule; with SCRIPT (--mule=FILE.py, --mule FILE.py or module:callable) the "
                "mule runs it instead of waiting for messages (implies a master)"),
    Option("farm", repeatable=True, type=_farm_spec, section=PROCESSES, metavar="NAME:MULES",
           help="group mules (by id, from 1) into farm NAME (e.g. fast:1,2): uwsgi.mule_msg(msg, "
                "\"NAME\") reaches the first free one"),
    Option("mule-msg-size", type=conv.integer, default=65536, minimum=1, section=PROCESSES, metavar="BYTES",
           help="largest mule message; a bigger one is refused with ValueError to the sender"),
    # internal routing (gateway/routing): one chain, in the order the options are given
    Option("route", repeatable=True, type=_route_rule("route"), section=PROCESSES, metavar="REGEXP ACTION",
           help="internal routing: run ACTION (NAME:ARGS, e.g. redirect:URL, rewrite:/x, break:403) "
                "when REGEXP is found in PATH_INFO; $1..$9 are its groups, ${VAR} request variables"),
    Option("route-host", repeatable=True, type=_route_rule("route-host"), section=PROCESSES,
           metavar="REGEXP ACTION", help="internal routing rule on HTTP_HOST"),
    Option("route-uri", repeatable=True, type=_route_rule("route-uri"), section=PROCESSES,
           metavar="REGEXP ACTION", help="internal routing rule on REQUEST_URI"),
    Option("route-qs", repeatable=True, type=_route_rule("route-qs"), section=PROCESSES,
           metavar="REGEXP ACTION", help="internal routing rule on QUERY_STRING"),
    Option("route-remote-addr", repeatable=True, type=_route_rule("route-remote-addr"), section=PROCESSES,
           metavar="REGEXP ACTION", help="internal routing rule on REMOTE_ADDR"),
    Option("route-user-agent", repeatable=True, type=_route_rule("route-user-agent"), section=PROCESSES,
           metavar="REGEXP ACTION", help="internal routing rule on HTTP_USER_AGENT"),
    Option("route-referer", repeatable=True, type=_route_rule("route-referer"), section=PROCESSES,
           metavar="REGEXP ACTION", help="internal routing rule on HTTP_REFERER"),
    Option("route-remote-user", repeatable=True, type=_route_rule("route-remote-user"), section=PROCESSES,
           metavar="REGEXP ACTION", help="internal routing rule on REMOTE_USER"),
    Option("route-if", repeatable=True, type=_route_rule("route-if"), section=PROCESSES,
           metavar="COND:ARGS ACTION",
           help="internal routing: run ACTION when the condition holds (exists:PATH, isfile:PATH, "
                "equal:A;B, startswith:A;B, regexp:A;REGEXP, ipv4in:ADDR;NET/N, ...)"),
    Option("route-if-not", repeatable=True, type=_route_rule("route-if-not"), section=PROCESSES,
           metavar="COND:ARGS ACTION", help="internal routing: run ACTION when the condition does not hold"),
    Option("route-run", repeatable=True, type=_route_rule("route-run"), section=PROCESSES, metavar="ACTION",
           help="internal routing: always run ACTION (at its place in the chain)"),
    Option("route-label", repeatable=True, type=_route_rule("route-label"), section=PROCESSES, metavar="NAME",
           help="internal routing: a label, the target of goto:NAME"),
    # the later routing chains and the response header options (gateway/routing/response.py)
    *_phase_route_options(),
    Option("del-header", ("rem-header",), repeatable=True, type=_header_name, section=PROCESSES, metavar="NAME",
           help="remove the header NAME from every response of the apps (any case)"),
    Option("collect-header", ("response-header-collect",), repeatable=True, type=_header_to_var,
           section=PROCESSES, metavar="'HEADER VAR'",
           help="store the app's response header HEADER in the request variable VAR (${VAR} in the "
                "error, response and final routes, %(var.VAR) in --log-format)"),
    Option("pull-header", repeatable=True, type=_header_to_var, section=PROCESSES, metavar="'HEADER VAR'",
           help="as --collect-header, and remove HEADER from the response"),
    Option("error-page-403", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
           help="HTML page for the 403 answers gateway makes itself: accepted, but gateway never "
                "answers 403 on its own (uWSGI uses it in its CGI/PHP plugins)"),
    Option("error-page-404", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
           help="HTML page for the 404 answers gateway makes itself (a static: route's missing file; "
                "the first FILE that can be read)"),
    Option("error-page-500", repeatable=True, type=conv.path, section=PROCESSES, metavar="FILE",
           help="HTML page for the 500 answers gateway makes itself (the app raised, no app found)"),

    # -- caches, locks, metrics, signals (gateway/sharedmem, gateway/usignals) ---------------
    Option("cache2", repeatable=True, type=_cache_spec, section=SUBSYSTEMS, metavar="KEYVAL",
           help="create a cache shared by all workers: name=NAME,items=N[,blocksize=BYTES (65536)]"
                "[,keysize=BYTES (2048)][,hashsize=N (65536)][,math_initial=N][,ignore_full=1][,no_expire=1]"),
    Option("cache", type=conv.integer, default=0, minimum=0, section=SUBSYSTEMS, metavar="N",
           help="create the legacy cache \"default\" with N items (uWSGI 1.x style; --cache2 is better)"),
    Option("cache-blocksize", type=conv.integer, default=0, minimum=0, section=SUBSYSTEMS, metavar="BYTES",
           help="block (maximum value) size of the --cache cache; 0 = 65536"),
    Option("cache-expire-freq", type=conv.integer, default=3, minimum=1, section=SUBSYSTEMS,
           metavar="SECONDS", help="how often the sweeper removes expired cache items"),
    # cache options beyond --cache2 (gateway/sharedmem/cache.py, gateway/subsystems/cache_preload.py)
    Option("cache-store", type=conv.path, section=SUBSYSTEMS, metavar="FILE",
           help="keep the --cache cache in FILE (mapped shared; survives restarts; a file of another "
                "geometry is refused); implies --master"),
    Option("cache-store-sync", type=conv.integer, default=0, minimum=0, section=SUBSYSTEMS, metavar="SECONDS",
           help="msync the cache store files every SECONDS (the default of every cache's store_sync); "
                "0 = only at startup and exit"),
    Option("cache-no-expire", flag=True, section=SUBSYSTEMS,
           help="never run the cache sweeper (expired items stay until deleted)"),
    Option("cache-report-freed-items", flag=True, section=SUBSYSTEMS,
           help="log how many expired items the sweeper freed in each cache"),
    Option("cache-use-last-modified", flag=True, section=SUBSYSTEMS,
           help="keep the --cache cache's last_modified_at (stats) up to date on every change"),
    Option("add-cache-item", repeatable=True, type=_cache_item, section=SUBSYSTEMS, metavar="[CACHE ]KEY=VALUE",
           help="store KEY=VALUE in CACHE (every cache when no CACHE is given) at startup"),
    Option("load-file-in-cache", repeatable=True, type=conv.path, section=SUBSYSTEMS, metavar="[CACHE ]FILE",
           help="store FILE's content under the key FILE in CACHE (every cache when none) at startup"),
    Option("load-file-in-cache-gzip", repeatable=True, type=conv.path, section=SUBSYSTEMS,
           metavar="[CACHE ]FILE", help="as --load-file-in-cache, the content gzip-compressed"),
    Option("check-cache", optional_value=True, section=SUBSYSTEMS, metavar="[CACHE]",
           help="answer a GET whose REQUEST_URI is a key of CACHE (the first cache when empty) with its "
                "value, without calling the app"),
    Option("cache-udp-server", repeatable=True, section=SUBSYSTEMS, metavar="HOST:PORT",
           help="receive the --cache cache's changes from other nodes (uWSGI's datagrams) on this UDP "
                "address; implies --master"),
    Option("cache-udp-node", repeatable=True, section=SUBSYSTEMS, metavar="HOST:PORT",
           help="send every change of the --cache cache to this node's cache udp server; implies --master"),
    _unsupported("cache-sync", hint="uWSGI's startup copy sends its raw memory layout, which gateway's "
                 "differs from; fill the cache from the app with uwsgi.cache_get(key, 'name@host:port') "
                 "or replicate with --cache-udp-node/--cache-udp-server"),
    Option("static-cache-paths", type=conv.integer, default=0, minimum=0, section=SUBSYSTEMS, metavar="SECONDS",
           help="keep the real paths of static files (--static-map, --check-static) in a cache for SECONDS "
                "(the first cache, or --static-cache-paths-name); implies --master"),
    Option("static-cache-paths-name", section=SUBSYSTEMS, metavar="CACHE",
           help="the cache --static-cache-paths uses"),
    Option("locks", type=conv.integer, default=0, minimum=0, maximum=1024, section=SUBSYSTEMS, metavar="N",
           help="user locks 1..N for uwsgi.lock(n) (lock 0 always exists)"),
    Option("metric", repeatable=True, type=_metric_spec, section=SUBSYSTEMS, metavar="KEYVAL",
           help="declare a metric shared by all workers: name=NAME[,type=counter|gauge|absolute|alias]"
                " [,initial_value=N][,oid=OID], and collector=file|sum|avg|accumulator|adder|multiplier with"
                " freq=S, arg1=FILE, arg1n=N, children=A;B, or alias=METRIC"),
    Option("sharedarea", repeatable=True, type=_sharedarea_spec, section=SUBSYSTEMS,
           metavar="N|pages=N|size=BYTES",
           help="add a raw shared memory area (ids from 0) of N pages (or BYTES), shared by every "
                "process, for uwsgi.sharedarea_*"),
    Option("queue", type=conv.integer, default=0, minimum=0, section=SUBSYSTEMS, metavar="N",
           help="create the shared queue of N slots for uwsgi.queue_push/pull/pop/get/set/last "
                "(N x --queue-blocksize must be a multiple of the memory page size)"),
    Option("queue-blocksize", type=conv.integer, default=8192, minimum=0, section=SUBSYSTEMS,
           metavar="BYTES", help="size of each queue slot, its 16-byte header included (0 = 8192)"),
    Option("queue-store", type=conv.path, section=SUBSYSTEMS, metavar="FILE",
           help="keep the queue in FILE (mapped shared; created, or recovered when its size "
                "matches); implies --master"),
    Option("queue-store-sync", type=conv.integer, default=0, minimum=0, section=SUBSYSTEMS,
           metavar="N", help="write the --queue-store file to disk every N seconds (master cycles); 0 = never"),
    Option("enable-metrics", flag=True, section=SUBSYSTEMS,
           help="enable the metrics subsystem: uWSGI's built-in metrics (worker.N.requests...), "
                "collected by the master every second, and the --metric ones; implies --master "
                "(--metric and --metrics-dir enable it too)"),
    Option("metrics-dir", ("metric-dir",), type=conv.path, section=SUBSYSTEMS, metavar="DIR",
           help="keep one file per metric in DIR holding its value as text (refreshed every second)"),
    Option("metrics-dir-restore", ("metric-dir-restore",), flag=True, section=SUBSYSTEMS,
           help="start each metric from the value its --metrics-dir file holds (a built-in one then "
                "adds what the master collects to it, as uWSGI)"),
    Option("metrics-no-cores", flag=True, section=SUBSYSTEMS,
           help="do not register the built-in worker.N.core.M.* metrics (nor push them); implies --master"),
    # -- metrics pushers (gateway/pushers), run by the master ----------------------------------
    Option("stats-push", repeatable=True, type=_stats_push_spec, section=SUBSYSTEMS,
           metavar="statsd:ADDR[,PREFIX]",
           help="push every metric to a statsd server (host:port, [v6]:port or a UNIX datagram "
                "socket) as PREFIX.NAME:VALUE|g or |c datagrams (PREFIX: uwsgi); socket:ADDR[,PREFIX] "
                "sends PREFIX.NAME TYPE VALUE datagrams instead; file[:path=FILE,separator=TEXT,freq=N] "
                "appends the stats document to FILE (uwsgi.stats); implies --master"),
    Option("stats-pusher-default-freq", ("stats-pushers-default-freq",), type=conv.integer, default=3,
           minimum=1, section=SUBSYSTEMS, metavar="SECONDS", help="how often --stats-push pushes"),
    Option("statsd-no-workers", flag=True, section=SUBSYSTEMS,
           help="leave the worker.* metrics out of the statsd datagrams"),
    Option("statsd-all-gauges", flag=True, section=SUBSYSTEMS,
           help="send every metric to statsd as a gauge (|g), counters included"),
    Option("carbon", repeatable=True, type=_carbon_spec, section=SUBSYSTEMS, metavar="HOST:PORT",
           help="push the workers' statistics to a carbon (Graphite) server, one connection per "
                "--carbon-freq; implies --master"),
    Option("carbon-timeout", type=conv.integer, default=3, minimum=0, section=SUBSYSTEMS, metavar="SECONDS",
           help="abandon a carbon connection after SECONDS without progress (0 = 3)"),
    Option("carbon-freq", type=conv.integer, default=60, minimum=0, section=SUBSYSTEMS, metavar="SECONDS",
           help="carbon push period (0 = 60)"),
    Option("carbon-id", section=SUBSYSTEMS, metavar="ID",
           help="the instance's name in the carbon paths (default: the first socket, dots as _)"),
    Option("carbon-no-workers", flag=True, section=SUBSYSTEMS,
           help="leave the per-worker lines out of what carbon receives"),
    Option("carbon-max-retry", type=conv.integer, default=0, minimum=0, section=SUBSYSTEMS, metavar="N",
           help="retry a carbon server that could not be reached N times (uWSGI's code: 0)"),
    Option("carbon-retry-delay", type=conv.integer, default=7, minimum=0, section=SUBSYSTEMS,
           metavar="SECONDS", help="seconds between two carbon retries (0 = 7)"),
    Option("carbon-root", section=SUBSYSTEMS, metavar="NAME",
           help="the first element of the carbon paths (default uwsgi)"),
    Option("carbon-hostname-dots", section=SUBSYSTEMS, metavar="CHAR",
           help="replace the dots of the host name in the carbon paths with CHAR"),
    Option("carbon-name-resolve", ("carbon-resolve-names",), flag=True, section=SUBSYSTEMS,
           help="accept host names in --carbon (resolved once, at startup)"),
    Option("carbon-idle-avg", type=_carbon_idle_avg, section=SUBSYSTEMS, metavar="last|zero|none",
           help="the avg_rt pushed when no request arrived since the last push: the last value "
                "(default), zero, or none (no line)"),
    Option("carbon-use-metrics", flag=True, section=SUBSYSTEMS,
           help="push every metric (uWSGI's metric names) instead of carbon's own lines"),

    # -- configuration sources -------------------------------------------------------------
    Option("ini", repeatable=True, type=conv.ini_spec, section=CONFIG, metavar="FILE[:SECTION]",
           help="load options from the [uwsgi] section (or SECTION) of an ini file; "
                "a lone FILE.ini argument does the same"),
    Option("json", ("js",), short="j", repeatable=True, type=conv.config_spec, section=CONFIG,
           metavar="FILE[:OBJECT]",
           help="load options from the \"uwsgi\" object (or OBJECT) of a JSON file; "
                "a lone FILE.json (or .js) argument does the same"),
    Option("yaml", ("yml",), short="y", repeatable=True, type=conv.config_spec, section=CONFIG,
           metavar="FILE[:SECTION]",
           help="load options from the uwsgi: mapping (or SECTION) of a YAML file (uWSGI's subset); "
                "a lone FILE.yaml (or .yml) argument does the same"),
    Option("xml", ("xmlconfig",), short="x", repeatable=True, type=conv.config_spec, section=CONFIG,
           metavar="FILE[:ID]",
           help="load options from the <uwsgi> element (the one with id=ID) of an XML file; "
                "a lone FILE.xml argument does the same"),
    Option("include", repeatable=True, type=conv.config_spec, section=CONFIG, metavar="FILE[:SECTION]",
           help="load a config file at this point, its format by its extension "
                "(.ini, .xml, .yaml/.yml, .json/.js)"),
    Option("config", repeatable=True, type=conv.config_spec, section=CONFIG, metavar="FILE[:SECTION]",
           help="the same as --include (uWSGI's pluggable loaders: only the built-in formats here)"),
    Option("inherit", repeatable=True, type=conv.config_spec, section=CONFIG, metavar="FILE[:SECTION]",
           help="load a config file (format by extension) after every other source, as uWSGI "
                "does: its options come last, so its single-value options win"),
    Option("fallback-config", type=conv.path, section=CONFIG, metavar="FILE",
           help="if gateway fails to start (exit status 1: a bad option after this one, a socket, "
                "the app), run it again as 'gateway FILE', as uWSGI does; at most "
                "8 fallbacks in a row"),
    Option("set", short="S", repeatable=True, type=conv.placeholder_assignment, section=CONFIG,
           metavar="NAME=VALUE", help="set an option, or a placeholder usable as %(NAME)"),
    Option("set-placeholder", ("set-ph",), repeatable=True, type=conv.placeholder_assignment,
           section=CONFIG, metavar="NAME=VALUE", help="set a placeholder usable as %(NAME)"),
    Option("strict", flag=True, section=CONFIG,
           help="refuse keys that are not options in ini files and UWSGI_* variables "
                "(by default they are placeholders, as in uWSGI)"),
    Option("declare-option", ("declare-option2",), repeatable=True, type=_custom_option, section=CONFIG,
           metavar="NAME=KEY=VALUE[;KEY=VALUE...]",
           help="declare option NAME: giving it (--NAME or NAME = ... in a file, after this) gives "
                "the options of the template, $1, $2... replaced by the words of its value"),
    Option("print", ("iprint",), repeatable=True, section=CONFIG, metavar="TEXT",
           help="print TEXT on standard output at startup (handy with placeholders)"),
    Option("help", ("usage",), short="h", flag=True, section=CONFIG, help="show this help"),
    Option("version", flag=True, section=CONFIG, help="print the version"),
    *_command_options(),

    # -- the long tail of uWSGI options: recognised so they are refused, not ignored -----------
    _unsupported("gevent", hint=_ASYNC_HINT),
    _unsupported("asyncio", hint=_ASYNC_HINT),
    _unsupported("ugreen", flag=True, hint=_ASYNC_HINT),
    *_emperor_options(),
    *_trigger_options(),
    *_python_options(),
    Option("max-vars", short="v", type=conv.integer, default=64, minimum=1, maximum=16384,
           section=HTTP, metavar="N",
           help="a uwsgi vars block may hold 2*N key/value pairs (uWSGI's reading of the "
                "option: the default 64 allows 128 pairs); more is refused"),
    Option("wsgi-env-behaviour", ("wsgi-env-behavior",), type=_env_behaviour, noop=True, section=APP,
           metavar="holy|cheat",
           help="accepted: gateway always gives each request a fresh environ dict (uWSGI's "
                "holy behaviour); cheat's reuse is an internal optimisation apps cannot rely on"),
    # uWSGI's configuration logic (gateway/config/logic.py), acted on while the sources are read
    *_logic_options(),
    # privileges, OS tuning, startup locks and waits (gateway/process/startup.py and privileges.py)
    *_privilege_and_startup_options(),
    # the long tail of uWSGI's core options: implemented, accepted no-ops, refused families
    *_core_tail_options(),
    # uWSGI's FastRouter and the router side of the subscription system (gateway/router/fastrouter*.py)
    *_fastrouter_options(),
)


def _with_plugin_options(options: tuple[Option, ...]) -> tuple[Option, ...]:
    """The option names of uWSGI's other plugins (gateway/config/plugin_options.py): the plugin
    spellings that mean an implemented option (``pypy-wsgi-file``) join its aliases, and the
    other plugin families are appended, refused by name."""
    extra = _plugin_opts.plugin_aliases()
    missing = set(extra) - {option.name for option in options}
    if missing:
        raise RuntimeError(f"plugin aliases for undeclared options: {sorted(missing)}")
    aliased = tuple(replace(option, aliases=option.aliases + extra[option.name]) if option.name in extra
                    else option for option in options)
    return aliased + tuple(_plugin_opts.plugin_options(_unsupported))


OPTIONS = _with_plugin_options(OPTIONS)


def _index() -> tuple[dict[str, Option], dict[str, Option]]:
    by_spelling: dict[str, Option] = {}
    by_short: dict[str, Option] = {}
    for option in OPTIONS:
        for spelling in option.spellings:
            if spelling in by_spelling:
                raise RuntimeError(f"option spelling {spelling!r} is declared twice")
            by_spelling[spelling] = option
        if option.short:
            if option.short in by_short:
                raise RuntimeError(f"short option -{option.short} is declared twice")
            by_short[option.short] = option
    return by_spelling, by_short


#: Every spelling (name or alias) → its option.
OPTIONS_BY_SPELLING, OPTIONS_BY_SHORT = _index()


def find(spelling: str) -> Option | None:
    """The option spelled ``spelling`` (a name or an alias, without dashes), or None."""
    return OPTIONS_BY_SPELLING.get(spelling)


def suggest(spelling: str) -> str | None:
    """The known spelling closest to a misspelled one, for "did you mean" messages."""
    close = difflib.get_close_matches(spelling, list(OPTIONS_BY_SPELLING), n=1, cutoff=0.75)
    return close[0] if close else None


def short_key(option: Option) -> str:
    """The key uWSGI records for the short form of ``option`` (``-H`` → ``home``)."""
    return option.short_key or option.name
