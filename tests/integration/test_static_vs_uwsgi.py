"""Static files, gateway against real uWSGI 2.0.31 on the same raw requests (``--http-socket``).

One real uWSGI and one gateway for the module, both running ``tests/apps/hello.py`` (the answer
of a request no file takes) with the same static options over one temporary tree: normal files
of several types, a directory with and without an index, missing files, ``If-Modified-Since``,
``HEAD``, traversal by ``..``/``%2e%2e`` and by symlinks (one into a ``--static-safe``
directory), names with a space and UTF-8, an empty file, a 3 MB one, ``Range`` (single, several,
suffix, past the end), a precompressed ``.gz`` variant, ``--static-expires-type`` in uWSGI's
``TYPE=SECONDS`` spelling, ``--static-skip-ext``, ``--add-header``.  Both answers must agree on
status, body and headers, once :func:`documented` has taken out what the README lists as
deliberate differences ("Static files before the app", "``--honour-range``").  The types come
from a ``--mimefile`` given to both (uWSGI then reads only that file, gateway that file over the
system's), so the test does not depend on the host's ``/etc/mime.types``.
"""

from __future__ import annotations

import os
import socket
from email.utils import parsedate_to_datetime
from typing import Dict, Iterator, List, Tuple

import pytest

from tests.peers import RealUWSGI
from tests.server import run_server
from tests.support.router import free_port, wait_listening

MIME = "text/plain txt\ntext/css css\ntext/html html\napplication/json json\nimage/png png\n" \
       "application/gzip gz\nfont/woff2 woff2\n"
MTIME = 1577934245  # Thu, 02 Jan 2020 03:04:05 GMT

Answer = Tuple[int, List[Tuple[str, str]], bytes]


@pytest.fixture(scope="module")
def peers(tmp_path_factory) -> Iterator[Tuple[int, int]]:
    """(real uWSGI's port, gateway's port), serving the same tree with the same options."""
    base = tmp_path_factory.mktemp("static")
    root, safe, other = base / "root", base / "safe", base / "other"
    for d in (root / "sub", root / "emptydir", safe, other):
        d.mkdir(parents=True)
    for ext in ("txt", "css", "html", "json", "png", "woff2", "unknownext", "tar.gz"):
        (root / ("a." + ext)).write_bytes(b"file " + ext.encode() + b"\n")
    (root / "noext").write_bytes(b"noext\n")
    (root / "sub" / "index.html").write_bytes(b"idx\n")
    (root / "zero.txt").write_bytes(b"")
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    (root / "r.txt").write_bytes(bytes(range(48, 48 + 64)) * 2)  # 128 bytes
    (root / "with space.txt").write_bytes(b"sp\n")
    (root / "caf\u00e9.txt").write_bytes(b"utf\n")
    (root / "c.css").write_bytes(b"cssplain\n")
    (root / "c.css.gz").write_bytes(b"\x1f\x8b pretend gzip")
    (root / "skip.py").write_bytes(b"x\n")
    (other / "secret.txt").write_bytes(b"secret\n")
    (safe / "s.txt").write_bytes(b"safe\n")
    os.symlink(other / "secret.txt", root / "out.txt")
    os.symlink(safe / "s.txt", root / "safelink.txt")
    os.symlink("skip.py", root / "link.txt")
    for p in root.rglob("*"):
        os.utime(p, (MTIME, MTIME), follow_symlinks=False)
    (base / "mime.types").write_text(MIME)
    options = [
        "--wsgi-file", "tests/apps/hello.py", "--static-map", "/s=%s" % root,
        "--static-map", "/favicon.ico=%s" % (root / "a.png"), "--check-static", str(root / "sub"),
        "--static-index", "index.html", "--static-skip-ext", ".py", "--static-safe", str(safe), "--honour-range",
        "--static-gzip-ext", ".css", "--static-expires-type", "text/html=100",
        "--static-expires-type-mtime", "text/plain=100", "--mimefile", str(base / "mime.types"),
        "--add-header", "X-Added: 1",
    ]
    port = free_port()
    real = RealUWSGI(["--http-socket", "127.0.0.1:%d" % port] + options)
    try:
        wait_listening(port, proc=real.proc)
        with run_server(["--http-socket", "127.0.0.1:0"] + options) as gw:
            yield port, gw.port
    finally:
        real.stop()


def exchange(port: int, head: str) -> Answer:
    """One request (``|`` separates header lines) on its own connection, read to the end."""
    raw = head.replace("|", "\r\n").encode("utf-8") + b"\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        s.sendall(raw)
        data = b""
        while True:
            block = s.recv(1 << 20)
            if not block:
                break
            data += block
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    headers = [(k, v) for k, v in headers if k not in ("date", "connection")]
    return int(lines[0].split()[1]), sorted(headers), body


def documented(theirs: Answer, ours: Answer) -> Tuple[Answer, Answer]:
    """Both answers with the README's deliberate differences taken out of gateway's."""
    status, headers, body = ours
    names = {k for k, _ in theirs[1]}
    if status == 304 or status == 416:
        # a 304 keeps Last-Modified and the cache headers; a 416 the file's type and times
        headers = [(k, v) for k, v in headers if k in names]
    # gateway names an unknown type application/octet-stream (uWSGI sends none: clients sniff);
    # Vary: Accept-Encoding on every answer of a --static-gzip* file; Cache-Control next to Expires
    headers = [(k, v) for k, v in headers if not (
        (k == "content-type" and v == "application/octet-stream" and k not in names)
        or (k == "vary" and k not in names) or (k == "cache-control" and k not in names))]
    their_headers = theirs[1]
    # Expires from "now" may fall a second apart
    exp_a, exp_b = dict(their_headers).get("expires"), dict(headers).get("expires")
    if exp_a and exp_b and abs(parsedate_to_datetime(exp_a).timestamp() - parsedate_to_datetime(exp_b).timestamp()) <= 2:
        headers = [(k, exp_a if k == "expires" else v) for k, v in headers]
    return theirs, (status, headers, body)


CORPUS: Dict[str, str] = {
    "a text file": "GET /s/a.txt HTTP/1.1|Host: h",
    "HEAD": "HEAD /s/a.txt HTTP/1.1|Host: h",
    "HTTP/1.0": "GET /s/a.css HTTP/1.0",
    "css (--static-gzip-ext, not accepted)": "GET /s/c.css HTTP/1.1|Host: h",
    "html (--static-expires-type TYPE=SECONDS)": "GET /s/a.html HTTP/1.1|Host: h",
    "json": "GET /s/a.json HTTP/1.1|Host: h",
    "png": "GET /s/a.png HTTP/1.1|Host: h",
    "woff2": "GET /s/a.woff2 HTTP/1.1|Host: h",
    "an unknown extension": "GET /s/a.unknownext HTTP/1.1|Host: h",
    "no extension": "GET /s/noext HTTP/1.1|Host: h",
    "a .tar.gz": "GET /s/a.tar.gz HTTP/1.1|Host: h",
    "a directory's index": "GET /s/sub/ HTTP/1.1|Host: h",
    "a directory's index, no slash": "GET /s/sub HTTP/1.1|Host: h",
    "--check-static with the index": "GET / HTTP/1.1|Host: h",
    "a directory without an index": "GET /s/emptydir/ HTTP/1.1|Host: h",
    "the mount point": "GET /s/ HTTP/1.1|Host: h",
    "a missing file": "GET /s/missing.txt HTTP/1.1|Host: h",
    "If-Modified-Since, same time": "GET /s/a.txt HTTP/1.1|Host: h|If-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT",
    "If-Modified-Since, earlier": "GET /s/a.txt HTTP/1.1|Host: h|If-Modified-Since: Thu, 02 Jan 2020 03:04:04 GMT",
    "If-Modified-Since, unreadable": "GET /s/a.txt HTTP/1.1|Host: h|If-Modified-Since: garbage",
    "HEAD If-Modified-Since": "HEAD /s/a.html HTTP/1.1|Host: h|If-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT",
    "..": "GET /s/../other/secret.txt HTTP/1.1|Host: h",
    ".. inside": "GET /s/sub/../a.txt HTTP/1.1|Host: h",
    "a symlink out": "GET /s/out.txt HTTP/1.1|Host: h",
    "a symlink into --static-safe": "GET /s/safelink.txt HTTP/1.1|Host: h",
    "a space": "GET /s/with%20space.txt HTTP/1.1|Host: h",
    "UTF-8": "GET /s/caf%C3%A9.txt HTTP/1.1|Host: h",
    "an empty file": "GET /s/zero.txt HTTP/1.1|Host: h",
    "a large file": "GET /s/big.bin HTTP/1.1|Host: h",
    "--static-skip-ext": "GET /s/skip.py HTTP/1.1|Host: h",
    "--static-skip-ext, a trailing slash": "GET /s/skip.py/ HTTP/1.1|Host: h",
    "--static-skip-ext, a symlink to the file": "GET /s/link.txt HTTP/1.1|Host: h",
    "a file asked as a directory": "GET /s/a.txt/ HTTP/1.1|Host: h",
    "a map to a file": "GET /favicon.ico HTTP/1.1|Host: h",
    "POST goes to the app": "POST /s/a.txt HTTP/1.1|Host: h|Content-Length: 0",
    "a query string": "GET /s/a.txt?v=1 HTTP/1.1|Host: h",
    "gzip variant": "GET /s/c.css HTTP/1.1|Host: h|Accept-Encoding: gzip, deflate",
    "br only (no .br file)": "GET /s/c.css HTTP/1.1|Host: h|Accept-Encoding: br",
    "range": "GET /s/r.txt HTTP/1.1|Host: h|Range: bytes=0-9",
    "range, open": "GET /s/r.txt HTTP/1.1|Host: h|Range: bytes=100-",
    "range, suffix": "GET /s/r.txt HTTP/1.1|Host: h|Range: bytes=-5",
    "ranges, the first counts": "GET /s/r.txt HTTP/1.1|Host: h|Range: bytes=0-4,10-14",
    "range past the end": "GET /s/r.txt HTTP/1.1|Host: h|Range: bytes=200-300",
    "range, the whole file": "GET /s/r.txt HTTP/1.1|Host: h|Range: bytes=0-1000",
    "range of an empty file": "GET /s/zero.txt HTTP/1.1|Host: h|Range: bytes=0-9",
    "range of a large file": "GET /s/big.bin HTTP/1.1|Host: h|Range: bytes=3000000-",
    "HEAD range": "HEAD /s/r.txt HTTP/1.1|Host: h|Range: bytes=0-9",
    "If-Range, a later date": "GET /s/r.txt HTTP/1.1|Host: h|Range: bytes=0-9|If-Range: Thu, 01 Jan 2037 00:00:00 GMT",
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_static_answer_agrees_with_uwsgi(peers, name):
    real, ours = peers
    theirs, mine = documented(exchange(real, CORPUS[name]), exchange(ours, CORPUS[name]))
    assert mine == theirs
