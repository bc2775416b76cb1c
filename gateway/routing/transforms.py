"""uWSGI's response transformations (core/transformations.c): filters on the response body.

A request rule (``--route '^/ gzip:'``, ``--route-run toupper:``) adds a step to the
request's chain; the body the app sends goes through the steps in order, the output of one
being the input of the next.  A step either *streams* (it works on each chunk as it comes:
``gzip``, ``chunked``, ``toupper``, ``flush``) or *buffers* (it needs the whole body:
``fixcl``, ``forcecl``, ``tofile``, ``template``): from the first buffering step on,
nothing leaves until the app is done, then the rest of the chain runs on the whole body.

Steps may change the head while it has not gone out: ``gzip`` adds ``Content-Encoding``,
``chunked`` adds ``Transfer-Encoding``, ``fixcl``/``forcecl`` set ``Content-Length`` to the
size of the body as it reaches them.  ``flush`` sends what reaches it at once; the steps
after it still see the body (for ``tofile``) but their output is not sent.

:class:`TransformChain` is sans-IO: :meth:`~TransformChain.feed` and
:meth:`~TransformChain.finish` take bytes and return the bytes to send; the one WSGI runner
(:mod:`gateway.server.wsgi_call`) drives it.  A buffering step holds at most
:data:`MAX_BUFFERED` bytes; past it :class:`TransformError` fails the response.
"""

from __future__ import annotations

import errno
import gzip
import itertools
import os
import stat
import zlib
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from gateway.logs import gen_log

__all__ = ["MAX_BUFFERED", "TRANSFORMS_KEY", "Step", "TransformChain", "TransformError", "accepts_gzip"]

#: environ key: the request's :class:`TransformChain` (set by the request chain's router)
TRANSFORMS_KEY = "gateway.transforms"

#: the most a buffering transformation (fixcl, forcecl, tofile, template) holds in memory
MAX_BUFFERED = 64 * 1024 * 1024

Headers = List[Tuple[str, str]]


class TransformError(Exception):
    """A transformation cannot go on (a buffer over :data:`MAX_BUFFERED`, a failed step)."""


class Step:
    """One transformation of one request.  ``streams``: :meth:`process` runs per chunk;
    else the body is buffered and :meth:`close` runs once on all of it."""

    name = "step"
    streams = True
    #: the bytes that reach this step are sent (and the chain's own output is not)
    flushes = False

    def start(self, status: int, headers: Sequence[Tuple[str, str]], chain: "TransformChain") -> None:
        """The app's status and headers, before any body."""

    def process(self, data: bytes, chain: "TransformChain") -> bytes:
        """A chunk (streaming steps): return what goes on to the next step."""
        return data

    def close(self, data: bytes, chain: "TransformChain") -> bytes:
        """The end of the body (``data``: the rest of it, or for a buffering step all of it)."""
        return self.process(data, chain) if data else b""

    def reset(self) -> None:
        """Forget the body seen so far (the app replaced its response before the head went out)."""


class ToUpper(Step):
    """``toupper``: ASCII letters in upper case (as C's toupper in the "C" locale)."""

    name = "toupper"

    def process(self, data: bytes, chain: "TransformChain") -> bytes:
        return data.upper()


class Gzip(Step):
    """``gzip``: the body gzip-compressed as it streams (a sync flush per chunk, so each
    chunk can go out at once), ``Content-Encoding: gzip`` added with the first bytes.  An
    empty body stays empty (and gets no header), as in uWSGI.  A response that already has
    a Content-Encoding is left alone."""

    name = "gzip"

    def __init__(self) -> None:
        self.z: Any = None
        self.skip = False
        self.seen = 0

    def start(self, status: int, headers: Sequence[Tuple[str, str]], chain: "TransformChain") -> None:
        self.skip = any(name.lower() == "content-encoding" for name, _ in headers)

    def process(self, data: bytes, chain: "TransformChain") -> bytes:
        if self.skip or not data:
            return data
        if self.z is None:
            self.z = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: the gzip wrapper
            chain.set_header("Content-Encoding", "gzip")
            chain.resized = True
        self.seen += len(data)
        return self.z.compress(data) + self.z.flush(zlib.Z_SYNC_FLUSH)

    def reset(self) -> None:
        self.z = None
        self.seen = 0

    def close(self, data: bytes, chain: "TransformChain") -> bytes:
        out = self.process(data, chain) if data else b""
        if self.z is not None and not self.skip:
            out += self.z.flush(zlib.Z_FINISH)
            self.z = None
        return out


class Chunked(Step):
    """``chunked``: HTTP/1.1 chunked framing made by the transformation itself, with
    ``Transfer-Encoding: chunked`` in the head; the final ``0\\r\\n\\r\\n`` at the end."""

    name = "chunked"

    def start(self, status: int, headers: Sequence[Tuple[str, str]], chain: "TransformChain") -> None:
        chain.self_chunked = True
        chain.resized = True

    def process(self, data: bytes, chain: "TransformChain") -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data) if data else b""

    def close(self, data: bytes, chain: "TransformChain") -> bytes:
        return self.process(data, chain) + b"0\r\n\r\n"


class Flush(Step):
    """``flush``: what reaches it is sent now."""

    name = "flush"
    flushes = True


class Buffering(Step):
    """A step that needs the whole body (see :data:`MAX_BUFFERED`)."""

    streams = False

    def __init__(self) -> None:
        self.parts: List[bytes] = []
        self.size = 0

    def buffer(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > MAX_BUFFERED:
            raise TransformError("the %s transformation buffers the whole response body: more than %d bytes "
                                 "(gateway.routing.transforms.MAX_BUFFERED)" % (self.name, MAX_BUFFERED))
        self.parts.append(data)

    def reset(self) -> None:
        self.parts = []
        self.size = 0

    def close(self, data: bytes, chain: "TransformChain") -> bytes:
        if data:
            self.buffer(data)
        body = b"".join(self.parts)
        self.parts = []
        return self.whole(body, chain)

    def whole(self, body: bytes, chain: "TransformChain") -> bytes:
        return body


class FixCL(Buffering):
    """``fixcl``: Content-Length set to the size of the body here (unless ``--del-header`` or
    a ``delheader`` rule removes Content-Length); ``forcecl``: in any case."""

    name = "fixcl"

    def __init__(self, force: bool = False) -> None:
        super().__init__()
        self.force = force
        if force:
            self.name = "forcecl"

    def whole(self, body: bytes, chain: "TransformChain") -> bytes:
        if self.force or "content-length" not in chain.removed:
            chain.set_header("Content-Length", str(len(body)))
            chain.resized = False  # the head now says the size of what goes out
        return body


class Template(Buffering):
    """``template``: ``$N`` and ``${...}`` in the body replaced as in a rule's arguments
    (the body read as latin-1, so any bytes survive); ``expand(text, limit)`` raises
    ``ValueError`` past ``limit`` characters, so the result is at most :data:`MAX_BUFFERED`."""

    name = "template"

    def __init__(self, expand: Any) -> None:
        super().__init__()
        self.expand = expand

    def whole(self, body: bytes, chain: "TransformChain") -> bytes:
        if b"$" not in body:
            return body
        chain.resized = True
        try:
            # the body can name long values many times over: the result is bounded as a buffer is
            text = self.expand(body.decode("latin-1"), MAX_BUFFERED)
        except ValueError:  # ExpansionTooLarge
            raise TransformError("the template transformation: the expanded body is over %d bytes "
                                 "(gateway.routing.transforms.MAX_BUFFERED)" % MAX_BUFFERED) from None
        return text.encode("latin-1", "replace")


class ToFile(Buffering):
    """``tofile:filename=PATH[,mode=OCTAL]``: a 200 response's body stored in PATH
    (a new file renamed over it: :func:`store`) and passed on
    unchanged.  ``path`` is already expanded and checked by the action; ``contained`` (a
    path built from request values) checks it again when the body is complete, and the
    file is then opened without following a symlink: the directory may have changed while
    the app ran."""

    name = "tofile"

    def __init__(self, path: str, mode: int = 0o644, contained: Optional[Callable[[str], bool]] = None) -> None:
        super().__init__()
        self.path = path
        self.mode = mode
        self.status = 0
        self.contained = contained

    def start(self, status: int, headers: Sequence[Tuple[str, str]], chain: "TransformChain") -> None:
        self.status = status

    def whole(self, body: bytes, chain: "TransformChain") -> bytes:
        if self.status == 200 and body:
            if self.contained is not None and not self.contained(self.path):
                gen_log.error("tofile transformation: %s now leads out of its directory: not written", self.path)
                return body
            store(self.path, body, self.mode, nofollow=self.contained is not None)
        return body


class CacheStore(Buffering):
    """``cachestore:key=KEY[,name=CACHE][,expires=N][,gzip=KEY2][,value=V][,status=CODE]``:
    a ``200`` (or CODE) response's body (or ``value``) stored in the cache under KEY
    (replacing an older item), gzip-compressed under KEY2 too; the body passes on unchanged.
    ``put(key, value)`` stores (the action binds the cache, the expiry and the logging)."""

    name = "cachestore"

    def __init__(self, put: Callable[[str, bytes], bool], key: str, gzip_key: Optional[str] = None,
                 value: Optional[bytes] = None, status: int = 0) -> None:
        super().__init__()
        self.put = put
        self.key = key
        self.gzip_key = gzip_key
        self.value = value
        self.wanted = status
        self.status = 0

    def start(self, status: int, headers: Sequence[Tuple[str, str]], chain: "TransformChain") -> None:
        self.status = status

    def whole(self, body: bytes, chain: "TransformChain") -> bytes:
        value = body if self.value is None else self.value
        if value and (self.status == 200 or (self.wanted and self.status == self.wanted)):
            self.put(self.key, value)
            if self.gzip_key:
                self.put(self.gzip_key, gzip.compress(value, 9))
        return body


def store(path: str, body: bytes, mode: int, nofollow: bool = False) -> bool:
    """Replace ``path`` with a file holding ``body``: written to a temporary file beside it
    (``.tofile-PID-N``, created with ``mode``), then renamed over it.  A reader (nginx
    serving the file) sees the old file or the new one, whole; two writers of one path never
    mix their bytes; nobody waits (uWSGI truncates, then writes under ``lockf``, which blocks
    a worker behind any other holder of the lock).  A failure is logged (the response still
    goes out, as in uWSGI) and the temporary file removed.  As uWSGI's ``O_TRUNC``, a file
    that exists keeps its mode, owner and group (``mode`` is for a new file), and a symlink
    at ``path`` is written through (its target replaced).  ``nofollow``: a symlink at
    ``path`` is refused."""
    if nofollow:
        if os.path.islink(path):
            gen_log.error("tofile transformation: cannot open %s: %s", path, os.strerror(errno.ELOOP))
            return False
    else:
        path = os.path.realpath(path)
    try:
        old: Optional[os.stat_result] = os.lstat(path)
    except OSError:
        old = None
    # (a short name: NAME plus a suffix could pass NAME_MAX where NAME alone does not)
    for attempt in range(_TMP_ATTEMPTS):
        tmp = os.path.join(os.path.dirname(path), ".tofile-%d-%d" % (os.getpid(), next(_store_serial)))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
            break
        except FileExistsError as e:
            # left by a process killed mid-store whose pid this one reuses (a container's
            # workers get the same pids at every start): the next name
            if attempt + 1 == _TMP_ATTEMPTS:
                gen_log.error("tofile transformation: cannot open %s: %s", path, e)
                return False
        except OSError as e:
            gen_log.error("tofile transformation: cannot open %s: %s", path, e)
            return False
    try:
        try:
            if old is not None and stat.S_ISREG(old.st_mode):
                _same_owner_and_mode(fd, old)
            view = memoryview(body)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        finally:
            os.close(fd)
        os.rename(tmp, path)
        return True
    except OSError as e:
        gen_log.error("tofile transformation: cannot write %s: %s", path, e)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False


def _same_owner_and_mode(fd: int, old: os.stat_result) -> None:
    """Give the new file ``fd`` the owner, group and mode of the file it replaces (the
    owner, or the group, only where this process may: as it would stay with ``O_TRUNC``)."""
    if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, old.st_uid, old.st_gid)
        except OSError:
            try:
                os.fchown(fd, -1, old.st_gid)
            except OSError:
                pass
    os.fchmod(fd, stat.S_IMODE(old.st_mode))  # after fchown, which clears set-id bits


#: temporary names tried before giving up (each taken by a leftover file)
_TMP_ATTEMPTS = 16

#: tells apart the temporary files of one process's concurrent stores (threads)
_store_serial = itertools.count()


class TransformChain:
    """The transformations of one request, in order (see the module docstring).

    ``headers``: the header edits to apply to the head (a name set replaces the app's
    header of that name); ``self_chunked``: the body carries its own chunked framing;
    ``resized``: the body's size no longer matches the app's Content-Length (it is then
    dropped); ``removed``: lowercased header names removed by ``--del-header`` and
    ``delheader`` (``fixcl`` respects them).
    """

    def __init__(self, steps: Sequence[Step], removed: Iterable[str] = ()) -> None:
        self.steps = list(steps)
        self.headers: Dict[str, Tuple[str, str]] = {}
        self.self_chunked = False
        self.resized = False
        self.removed = frozenset(removed)
        #: a ``flush`` step sends the body: the chain's own output is not sent
        self.flushing = any(step.flushes for step in self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def drop_chunked(self) -> None:
        """Leave out the ``chunked`` steps (before :meth:`start`): the peer does not read
        chunked framing, so it would take the framing for body bytes."""
        self.steps = [step for step in self.steps if not isinstance(step, Chunked)]

    def set_header(self, name: str, value: str) -> None:
        self.headers[name.lower()] = (name, value)

    def start(self, status: int, headers: Sequence[Tuple[str, str]]) -> None:
        for step in self.steps:
            step.start(status, headers, self)

    def restart(self) -> None:
        """Forget the body and the head edits so far: ``start_response(..., exc_info)`` replaced
        the response while a buffering step still held its first bytes (nothing went out)."""
        self.headers.clear()
        self.self_chunked = False
        self.resized = False
        for step in self.steps:
            step.reset()

    def edit_headers(self, headers: Sequence[Tuple[str, str]]) -> Headers:
        """The app's ``headers`` as the steps want them (call when the head goes out)."""
        replaced = set(self.headers)
        if self.resized or self.self_chunked:
            replaced.add("content-length")
        kept = [(n, v) for n, v in headers if n.lower() not in replaced]
        return kept + list(self.headers.values())

    def feed(self, data: bytes) -> List[bytes]:
        """One chunk of the app's body: the bytes to send now (maybe none)."""
        out: List[bytes] = []
        for step in self.steps:
            if not step.streams:
                step.buffer(data)  # type: ignore[attr-defined]
                return out
            data = step.process(data, self)
            if step.flushes and data:
                out.append(data)
        if not self.flushing and data:
            out.append(data)
        return out

    def finish(self) -> List[bytes]:
        """The end of the body: the last bytes to send (trailers, a buffered body)."""
        out: List[bytes] = []
        data = b""
        for step in self.steps:
            data = step.close(data, self)
            if step.flushes and data:
                out.append(data)
        if not self.flushing and data:
            out.append(data)
        return out


def accepts_gzip(accept_encoding: Optional[str]) -> bool:
    """Whether an ``Accept-Encoding`` value admits gzip (``gzip`` or ``*`` with a q above 0)."""
    if not accept_encoding:
        return False
    star = False
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            return q > 0
        if coding == "*":
            star = q > 0
    return star
