"""The alarm options (:mod:`gateway.alarms`) and the logging options that came with them.

Kept apart from :mod:`gateway.config.options` (which splices :func:`alarm_options` and
:func:`more_log_options` into its table) so that the whole family reads in one place.
"""

from __future__ import annotations

from typing import Callable

from gateway.config import converters as conv
from gateway.config.errors import Invalid


def _checked(expected: str, parse: Callable[[str], object]) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        from gateway.alarms.spec import AlarmSpecError

        try:
            parse(raw)
        except AlarmSpecError as e:
            raise Invalid(expected, str(e)) from None
        return raw.strip()

    return convert


def _parsers() -> dict[str, Callable[[str], str]]:
    from gateway.alarms import spec

    return {
        "alarm": _checked("NAME PLUGIN:ARGS", spec.parse_alarm),
        "log-alarm": _checked("NAME[,NAME...] REGEXP", spec.parse_log_alarm),
        "alarm-fd": _checked("NAME FD[:BYTES] MESSAGE", spec.parse_alarm_fd),
        "metric-threshold": _checked("key=METRIC,value=N[,alarm=NAME][,rate=S][,msg=TEXT][,reset=N]",
                                     spec.parse_metric_threshold),
    }


def _alarm_name(raw: str) -> str:
    name = raw.strip()
    if not name or " " in name or "," in name:
        raise Invalid("the NAME of an --alarm")
    return name


def _log_prefix(raw: str) -> str:
    """``--log-prefix``: uWSGI's ``--logdate`` handler: a yes-word for the default date, else
    any text passed through ``strftime`` (a plain prefix stays as written)."""
    text = raw.strip()
    if text.lower() in ("", "1", "true", "yes", "on", "y", "t"):
        from gateway.logs import DEFAULT_LOGDATE

        return DEFAULT_LOGDATE
    return raw


_SEGFAULT_HINT = ("gateway is pure Python and installs no SIGSEGV handler: a worker killed by a "
                  "segfault in a C extension is logged by the master ('DAMN ! worker N (pid: P) died, "
                  "killed by signal 11 :( trying respawn ...'): raise an alarm from that line with "
                  "--log-alarm 'NAME killed by signal 11 '")


def alarm_options(option: Callable[..., object], unsupported: Callable[..., object], section: str) -> tuple:
    """The alarm subsystem's options (``option`` is :class:`~gateway.config.options.Option`)."""
    p = _parsers()
    return (
        option("alarm", repeatable=True, type=p["alarm"], section=section, metavar="NAME PLUGIN:ARGS",
               help="declare the alarm NAME: cmd:COMMAND (run, the message on its stdin), signal:N (raise "
                    "uWSGI signal N), mule[:N] (message to mule N, 0: any), log[:TEXT] (an ALARM: line), "
                    "curl:URL[;key=value...] (http(s) POST or smtp(s) mail); implies --master"),
        option("log-alarm", ("alarm-log",), repeatable=True, type=p["log-alarm"], section=section,
               metavar="NAME[,NAME...] REGEXP",
               help="raise the alarms NAME... with every log line matching REGEXP (read by the master: "
                    "implies --log-master)"),
        option("not-log-alarm", ("not-alarm-log",), repeatable=True, type=p["log-alarm"], section=section,
               metavar="NAME[,NAME...] REGEXP",
               help="a log line matching REGEXP raises none of the --log-alarm rules given after this one"),
        option("alarm-freq", type=conv.integer, default=3, minimum=0, maximum=86400, section=section,
               metavar="SECONDS",
               help="anti-flood: an alarm raised with the same message as its last run, within SECONDS "
                    "of it, is skipped (uWSGI's default: 3)"),
        option("alarm-msg-size", type=conv.integer, default=8192, minimum=16, maximum=60000, section=section,
               metavar="BYTES", help="longest alarm message; a longer one is cut (uWSGI's default: 8192)"),
        option("alarm-fd", repeatable=True, type=p["alarm-fd"], section=section, metavar="NAME FD[:BYTES] MSG",
               help="raise alarm NAME with MSG whenever the inherited descriptor FD is readable (BYTES "
                    "read each time: 1, or 8 for an eventfd)"),
        option("alarm-backlog", ("backlog-alarm", "lq-alarm", "alarm-lq", "alarm-listen-queue",
                                 "listen-queue-alarm"), repeatable=True, type=_alarm_name, section=section,
               metavar="NAME",
               help="raise alarm NAME when a TCP socket's listen queue is full (--listen), checked "
                    "every second by the master"),
        option("metric-threshold", ("metric-alarm", "alarm-metric"), repeatable=True,
               type=p["metric-threshold"], section=section,
               metavar="key=METRIC,value=N[,alarm=NAME,...]",
               help="when METRIC reaches N (checked every second): raise alarm NAME with msg= (default: "
                    "the metric's name) at most once per rate= seconds, and/or set it to reset=; "
                    "enables the metrics"),
        option("alarm-cheap", flag=True, noop=True, section=section,
               help="accepted: uWSGI runs curl alarms in the alarm thread instead of their own; gateway "
                    "runs each one in a child process, never in the master"),
        unsupported("alarm-segfault", "segfault-alarm", repeatable=True, hint=_SEGFAULT_HINT),
    )


def more_log_options(option: Callable[..., object], section: str) -> tuple:
    """uWSGI's other logging options: conditions, the log file's mode and owner, aliases."""
    return (
        option("log-prefix", optional_value=True, bare="true", type=_log_prefix, section=section, metavar="[TEXT]",
               help="start every server log line with TEXT (a strftime format allowed) and ' - '; uWSGI's "
                    "--logdate under another name: the last of the two given wins"),
        option("log-format-strftime", ("logformat-strftime",), flag=True, section=section,
               help="%(ftime) in --log-format is the request's time in the --logdate/--log-prefix "
                    "strftime format (else it is %(ltime))"),
        option("log-truncate", flag=True, section=section,
               help="empty the --logto file at startup instead of appending to it"),
        option("logfile-chmod", type=conv.file_mode, section=section, metavar="MODE",
               help="set the --logto file's permissions (octal, e.g. 640) once it is opened"),
        option("logfile-chown", flag=True, section=section,
               help="give the --logto file to --uid/--gid (as root, before they are dropped)"),
        option("log-zero", flag=True, section=section,
               help="with --disable-logging: still log the responses without a body"),
        # uWSGI 2.0.31 declares these two with a required value (--log-sendfile=1, or
        # --log-sendfile 1); alone they are flags, as its other --log-* selectors
        option("log-sendfile", optional_value=True, bare="1", type=conv.boolean, default=False, section=section,
               metavar="[BOOL]", help="with --disable-logging: still log the responses sent from a file "
                    "(wsgi.file_wrapper, static files)"),
        option("log-ioerror", optional_value=True, bare="1", type=conv.boolean, default=False, section=section,
               metavar="[BOOL]",
               help="with --disable-logging: still log the requests whose body could not be read "
                    "(cut short, timed out, malformed) or whose response could not be written"),
        option("log-master-stream", flag=True, noop=True, section=section,
               help="accepted: gateway's log pipes are streams already, whose lines the master "
                    "reassembles (uWSGI's default is a datagram socket)"),
        option("log-master-req-stream", flag=True, noop=True, section=section,
               help="accepted: as --log-master-stream, for the request-log pipes"),
    )
