"""Route actions: what a matching rule does (uWSGI's core/routing.c and router_* plugins).

An action is compiled once from its ``NAME:ARGS`` text (:func:`compile_action`) and run
per request on a :class:`RouteState`; it returns what the chain does next:

* :data:`NEXT`: go on with the next rule;
* :data:`CONTINUE`: stop routing, the request goes on to the app (``continue``, ``last``,
  ``rewrite-last``);
* :data:`BREAK`: stop routing and end the request with what was sent so far (``break``);
* an :class:`Answer` (a complete response: ``return``, ``redirect``, ``basicauth``'s 401...)
  or a :class:`ServeFile` (``static``): stop routing, this is the response;
* a :class:`Goto`: jump forward to a label.

Names not in :data:`ACTIONS` are refused at compile time; :data:`NOT_SUPPORTED` lists the
uWSGI actions we know but do not implement, so the error says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple, Union

from gateway.logs import gen_log
from gateway.protocol.environ import decode_path
from gateway.protocol.wsgi_response import HOP_BY_HOP, reason_phrase
from gateway.routing.conditions import RouteSyntaxError
from gateway.routing.transforms import (
    CacheStore,
    Chunked,
    FixCL,
    Flush,
    Gzip,
    Step,
    Template,
    ToFile,
    ToUpper,
    accepts_gzip,
)
from gateway.routing.vars import RequestView, _leading_int, expand, request_var

__all__ = [
    "ACTIONS", "BREAK", "CONTINUE", "NEXT", "NOT_SUPPORTED", "Action", "Answer", "Goto",
    "RouteState", "ServeFile", "TRANSFORM_ACTIONS", "UNSUPPORTED_TRANSFORMS", "compile_action",
]


class _Step:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NEXT = _Step("NEXT")
CONTINUE = _Step("CONTINUE")
BREAK = _Step("BREAK")


@dataclass(frozen=True)
class Answer:
    """A complete response made by an action."""

    status: str
    headers: Tuple[Tuple[str, str], ...] = ()
    body: bytes = b""
    #: one of gateway's own error answers (``static:``'s 404): ``--error-page-404`` applies
    managed: bool = False


@dataclass(frozen=True)
class ServeFile:
    """Answer the file at ``path`` (a regular file, checked by the action): with the head
    ``--static-map`` gives it, or with ``head`` (status, headers) as the ``file:`` action
    writes it."""

    path: str
    head: Optional[Tuple[str, Tuple[Tuple[str, str], ...]]] = None


@dataclass(frozen=True)
class Goto:
    """Jump to the rule after label ``label`` (or rule number ``label``): forward only."""

    label: str


Result = Union[_Step, Answer, ServeFile, Goto]


@dataclass
class RouteState:
    """One request going through the chain: its environ (changed in place by the
    ``set*``/``addvar``/``rewrite`` actions) and what the actions leave for the response."""

    environ: Dict[str, object]
    worker_id: int = 1
    #: ``addheader``: lines added to whatever response the request gets
    add_headers: List[Tuple[str, str]] = field(default_factory=list)
    #: ``delheader``: lowercased names removed from the app's response
    del_headers: Set[str] = field(default_factory=set)
    #: ``send``/``send-crnl``: body text already "sent" (the response is then ours)
    sent: List[bytes] = field(default_factory=list)
    #: ``log``: lines for the server log
    logs: List[str] = field(default_factory=list)
    #: ``donotlog``: no request log line for this request
    donotlog: bool = False
    #: ``clearheaders:STATUS`` (error and response chains): the new status, the app's headers dropped
    clear_status: Optional[str] = None
    #: ``disableheaders``: no status line nor headers, the body alone (then the connection closes)
    disable_headers: bool = False
    #: ``gzip``, ``chunked``, ``toupper``, ``flush``, ``fixcl``...: the response body's
    #: transformations, in order (:mod:`gateway.routing.transforms`)
    transforms: List[Step] = field(default_factory=list)


#: ``(state, request view) -> result``
Action = Callable[[RouteState, RequestView], Result]


def _status_line(code: str) -> Optional[str]:
    """``"403"`` -> ``"403 Forbidden"``, with uWSGI's phrases (None for a code HTTP does not know)."""
    try:
        phrase = reason_phrase(int(code))
    except ValueError:
        return None
    return None if phrase is None else "%d %s" % (int(code), phrase)


def _set_var(key: str, template: str, transform: Callable[[str], str] = lambda v: v) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        state.environ[key] = transform(expand(template, req))
        return NEXT
    return run


# -- flow ---------------------------------------------------------------------------------

def _continue(arg: str) -> Action:
    return lambda state, req: CONTINUE


def _break(arg: str) -> Action:
    # uWSGI: with a status (3+ characters) headers only, text/plain (and Connection: close,
    # which is the protocol's business here: the sink decides about keep-alive).
    if len(arg) < 3:
        return lambda state, req: BREAK
    if not (arg[:3].isdigit() and int(arg[:3]) >= 100 and (len(arg) == 3 or arg[3] == " ")):
        raise RouteSyntaxError("break expects a status (break:403 or break:403 Text), got %r" % arg)
    status = (_status_line(arg[:3]) or "%s Unknown" % arg[:3]) if len(arg) <= 4 else arg
    answer = Answer(status, (("Content-Type", "text/plain"), ("Content-Length", "0")))
    return lambda state, req: answer


def _return(arg: str) -> Action:
    status = _status_line(arg[:3]) if len(arg) >= 3 else None
    if status is None:
        return lambda state, req: BREAK  # uWSGI: an unknown status ends the request unanswered
    phrase = status.split(" ", 1)[1].encode("latin-1")
    answer = Answer(status, (("Content-Type", "text/plain"), ("Content-Length", str(len(phrase)))), phrase)
    return lambda state, req: answer


def _goto(arg: str) -> Action:
    return lambda state, req: Goto(expand(arg, req))


# -- logging ------------------------------------------------------------------------------

def _log(arg: str) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        state.logs.append(expand(arg, req))
        return NEXT
    return run


def _alarm(arg: str) -> Action:
    # uWSGI's alarm: raise the --alarm NAME with MESSAGE, both expanded
    name, space, message = arg.partition(" ")
    if not space or not name:
        raise RouteSyntaxError("alarm expects NAME MESSAGE, got %r" % arg)

    def run(state: RouteState, req: RequestView) -> Result:
        req.services.alarm(expand(name, req), expand(message, req).encode("utf-8"))
        return NEXT
    return run


def _donotlog(arg: str) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        state.donotlog = True
        return NEXT
    return run


def _logvar(arg: str) -> Action:
    # uWSGI's logvar: the request's log variable KEY (%(KEY) in --log-format), as uwsgi.set_logvar
    key, value = _key_value("logvar", arg)

    def run(state: RouteState, req: RequestView) -> Result:
        req.services.set_logvar(state.environ, key.encode("utf-8"), expand(value, req).encode("utf-8"))
        return NEXT
    return run


# -- request variables ----------------------------------------------------------------------

def _key_value(action: str, arg: str) -> Tuple[str, str]:
    key, sep, value = arg.partition("=")
    if not sep or not key:
        raise RouteSyntaxError("%s expects KEY=VALUE, got %r" % (action, arg))
    return key, value


def _addvar(arg: str) -> Action:
    key, value = _key_value("addvar", arg)
    return _set_var(key, value)


def _math(op: str) -> Callable[[str], Action]:
    def build(arg: str) -> Action:
        key, sep, amount = arg.partition(",")

        def run(state: RouteState, req: RequestView) -> Result:
            current = request_var(state.environ, key)
            if current is None:
                return BREAK  # uWSGI: a missing variable ends the request
            base = _leading_int(current)
            value = _leading_int(expand(amount, req)) if sep else 1
            if op == "+":
                total = base + value
            elif op == "-":
                total = base - value
            elif op == "*":
                total = base * value
            else:
                total = int(base / value) if value else 0  # C division truncates toward zero
            state.environ[key] = str(total)
            return NEXT
        return run
    return build


def _setuser(arg: str) -> Action:
    # "stop at the first colon (useful for various tricks)": setuser:${...} of "user:pass"
    return _set_var("REMOTE_USER", arg, lambda v: v.partition(":")[0])


def _setscheme(arg: str) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        scheme = expand(arg, req)
        state.environ["UWSGI_SCHEME"] = scheme
        state.environ["wsgi.url_scheme"] = scheme
        return NEXT
    return run


def _fixpathinfo(arg: str) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        script = request_var(state.environ, "SCRIPT_NAME") or ""
        path = request_var(state.environ, "PATH_INFO") or ""
        if script and path.startswith(script):
            state.environ["PATH_INFO"] = path[len(script):]
        return NEXT
    return run


def _harakiri(arg: str) -> Action:
    # uWSGI reads the number once, at startup (atoi: 0 or less does nothing)
    seconds = int(arg) if arg.strip().isdigit() else 0

    def run(state: RouteState, req: RequestView) -> Result:
        if seconds > 0:
            req.services.harakiri(seconds)
        return NEXT
    return run


def _chdir(arg: str) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        directory = expand(arg, req)
        try:
            os.chdir(directory)
        except OSError as exc:
            state.logs.append("route chdir(%s): %s" % (directory, exc.strerror))
            return BREAK
        return NEXT
    return run


def _wsgi_path(text: str) -> str:
    """A percent-encoded path -> PEP 3333's ``PATH_INFO`` (dot segments removed, decoded bytes
    as latin-1), as a request's own path becomes one (uWSGI's ``rewrite`` decodes the same way)."""
    return decode_path(text.encode("latin-1", "replace").decode("latin-1"))


def _rewrite(last: bool) -> Callable[[str], Action]:
    def build(arg: str) -> Action:
        def run(state: RouteState, req: RequestView) -> Result:
            target = expand(arg, req)
            path, qmark, query = target.partition("?")
            old_query = request_var(state.environ, "QUERY_STRING") or ""
            if qmark:
                if old_query:
                    query = query + "&" + old_query
            else:
                query = old_query
            state.environ["PATH_INFO"] = _wsgi_path(path)
            state.environ["QUERY_STRING"] = query
            return CONTINUE if last else NEXT
        return run
    return build


# -- response -----------------------------------------------------------------------------

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _header_line(text: str) -> Optional[Tuple[str, str]]:
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not _HEADER_NAME.match(name) or name.lower() in HOP_BY_HOP or "\r" in value or "\n" in value:
        return None
    if "\0" in value:
        return None
    try:
        value.encode("latin-1")  # a value expanded from request text may not be
    except UnicodeEncodeError:
        return None
    return name, value


def _addheader(arg: str) -> Action:
    if "$" not in arg and _header_line(arg) is None:
        raise RouteSyntaxError("addheader expects NAME: VALUE (not a hop-by-hop header), got %r" % arg)

    def run(state: RouteState, req: RequestView) -> Result:
        text = expand(arg, req)
        line = _header_line(text)
        if line is None:
            state.logs.append("route addheader: ignoring malformed header %r" % text)
        else:
            state.add_headers.append(line)
        return NEXT
    return run


def _delheader(arg: str) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        state.del_headers.add(expand(arg, req).strip().lower())
        return NEXT
    return run


def _clear_status(text: str) -> Optional[str]:
    """``403`` -> ``403 Forbidden`` (``Unknown`` for a code HTTP does not name), ``403 Text``
    kept; None when it is no status."""
    if not (text[:3].isdigit() and text[:3].isascii() and int(text[:3]) >= 100 and (len(text) == 3 or text[3] == " ")):
        return None
    if len(text) <= 4:
        return _status_line(text[:3]) or "%s Unknown" % text[:3]
    if "\r" in text or "\n" in text or "\0" in text:
        return None
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return text


def _clearheaders(arg: str) -> Action:
    # uWSGI's clearheaders/resetheaders: the response is prepared again with STATUS (the
    # headers so far are dropped; addheader lines and the body stay)
    if "$" not in arg and _clear_status(arg) is None:
        raise RouteSyntaxError("clearheaders expects a status (clearheaders:503 or clearheaders:503 Text), got %r" % arg)

    def run(state: RouteState, req: RequestView) -> Result:
        text = expand(arg, req)
        status = _clear_status(text)
        if status is None:
            state.logs.append("[route] clearheaders: %r is no HTTP status" % text)
            return BREAK
        state.clear_status = status
        return NEXT
    return run


def _disableheaders(arg: str) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        state.disable_headers = True
        return NEXT
    return run


def _send(crnl: bool) -> Callable[[str], Action]:
    def build(arg: str) -> Action:
        def run(state: RouteState, req: RequestView) -> Result:
            text = expand(arg, req) + ("\r\n" if crnl else "")
            state.sent.append(text.encode("latin-1", "replace"))
            return NEXT
        return run
    return build


def _redirect(status: str, body: bytes) -> Callable[[str], Action]:
    def build(arg: str) -> Action:
        def run(state: RouteState, req: RequestView) -> Result:
            location = expand(arg, req)
            if "\r" in location or "\n" in location:
                return BREAK
            return Answer(status, (("Location", location), ("Content-Length", str(len(body)))), body)
        return run
    return build


def static_root(template: str) -> Optional[str]:
    """The directory a ``static:`` path built from request values must stay in: the literal
    part before the first variable (``/srv/site`` of ``/srv/site${PATH_INFO}``) when it is a
    directory, else the directory it ends in; None for a path with no variable (the rule
    names one file).  A path that starts with a variable (``${DOCUMENT_ROOT}${PATH_INFO}``)
    has its root per request: see :func:`leading_variable`."""
    cut = template.find("$")
    if cut < 0:
        return None
    literal = template[:cut]
    if literal.endswith("/") or os.path.isdir(literal):
        root = literal.rstrip("/") or "/"
    else:
        root = os.path.dirname(literal) or "."
    return os.path.realpath(root)


def leading_variable(template: str) -> Optional[str]:
    """The variable a ``static:`` path starts with (``${DOCUMENT_ROOT}`` of
    ``${DOCUMENT_ROOT}${PATH_INFO}``, uWSGI's usual rule), else None.  Its value, the document
    root nginx or a ``setdocroot`` rule gave, is the directory the rest must stay in."""
    if template.startswith("${"):
        close = template.find("}")
        return template[:close + 1] if close > 0 else None
    if len(template) > 1 and template[0] == "$" and template[1].isdigit() and template[1].isascii():
        return template[:2]
    return None


def _dynamic_root(value: str) -> Optional[str]:
    """The directory a path starting with ``value`` must stay in: ``value`` itself, an
    absolute path without ``..`` (None: such a rule serves nothing)."""
    if not value.startswith("/") or "\0" in value or ".." in value.split("/"):
        return None
    return os.path.realpath(value.rstrip("/") or "/")


def _contained(path: str, root: Optional[str]) -> bool:
    if root is None:
        return True
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip("/") + "/")


#: Seconds between two failure lines of one ``cachestore`` rule.
CACHESTORE_LOG_INTERVAL = 10.0

_NOT_FOUND = Answer("404 Not Found", (("Content-Type", "text/plain"), ("Content-Length", "9")), b"Not Found",
                    managed=True)


def _as_file_name(value: str) -> str:
    """A substituted value as part of a file name.  A request's values are its bytes tunnelled
    as latin-1 (``/caf\xc3\xa9.txt``: the UTF-8 file name ``café.txt``); a value a rule set
    from its own text (``setdocroot:/srv/dépôt``, ``addvar:``) is text already.  Both are
    strings: a value whose latin-1 bytes are UTF-8 is taken for tunnelled bytes, any other
    as the text it is."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value  # not tunnelled UTF-8: text, as written


def _file_finder(template: str) -> Callable[[RequestView], Optional[str]]:
    """The regular file a rule's PATH template names for a request, or None: request values
    are bytes tunnelled as latin-1 (PEP 3333), so the file named by those bytes
    (``/caf\xc3\xa9.txt`` is ``café.txt``), the rule's own text as written; and a request
    value (``..``, a symlink) must not lead out of the rule's directory."""
    lead = leading_variable(template)
    fixed_root = static_root(template) if lead is None else None

    def find(req: RequestView) -> Optional[str]:
        path = expand(template, req, convert=_as_file_name)
        root = fixed_root
        if lead is not None:
            root = _dynamic_root(expand(lead, req, convert=_as_file_name))
            if root is None:
                return None
        if path and "\0" not in path and _contained(path, root) and os.path.isfile(path):
            return path
        return None
    return find


def _static(next_on_missing: bool) -> Callable[[str], Action]:
    def build(arg: str) -> Action:
        find = _file_finder(arg)

        def run(state: RouteState, req: RequestView) -> Result:
            path = find(req)
            if path is not None:
                return ServeFile(path)
            if next_on_missing:
                return NEXT
            return _NOT_FOUND
        return run
    return build


def _file(next_on_missing: bool, always_cl: bool) -> Callable[[str], Action]:
    """uWSGI's ``file:``, ``sendfile:``, ``fastfile:`` (``-next``: go on when the file is
    missing): ``filename=PATH[,status=S][,content_type=T][,mime=1][,no_cl=1][,no_headers=1]``;
    the file with ``200 OK`` (or S, expanded), ``Content-Length`` (not with ``no_cl``, which
    ``sendfile``/``fastfile`` ignore) and ``Content-Type`` T (``text/html`` by default;
    ``mime=1``: guessed from PATH, else T); ``no_headers``: the body alone."""
    def build(arg: str) -> Action:
        conf = _kvlist("file", arg, ("filename", "status", "content_type", "nocl", "no_cl",
                                     "no_content_length", "mime", "no_headers"))
        filename = conf.get("filename")
        if not filename:
            raise RouteSyntaxError("file: you need to specify a filename (filename=...)")
        find = _file_finder(filename)
        status = conf.get("status") or "200 OK"
        content_type = conf.get("content_type") or "text/html"
        by_mime = bool(conf.get("mime"))
        no_cl = not always_cl and any(conf.get(k) for k in ("nocl", "no_cl", "no_content_length"))
        no_headers = bool(conf.get("no_headers"))

        def run(state: RouteState, req: RequestView) -> Result:
            path = find(req)
            if path is None:
                return NEXT if next_on_missing else _NOT_FOUND
            headers: List[Tuple[str, str]] = []
            if not no_cl:
                try:
                    headers.append(("Content-Length", str(os.stat(path).st_size)))
                except OSError:
                    return NEXT if next_on_missing else _NOT_FOUND
            headers.append(("Content-Type", (mimetypes.guess_type(path)[0] if by_mime else None) or content_type))
            if no_headers:
                state.disable_headers = True
            return ServeFile(path, (_clear_status(expand(status, req)) or "200 OK", tuple(headers)))
        return run
    return build


# -- metrics, signals, caches (through the request view's services) -------------------------

def _metric_action(op: str) -> Callable[[str], Action]:
    def build(arg: str) -> Action:
        name, sep, amount = arg.partition(",")
        if not name:
            raise RouteSyntaxError("metric%s expects NAME[,VALUE], got %r" % (op, arg))

        def run(state: RouteState, req: RequestView) -> Result:
            metric = expand(name, req)
            if not req.services.metric(op, metric, _leading_int(expand(amount, req)) if sep else 1):
                state.logs.append("[route] metric%s: no metric named %r that an app may change" % (op, metric))
                return BREAK  # uWSGI: a failed metric operation ends the request
            return NEXT
        return run
    return build


def _signal(arg: str) -> Action:
    if not arg.strip().isdigit() or int(arg) > 255:
        raise RouteSyntaxError("signal expects a signal number (0-255), got %r" % arg)
    num = int(arg)

    def run(state: RouteState, req: RequestView) -> Result:
        if not req.services.signal(num):
            state.logs.append("[route] signal %d: signals are not available" % num)
        return NEXT
    return run


def _kvlist(action: str, arg: str, known: Tuple[str, ...]) -> Dict[str, str]:
    """uWSGI's ``key=value,key=value`` action arguments."""
    found: Dict[str, str] = {}
    for item in arg.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise RouteSyntaxError("%s: bad item %r (expected %s)" % (action, item, ", ".join(k + "=..." for k in known)))
        found[key] = value
    return found


def _cache(arg: str) -> Action:
    conf = _kvlist("cache", arg, ("key", "name", "content_type", "content_encoding", "mime", "no_offload",
                                  "no_content_length", "no_cl", "nocl"))
    key = conf.get("key")
    if not key:
        raise RouteSyntaxError("cache: you need to specify a cache key (key=...)")
    cache = conf.get("name") or None
    content_type = conf.get("content_type") or "text/html"
    encoding = conf.get("content_encoding")
    by_mime = bool(conf.get("mime"))
    no_cl = any(conf.get(k) for k in ("no_content_length", "no_cl", "nocl"))

    def run(state: RouteState, req: RequestView) -> Result:
        name = expand(key, req)
        value = req.services.cache_get(name, cache)
        if value is None:
            return NEXT
        ctype = (mimetypes.guess_type(name)[0] if by_mime else None) or content_type
        headers = [("Content-Type", ctype)]
        if encoding:
            headers.append(("Content-Encoding", encoding))
        if not no_cl:
            headers.append(("Content-Length", str(len(value))))
        return Answer("200 OK", tuple(headers), value)
    return run


def _cachestore(arg: str) -> Action:
    conf = _kvlist("cachestore", arg, ("key", "gzip", "name", "value", "status", "code", "expires"))
    key = conf.get("key")
    if not key:
        raise RouteSyntaxError("cachestore: you need to specify a cache key (key=...)")
    gzip_key, cache, value = conf.get("gzip") or None, conf.get("name") or None, conf.get("value")
    numbers = {}
    for item in ("status", "code", "expires"):
        text = conf.get(item, "").strip()
        if text and not text.isdigit():
            raise RouteSyntaxError("cachestore: %s=%r is not a number" % (item, text))
        numbers[item] = int(text or 0)
    status = numbers["status"] or numbers["code"]
    expires = numbers["expires"]
    # the failure line of this rule: at most one per CACHESTORE_LOG_INTERVAL (a key built
    # from each request's URI may fail for every request), with the count of those skipped
    noted = [float("-inf"), 0]

    def run(state: RouteState, req: RequestView) -> Result:
        services = req.services
        cache_name = expand(cache, req) if cache else None

        def put(name: str, data: bytes) -> bool:
            if services.cache_update(name, data, expires, cache_name):
                return True
            # uWSGI stores quietly; a line says why a later cache: finds nothing
            now = time.monotonic()
            if now - noted[0] < CACHESTORE_LOG_INTERVAL:
                noted[1] += 1
                return False
            skipped, noted[0], noted[1] = noted[1], now, 0
            gen_log.warning("cachestore: cannot store %r in cache %s%s", name, cache_name or "(default)",
                            " (and %d more failures since the last line)" % skipped if skipped else "")
            return False

        state.transforms.append(CacheStore(
            put, expand(key, req), expand(gzip_key, req) if gzip_key else None,
            expand(value, req).encode("latin-1", "replace") if value is not None else None, status))
        return NEXT
    return run


# -- basicauth ------------------------------------------------------------------------------

#: htpasswd files whose parsed lines are kept (the oldest is forgotten past it)
HTPASSWD_CACHE_FILES = 32

#: path -> ((mtime_ns, size, inode), {user: {hashed password, ...}})
_htpasswd_cache: Dict[str, Tuple[Tuple[int, int, int], Dict[str, Set[str]]]] = {}
_htpasswd_lock = threading.Lock()


def _htpasswd_entries(filename: str) -> Optional[Dict[str, Set[str]]]:
    """The users and hashes of an htpasswd file, parsed once and kept while its modification
    time, size and inode stay the same (a stat per request instead of a read); None when
    it cannot be read."""
    try:
        st = os.stat(filename)
    except OSError:
        _htpasswd_cache.pop(filename, None)
        return None
    signature = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _htpasswd_cache.get(filename)
    if cached is not None and cached[0] == signature:
        return cached[1]
    entries: Dict[str, Set[str]] = {}
    try:
        with open(filename, encoding="latin-1") as f:
            for line in f:
                name, sep, hashed = line.rstrip("\r\n").partition(":")
                if sep:
                    entries.setdefault(name, set()).add(hashed)
    except OSError:
        _htpasswd_cache.pop(filename, None)
        return None
    with _htpasswd_lock:  # --threads: the eviction iterates the dict
        _htpasswd_cache.pop(filename, None)
        while len(_htpasswd_cache) >= HTPASSWD_CACHE_FILES:
            del _htpasswd_cache[next(iter(_htpasswd_cache))]
        _htpasswd_cache[filename] = (signature, entries)
    return entries


def _htpasswd_user(filename: str, credentials: str) -> Optional[str]:
    """The user of ``user:password`` when an ``{SHA}`` line of the htpasswd file matches."""
    user, sep, password = credentials.partition(":")
    if not sep:
        return None
    entries = _htpasswd_entries(filename)
    if entries is None or user not in entries:
        return None
    digest = "{SHA}" + base64.b64encode(hashlib.sha1(password.encode("latin-1", "replace")).digest()).decode()
    return user if digest in entries[user] else None


def _basicauth(next_on_mismatch: bool) -> Callable[[str], Action]:
    def build(arg: str) -> Action:
        realm, sep, expected = arg.partition(",")
        if not sep:
            raise RouteSyntaxError("basicauth expects REALM,USER:PASSWORD or REALM,HTPASSWD_FILE, got %r" % arg)
        is_file = ":" not in expected
        challenge = Answer("401 Authorization Required",
                           (("WWW-Authenticate", 'Basic realm="%s"' % realm), ("Content-Length", "12")),
                           b"Unauthorized")

        def run(state: RouteState, req: RequestView) -> Result:
            if request_var(state.environ, "REMOTE_USER"):
                return NEXT  # already authenticated (by an earlier rule or the front end)
            header = request_var(state.environ, "HTTP_AUTHORIZATION") or ""
            if len(header) <= 7 or not expected or not header.startswith("Basic "):
                return challenge
            try:
                credentials = base64.b64decode(header[6:].strip(), validate=True).decode("latin-1")
            except (binascii.Error, ValueError):
                return challenge
            if is_file:
                user = _htpasswd_user(expected, credentials)
            else:
                user = credentials.partition(":")[0] if credentials == expected else None
            if user:
                state.environ["REMOTE_USER"] = user
                return NEXT
            return NEXT if next_on_mismatch else challenge
        return run
    return build


def _transform(make: Callable[[], Step]) -> Callable[[str], Action]:
    """An action adding a transformation that takes no argument (uWSGI ignores any)."""
    def build(arg: str) -> Action:
        def run(state: RouteState, req: RequestView) -> Result:
            state.transforms.append(make())
            return NEXT
        return run
    return build


def _gzip(arg: str) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        # gateway checks Accept-Encoding itself (uWSGI relies on a route-if in front)
        if accepts_gzip(state.environ.get("HTTP_ACCEPT_ENCODING")):  # type: ignore[arg-type]
            state.transforms.append(Gzip())
        return NEXT
    return run


def _template(arg: str) -> Action:
    def run(state: RouteState, req: RequestView) -> Result:
        state.transforms.append(Template(lambda text, limit: expand(text, req, limit)))
        return NEXT
    return run


def _tofile(arg: str) -> Action:
    conf = _kvlist("tofile", arg, ("filename", "name", "mode"))
    template = conf.get("filename") or conf.get("name")
    if not template:
        raise RouteSyntaxError("tofile: a filename is needed (tofile:filename=PATH[,mode=0644])")
    mode_text = conf.get("mode", "").strip()
    try:
        mode = int(mode_text, 8) if mode_text else 0o644
    except ValueError:
        raise RouteSyntaxError("tofile: mode %r is not an octal file mode (e.g. 0644)" % mode_text) from None
    if not 0 <= mode <= 0o7777:
        raise RouteSyntaxError("tofile: mode %r is not an octal file mode (e.g. 0644)" % mode_text)
    root = static_root(template)

    def run(state: RouteState, req: RequestView) -> Result:
        path = expand(template, req)
        if not path or "\0" in path or not _contained(path, root):
            # a request value led out of the directory the rule names: nothing stored
            state.logs.append("route tofile: refusing path %r (outside %s)" % (path, root))
            return NEXT
        state.transforms.append(ToFile(path, mode, None if root is None else lambda p: _contained(p, root)))
        return NEXT
    return run


#: action name -> builder (argument text -> :data:`Action`); may raise RouteSyntaxError.
ACTIONS: Dict[str, Callable[[str], Action]] = {
    "continue": _continue,
    "last": _continue,
    "break": _break,
    "return": _return,
    "break-with-status": _return,
    "goto": _goto,
    "log": _log,
    "donotlog": _donotlog,
    "alarm": _alarm,
    "harakiri": _harakiri,
    "logvar": _logvar,
    "addvar": _addvar,
    "+": _math("+"),
    "-": _math("-"),
    "*": _math("*"),
    "/": _math("/"),
    "setuser": _setuser,
    "setscriptname": lambda a: _set_var("SCRIPT_NAME", a),
    "setmethod": lambda a: _set_var("REQUEST_METHOD", a),
    "seturi": lambda a: _set_var("REQUEST_URI", a),
    "setremoteaddr": lambda a: _set_var("REMOTE_ADDR", a),
    "setpathinfo": lambda a: _set_var("PATH_INFO", a),
    "setdocroot": lambda a: _set_var("DOCUMENT_ROOT", a),
    "sethome": lambda a: _set_var("UWSGI_HOME", a),
    # the app's key and a file to load as a dynamic app (gateway.mounts), as uWSGI's
    "setapp": lambda a: _set_var("UWSGI_APPID", a),
    "setfile": lambda a: _set_var("UWSGI_FILE", a),
    "setscheme": _setscheme,
    "fixpathinfo": _fixpathinfo,
    "chdir": _chdir,
    "rewrite": _rewrite(last=False),
    "rewrite-last": _rewrite(last=True),
    "addheader": _addheader,
    "delheader": _delheader,
    "remheader": _delheader,
    "clearheaders": _clearheaders,
    "disableheaders": _disableheaders,
    "resetheaders": _clearheaders,
    "send": _send(crnl=False),
    "send-crnl": _send(crnl=True),
    "redirect": _redirect("302 Found", b"Moved"),
    "redirect-302": _redirect("302 Found", b"Moved"),
    "redirect-permanent": _redirect("301 Moved Permanently", b"Moved Permanently"),
    "redirect-301": _redirect("301 Moved Permanently", b"Moved Permanently"),
    "static": _static(next_on_missing=False),
    "static-next": _static(next_on_missing=True),
    "basicauth": _basicauth(next_on_mismatch=False),
    "basicauth-next": _basicauth(next_on_mismatch=True),
    "metricinc": _metric_action("inc"),
    "metricdec": _metric_action("dec"),
    "metricmul": _metric_action("mul"),
    "metricdiv": _metric_action("div"),
    "metricset": _metric_action("set"),
    "signal": _signal,
    "cache": _cache,
    "file": _file(False, False),
    "file-next": _file(True, False),
    "sendfile": _file(False, True),
    "sendfile-next": _file(True, True),
    "fastfile": _file(False, True),
    "fastfile-next": _file(True, True),
    # transformations (gateway.routing.transforms)
    "gzip": _gzip,
    "chunked": _transform(Chunked),
    "toupper": _transform(ToUpper),
    "flush": _transform(Flush),
    "fixcl": _transform(FixCL),
    "forcecl": _transform(lambda: FixCL(force=True)),
    "tofile": _tofile,
    "to-file": _tofile,
    "template": _template,
    "cachestore": _cachestore,
    "cache-store": _cachestore,
}

#: the actions that add a response transformation (request chain only)
TRANSFORM_ACTIONS = frozenset({"gzip", "chunked", "toupper", "flush", "fixcl", "forcecl", "tofile", "to-file",
                               "template", "cachestore", "cache-store"})

#: uWSGI's transformations (and their routers) gateway does not have: refused by name,
#: with the reason and what to use instead.
UNSUPPORTED_TRANSFORMS: Dict[str, str] = {
    "offload": "the offload transformation hands the transformed body to uWSGI's offload threads; "
               "gateway's event loop already writes bodies without blocking a core",
    "memcachedstore": "gateway has no memcached client",
    "memcached-continue": "gateway has no memcached client",
    "redisstore": "gateway has no redis client",
    "redis-continue": "gateway has no redis client",
}
for _alias, _name in (("memcached-store", "memcachedstore"), ("redis-store", "redisstore")):
    UNSUPPORTED_TRANSFORMS[_alias] = UNSUPPORTED_TRANSFORMS[_name]

#: uWSGI actions that exist there but not here (refused with "not supported").
NOT_SUPPORTED = frozenset({
    "donotoffload",
    "setprocname", "setmodifier1", "setmodifier2",
    "offload", "http", "uwsgi", "cache-continue", "cachevar",
    "cacheset", "cacheinc", "cachedec", "cachemul", "cachediv", "memcached", "memcachedstore",
    "redis", "redisstore", "fcgi", "rpc", "call", "expires", "radius", "spnego", "xmldir", "hash",
})


def compile_action(text: str) -> Action:
    """``NAME:ARGS`` -> :data:`Action`; RouteSyntaxError for an unknown or malformed one."""
    name, sep, arg = text.partition(":")
    if not sep:
        raise RouteSyntaxError("route action %r: expected NAME:ARGS (e.g. break:, log:text)" % text)
    builder = ACTIONS.get(name)
    if builder is None:
        if name in UNSUPPORTED_TRANSFORMS:
            raise RouteSyntaxError("route action %r is not supported by gateway: %s"
                                   % (name, UNSUPPORTED_TRANSFORMS[name]))
        if name in NOT_SUPPORTED:
            raise RouteSyntaxError("route action %r is not supported by gateway" % name)
        raise RouteSyntaxError("unknown route action %r" % name)
    return builder(arg)
